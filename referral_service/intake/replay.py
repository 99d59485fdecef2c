"""Replay: run a stored inbound message through intake again, e.g. after a mapping fix.

The signature is not checked again (it was verified on arrival). The replay is a new
message linked to the original by `replay_of_id`; the original counts its replays.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from referral_service import sources
from referral_service.errors import ProblemError
from referral_service.intake.service import process
from referral_service.models import InboundMessage


def replay_message(db: Session, message_id: str, actor: str) -> InboundMessage:
    """Process stored message `message_id` again; return the new message (committed).

    Raises a 404 problem for an unknown message, 409 when it has no body (refused
    before authentication, or pruned) or its source is no longer configured.
    """
    original = db.get(InboundMessage, message_id)
    if original is None:
        raise ProblemError(
            404,
            "Inbound message not found",
            f"No inbound message {message_id!r}.",
            slug="inbound-message-not-found",
        )
    if original.body is None:
        raise ProblemError(
            409,
            "Nothing to replay",
            "This message has no stored body (refused before authentication, or pruned).",
            slug="no-body",
        )
    source = sources().get(original.source_id)
    if source is None:
        raise ProblemError(
            409,
            "Source not configured",
            f"Source {original.source_id!r} is not configured.",
            slug="unknown-source",
        )
    original.replay_count += 1
    return process(db, source, original.body, original.headers, actor=actor, replay_of=original)
