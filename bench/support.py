"""What the benches share: throw-away databases and timing.

Each bench puts the checkout root on `sys.path` so that `bench.support` imports when it runs
as `.venv/bin/python bench/<name>.py`.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from referral_service import migrate


def timed(count: int, step: Callable[[int], object]) -> tuple[float, list[float]]:
    """Run `step(i)` count times; return (total seconds, latencies in ms)."""
    latencies = []
    started = time.perf_counter()
    for i in range(count):
        t0 = time.perf_counter()
        step(i)
        latencies.append((time.perf_counter() - t0) * 1000)
    return time.perf_counter() - started, latencies


def p95(latencies: list[float]) -> float:
    """The 95th percentile of `latencies` (at least two values)."""
    return statistics.quantiles(latencies, n=20)[18]


@contextmanager
def sqlite_database() -> Iterator[str]:
    """Yield the URL of a migrated SQLite database in a temporary file, removed afterwards."""
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        migrate.upgrade(url)
        yield url


def postgres_url() -> str | None:
    """Create an empty PostgreSQL database and return its URL; None (said so) if unreachable."""
    admin_url = make_url(
        os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    )
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"rs_bench_{uuid.uuid4().hex[:8]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        print(f"postgresql: skipped ({type(exc).__name__})")
        return None
    finally:
        admin.dispose()
    return admin_url.set(database=name).render_as_string(hide_password=False)


def drop(url: str) -> None:
    """Drop the PostgreSQL database at `url`, closing any connection left to it."""
    admin = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    admin.dispose()


def on_each_database(run: Callable[[str], None]) -> None:
    """Call `run(url)` on a migrated SQLite database, then on PostgreSQL when reachable."""
    with sqlite_database() as url:
        run(url)
    url = postgres_url()
    if url:
        try:
            migrate.upgrade(url)
            run(url)
        finally:
            drop(url)
