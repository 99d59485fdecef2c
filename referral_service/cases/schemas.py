"""Request and response bodies of the case API (they also generate its OpenAPI document)."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, post_dump, validate

from referral_service.auth import is_admin
from referral_service.cases.lifecycle import STATES, staff_transitions
from referral_service.cases.outcomes import (
    AGREEMENT_NUMBER_MAX,
    NOTE_MAX,
    REASON_CODES,
    REASON_MAX,
)
from referral_service.localtime import local_iso
from referral_service.masking import (
    mask_address,
    mask_id_number,
    mask_name,
    mask_phone,
    mask_text,
)

MAX_PER_PAGE = 100


class LocalDateTime(fields.DateTime):
    """A time shown in Asia/Shanghai with its offset."""

    def _serialize(self, value, attr, obj, **kwargs):
        return local_iso(value)


def _masked(value: Any) -> Any:
    """Mask ID and phone numbers in every string of a JSON value."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, list):
        return [_masked(item) for item in value]
    if isinstance(value, dict):
        return {key: _masked(item) for key, item in value.items()}
    return value


class CaseQuerySchema(Schema):
    """Filters and page of the case list."""

    status = fields.String(validate=validate.OneOf(STATES))
    source = fields.String(metadata={"description": "A source id, e.g. `gz-arbitration`."})
    q = fields.String(
        validate=validate.Length(min=1, max=200),
        metadata={"description": "Part of our case number, the court's number or a party name."},
    )
    due_before = fields.Date(metadata={"description": "Cases whose deadline is before this day."})
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=MAX_PER_PAGE))


class CaseSummarySchema(Schema):
    """A case in the list: no personal data."""

    id = fields.Integer()
    case_number = fields.String(metadata={"example": "ZH-2026-000123"})
    status = fields.String(validate=validate.OneOf(STATES))
    version = fields.Integer()
    source = fields.String(attribute="source_id")
    referral_id = fields.String(attribute="referral_external_id")
    court_case_number = fields.String()
    referral_type = fields.String()
    category = fields.String()
    deadline = fields.Date()
    deadline_state = fields.String(metadata={"description": "none, due_soon or overdue."})
    claim_amount = fields.Decimal(as_string=True, places=2, allow_none=True)
    flagged = fields.Boolean()
    created_at = LocalDateTime()
    concluded_at = LocalDateTime(allow_none=True)


class CasePageSchema(Schema):
    """One page of cases, newest first."""

    items = fields.List(fields.Nested(CaseSummarySchema))
    total = fields.Integer(metadata={"description": "Cases matching the filters."})
    page = fields.Integer()
    per_page = fields.Integer()
    pages = fields.Integer()


class PartySchema(Schema):
    """A party; personal data masked unless the reader is an admin."""

    role = fields.String()
    side = fields.String()
    type = fields.String()
    name = fields.String()
    id_scheme = fields.String(allow_none=True)
    id_number = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    address = fields.String(allow_none=True)

    @post_dump
    def mask(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        if is_admin():
            return data
        if data["type"] == "PERSON":
            data["name"] = mask_name(data["name"])
        data["id_number"] = mask_id_number(data["id_number"])
        data["phone"] = mask_phone(data["phone"])
        data["address"] = mask_address(data["address"])
        return data


class CaseEventSchema(Schema):
    """One entry of the case's timeline."""

    id = fields.Integer()
    at = LocalDateTime()
    kind = fields.String(metadata={"description": "received, amended, transition, ..."})
    from_status = fields.String(allow_none=True)
    to_status = fields.String(allow_none=True)
    actor = fields.String()
    data = fields.Dict()

    @post_dump
    def mask(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        if not is_admin():
            data["data"] = _masked(data["data"])
        return data


class ReportSummarySchema(Schema):
    """A report of the case and how its delivery stands."""

    id = fields.String(metadata={"description": "Also the `webhook-id` of every attempt."})
    sequence = fields.Integer()
    case_status = fields.String()
    status = fields.String(metadata={"description": "PENDING, DELIVERED or FAILED."})
    attempt_count = fields.Integer()
    next_attempt_at = LocalDateTime()
    delivered_at = LocalDateTime(allow_none=True)
    last_error = fields.String(allow_none=True)
    waiting_for = fields.String(
        allow_none=True,
        dump_default=None,
        metadata={"description": "Why a PENDING report is held back by an earlier one."},
    )


class CaseSchema(CaseSummarySchema):
    """One case with its parties, timeline, reports and the moves staff may make."""

    referrer_name = fields.String()
    cause_of_action = fields.String(allow_none=True)
    referred_at = LocalDateTime()
    currency = fields.String(allow_none=True)
    summary = fields.String(allow_none=True)
    warnings = fields.List(fields.Dict())
    settlement_amount = fields.Decimal(as_string=True, places=2, allow_none=True)
    agreement_number = fields.String(allow_none=True)
    judicial_confirmation_requested = fields.Boolean(allow_none=True)
    reason_code = fields.String(allow_none=True)
    reason = fields.String(allow_none=True)
    note = fields.String(allow_none=True)
    parties = fields.List(fields.Nested(PartySchema))
    events = fields.List(fields.Nested(CaseEventSchema))
    reports = fields.List(fields.Nested(ReportSummarySchema))
    allowed_transitions = fields.Function(
        lambda case: staff_transitions(case.status),
        metadata={"type": "array", "items": {"type": "string", "enum": list(STATES)}},
    )

    @post_dump
    def mask(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        if not is_admin():
            for key in ("warnings", "summary", "reason", "note"):
                data[key] = _masked(data[key])
        return data


def _codes(state: str) -> str:
    return f"{state}: " + ", ".join(REASON_CODES[state])


class TransitionSchema(Schema):
    """A move of the case; which fields it takes depends on `to` (see each field)."""

    to = fields.String(
        required=True,
        validate=validate.OneOf(STATES),
        metadata={"description": "The target state (RECALLED is the source's, not staff's)."},
    )
    settlement_amount = fields.String(
        metadata={
            "description": "SETTLED (required): decimal string >= 0, at most two places.",
            "example": "52000.00",
        }
    )
    agreement_number = fields.String(
        metadata={"description": "SETTLED (required).", "maxLength": AGREEMENT_NUMBER_MAX}
    )
    # Raw: the life cycle accepts only JSON true/false, not "yes" or 1.
    judicial_confirmation_requested = fields.Raw(
        metadata={
            "type": "boolean",
            "description": "SETTLED (required): whether 司法确认 is requested.",
        }
    )
    reason_code = fields.String(
        metadata={
            "description": "NOT_SETTLED, WITHDRAWN, DECLINED (required). "
            + "; ".join(_codes(state) for state in REASON_CODES)
        }
    )
    reason = fields.String(
        metadata={"description": "With reason_code (required): free text.", "maxLength": REASON_MAX}
    )
    note = fields.String(metadata={"description": "Optional, any move.", "maxLength": NOTE_MAX})


class DeadlineSchema(Schema):
    """A deadline extension the court approved."""

    deadline = fields.Date(required=True, metadata={"example": "2027-01-10"})
    note = fields.String(
        validate=validate.Length(max=NOTE_MAX),
        metadata={"description": "e.g. the court's approval reference."},
    )


class IfMatchSchema(Schema):
    """Optimistic concurrency: the case's ETag as last read."""

    if_match = fields.String(
        data_key="If-Match",
        metadata={"description": "The ETag of the case as read; 412 if it changed since."},
    )
