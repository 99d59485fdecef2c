"""RFC 9457 problem documents: the one shape of every error the service returns."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify, request
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)

PROBLEM_TYPE_BASE = "urn:referral-service:problem:"
RETRY_AFTER_SECONDS = 30


class ProblemError(Exception):
    """Raise anywhere in a request to answer with a problem document."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str | None = None,
        *,
        slug: str | None = None,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ):
        super().__init__(detail or title)
        self.status, self.title, self.detail = status, title, detail
        self.slug, self.errors, self.headers, self.extra = slug, errors, headers or {}, extra

    def to_dict(self) -> dict[str, Any]:
        """The problem document as a dict."""
        doc: dict[str, Any] = {
            "type": PROBLEM_TYPE_BASE + self.slug if self.slug else "about:blank",
            "title": self.title,
            "status": self.status,
        }
        if self.detail:
            doc["detail"] = self.detail
        if self.errors is not None:
            doc["errors"] = self.errors
        doc.update(self.extra)
        return doc


def problem_response(error: ProblemError) -> Response:
    """Render a ProblemError as `application/problem+json`."""
    response = jsonify(error.to_dict())
    response.status_code = error.status
    response.mimetype = "application/problem+json"
    response.headers.update(error.headers)
    return response


def _field_errors(messages: Any, path: str = "") -> list[dict[str, str]]:
    """Flatten marshmallow/webargs messages into [{"path", "message"}]."""
    if isinstance(messages, dict):
        out = []
        for key, value in messages.items():
            if key in ("json", "query", "form", "headers") and not path:
                out += _field_errors(value, "")
            else:
                out += _field_errors(value, f"{path}/{key}")
        return out
    if isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        return [{"path": path or "/", "message": message} for message in messages]
    return [{"path": path or "/", "message": str(messages)}]


def _from_http_exception(exc: HTTPException) -> ProblemError:
    data = getattr(exc, "data", None) or {}
    errors = _field_errors(data["messages"]) if "messages" in data else None
    detail = exc.description if exc.description and errors is None else None
    if errors is not None:
        detail = "The request has invalid fields; see errors."
    headers = dict(exc.get_headers()) if exc.code == 405 else {}
    headers.pop("Content-Type", None)
    return ProblemError(exc.code or 500, exc.name, detail, errors=errors, headers=headers)


def register_error_handlers(app: Flask) -> None:
    """Answer every error, including 404/405/500, with a problem document."""

    @app.errorhandler(ProblemError)
    def _problem(exc: ProblemError):
        return problem_response(exc)

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        return problem_response(_from_http_exception(exc))

    # Only connection-level failures mean "unavailable"; an IntegrityError is a bug (500).
    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    def _database_down(exc: DBAPIError):
        log.error("database unavailable on %s %s: %s", request.method, request.path, type(exc))
        return problem_response(
            ProblemError(
                503,
                "Service Unavailable",
                "The database is unavailable; try again later.",
                slug="database-unavailable",
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            )
        )

    @app.errorhandler(Exception)
    def _unhandled(exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.path)
        return problem_response(
            ProblemError(500, "Internal Server Error", "An unexpected error occurred.")
        )
