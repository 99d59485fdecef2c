"""The canonical referral: one shape for every source, whatever its format.

A mapping turns a source's message into plain values; these schemas check them (422 on
failure) and give typed values. `quality_warnings` finds the data-quality faults that
must not bounce a referral (a clerk's typo must not stop a case): bad check digits,
unknown ID schemes, malformed phone numbers.
"""

from __future__ import annotations

import re
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema
from stdnum.cn import ric, uscc

from referral_service.masking import mask_id_number, mask_phone

REFERRAL_TYPES = ("PRE_LITIGATION", "IN_LITIGATION", "ARBITRATION")
CATEGORIES = (
    "CREDIT_CARD",
    "LOAN",
    "DEPOSIT",
    "WEALTH_MANAGEMENT",
    "INSURANCE_CLAIM",
    "INSURANCE_SALES",
    "OTHER",
)
# Which side of the dispute each role is on.
SIDES = {
    "PLAINTIFF": "CLAIMANT",
    "APPLICANT": "CLAIMANT",
    "DEFENDANT": "RESPONDENT",
    "RESPONDENT": "RESPONDENT",
    "THIRD_PARTY": "THIRD",
}
ID_SCHEMES = ("RESIDENT_ID", "USCC")

_MOBILE = re.compile(r"^(\+?86[- ]?)?1[3-9]\d{9}$")
_LANDLINE = re.compile(r"^(\+?86[- ]?)?0\d{2,3}-?\d{7,8}(-\d{1,6})?$")
_LEGACY_RESIDENT_ID = re.compile(r"^\d{15}$")
_SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")


def _text(max_length: int, **kwargs: Any) -> fields.String:
    return fields.String(validate=validate.Length(1, max_length), **kwargs)


class _Referrer(Schema):
    name = _text(200, required=True)
    code = _text(50)


class _Claim(Schema):
    amount = fields.Decimal(required=True, places=2, as_string=True, validate=validate.Range(min=0))
    currency = fields.String(load_default="CNY", validate=validate.OneOf(["CNY"]))


class _Party(Schema):
    role = fields.String(required=True, validate=validate.OneOf(list(SIDES)))
    type = fields.String(required=True, validate=validate.OneOf(["PERSON", "ORGANIZATION"]))
    name = _text(200, required=True)
    id_scheme = _text(20)
    id_number = _text(50)
    phone = _text(50)
    address = _text(500)


class _Clerk(Schema):
    name = _text(100)
    phone = _text(50)


class _Attachment(Schema):
    name = _text(300, required=True)
    sha256 = fields.String(validate=validate.Regexp(_SHA256, error="not a SHA-256 in hex"))
    href = fields.Url(require_tld=False, schemes={"http", "https"})


class CanonicalReferral(Schema):
    """A referral as the service stores it; `deadline` may be filled from defaults."""

    referral_id = _text(200, required=True)
    revision = fields.Integer(load_default=1, validate=validate.Range(min=1))
    referral_type = fields.String(required=True, validate=validate.OneOf(REFERRAL_TYPES))
    referrer = fields.Nested(_Referrer, required=True)
    case_number = _text(200, required=True)
    category = fields.String(required=True, validate=validate.OneOf(CATEGORIES))
    cause_of_action = _text(200)
    referred_at = fields.AwareDateTime(required=True)
    deadline = fields.Date()
    claim = fields.Nested(_Claim)
    summary = _text(4000)
    parties = fields.List(fields.Nested(_Party), required=True, validate=validate.Length(min=1))
    clerk = fields.Nested(_Clerk)
    attachments = fields.List(fields.Nested(_Attachment), load_default=list)

    @validates_schema(skip_on_field_errors=False)
    def _both_sides(self, data: dict[str, Any], **_kwargs: Any) -> None:
        roles = [party.get("role") for party in data.get("parties") or []]
        if not roles or None in roles:
            return  # a field error already says what is wrong with the parties
        sides = {SIDES[role] for role in roles}
        missing = [side for side in ("CLAIMANT", "RESPONDENT") if side not in sides]
        if missing:
            raise ValidationError(
                f"at least one party on each side is required; none on {' or '.join(missing)}",
                "parties",
            )


class CanonicalRecall(Schema):
    """A source's recall of one of its referrals."""

    referral_id = _text(200, required=True)
    recalled_at = fields.AwareDateTime(required=True)
    reason = _text(2000)


SCHEMAS: dict[str, type[Schema]] = {"referral": CanonicalReferral, "recall": CanonicalRecall}


def _id_number_problem(scheme: str | None, value: str) -> str | None:
    if scheme == "RESIDENT_ID":
        if _LEGACY_RESIDENT_ID.match(value) or ric.is_valid(value):
            return None
        return "not a valid resident ID number (18 characters with a matching check digit)"
    if scheme == "USCC":
        return None if uscc.is_valid(value) else "not a valid unified social credit code"
    known = ", ".join(ID_SCHEMES)
    return f"unknown ID scheme {scheme!r} (known: {known}); the number was not checked"


def _phone_problem(value: str) -> str | None:
    if _MOBILE.match(value) or _LANDLINE.match(value):
        return None
    return "not a mobile (11 digits) or landline (area code and number) phone number"


def quality_warnings(referral: dict[str, Any]) -> list[dict[str, str]]:
    """Faults that flag the case for staff instead of refusing it: `{field, message, value}`.

    `field` is a JSON pointer into the canonical referral; `value` is masked.
    """
    found = []
    for index, party in enumerate(referral.get("parties", [])):
        if party.get("id_number"):
            problem = _id_number_problem(party.get("id_scheme"), party["id_number"])
            if problem:
                value = mask_id_number(party["id_number"])
                found.append((f"/parties/{index}/id_number", problem, value))
        if party.get("phone") and (problem := _phone_problem(party["phone"])):
            found.append((f"/parties/{index}/phone", problem, mask_phone(party["phone"])))
    clerk_phone = (referral.get("clerk") or {}).get("phone")
    if clerk_phone and (problem := _phone_problem(clerk_phone)):
        found.append(("/clerk/phone", problem, mask_phone(clerk_phone)))
    return [{"field": field, "message": message, "value": value} for field, message, value in found]
