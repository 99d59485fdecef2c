"""Headless Chromium for the browser tests and docs/screenshot.py: Debian's build, never a
download."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Browser, Playwright

CHROMIUM = Path("/usr/bin/chromium")
_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


def launch(playwright: Playwright) -> Browser:
    """Start `/usr/bin/chromium` headless, without sandbox, GPU or background traffic."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=_ARGS)
