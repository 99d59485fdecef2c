"""The overview and sync-status as the tables grow, against a baseline in the same run.

    .venv/bin/python bench/dashboard.py [N]        (default N=20000 inbound messages)

On a temporary SQLite database filled with N inbound messages over the last 7 days,
N/4 reports (a quarter FAILED, each with two attempts) and N/10 cases, prints the
median time and the number of SQL statements of: GET /healthz (the framework alone),
GET /api/v1/sync-status, GET /dashboard and GET /metrics. The statement count stays
the same whatever N is: the pages aggregate, they never query per row.
"""

from __future__ import annotations

import logging
import statistics
import sys
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import event, insert

from bench.support import sqlite_database, timed
from referral_service import create_app, db
from referral_service.auth.accounts import create_token, create_user
from referral_service.config import DEMO_SECRETS, load_settings
from referral_service.ids import new_ulid
from referral_service.models import (
    Case,
    DeliveryAttempt,
    InboundMessage,
    Referral,
    Report,
    utcnow,
)

SOURCES = ("gz-intermediate-court", "gz-arbitration")
OUTCOMES = ("created", "created", "created", "duplicate", "invalid", "malformed")


def fill(n: int) -> None:
    """Bulk rows (no ORM per row, no encryption of bodies: bodies are not read here)."""
    session = db.session()
    now = utcnow()
    session.execute(
        insert(InboundMessage),
        [
            {
                "id": new_ulid(),
                "source_id": SOURCES[i % 2],
                "received_at": now - timedelta(seconds=(i * 604800) // n),
                "headers": {},
                "body_size": 0,
                "outcome": OUTCOMES[i % len(OUTCOMES)],
                "http_status": 201,
            }
            for i in range(n)
        ],
    )
    cases = n // 10
    session.execute(
        insert(Case),
        [
            {
                "id": i + 1,
                "case_number": f"ZH-2026-{i + 1:06d}",
                "source_id": SOURCES[i % 2],
                "referral_external_id": f"B-{i}",
                "court_case_number": f"(2026)粤01民诉前调{i}号",
                "referral_type": "PRE_LITIGATION",
                "referrer_name": "广州市中级人民法院",
                "category": "CREDIT_CARD",
                "referred_at": now,
                "deadline": (now + timedelta(days=i % 40 - 5)).date(),
                "version": 1,
            }
            for i in range(cases)
        ],
    )
    session.execute(
        insert(Referral),
        [
            {
                "id": i + 1,
                "source_id": SOURCES[i % 2],
                "external_id": f"B-{i}",
                "content_hash": "x",
                "canonical": {},
                "case_id": i + 1,
            }
            for i in range(cases)
        ],
    )
    reports = [
        {
            "id": new_ulid(),
            "case_id": i % cases + 1,
            "referral_id": i % cases + 1,
            "source_id": SOURCES[(i % cases) % 2],
            "sequence": i // cases + 1,
            "case_status": "SETTLED",
            "content_type": "application/xml",
            "body": "<x/>",
            "status": ("DELIVERED", "DELIVERED", "PENDING", "FAILED")[i % 4],
            "created_at": now - timedelta(minutes=i % 600),
        }
        for i in range(n // 4)
    ]
    session.execute(insert(Report), reports)
    session.execute(
        insert(DeliveryAttempt),
        [
            {"report_id": r["id"], "result": result, "http_status": 503, "error": "HTTP 503"}
            for r in reports
            if r["status"] == "FAILED"
            for result in ("retry", "failed")
        ],
    )
    create_user(session, "bench", "admin", "bench-password")
    session.commit()


def measure(client, path: str, headers: dict, statements: list[int], runs: int = 20) -> str:
    counts = []

    def get(_i: int) -> None:
        statements[0] = 0
        response = client.get(path, headers=headers)
        counts.append(statements[0])
        assert response.status_code == 200, (path, response.status_code)

    _total, times = timed(runs, get)
    return f"{path:24} median {statistics.median(times):7.1f} ms   {max(counts):3d} SQL statements"


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    logging.disable(logging.INFO)
    with sqlite_database() as url:
        app = create_app(
            load_settings(env=dict(DEMO_SECRETS), overrides={"database": {"url": url}})
        )
        with app.app_context():
            fill(n)
            token = create_token(db.session(), "bench")
            db.session().commit()
        statements = [0]
        event.listen(
            app.extensions["db"].engine,
            "before_cursor_execute",
            lambda *args: statements.__setitem__(0, statements[0] + 1),
        )
        client = app.test_client()
        app.config["WTF_CSRF_ENABLED"] = False  # the bench signs in without reading the form
        client.post("/login", data={"name": "bench", "password": "bench-password"})
        bearer = {"Authorization": f"Bearer {token}"}
        print(f"SQLite, {n} inbound messages, {n // 4} reports, {n // 10} cases")
        print(measure(client, "/healthz", {}, statements))
        print(measure(client, "/api/v1/sync-status", bearer, statements))
        print(measure(client, "/dashboard", {}, statements))
        print(measure(client, "/metrics", {}, statements))


if __name__ == "__main__":
    main()
