"""The data each target state takes, and the rules it must meet.

- ACCEPTED, IN_MEDIATION: optional `note`.
- SETTLED: `settlement_amount` (decimal string >= 0, at most two places),
  `agreement_number`, `judicial_confirmation_requested` (JSON boolean); optional `note`.
- NOT_SETTLED: `reason_code` (NO_AGREEMENT, PARTY_UNREACHABLE, PARTY_REFUSED,
  DEADLINE_EXPIRED, OTHER) and `reason`.
- WITHDRAWN: `reason_code` (APPLICANT_WITHDREW, SETTLED_OUTSIDE_MEDIATION, OTHER) and `reason`.
- DECLINED: `reason_code` (OUT_OF_SCOPE, DUPLICATE, OTHER) and `reason`.
- RECALLED: optional `reason`, `recalled_at` (from the source's recall message).

Any other field is refused, so a settlement amount cannot ride along on a refusal.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from referral_service.errors import ProblemError
from referral_service.models import Case

REASON_CODES: dict[str, tuple[str, ...]] = {
    "NOT_SETTLED": (
        "NO_AGREEMENT",
        "PARTY_UNREACHABLE",
        "PARTY_REFUSED",
        "DEADLINE_EXPIRED",
        "OTHER",
    ),
    # APPLICANT_WITHDREW: the applicant (plaintiff) withdrew the request for mediation;
    # SETTLED_OUTSIDE_MEDIATION: the parties settled between themselves and withdrew.
    "WITHDRAWN": ("APPLICANT_WITHDREW", "SETTLED_OUTSIDE_MEDIATION", "OTHER"),
    "DECLINED": ("OUT_OF_SCOPE", "DUPLICATE", "OTHER"),
}

NOTE_MAX = 4000
REASON_MAX = 2000
AGREEMENT_NUMBER_MAX = 100
_MONEY_MAX = Decimal("9999999999999999.99")  # NUMERIC(18, 2)

# Case columns an outcome may set.
OUTCOME_COLUMNS = (
    "settlement_amount",
    "agreement_number",
    "judicial_confirmation_requested",
    "reason_code",
    "reason",
    "note",
)


class StrictBoolean(fields.Boolean):
    """JSON true or false only; "yes" or 1 is refused."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


class DecimalString(fields.Decimal):
    """Money as a decimal string ("52000.00"); a JSON number is refused (floats round)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


def _note() -> fields.String:
    return fields.String(load_default=None, validate=validate.Length(max=NOTE_MAX))


def _text(maximum: int) -> fields.String:
    return fields.String(required=True, validate=validate.Length(min=1, max=maximum))


class NoteSchema(Schema):
    """ACCEPTED and IN_MEDIATION: an optional note."""

    note = _note()


class SettledSchema(Schema):
    """SETTLED: what the parties agreed."""

    settlement_amount = DecimalString(
        required=True,
        validate=validate.Range(min=Decimal(0), max=_MONEY_MAX),
        metadata={"description": "Decimal string, at most two decimal places."},
    )
    agreement_number = _text(AGREEMENT_NUMBER_MAX)
    judicial_confirmation_requested = StrictBoolean(required=True)
    note = _note()


def _reason_schema(state: str) -> type[Schema]:
    return Schema.from_dict(
        {
            "reason_code": fields.String(
                required=True, validate=validate.OneOf(REASON_CODES[state])
            ),
            "reason": _text(REASON_MAX),
            "note": _note(),
        },
        name=f"{state.title().replace('_', '')}Schema",
    )


class RecalledSchema(Schema):
    """RECALLED: what the source's recall message said."""

    reason = fields.String(load_default=None, validate=validate.Length(max=REASON_MAX))
    recalled_at = fields.Raw(load_default=None)  # as the canonical referral has it


SCHEMAS: dict[str, type[Schema]] = {
    "ACCEPTED": NoteSchema,
    "IN_MEDIATION": NoteSchema,
    "SETTLED": SettledSchema,
    "NOT_SETTLED": _reason_schema("NOT_SETTLED"),
    "WITHDRAWN": _reason_schema("WITHDRAWN"),
    "DECLINED": _reason_schema("DECLINED"),
    "RECALLED": RecalledSchema,
}


class OutcomeInvalid(ProblemError):
    """422: the data for the target state is missing or invalid; `errors` names each field."""

    def __init__(self, to: str, messages: dict[str, Any]):
        errors = [
            {"path": f"/{name}", "message": message}
            for name, field_messages in sorted(messages.items())
            for message in field_messages
        ]
        super().__init__(
            422,
            "Invalid outcome",
            f"The data for {to} is missing or invalid; see errors.",
            slug="invalid-outcome",
            errors=errors,
        )


def _check_places(values: dict[str, Any]) -> None:
    amount = values.get("settlement_amount")
    if amount is not None and amount.as_tuple().exponent < -2:
        raise ValidationError({"settlement_amount": ["At most two decimal places."]})


def load_outcome(to: str, data: dict[str, Any]) -> dict[str, Any]:
    """Validate `data` for a move to `to`; return the typed values or raise OutcomeInvalid."""
    try:
        values = SCHEMAS[to]().load(data)
        _check_places(values)
    except ValidationError as exc:
        raise OutcomeInvalid(to, exc.messages) from exc
    return values


def apply_outcome(case: Case, values: dict[str, Any]) -> None:
    """Store the outcome values on the case's columns."""
    for name in OUTCOME_COLUMNS:
        if values.get(name) is not None:
            setattr(case, name, values[name])


def as_event_data(values: dict[str, Any]) -> dict[str, Any]:
    """The outcome values as JSON for the case event (money and times as strings)."""
    return {name: _json(value) for name, value in values.items() if value is not None}


def _json(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value
