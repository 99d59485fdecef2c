"""Delivery throughput against a plain-HTTP baseline, measured in the same run.

    .venv/bin/python bench/delivery.py [N]        (default N=2000)

For SQLite (a temporary file) and PostgreSQL (TEST_DATABASE_URL or the local server,
when reachable), against one local receiver that answers 200 at once:

    baseline   N plain `requests.Session.post` calls of the same body, spread over as
               many threads as the dispatcher has slots: the cost of HTTP alone
    delivery   N queued reports delivered by the real path (claim under a lease, sign,
               POST, record the attempt and the outcome), one dispatcher run until idle

and prints reports per second for both, so the overhead of the queue is visible.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import requests
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from bench.support import on_each_database
from referral_service import create_app, db
from referral_service.config import DEMO_SECRETS, load_settings
from referral_service.delivery import jobs
from referral_service.models import Report
from tests.delivery_support import bulk_reports

BODY = "<OutcomeReport n='0'/>"


class _Ok(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # no 40 ms delayed-ACK stalls on keep-alive

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: object) -> None:
        pass


def baseline(url: str, count: int, threads: int) -> float:
    """Seconds for `count` plain POSTs over `threads` threads sharing one session."""
    session = requests.Session()
    adapter = requests.adapters.HTTPAdapter(pool_maxsize=threads)
    session.mount("http://", adapter)

    def post(_i: int) -> None:
        session.post(url, data=BODY.encode(), headers={"Content-Type": "application/xml"})

    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(post, range(count)))
    elapsed = time.perf_counter() - started
    session.close()
    return elapsed


def run(database_url: str, count: int, receiver_url: str) -> None:
    settings = load_settings(env=DEMO_SECRETS, overrides={"database": {"url": database_url}})
    sources = settings.sources.all()
    for source in sources:
        settings.sources.add(replace(source, callback_url=f"{receiver_url}/{source.id}"))
    slots = sum(source.delivery.concurrency for source in sources)
    app = create_app(settings)
    with app.app_context():
        bulk_reports(db.session(), count, [source.id for source in sources])

    plain = baseline(f"{receiver_url}/baseline", count, slots)
    started = time.perf_counter()
    with app.app_context():
        jobs.dispatcher().run_until_idle()
        real = time.perf_counter() - started
        delivered = db.session().scalar(
            select(func.count()).select_from(Report).where(Report.status == "DELIVERED")
        )
        jobs.dispatcher().shutdown()
    assert delivered == count, f"only {delivered} of {count} delivered"

    print(f"{make_url(database_url).get_backend_name()}: {count} reports, {slots} slots")
    print(f"  baseline  plain requests.Session.post   {count / plain:8.0f} per second")
    print(
        f"  delivery  claim, sign, POST, record     {count / real:8.0f} per second"
        f"   ({plain / real:.0%} of baseline)"
    )
    app.extensions["db"].engine.dispose()


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    logging.disable(logging.INFO)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    receiver_url = f"http://127.0.0.1:{server.server_address[1]}/callbacks"
    try:
        on_each_database(lambda url: run(url, count, receiver_url))
    finally:
        server.shutdown()


if __name__ == "__main__":
    main()
