"""`referral-service serve`: one gunicorn process with threads, web and scheduler together.

The scheduler starts once, in the gunicorn worker process after the app has loaded
(`post_worker_init`), and stops with it (`worker_exit`). Production runs gunicorn with
several web workers (no scheduler inside them) plus one or more `referral-service worker`
processes; see the Dockerfile.
"""

from __future__ import annotations

import logging

from gunicorn.app.base import BaseApplication

from referral_service import create_app, scheduler
from referral_service.config import Settings

log = logging.getLogger(__name__)


class _SingleProcess(BaseApplication):
    def __init__(self, settings: Settings, options: dict):
        self.settings = settings
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        app = create_app(self.settings)
        if self.settings.secrets.demo:
            log.warning("REFERRAL_DEMO=1: using the published demo secrets; never in production")
        return app


def _start_scheduler(worker) -> None:
    worker.scheduler = scheduler.start_background(worker.wsgi)


def _stop_scheduler(_server, worker) -> None:
    if getattr(worker, "scheduler", None) is not None:
        scheduler.stop(worker.wsgi, worker.scheduler)


def run_single_process(settings: Settings, host: str, port: int, threads: int) -> None:
    """Serve on host:port with one worker process and `threads` threads; blocks."""
    options = {
        "bind": f"{host}:{port}",
        "workers": 1,
        "worker_class": "gthread",
        "threads": threads,
        "accesslog": None,
        "timeout": 60,
        "post_worker_init": _start_scheduler,
        "worker_exit": _stop_scheduler,
    }
    _SingleProcess(settings, options).run()
