"""Logging: one line per request (method, path, status, duration, request id), text or
JSON (`LOG_FORMAT=json`), with ID and phone numbers masked in every message."""

from __future__ import annotations

import json
import logging
import time
import uuid

from flask import Flask, Response, g, request

from referral_service.masking import mask_text

log = logging.getLogger("referral_service.request")


class _MaskingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return mask_text(super().format(record))


class _JsonFormatter(logging.Formatter):
    _EXTRA = ("request_id", "method", "path", "status", "duration_ms")

    def format(self, record: logging.LogRecord) -> str:
        doc = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": mask_text(record.getMessage()),
        }
        doc.update({key: getattr(record, key) for key in self._EXTRA if hasattr(record, key)})
        if record.exc_info:
            doc["exception"] = mask_text(self.formatException(record.exc_info))
        return json.dumps(doc, ensure_ascii=False)


def configure_logging(fmt: str, level: str) -> None:
    """Install one stderr handler on the root logger, text or JSON."""
    handler = logging.StreamHandler()
    if fmt == "json":
        handler.setFormatter(_JsonFormatter())
    else:
        handler.setFormatter(_MaskingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


def init_request_logging(app: Flask) -> None:
    """Honour or generate `X-Request-ID`, echo it, and log each request once."""

    @app.before_request
    def _start() -> None:
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming[:100] if incoming.isprintable() and incoming else uuid.uuid4().hex
        g.request_started = time.perf_counter()

    @app.after_request
    def _finish(response: Response) -> Response:
        duration_ms = round(
            (time.perf_counter() - g.get("request_started", time.perf_counter())) * 1000, 1
        )
        request_id = g.get("request_id", "-")
        response.headers["X-Request-ID"] = request_id
        log.info(
            "%s %s %s %.1fms id=%s",
            request.method,
            request.path,
            response.status_code,
            duration_ms,
            request_id,
            extra={
                "request_id": request_id,
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "duration_ms": duration_ms,
            },
        )
        return response
