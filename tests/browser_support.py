"""Debian's Chromium driven by Playwright (no browser is downloaded), and the app served
on a free loopback port: what the browser tests share."""

import contextlib
import shutil
import threading

import pytest
from werkzeug.serving import make_server

from tests.conftest import DEMO_PASSWORD

CHROMIUM = "/usr/bin/chromium"
# As root, headless, and quiet on a closed network (see the env notes in STACK.md).
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]


@contextlib.contextmanager
def served(app):
    """``app`` on a free loopback port, in a thread: yields its base URL."""
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}"
    finally:
        httpd.shutdown()


@contextlib.contextmanager
def chromium():
    if not shutil.which(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: run ./install.sh --dev (Debian package chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def sign_in(page, base, username):
    page.goto(base + "/login/")
    page.fill("#username", username)
    page.fill("#password", DEMO_PASSWORD)
    page.click("input[type=submit], button[type=submit]")
    page.wait_for_load_state()
