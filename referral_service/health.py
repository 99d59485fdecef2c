"""Liveness and readiness probes."""

from __future__ import annotations

from flask_smorest import Blueprint

from referral_service import db
from referral_service.errors import ProblemError

blp = Blueprint("health", __name__, description="Liveness and readiness probes")


@blp.route("/healthz")
@blp.response(200)
def healthz():
    """The process is alive."""
    return {"status": "ok"}


@blp.route("/readyz")
@blp.response(200)
def readyz():
    """The database answers; 503 otherwise."""
    try:
        db.database().ping()
    except Exception as exc:
        raise ProblemError(
            503,
            "Service Unavailable",
            "The database is unreachable.",
            slug="not-ready",
            headers={"Retry-After": "10"},
        ) from exc
    return {"status": "ready", "database": "ok"}
