"""The scale-out recipe as a person runs it: `bash scripts/serve.sh 2 PORT` starts two app processes
behind nginx (deploy/nginx/nnplay.conf.template). Sessions spread over both processes, every request
of one session (page, static files, health, websocket, uploads, downloads) stays on its process, and
two real browsers on two processes train, download their model and upload a CSV without an error."""

import contextlib
import http.client
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import tomllib
import urllib.parse
import warnings
from dataclasses import dataclass
from pathlib import Path

import pytest

from bench.load import consecutive_free_ports

from .conftest import OUTPUT, ROOT, _free_port, wait_idle

pytestmark = pytest.mark.e2e
NGINX = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin")  # sbin is not on every PATH
BACKEND = "X-nnplay-backend"
MB = 1024 * 1024
EPOCHS = 100  # the Playground's autoplay trains a small experiment to this budget
# Done training, or an exception to report at once instead of waiting out the timeout.
TRAINED_OR_FAILED = (
    f"() => /epoch {EPOCHS} \\/ {EPOCHS} · done/.test(document.querySelector('.st-key-epoch')?.innerText || '')"
    " || document.querySelector('[data-testid=\"stException\"]') !== null"
)


@dataclass
class Farm:
    port: int
    backends: set[str]  # "127.0.0.1:PORT" of each app process, as nginx names them in BACKEND
    run_dir: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture(scope="module")
