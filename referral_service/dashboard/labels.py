"""Display names of the codes the pages show (outcomes, statuses, roles), translatable.

A code without a label is shown as it is.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

LABELS = {
    # inbound outcomes
    "created": _l("created"),
    "duplicate": _l("duplicate"),
    "updated": _l("updated"),
    "recalled": _l("recalled"),
    "multi": _l("several records"),
    "conflict": _l("conflict"),
    "malformed": _l("malformed"),
    "invalid": _l("invalid"),
    "unsupported_media_type": _l("wrong content type"),
    "too_large": _l("too large"),
    "unknown_source": _l("unknown source"),
    "unavailable": _l("database unavailable"),
    "error": _l("error"),
    "refused": _l("refused (any)"),
    "skipped": _l("skipped (no body)"),
    # report statuses and attempt results
    "PENDING": _l("pending"),
    "DELIVERED": _l("delivered"),
    "FAILED": _l("failed"),
    "delivered": _l("delivered"),
    "retry": _l("to retry"),
    "failed": _l("failed"),
    # case statuses
    "RECEIVED": _l("received"),
    "ACCEPTED": _l("accepted"),
    "IN_MEDIATION": _l("in mediation"),
    "SETTLED": _l("settled"),
    "NOT_SETTLED": _l("not settled"),
    "WITHDRAWN": _l("withdrawn"),
    "DECLINED": _l("declined"),
    "RECALLED": _l("recalled"),
    # roles
    "viewer": _l("viewer"),
    "operator": _l("operator"),
    "admin": _l("admin"),
    # alert kinds
    "delivery_failing": _l("deliveries failing"),
    "source_paused": _l("delivery paused"),
    "oldest_undelivered": _l("report undelivered too long"),
    "inbound_refused": _l("referrals refused"),
    "worker_stale": _l("worker silent"),
    "cases_overdue": _l("cases overdue"),
}


def label(code: str | None) -> str:
    """The translated display name of `code`, or the code itself."""
    if code is None:
        return ""
    return str(LABELS.get(code, code))
