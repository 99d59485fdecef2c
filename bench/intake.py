"""Intake throughput and latency, against baselines measured in the same run.

    .venv/bin/python bench/intake.py [N]        (default N=500)

For SQLite (a temporary file) and PostgreSQL (TEST_DATABASE_URL or the local server,
when reachable), the same in-process client sends N requests of each kind:

    healthz        GET /healthz: the cost of Flask and the client alone
    verify+parse   signature check, parsing and mapping without the database
    new referral   N signed court referrals, each opening a case (201)
    repeat         the same referral N times (200 from the stored answer)

and prints requests per second with p50/p95 latency, so the overhead of intake over
the bare framework is visible. The time to refuse a billion-laughs body is printed too.
"""

from __future__ import annotations

import contextlib
import logging
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy.engine import make_url

from bench.support import on_each_database, p95, timed
from referral_service import create_app
from referral_service.config import DEMO_SECRETS, PROJECT_ROOT, load_settings
from referral_service.intake.parsing import parse
from referral_service.intake.verify import sign_headers, verify
from referral_service.mapping import load_mapping

COURT = "gz-intermediate-court"
EXAMPLE = PROJECT_ROOT / "docs" / "examples" / "court-referral.xml"
SECRET = DEMO_SECRETS["REFERRAL_SOURCE_GZ_INTERMEDIATE_COURT_SECRET"]
URL = f"/api/v1/sources/{COURT}/referrals"


def line(label: str, total: float, latencies: list[float]) -> str:
    return (
        f"  {label:<14} {len(latencies) / total:8.0f} req/s   "
        f"p50 {statistics.median(latencies):6.2f} ms   p95 {p95(latencies):6.2f} ms"
    )


def body_for(i: int) -> bytes:
    return EXAMPLE.read_bytes().replace(b"GZZY-WP-2026-000317", f"BENCH-{i:06d}".encode())


def signed(body: bytes) -> dict[str, str]:
    return {**sign_headers(SECRET, body), "Content-Type": "application/xml"}


def run(database_url: str, count: int) -> None:
    settings = load_settings(env=DEMO_SECRETS, overrides={"database": {"url": database_url}})
    app = create_app(settings)
    client = app.test_client()
    source = settings.sources.get(COURT)
    mapping = load_mapping(source.mapping, source.config_path)
    bodies = [body_for(i) for i in range(count)]
    headers = [signed(body) for body in bodies]

    def check(i: int) -> None:
        lowered = {k.lower(): v for k, v in headers[i].items()}
        verify(source, bodies[i], lowered, 300)
        mapping.evaluate(parse(bodies[i], "xml"))

    def post(i: int) -> None:
        response = client.post(URL, data=bodies[i], headers=headers[i])
        assert response.status_code == 201, response.get_data(as_text=True)

    def repeat(_i: int) -> None:
        response = client.post(URL, data=bodies[0], headers=headers[0])
        assert response.status_code == 200, response.get_data(as_text=True)

    print(f"{make_url(database_url).get_backend_name()}: {count} requests each")
    print(line("healthz", *timed(count, lambda i: client.get("/healthz"))))
    print(line("verify+parse", *timed(count, check)))
    print(line("new referral", *timed(count, post)))
    print(line("repeat", *timed(count, repeat)))
    app.extensions["db"].engine.dispose()


def attack_time() -> None:
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">'
        + b"".join(b'<!ENTITY a%d "%s">' % (i, b"&a;" * 10) for i in range(9))
        + b"]><Referral>&a8;</Referral>"
    )
    started = time.perf_counter()
    with contextlib.suppress(Exception):
        parse(laughs, "xml")
    print(f"billion laughs refused in {(time.perf_counter() - started) * 1e6:.0f} µs")


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    logging.disable(logging.INFO)
    on_each_database(lambda url: run(url, count))
    attack_time()


if __name__ == "__main__":
    main()