def farm():
    if NGINX is None:
        message = "no nginx: run the README's test command, which installs Debian's nginx"
        if os.environ.get("NNPLAY_REQUIRE_BROWSER"):
            pytest.fail(message)
        pytest.skip(message)
    OUTPUT.mkdir(parents=True, exist_ok=True)
    run_dir = OUTPUT / "nginx"  # config and logs of the last run, kept for a look after a failure
    shutil.rmtree(run_dir, ignore_errors=True)
    first, port = consecutive_free_ports(2), _free_port()
    env = dict(
        os.environ,
        NNPLAY_SERVE_ADDRESS="127.0.0.1",
        NNPLAY_SERVE_BACKEND_PORT=str(first),
        NNPLAY_SERVE_RUN_DIR=str(run_dir),
        PYTHON=sys.executable,  # the one running the tests has the requirements
    )
    log_path = OUTPUT / "serve.log"
    log = open(log_path, "w")  # noqa: SIM115 - held open for the recipe's lifetime
    # Its own process group, so that nothing it started can outlive the tests, whatever happens.
    proc = subprocess.Popen(
        ["bash", "scripts/serve.sh", "2", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.time() + 180
        while "press Ctrl-C" not in log_path.read_text():
            if proc.poll() is not None or time.time() > deadline:
                pytest.fail(f"scripts/serve.sh did not come up:\n{log_path.read_text()}\n(see {run_dir})")
            time.sleep(0.3)
        yield Farm(port, {f"127.0.0.1:{first}", f"127.0.0.1:{first + 1}"}, run_dir)
    finally:
        proc.send_signal(signal.SIGTERM)  # as Ctrl-C would: serve.sh stops its processes
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()
    # serve.sh's own clean-up must leave no app process or nginx behind (they share its group).
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    pytest.fail("scripts/serve.sh left processes running after it stopped")


def request(farm: Farm, path: str, route: str | None = None, method: str = "GET", headers=None, body=None):
    """One request through nginx, with the route cookie if given: (status, headers, body)."""
    conn = http.client.HTTPConnection("127.0.0.1", farm.port, timeout=60)
    try:
        headers = dict(headers or {})
        if route:
            headers["Cookie"] = f"nnplay_route={route}"
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        # A 101 has no body to read: the connection is the websocket now.
        data = b"" if response.status == 101 else response.read()
        return response.status, response.headers, data
    finally:
        conn.close()


def route_cookie(headers) -> str | None:
    for value in headers.get_all("Set-Cookie") or []:
        if value.startswith("nnplay_route="):
            assert "Path=/" in value and "HttpOnly" in value, value
            return value.split(";")[0].split("=", 1)[1]
    return None


WEBSOCKET = {"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13"}


def test_sessions_spread_over_both_processes_and_each_stays_on_its_own(farm):
    sessions = []  # (route, backend): what nginx handed out to a browser with no cookie yet
    while len(sessions) < 40 and not (len(sessions) >= 6 and {b for _, b in sessions} == farm.backends):
        status, headers, html = request(farm, "/")
        assert status == 200
        route = route_cookie(headers)
        assert route, headers  # a first visit is given a route
        assert headers[BACKEND] in farm.backends, headers[BACKEND]
        sessions.append((route, headers[BACKEND]))
    # With random routes, 40 sessions all on one process would happen once in 2**39 runs.
    assert {b for _, b in sessions} == farm.backends, sessions

    script = re.search(rb'src="\.?/?(static/js/[^"]+\.js)"', html)
    assert script, html[:500]
    paths = ["/", "/" + script.group(1).decode(), "/_stcore/health", "/_stcore/host-config"]
    for route, backend in sessions:
        for _ in range(2):
            for path in paths:
                status, headers, _ = request(farm, path, route)
                assert (status, headers[BACKEND]) == (200, backend), (path, route)
                assert route_cookie(headers) is None, path  # a browser that has its route keeps it
            key = {"Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}
            status, headers, _ = request(farm, "/_stcore/stream", route, headers=WEBSOCKET | key)
            assert (status, headers[BACKEND]) == (101, backend), route
            assert headers["Upgrade"].lower() == "websocket"
    access = (farm.run_dir / "access.log").read_text()
    assert f"route={sessions[0][0]} backend={sessions[0][1]}" in access


def test_the_upload_cap_matches_the_apps(farm):
    cap = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())["server"]["maxUploadSize"]
    template = (ROOT / "deploy" / "nginx" / "nnplay.conf.template").read_text()
    # One MB over the app's cap for the multipart envelope; the app refuses the rest itself.
    assert re.search(r"^\s*client_max_body_size (\d+)m;", template, re.M).group(1) == str(cap + 1)

    # Over the cap: nginx refuses from the Content-Length alone, before any byte of the body.
    conn = http.client.HTTPConnection("127.0.0.1", farm.port, timeout=60)
    try:
        conn.putrequest("PUT", "/_stcore/upload_file/no-session/no-file")
        conn.putheader("Content-Length", str((cap + 2) * MB))
        conn.endheaders()
        assert conn.getresponse().status == 413
    finally:
        conn.close()
    # An upload under the cap is the browser test's: a made-up one here would be refused by the app
    # before it read the body, and nginx, still sending it, would answer 502 or 403 by chance.


def test_two_browsers_on_two_processes_train_download_and_upload(browser, farm, tmp_path):
    """The things that break without stickiness, in a real browser: the websocket session trains,
    the model download comes from the process's /media, the CSV upload reaches the process's session."""
    contexts, pages, errors = {}, {}, []
    try:
        # Each new browser gets its route from nginx; keep one browser per process.
        for _ in range(40):
            context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
            # context.request shares the browser context's cookies: this visit sets its route.
            backend = context.request.get(farm.url + "/_stcore/health").headers[BACKEND.lower()]
            if backend in contexts:
                context.close()
                continue
            contexts[backend] = context
            if len(contexts) == 2:
                break
        assert set(contexts) == farm.backends
        for seed, (backend, context) in enumerate(contexts.items()):
            page = context.new_page()
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            # Other seeds, other weights: media files are named by their content's hash, so the two
            # processes would otherwise both hold an identical model file under the same name.
            response = page.goto(farm.url + f"/?epochs={EPOCHS}&n_samples=200&grid=40&seed={seed + 1}")
            assert response.headers[BACKEND.lower()] == backend
            pages[backend] = page
        for page in pages.values():  # both train at once, one on each process
            # Minutes, not seconds: other work on a 2-core machine can starve both processes for a while.
            page.wait_for_function(TRAINED_OR_FAILED, timeout=300_000)
            wait_idle(page)
            no_exception(page)

        for backend, page in pages.items():
            other = next(b for b in farm.backends if b != backend)
            page.get_by_text("Save and load").click()
            download = _download(page, "Model (.pt)", backend, farm)
            path = urllib.parse.urlsplit(download.url).path
            saved = tmp_path / f"{backend.replace(':', '_')}.pt"
            download.save_as(saved)
            assert saved.read_bytes()[:2] == b"PK"  # torch.save's zip
            # The file lives in this process's memory only: through nginx it is there, from the other
            # process it is not. That is what the route cookie is for.
            again = contexts[backend].request.get(farm.url + path)
            assert (again.status, again.headers[BACKEND.lower()]) == (200, backend)
            assert again.body() == saved.read_bytes()
            assert contexts[backend].request.get(f"http://{other}{path}").status == 404

        # Some 30 KB: more than nginx keeps in memory for a request body (16 KB), so it streams.
        rows = "".join(f"{i},{i % 5},{'yes' if i % 2 else 'no'}\n" for i in range(3000))
        table = {"name": "table.csv", "mimeType": "text/csv", "buffer": f"a,b,label\n{rows}".encode()}
        for page in pages.values():
            page.locator("summary", has_text="More data options").click()  # where the upload waits
            page.locator('.st-key-csv_file input[type="file"]').set_input_files(table)
            page.wait_for_url(re.compile(r"dataset=csv"), timeout=60_000)
            page.locator(".st-key-csv_target").wait_for(timeout=60_000)
            wait_idle(page)
            no_exception(page)
            alerts = " ".join(page.locator('[data-testid="stAlert"]').all_inner_texts())
            assert "CSV not used" not in alerts, alerts
    finally:
        for backend, page in pages.items():  # what each browser showed last, failed or not
            with contextlib.suppress(Exception):  # a screenshot must not hide the failure itself
                page.screenshot(path=str(OUTPUT / f"nginx-{backend.replace(':', '_')}.png"), full_page=True)
        for context in contexts.values():
            context.close()
    assert errors == [], errors
    access = (farm.run_dir / "access.log").read_text()
    for backend in farm.backends:  # each upload went, whole, to the process whose session asked for it
        put = re.search(
            rf'"PUT /_stcore/upload_file/\S+ HTTP/1.1" 20\d \d+ route=\S+ backend={backend} req=(\d+)', access
        )
        assert put and int(put.group(1)) > len(rows), backend


def _download(page, button: str, backend: str, farm: Farm):
    """Click a download button until the browser has the file.

    Right after autoplay ends the page can still show a download button drawn by an earlier run,
    whose file the process has already dropped: the browser gets a 404 from the right process (see
    nginx's log in the message) and cancels. The click's own rerun draws fresh buttons, so a second
    click works. A file asked of the wrong process would fail every time.
    """
    failures = []
    for _ in range(3):
        with page.expect_download(timeout=60_000) as info:
            page.get_by_role("button", name=button).click()
        download = info.value
        failure = download.failure()
        wait_idle(page)
        no_exception(page)
        assert urllib.parse.urlsplit(download.url).path.startswith("/media/"), download.url
        if failure is None:
            if failures:
                warnings.warn(f"{button}: downloaded at try {len(failures) + 1} ({failures})", stacklevel=2)
            return download
        path = urllib.parse.urlsplit(download.url).path
        log = [line for line in (farm.run_dir / "access.log").read_text().splitlines() if path in line]
        assert all(f"backend={backend} " in line for line in log), log  # never another process
        failures.append((download.url, failure, log))
    pytest.fail(f"{button} never downloaded from {backend}: {failures}")


def no_exception(page):
    exceptions = page.locator('[data-testid="stException"]')
    assert exceptions.count() == 0, exceptions.all_inner_texts()
