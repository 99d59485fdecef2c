"""Who sent a push: Standard Webhooks signatures, or a static bearer token per source.

Refusals are 401 problems that say which check failed (a missing header, a stale
timestamp, no matching signature) and nothing about the secret.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Mapping
from datetime import UTC, datetime

from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from referral_service.errors import ProblemError
from referral_service.ids import new_ulid
from referral_service.sources import Source

WEBHOOK_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")


def unauthorized(detail: str) -> ProblemError:
    """A 401 problem."""
    return ProblemError(401, "Unauthorized", detail, slug="unauthorized")


def sign_headers(
    secret: str, body: bytes, msg_id: str | None = None, timestamp: datetime | None = None
) -> dict[str, str]:
    """Standard Webhooks headers for `body` signed with `secret` (`whsec_...`)."""
    msg_id = msg_id or new_ulid()
    timestamp = timestamp or datetime.now(UTC)
    signature = Webhook(secret).sign(msg_id, timestamp, body.decode())
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": signature,
    }


def verify(source: Source, body: bytes, headers: Mapping[str, str], tolerance: int) -> None:
    """Return when the push is authentic; raise a 401 problem otherwise.

    `headers` are lower-cased. Any one matching `v1` signature in the list is enough;
    a timestamp more than `tolerance` seconds from now is refused.
    """
    if source.auth == "bearer":
        _verify_bearer(source, headers.get("authorization", ""))
    else:
        _verify_webhook(source, body, headers, tolerance)


def _verify_bearer(source: Source, authorization: str) -> None:
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise unauthorized("A bearer token is required.")
    if not hmac.compare_digest(token.strip().encode(), source.secret.encode()):
        raise unauthorized("The bearer token is not valid for this source.")


def _verify_webhook(
    source: Source, body: bytes, headers: Mapping[str, str], tolerance: int
) -> None:
    missing = [name for name in WEBHOOK_HEADERS if not headers.get(name)]
    if missing:
        raise unauthorized(f"Missing Standard Webhooks header(s): {', '.join(missing)}.")
    try:
        skew = abs(time.time() - int(headers["webhook-timestamp"]))
    except ValueError:
        raise unauthorized("webhook-timestamp must be Unix seconds.") from None
    if skew > tolerance:
        raise unauthorized(f"webhook-timestamp is more than {tolerance} seconds from now.")
    try:
        body.decode()
    except UnicodeDecodeError:
        raise unauthorized("Signed bodies must be UTF-8; this one cannot be checked.") from None
    try:
        Webhook(source.secret).verify(body, dict(headers), json_parse=False)
    except WebhookVerificationError as exc:
        raise unauthorized(f"Signature not verified: {exc}.") from None
    except ValueError:  # a malformed signature list or base64 (binascii.Error)
        raise unauthorized("Signature not verified: malformed webhook-signature.") from None
