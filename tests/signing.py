"""Signed pushes for tests: the demo secrets and Standard Webhooks headers."""

from __future__ import annotations

from datetime import datetime

from referral_service.config import DEMO_SECRETS, PROJECT_ROOT
from referral_service.intake.verify import sign_headers
from referral_service.sources.registry import env_prefix

# The contract's normative examples, beside the checkout, and the copies kept in the repo
# (which the tests use; test_demo checks they still match the contract's).
CONTRACT_EXAMPLES = PROJECT_ROOT.parent / "shared" / "contracts" / "examples"
EXAMPLES = PROJECT_ROOT / "docs" / "examples"
COURT = "gz-intermediate-court"
ARBITRATION = "gz-arbitration"
CONTENT_TYPES = {COURT: "application/xml", ARBITRATION: "application/json"}


def secret(source_id: str) -> str:
    """The demo secret of `source_id` (what tests configure)."""
    return DEMO_SECRETS[env_prefix(source_id) + "SECRET"]


def signed(
    source_id: str,
    body: bytes,
    *,
    content_type: str | None = None,
    msg_id: str | None = None,
    timestamp: datetime | None = None,
) -> dict[str, str]:
    """Headers for a push of `body` by `source_id`, signed with its demo secret."""
    headers = sign_headers(secret(source_id), body, msg_id, timestamp)
    headers["Content-Type"] = content_type or CONTENT_TYPES.get(source_id, "application/xml")
    return headers


def example(name: str) -> bytes:
    """A contract example, unchanged."""
    return (EXAMPLES / name).read_bytes()


def push(client, source_id: str, body: bytes, **kwargs):
    """POST a signed push of `body` to `source_id`'s referral endpoint."""
    return client.post(
        f"/api/v1/sources/{source_id}/referrals",
        data=body,
        headers=signed(source_id, body, **kwargs),
    )
