"""Support for delivery tests: a real callback endpoint, many reports at once, waiting.

The receiver is an HTTP server in a thread. It verifies every request's Standard Webhooks
signature with `Webhook.verify`, keeps what arrived, answers with a status chosen per
source (or per call), and can hold requests open until the test releases them (a hanging
endpoint, or the window between a worker sending and recording).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from flask import Flask
from sqlalchemy.orm import Session
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from referral_service.config import Settings
from referral_service.delivery import jobs
from referral_service.models import Case, Referral, Report


@dataclass
class Arrival:
    """One request as the receiver saw it."""

    source_id: str
    webhook_id: str | None
    headers: dict[str, str]
    body: bytes
    verified: bool
    at: float = field(default_factory=time.monotonic)


class Receiver:
    """`with Receiver(settings) as r:`; sources point at `r.url(source_id)`."""

    def __init__(self, settings: Settings):
        self.secrets = {s.id: s.secret for s in settings.sources.all()}
        self.auth = {s.id: s.auth for s in settings.sources.all()}
        self.arrivals: list[Arrival] = []
        self.answers: dict[str, Any] = {}  # source id -> status, (status, headers) or callable
        self.gates: dict[str, threading.Event] = {}  # source id -> held until set
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        for gate in self.gates.values():
            gate.set()
        self.server.shutdown()
        self.server.server_close()

    def url(self, source_id: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/callbacks/{source_id}"

    def hold(self, source_id: str) -> threading.Event:
        """Keep requests for `source_id` open until the returned event is set."""
        self.gates[source_id] = threading.Event()
        return self.gates[source_id]

    def ids(self, source_id: str | None = None) -> Counter[str]:
        """How often each webhook-id arrived."""
        with self.lock:
            return Counter(a.webhook_id for a in self.arrivals if source_id in (None, a.source_id))

    def _answer(self, source_id: str, arrival: Arrival) -> tuple[int, dict[str, str]]:
        answer = self.answers.get(source_id, 200)
        if callable(answer):
            answer = answer(arrival)
        return answer if isinstance(answer, tuple) else (answer, {})

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # no 40 ms delayed-ACK stalls on keep-alive

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                source_id = self.path.rstrip("/").rsplit("/", 1)[-1]
                headers = dict(self.headers.items())
                arrival = Arrival(
                    source_id,
                    headers.get("webhook-id"),
                    headers,
                    body,
                    self._verify(source_id, body, headers),
                )
                with receiver.lock:
                    receiver.arrivals.append(arrival)
                gate = receiver.gates.get(source_id)
                if gate is not None:
                    gate.wait(60)
                status, extra = receiver._answer(source_id, arrival)
                payload = b'{"ok": true}' if status < 300 else b'{"error": "refused"}'
                self.send_response(status)
                for name, value in extra.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def _verify(self, source_id: str, body: bytes, headers: dict[str, str]) -> bool:
                if receiver.auth.get(source_id) == "bearer":
                    expected = f"Bearer {receiver.secrets[source_id]}"
                    return headers.get("Authorization") == expected
                try:
                    Webhook(receiver.secrets[source_id]).verify(body, headers, json_parse=False)
                except (WebhookVerificationError, KeyError):
                    return False
                return True

            def log_message(self, *args: object) -> None:
                pass

        return Handler


def wait_for(condition: Callable[[], bool], timeout: float = 10) -> bool:
    """Poll `condition` until it holds or `timeout` seconds pass; its last value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def point_sources(settings: Settings, receiver: Receiver, **policy: Any) -> Settings:
    """Aim every source of `settings` at `receiver`, with delivery policy overrides."""
    for source in settings.sources.all():
        settings.sources.add(
            replace(
                source,
                callback_url=receiver.url(source.id),
                delivery=replace(source.delivery, **policy),
            )
        )
    return settings


def deliver_until_idle(app: Flask) -> None:
    """Run delivery until nothing is due, as the scheduler's ticks would."""
    with app.app_context():
        jobs.dispatcher().run_until_idle()


def stop_delivery(app: Flask) -> None:
    """Shut down the app's dispatcher threads, if delivery ran."""
    if "delivery" in app.extensions:
        app.extensions["delivery"].shutdown()


def bulk_reports(session: Session, count: int, source_ids: list[str]) -> list[str]:
    """`count` PENDING reports, each of its own case, spread over `source_ids`; committed."""
    stamp = uuid.uuid4().hex[:8]
    cases = [
        Case(
            case_number=f"B{stamp}{i:07d}",
            source_id=source_ids[i % len(source_ids)],
            referral_external_id=f"BULK-{stamp}-{i}",
            court_case_number=f"(2026)粤01民诉前调{i}号",
            referral_type="PRE_LITIGATION",
            referrer_name="广州市中级人民法院",
            category="CREDIT_CARD",
            referred_at=datetime(2026, 11, 20, tzinfo=UTC),
            deadline=date(2026, 12, 20),
        )
        for i in range(count)
    ]
    session.add_all(cases)
    session.flush()
    referrals = [
        Referral(
            source_id=case.source_id,
            external_id=case.referral_external_id,
            content_hash="bulk",
            canonical={},
            case_id=case.id,
        )
        for case in cases
    ]
    session.add_all(referrals)
    session.flush()
    reports = [
        Report(
            case_id=case.id,
            referral_id=referral.id,
            source_id=case.source_id,
            sequence=1,
            case_status="SETTLED",
            content_type="application/xml",
            body=f"<OutcomeReport n='{i}'/>",
        )
        for i, (case, referral) in enumerate(zip(cases, referrals, strict=True))
    ]
    session.add_all(reports)
    session.commit()
    return [report.id for report in reports]
