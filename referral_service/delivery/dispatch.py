"""The dispatcher: sends due reports on a thread pool, isolating sources from each other.

Each source gets up to `delivery.concurrency` slots in this process. A slot claims one
report, sends it, records the result and claims the next, until nothing of its source is
due (or it has sent `delivery.batch_size`). `run_once` only starts slots for free places
and returns at once, so a source whose endpoint hangs keeps its own slots busy and never
holds back another source's delivery, nor the next scheduler tick.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor, wait

from flask import Flask

from referral_service import db
from referral_service.delivery.claim import claim_next
from referral_service.delivery.record import record
from referral_service.delivery.send import Sender
from referral_service.sources.registry import Source

log = logging.getLogger(__name__)


class Dispatcher:
    """One per process: the thread pool, the shared HTTP session, the busy slots per source."""

    def __init__(self, app: Flask, worker_id: str):
        settings = app.extensions["settings"]
        self.worker_id = worker_id
        self._app = app
        self._delivery = settings.delivery
        slots = max(1, sum(s.delivery.concurrency for s in app.extensions["sources"].all()))
        self._sender = Sender(
            settings.delivery["connect_timeout"], settings.delivery["read_timeout"], slots
        )
        self._pool = ThreadPoolExecutor(max_workers=slots, thread_name_prefix="deliver")
        self._lock = threading.Lock()
        self._busy: Counter[str] = Counter()
        self._running: set[Future] = set()

    def run_once(self) -> int:
        """Start a slot in every free place of every deliverable source; return how many."""
        return len(self._start_slots())

    def run_until_idle(self) -> None:
        """Deliver until a round finds nothing due (tests, benchmarks, one-off runs)."""
        while sum(future.result() for future in self._start_slots()):
            pass

    def wait(self, timeout: float | None = None) -> None:
        """Block until the slots running now have finished."""
        with self._lock:
            running = list(self._running)
        wait(running, timeout=timeout)

    def shutdown(self) -> None:
        """Let in-flight sends finish and record, then release the pool and connections."""
        self._pool.shutdown(wait=True)
        self._sender.close()

    def _start_slots(self) -> list[Future]:
        started = []
        for source in self._app.extensions["sources"].all():
            if not source.enabled or not source.callback_url:
                continue
            with self._lock:
                free = source.delivery.concurrency - self._busy[source.id]
                self._busy[source.id] += max(free, 0)
            for _ in range(free):
                future = self._pool.submit(self._drain, source)
                with self._lock:
                    self._running.add(future)
                future.add_done_callback(self._finished)
                started.append(future)
        return started

    def _finished(self, future: Future) -> None:
        with self._lock:
            self._running.discard(future)

    def _drain(self, source: Source) -> int:
        """Send due reports of `source` one by one; return how many were attempted."""
        sent = 0
        try:
            with self._app.app_context():
                session = db.session()
                while sent < self._delivery["batch_size"]:
                    report = claim_next(
                        session, source, self.worker_id, self._delivery["lease_seconds"]
                    )
                    if report is None:
                        break
                    result = self._sender.send(source, report)
                    record(session, source, report, result, self.worker_id)
                    sent += 1
        except Exception:
            # The lease runs out and another slot sends the report again.
            log.exception("delivery to %s interrupted", source.id)
        finally:
            with self._lock:
                self._busy[source.id] -= 1
        return sent
