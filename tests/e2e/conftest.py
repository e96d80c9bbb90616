"""A real `streamlit run` server and Debian's Chromium driven by Playwright."""

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from bench.frames import CHROMIUM, CHROMIUM_ARGS

ROOT = Path(__file__).resolve().parents[2]
OUTPUT = ROOT / "tests" / "output"  # screenshots and server logs of the last run (not committed)
# The README's `streamlit run app.py`, run from the repository root (tests/test_docs_commands.py
# holds the README to this).
APP_COMMAND = [sys.executable, "-m", "streamlit", "run", "app.py"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        message = f"no Chromium at {CHROMIUM}: run the README's test command, which installs it"
        if os.environ.get("NNPLAY_REQUIRE_BROWSER"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@contextlib.contextmanager
def app_server(log_name: str = "server.log", env: dict[str, str] | None = None):
    """The app on a free loopback port, started as a person would start it (with ``env`` added to
    the environment); yields its URL."""
    OUTPUT.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    log = open(OUTPUT / log_name, "w")  # noqa: SIM115 - held open for the server's lifetime
    proc = subprocess.Popen(
        [
            *APP_COMMAND,
            "--server.headless",
            "true",
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
        ],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    try:
        while True:
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                pass
            if proc.poll() is not None or time.time() > deadline:
                pytest.fail(f"streamlit did not start; see {OUTPUT / log_name}")
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="session")
def server():
    with app_server() as url:
        yield url


@pytest.fixture
def page_at(browser, server):
    """Open the app at a query string in a fresh browser context; fail on any page error."""
    contexts, errors = [], []

    def open_at(query: str = "", idle: bool = True):
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(server + "/" + query)
        if idle:  # a long autoplay keeps the script busy; such tests wait for what they need instead
            wait_idle(page)
        return page

    yield open_at
    for context in contexts:
        context.close()
    assert errors == [], errors


def wait_idle(page, timeout=60_000):
    """Until the script has run to the end (Streamlit marks the app element while it runs)."""
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=timeout)
