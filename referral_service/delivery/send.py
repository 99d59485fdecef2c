"""Send one report: sign it with Standard Webhooks headers and POST it to the source.

`webhook-id` is the report id on every attempt (receivers drop duplicates by it);
`webhook-timestamp` is fresh per attempt. Sources with `auth = "bearer"` get
`Authorization: Bearer <token>` instead of a signature.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from standardwebhooks import Webhook

from referral_service.models import utcnow
from referral_service.sources.registry import Source

USER_AGENT = "referral-service/0.1 (+delivery)"
EXCERPT_CHARS = 500
TRANSIENT_ERRORS = (
    requests.Timeout,
    requests.ConnectionError,
    requests.exceptions.ChunkedEncodingError,
)


@dataclass(frozen=True)
class Outgoing:
    """What a sender needs of a claimed report."""

    id: str
    source_id: str
    content_type: str
    body: str
    attempt_count: int  # attempts made before this one


@dataclass(frozen=True)
class SendResult:
    """What came back from one POST."""

    started_at: datetime
    duration_ms: int
    http_status: int | None = None
    error: str | None = None
    transient: bool = False  # the error was a timeout or a dropped connection
    excerpt: str | None = None
    retry_after: str | None = None


def signed_headers(source: Source, report: Outgoing, now: datetime) -> dict[str, str]:
    """The headers of one attempt: identity, timestamp, and signature or bearer token."""
    headers = {
        "Content-Type": report.content_type,
        "User-Agent": USER_AGENT,
        "webhook-id": report.id,
        "webhook-timestamp": str(int(now.timestamp())),
    }
    if source.auth == "bearer":
        headers["Authorization"] = f"Bearer {source.secret}"
    else:
        headers["webhook-signature"] = Webhook(source.secret).sign(report.id, now, report.body)
    return headers


class Sender:
    """Posts reports through one shared `requests.Session` with connect and read timeouts."""

    def __init__(self, connect_timeout: float, read_timeout: float, pool_size: int = 10):
        self.timeout = (connect_timeout, read_timeout)
        self.http = requests.Session()
        adapter = HTTPAdapter(pool_connections=pool_size, pool_maxsize=pool_size)
        self.http.mount("http://", adapter)
        self.http.mount("https://", adapter)

    def send(self, source: Source, report: Outgoing) -> SendResult:
        """POST `report` to the source's callback URL; never raises for network faults."""
        started_at, clock = utcnow(), time.monotonic()
        try:
            response = self.http.post(
                source.callback_url,
                data=report.body.encode("utf-8"),
                headers=signed_headers(source, report, started_at),
                timeout=self.timeout,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            return SendResult(
                started_at=started_at,
                duration_ms=_elapsed_ms(clock),
                error=_without_query(f"{type(exc).__name__}: {exc}", source.callback_url)[
                    :EXCERPT_CHARS
                ],
                transient=isinstance(exc, TRANSIENT_ERRORS),
            )
        return SendResult(
            started_at=started_at,
            duration_ms=_elapsed_ms(clock),
            http_status=response.status_code,
            error=None if 200 <= response.status_code < 300 else _status_error(response),
            excerpt=response.content[: EXCERPT_CHARS * 4].decode("utf-8", "replace")[
                :EXCERPT_CHARS
            ],
            retry_after=response.headers.get("Retry-After"),
        )

    def close(self) -> None:
        """Close pooled connections."""
        self.http.close()


def _without_query(text: str, url: str) -> str:
    """Hide the callback URL's query string (it may carry a token) from an error text."""
    query = urlsplit(url).query
    return text.replace(query, "[query hidden]") if query else text


def _status_error(response: requests.Response) -> str:
    error = f"HTTP {response.status_code} {response.reason}"
    if response.is_redirect:
        error += f" to {response.headers.get('Location')} (redirects are not followed)"
    return error


def _elapsed_ms(clock: float) -> int:
    return round((time.monotonic() - clock) * 1000)
