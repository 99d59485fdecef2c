"""Intake of one push: check, store, map, apply, answer.

Checks run cheapest-first and never parse what was not authenticated:

    404 unknown source -> 413 too large -> 401 signature -> 415 content type
    -> 400 malformed -> 422 invalid -> effects (201 / 200 / 409 / 404 recall)

Every push is stored as an `InboundMessage` with its outcome. Pushes refused before
authentication (404, 413, 401) keep their headers but no body: nothing unauthenticated
is written to the database. From 415 on, the raw body is stored (encrypted) in the
same transaction as the case effects; effects run in a savepoint, so a refused push
still stores its message and refusal, and a failed one leaves no partial write. A
database outage propagates as 503 with Retry-After (errors.py).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from werkzeug.http import parse_options_header

from referral_service import db, settings, sources
from referral_service.cases.opening import Effect, apply_recall, apply_referral
from referral_service.errors import ProblemError
from referral_service.ids import new_ulid
from referral_service.intake import verify
from referral_service.intake.parsing import CONTENT_TYPES, parse
from referral_service.mapping import Finding, Record, load_mapping
from referral_service.models import InboundMessage
from referral_service.sources import Source

log = logging.getLogger(__name__)

STORED_HEADERS = ("content-type", "content-length", "user-agent", "webhook-id", "webhook-timestamp")


@dataclass(frozen=True)
class Push:
    """An HTTP push as intake sees it: the source id in the URL, lower-cased headers,
    and a way to read at most n bytes of the body."""

    source_id: str
    headers: Mapping[str, str]
    read: Callable[[int], bytes]


def receive(push: Push) -> InboundMessage:
    """Run one push through intake; the stored message holds the answer to send."""
    session = db.session()
    source = sources().get(push.source_id)
    limits = settings().intake
    try:
        if source is None or not source.enabled:
            raise ProblemError(
                404,
                "Unknown source",
                f"No source {push.source_id!r} is configured.",
                slug="unknown-source",
            )
        body = _read_capped(push, limits["max_body_bytes"])
        verify.verify(source, body, push.headers, limits["timestamp_tolerance_seconds"])
    except ProblemError as problem:
        message = _new_message(push.source_id, push.headers, None)
        _refuse(message, problem)
        session.add(message)
        session.commit()
        log.info("push from %s refused: %s", push.source_id[:64], message.outcome)
        return message
    return process(session, source, body, push.headers, actor=f"source:{source.id}")


def process(
    session: Session,
    source: Source,
    body: bytes,
    headers: Mapping[str, str],
    *,
    actor: str,
    replay_of: InboundMessage | None = None,
) -> InboundMessage:
    """Check, map and apply an authenticated body; store and return its message.

    Used for fresh pushes and for replays of stored ones (`replay_of`).
    """
    message = _new_message(source.id, headers, body)
    message.replay_of_id = replay_of.id if replay_of else None
    session.add(message)
    session.flush()  # the message is written before any effect (and opens the transaction)
    try:
        mapping = load_mapping(source.mapping, source.config_path)
        _check_content_type(headers.get("content-type"), mapping.syntax)
        records, loose = mapping.evaluate(parse(body, mapping.syntax))
        if mapping.batch:
            _apply_batch(session, source, message, records, loose, actor)
        else:
            _apply_single(session, source, message, records, loose, actor)
    except ProblemError as problem:
        _refuse(message, problem)
    except DBAPIError:
        raise
    except Exception:
        session.rollback()
        _store_failure(session, source.id, headers, body, replay_of)
        raise
    session.commit()
    log.info(
        "push %s from %s: %s (%s)", message.id, source.id, message.outcome, message.http_status
    )
    return message


def _read_capped(push: Push, limit: int) -> bytes:
    too_large = ProblemError(
        413, "Body too large", f"The body exceeds the limit of {limit} bytes.", slug="too-large"
    )
    declared = push.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    body = push.read(limit + 1)  # a chunked body has no Content-Length: cap the read
    if len(body) > limit:
        raise too_large
    return body


def _check_content_type(value: str | None, syntax: str) -> None:
    mimetype = parse_options_header(value or "")[0].lower()
    if mimetype in CONTENT_TYPES[syntax] or mimetype.endswith(f"+{syntax}"):
        return
    expected = " or ".join(CONTENT_TYPES[syntax])
    raise ProblemError(
        415,
        "Unsupported media type",
        f"This source sends {expected}, not {mimetype or 'an unnamed type'}.",
        slug="unsupported-media-type",
    )


def _invalid(findings: list[Finding]) -> ProblemError:
    return ProblemError(
        422,
        "Invalid referral",
        f"{len(findings)} field(s) failed validation; see errors.",
        slug="invalid",
        errors=[finding.as_dict() for finding in findings],
    )


def _apply_single(
    session: Session,
    source: Source,
    message: InboundMessage,
    records: list[Record],
    loose: list[Finding],
    actor: str,
) -> None:
    findings = loose + [error for record in records for error in record.errors]
    if len(records) > 1:
        findings.append(Finding("/", f"{len(records)} records found; this source sends one"))
    if records:
        message.referral_external_id = (records[0].referral_id or "")[:200] or None
    if findings:
        raise _invalid(findings)
    effect = _apply(session, source, message, records[0], actor)
    message.outcome, message.http_status, message.response = (
        effect.status,
        effect.http_status,
        effect.body,
    )


def _apply_batch(
    session: Session,
    source: Source,
    message: InboundMessage,
    records: list[Record],
    loose: list[Finding],
    actor: str,
) -> None:
    if loose:
        raise _invalid(loose)
    results = []
    for record in records:
        entry: dict[str, Any] = {"index": record.index, "referral_id": record.referral_id}
        if record.errors:
            entry.update(status="invalid", errors=[e.as_dict() for e in record.errors])
        else:
            try:
                effect = _apply(session, source, message, record, actor)
                entry.update(effect.body, status=effect.status)
            except ProblemError as problem:
                entry.update(status=_outcome(problem), problem=problem.to_dict())
        results.append(entry)
    message.outcome, message.http_status = "multi", 200
    message.response = {"source": source.id, "results": results}


def _apply(
    session: Session, source: Source, message: InboundMessage, record: Record, actor: str
) -> Effect:
    """Apply one valid record in a savepoint: all of its effects, or none."""
    with session.begin_nested():
        if record.kind == "recall":
            effect = apply_recall(session, source.id, record.data, actor=actor)
        else:
            warnings = [warning.as_dict() for warning in record.warnings]
            effect = apply_referral(
                session,
                source.id,
                record.data,
                warnings,
                inbound_message_id=message.id,
                actor=actor,
            )
    return effect


def _new_message(source_id: str, headers: Mapping[str, str], body: bytes | None) -> InboundMessage:
    stored = {name: headers[name][:500] for name in STORED_HEADERS if headers.get(name)}
    return InboundMessage(
        id=new_ulid(),
        source_id=source_id[:64],
        content_type=(headers.get("content-type") or "")[:200] or None,
        headers=stored,
        body=body,
        body_size=len(body) if body is not None else _declared_size(headers),
        body_sha256=hashlib.sha256(body).hexdigest() if body is not None else None,
        webhook_id=(headers.get("webhook-id") or "")[:200] or None,
        outcome="error",  # until intake decides; never committed as such unless it failed
        http_status=500,
    )


def _declared_size(headers: Mapping[str, str]) -> int:
    declared = headers.get("content-length", "")
    return int(declared) if declared.isdigit() else 0


def _outcome(problem: ProblemError) -> str:
    """`conflict` for any 409, else the problem's slug: `too_large`, `invalid`, ..."""
    if problem.status == 409:
        return "conflict"
    return (problem.slug or "error").replace("-", "_")


def _refuse(message: InboundMessage, problem: ProblemError) -> None:
    message.outcome = _outcome(problem)
    message.http_status = problem.status
    message.problem = problem.to_dict()
    message.response = None


def _store_failure(
    session: Session,
    source_id: str,
    headers: Mapping[str, str],
    body: bytes,
    replay_of: InboundMessage | None,
) -> None:
    """After an unexpected error, keep the message (outcome `error`) for a later replay."""
    message = _new_message(source_id, headers, body)
    message.replay_of_id = replay_of.id if replay_of else None
    _refuse(message, ProblemError(500, "Internal Server Error", "An unexpected error occurred."))
    session.add(message)
    session.commit()
