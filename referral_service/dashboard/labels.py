"""Display names of the codes the pages and alerts show (outcomes, statuses, roles, event
kinds, problem titles...), translatable.

A code without a label is shown as it is. The JSON API keeps the codes.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from referral_service.delivery.claim import BREAKER
from referral_service.delivery.record import GONE

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
    # case event kinds
    "received": _l("referral received"),
    "amended": _l("referral amended"),
    "transition": _l("status changed"),
    "deadline_changed": _l("deadline changed"),
    "report_requeued": _l("report re-queued"),
    # deadline states
    "due_soon": _l("due soon"),
    "overdue": _l("overdue"),
    # party roles and types
    "PLAINTIFF": _l("plaintiff"),
    "DEFENDANT": _l("defendant"),
    "APPLICANT": _l("applicant"),
    "RESPONDENT": _l("respondent"),
    "THIRD_PARTY": _l("third party"),
    "PERSON": _l("person"),
    "ORGANIZATION": _l("organisation"),
    # referral types and categories
    "PRE_LITIGATION": _l("pre-litigation"),
    "IN_LITIGATION": _l("in litigation"),
    "ARBITRATION": _l("arbitration"),
    "CREDIT_CARD": _l("credit card"),
    "LOAN": _l("loan"),
    "DEPOSIT": _l("deposit"),
    "WEALTH_MANAGEMENT": _l("wealth management"),
    "INSURANCE_CLAIM": _l("insurance claim"),
    "INSURANCE_SALES": _l("insurance sales"),
    "OTHER": _l("other"),
    # outcome reason codes
    "NO_AGREEMENT": _l("no agreement"),
    "PARTY_UNREACHABLE": _l("party unreachable"),
    "PARTY_REFUSED": _l("party refused mediation"),
    "DEADLINE_EXPIRED": _l("deadline expired"),
    "APPLICANT_WITHDREW": _l("applicant withdrew"),
    "SETTLED_OUTSIDE_MEDIATION": _l("settled outside mediation"),
    "OUT_OF_SCOPE": _l("out of scope"),
    "DUPLICATE": _l("duplicate referral"),
    # problem titles (stored with refused messages, or raised by a staff action)
    "Malformed body": _l("Malformed body"),
    "Invalid referral": _l("Invalid referral"),
    "Unknown source": _l("Unknown source"),
    "Source not configured": _l("Source not configured"),
    "Body too large": _l("Body too large"),
    "Unsupported media type": _l("Unsupported media type"),
    "Unauthorized": _l("Unauthorized"),
    "Referral conflict": _l("Referral conflict"),
    "Referral not found": _l("Referral not found"),
    "Case concluded": _l("Case concluded"),
    "Not an extension": _l("Not an extension"),
    "Transition not allowed": _l("Transition not allowed"),
    "Conflict": _l("Conflict"),
    "Precondition Failed": _l("Precondition Failed"),
    "Not Found": _l("Not Found"),
    "Report not failed": _l("Report not failed: only a FAILED report can be re-queued"),
    "Inbound message not found": _l("Inbound message not found"),
    "Nothing to replay": _l("Nothing to replay: the message has no stored body"),
    "Service Unavailable": _l("Service Unavailable"),
    "Internal Server Error": _l("Internal Server Error"),
}

# Who paused a source's delivery, when it was not a person.
_PAUSERS = {
    BREAKER: _l("the circuit breaker (failed attempts in a row)"),
    GONE: _l("the source (it answered 410 Gone)"),
}


def label(code: str | None) -> str:
    """The translated display name of `code`, or the code itself."""
    if code is None:
        return ""
    return str(LABELS.get(code, code))


def coded(code: str | None) -> str:
    """The display name with the code beside it ("申请人撤回 (APPLICANT_WITHDREW)"), for codes
    staff quote to a source; the bare code when it has no label."""
    shown = label(code)
    return shown if shown == (code or "") else f"{shown} ({code})"


def pauser(who: str | None) -> str:
    """Who paused a source: the breaker or the source's 410 in words, else the user's name."""
    return str(_PAUSERS.get(who, who or "?"))


def pause_reason(who: str | None, reason: str | None) -> str:
    """Why a source is paused, as given; empty for the breaker, whose stored reason is
    machine text that `pauser` already says in words."""
    return "" if who == BREAKER else reason or ""
