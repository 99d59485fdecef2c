"""Liveness and readiness probes.

Readiness means the database answers AND a scheduler worker has sent a heartbeat within
`HEARTBEAT_FRESH_SECONDS` (delivery, deadlines and retention depend on it). When it is
not ready the 503 problem document says which part is missing: `worker` is "missing"
when no worker has ever run against this database (a fresh install whose worker has
not started yet) and "stale" when the newest heartbeat is too old (the worker stopped).
`referral-service serve` embeds the scheduler, so it is ready on its own.
"""

from __future__ import annotations

from flask_smorest import Blueprint
from sqlalchemy import func, select

from referral_service import db
from referral_service.errors import ProblemError
from referral_service.models import WorkerHeartbeat, utcnow

# Heartbeats come every 10 s; six missed in a row means the worker is gone.
HEARTBEAT_FRESH_SECONDS = 60

blp = Blueprint("health", __name__, description="Liveness and readiness probes")


@blp.route("/healthz")
@blp.response(200)
def healthz():
    """The process is alive."""
    return {"status": "ok"}


@blp.route("/readyz")
@blp.response(200)
def readyz():
    """Database reachable and worker heartbeat fresh; 503 problem document otherwise."""
    try:
        db.database().ping()
        last_seen = db.session().scalar(select(func.max(WorkerHeartbeat.last_seen)))
    except Exception as exc:
        raise _not_ready("The database is unreachable.", database="unreachable") from exc
    if last_seen is None:
        raise _not_ready("No scheduler worker has started yet.", database="ok", worker="missing")
    age = (utcnow() - last_seen).total_seconds()
    if age > HEARTBEAT_FRESH_SECONDS:
        raise _not_ready(
            f"The newest worker heartbeat is {age:.0f} s old.",
            database="ok",
            worker="stale",
            heartbeat_age_seconds=round(age),
        )
    return {
        "status": "ready",
        "database": "ok",
        "worker": "ok",
        "heartbeat_age_seconds": round(age),
    }


def _not_ready(detail: str, **extra: object) -> ProblemError:
    return ProblemError(
        503,
        "Service Unavailable",
        detail,
        slug="not-ready",
        headers={"Retry-After": "10"},
        **extra,
    )
