"""A canonical referral's effect on cases: open one, amend it from a later revision,
or recall it.

Idempotency rests on the unique constraint on (source, referral id), not on a look
before the insert: the referral row is inserted first in a savepoint; if another push
won the race the insert fails, and the push is answered from the row that exists.
The caller owns the transaction and commits.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from referral_service import crypto
from referral_service.cases.lifecycle import FINAL_STATES, transition
from referral_service.cases.numbering import next_case_number
from referral_service.errors import ProblemError
from referral_service.mapping.canonical import SIDES
from referral_service.models import Case, CaseEvent, Party, Referral

# Case columns a later revision may change; the `amended` event names those that did.
_AMENDABLE = (
    "referral_type",
    "referrer_name",
    "referrer_code",
    "court_case_number",
    "category",
    "cause_of_action",
    "referred_at",
    "deadline",
    "claim_amount",
    "currency",
    "summary",
    "clerk",
    "attachments",
)


@dataclass(frozen=True)
class Effect:
    """What a record did: `status` (created, duplicate, updated, recalled), HTTP status, body."""

    status: str
    http_status: int
    body: dict[str, Any]


def content_hash(data: dict[str, Any]) -> str:
    """SHA-256 of the canonical referral: equal content, equal hash, whatever the spelling."""
    encoded = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(encoded.encode()).hexdigest()


def apply_referral(
    db: Session,
    source_id: str,
    data: dict[str, Any],
    warnings: list[dict[str, Any]],
    *,
    inbound_message_id: str,
    actor: str,
) -> Effect:
    """Open a case for a new referral, answer a repeat, or amend from a higher revision.

    Raises a 409 problem for a same-or-lower revision with different content, or for a
    revision of a case that is already concluded.
    """
    digest = content_hash(data)
    referral = Referral(
        source_id=source_id,
        external_id=data["referral_id"],
        revision=data["revision"],
        content_hash=digest,
        canonical=data,
        inbound_message_id=inbound_message_id,
    )
    try:
        with db.begin_nested():
            db.add(referral)
    except IntegrityError:
        existing = db.scalars(
            select(Referral)
            .where(Referral.source_id == source_id, Referral.external_id == data["referral_id"])
            .with_for_update()
        ).one()
        return _revise(db, existing, data, digest, warnings, inbound_message_id, actor)
    case = Case(case_number=next_case_number(db), source_id=source_id, status="RECEIVED")
    _fill(case, data, warnings)
    case.events.append(
        CaseEvent(
            kind="received",
            to_status="RECEIVED",
            actor=actor,
            data={"revision": data["revision"], "inbound_message_id": inbound_message_id},
        )
    )
    db.add(case)
    db.flush()
    referral.case_id = case.id
    referral.response = receipt(case, referral, warnings)
    return Effect("created", 201, referral.response)


def _revise(
    db: Session,
    referral: Referral,
    data: dict[str, Any],
    digest: str,
    warnings: list[dict[str, Any]],
    inbound_message_id: str,
    actor: str,
) -> Effect:
    if data["revision"] == referral.revision and digest == referral.content_hash:
        return Effect("duplicate", 200, referral.response)
    if data["revision"] <= referral.revision:
        raise ProblemError(
            409,
            "Referral conflict",
            f"Revision {data['revision']} differs from what was received for this referral; "
            f"send a revision higher than {referral.revision} to amend it.",
            slug="referral-conflict",
            referral_id=referral.external_id,
            current_revision=referral.revision,
        )
    case = referral.case
    if case.status in FINAL_STATES:
        raise ProblemError(
            409,
            "Case concluded",
            f"The case is {case.status}; a new revision can no longer amend it.",
            slug="case-concluded",
            referral_id=referral.external_id,
            case_status=case.status,
        )
    before = {name: getattr(case, name) for name in _AMENDABLE}
    old_parties = _party_view(case.parties)
    _fill(case, data, warnings)
    changed = [name for name in _AMENDABLE if getattr(case, name) != before[name]]
    if _party_view(case.parties) != old_parties:
        changed.append("parties")
    event_data = {
        "from_revision": referral.revision,
        "to_revision": data["revision"],
        "changed": changed,
        "inbound_message_id": inbound_message_id,
    }
    case.events.append(CaseEvent(kind="amended", actor=actor, data=event_data))
    if case.deadline != before["deadline"]:
        case.events.append(
            CaseEvent(
                kind="deadline_changed",
                actor=actor,
                data={
                    "old": before["deadline"].isoformat(),
                    "new": case.deadline.isoformat(),
                    "note": f"revision {data['revision']} from the source",
                },
            )
        )
    referral.revision, referral.content_hash = data["revision"], digest
    referral.canonical, referral.inbound_message_id = data, inbound_message_id
    db.flush()
    referral.response = receipt(case, referral, warnings)
    return Effect("updated", 200, referral.response)


def apply_recall(db: Session, source_id: str, data: dict[str, Any], *, actor: str) -> Effect:
    """Move the referral's case to RECALLED; a repeated recall is answered again.

    Raises a 404 problem for an unknown referral, 409 when the case is already concluded.
    """
    referral = db.scalars(
        select(Referral)
        .where(Referral.source_id == source_id, Referral.external_id == data["referral_id"])
        .with_for_update()
    ).one_or_none()
    if referral is None or referral.case is None:
        raise ProblemError(
            404,
            "Referral not found",
            "No referral with this id was received from this source.",
            slug="referral-not-found",
            referral_id=data["referral_id"],
        )
    case = referral.case
    if case.status != "RECALLED":
        transition(
            db,
            case,
            "RECALLED",
            actor=actor,
            data={"recalled_at": data["recalled_at"], "reason": data.get("reason")},
        )
    return Effect("recalled", 200, receipt(case, referral, []))


def receipt(case: Case, referral: Referral, warnings: list[dict[str, Any]]) -> dict[str, Any]:
    """The JSON answer to the source: which case its referral became."""
    body = {
        "case_id": case.id,
        "case_number": case.case_number,
        "referral_id": referral.external_id,
        "source": referral.source_id,
        "revision": referral.revision,
        "status": case.status,
    }
    if warnings:
        body["warnings"] = warnings
    return body


def _fill(case: Case, data: dict[str, Any], warnings: list[dict[str, Any]]) -> None:
    claim = data.get("claim") or {}
    case.referral_external_id = data["referral_id"]
    case.court_case_number = data["case_number"]
    case.referral_type = data["referral_type"]
    case.referrer_name = data["referrer"]["name"]
    case.referrer_code = data["referrer"].get("code")
    case.category = data["category"]
    case.cause_of_action = data.get("cause_of_action")
    case.referred_at = datetime.fromisoformat(data["referred_at"])
    case.deadline = date.fromisoformat(data["deadline"])
    case.claim_amount = Decimal(claim["amount"]) if claim else None
    case.currency = claim.get("currency")
    case.summary = data.get("summary")
    case.clerk = data.get("clerk")
    case.attachments = data.get("attachments", [])
    case.warnings = warnings
    case.flagged = bool(warnings)
    case.parties = [_party(position, party) for position, party in enumerate(data["parties"])]


def _party(position: int, party: dict[str, Any]) -> Party:
    id_number = party.get("id_number")
    return Party(
        position=position,
        role=party["role"],
        side=SIDES[party["role"]],
        type=party["type"],
        name=party["name"],
        id_scheme=party.get("id_scheme"),
        id_number=id_number,
        id_number_hash=crypto.keyring().search_hash(id_number) if id_number else None,
        phone=party.get("phone"),
        address=party.get("address"),
    )


def _party_view(parties: list[Party]) -> list[tuple]:
    return [(p.role, p.type, p.name, p.id_scheme, p.id_number, p.phone, p.address) for p in parties]
