"""A real load test: N simulated browsers train on one `streamlit run app.py` server at once.

Run: python -m bench.load --sessions 50   (a readable report; --json prints one object)
     python -m bench.load --sessions 200 --serve 2   (the same against `bash scripts/serve.sh 2`: two
     app processes behind nginx, started on free loopback ports and stopped afterwards)
     python -m bench.load --url http://127.0.0.1:PORT --pid PID   (a server already running; PID,
     repeatable, is sampled with its descendants: serve.sh's own pid counts its processes and nginx)

Each simulated browser speaks Streamlit's own websocket protocol (``/_stcore/stream``, the protobuf
BackMsg/ForwardMsg classes shipped in ``streamlit.proto``) the way the frontend does:

- it first GETs ``/_stcore/health`` (which sets the ``_streamlit_xsrf`` cookie, and behind
  ``scripts/serve.sh`` nginx's route cookie) and opens the socket with the subprotocols
  ``["streamlit", <xsrf token>]``, the Origin of the page and those cookies;
- it asks for the first run with the query string of the page it opened (the Playground by default);
- it keeps every widget's value as the frontend would after drawing it, and sends them all with
  every rerun, with the current page hash, query string and the hashes of the messages it caches;
- it owns the fragment timers: on ``auto_rerun`` it sends a fragment rerun (``is_auto_rerun``)
  every ``interval`` seconds whether or not the last one finished, as the frontend's
  ``setInterval`` does, and drops its timers on a full run's ``new_session`` or ``stop_auto_rerun``;
- it caches ``cacheable`` messages and resolves ``ref_hash`` references, expiring entries after
  ``max_cached_message_age`` runs.

A session: open the page and let the default experiment play to its budget (run 1), change the seed
in the sidebar (a new network, back to epoch 0), press Play and train to the budget again (run 2).
Progress is read from the live part's progress element, "epoch E / B · status". One session alone
is measured first (after a warm-up page load on every app process: behind nginx, the warm-up asks for
routes until each process has answered), then N together, started ``--stagger`` seconds apart.

The stall figure: while a run plays, from the first time its progress element shows "epoch E / B ·
training" or a waiting notice until it shows a finished status, the longest wall-clock gap between
two changes of E (the gap from the run's start to its first change counted, and the last one to the
finished status; the time between run 1's end and run 2's Play, and the untrained network shown as
"ready" before a run's first epoch, not). Per session, then the max and p95 over sessions.

Issue 14's targets, each reported with whether the issue sets it for this size ("applies") or not
(shown for information):

    p95 / lone       ≤ 1.5× at 10 sessions, ≤ 3× at 50: the limit is 1.5× up to 10 sessions, 3× above
    longest stall    ≤ 3 s at 50 sessions (the max over sessions)
    errors           0 at every size
    unfinished       0 at every size (200 sessions over `scripts/serve.sh 2` too, with a p95 reported)
    peak RSS         ≤ 1 200 MB at 50 sessions on one process (with several: the largest process)

Timing targets are reported, never enforced: the exit code is 0 when every session finished both
runs without an error, 1 when a session errored or timed out, 2 when the test could not run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import json
import math
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAX_SESSIONS = 200
MAX_PROCESSES = 16
TARGET_P95_VS_LONE = 3.0  # issue 14: at 50 sessions (used above 10)
TARGET_P95_VS_LONE_SMALL = 1.5  # issue 14: at 10 sessions (used up to 10)
SMALL_ROOM, FULL_ROOM = 10, 50  # the sizes issue 14 sets its targets for
TARGET_RSS_MB = 1200.0
TARGET_STALL_SECONDS = 3.0
PROGRESS = re.compile(r"epoch (\d+) / (\d+) · (\w+)")
FINISHED = {"done", "diverged", "early_stopped"}  # nnplay.train's statuses that end a run
WAITING = "Waiting for a free trainer"
ROUTE_COOKIE = "nnplay_route"  # deploy/nginx/nnplay.conf.template: the route that keeps a browser on one process
BACKEND_HEADER = "X-nnplay-backend"  # ... and the header naming the process that answered


def _run_loop(make_coroutine):
    """asyncio.run in a thread of its own: the caller's thread may already run an event loop (pytest
    with Playwright's sync API does), and asyncio.run refuses to start a second one there."""
    result: dict = {}

    def target():
        try:
            result["value"] = asyncio.run(make_coroutine())
        except BaseException as exc:  # handed to the caller's thread below
            result["error"] = exc

    thread = threading.Thread(target=target, name="nnplay-load", daemon=True)  # Ctrl-C still ends the run
    thread.start()
    thread.join()
    if "error" in result:
        raise result["error"]
    return result["value"]


class LoadTestError(Exception):
    """The load test itself could not run (exit code 2)."""


class Abandoned(Exception):
    """A session stops at the first error its page shows."""


class Stuck(Exception):
    """The page is not as a person would find it (no seed widget, no Play button to press)."""


# Loopback only, never through a proxy that the environment may name.
_HTTP = urllib.request.build_opener(urllib.request.ProxyHandler({}))


# --- the protocol ---------------------------------------------------------------------------------


def _protos():
    # Imported late: importing streamlit.proto loads Streamlit (about a second), which --help needn't pay.
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
    from streamlit.proto.WidgetStates_pb2 import WidgetState

    return BackMsg, ForwardMsg, WidgetState


def widget_state(element, WidgetState):
    """The value the frontend holds for a widget it has just drawn (None for buttons, uploads...).

    Frontend widgets commit their initial value to the widget manager on mount: the server's value
    when it set one, else the default; each kind in the value type the server deserialises."""
    kind = element.WhichOneof("type")
    proto = getattr(element, kind)
    state = WidgetState(id=proto.id)
    if kind == "slider":
        if proto.type == proto.SELECT_SLIDER:
            values = list(proto.raw_value) if proto.set_value else [proto.options[i] for i in map(int, proto.default)]
            state.string_array_value.data.extend(values)
        else:
            state.double_array_value.data.extend(proto.value if proto.set_value else proto.default)
    elif kind == "number_input":
        if proto.HasField("value"):
            state.double_value = proto.value
        elif proto.HasField("default"):
            state.double_value = proto.default
        else:
            return None
    elif kind == "selectbox":
        if proto.set_value:
            state.string_value = proto.raw_value
        elif proto.HasField("default") and 0 <= proto.default < len(proto.options):
            state.string_value = proto.options[proto.default]
        else:
            return None
    elif kind == "multiselect":
        values = list(proto.raw_values) if proto.set_value else [proto.options[i] for i in proto.default]
        state.string_array_value.data.extend(values)
    elif kind == "checkbox":
        state.bool_value = proto.value if proto.set_value else proto.default
    elif kind == "text_input":
        state.string_value = proto.value if proto.set_value else proto.default
    else:
        return None
    return state


@dataclass
class SessionResult:
    index: int
    backend: str | None = None  # behind scripts/serve.sh: the app process nginx routed it to
    runs: list[float] = field(default_factory=list)  # seconds from the action to "done", per run
    redraws: int = 0  # progress elements received: one per redraw of the live part
    waiting_redraws: int = 0  # redraws that said "waiting for a free trainer"
    fragment_runs: int = 0  # script runs started, of the fragment alone
    full_runs: int = 0  # ... and of the whole page
    deltas: int = 0
    bytes: int = 0
    ref_hits: int = 0
    longest_stall: float = 0.0  # seconds: the longest the epoch counter stood still while playing
    stall_where: str = ""  # ... when: the run, the epochs either side, seconds after the session began
    errors: list[str] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        """Time spent training: the two runs, without the seed change between them."""
        return sum(self.runs)


class Browser:
    """One browser tab on the Playground, driven like a person: open, wait, change a setting, Play."""

    def __init__(self, base: str, query: str, index: int, deadline: float, runs: int = 2, route: str | None = None):
        self.base, self.query, self.deadline, self.n_runs, self.route = base, query, deadline, runs, route
        self.result = SessionResult(index)
        self.BackMsg, self.ForwardMsg, self.WidgetState = _protos()
        self.ws = None
        self.page_script_hash = ""
        self.query_string = query
        self.widgets: dict[str, object] = {}  # widget id -> WidgetState, as the frontend keeps them
        self.ids: dict[str, str] = {}  # user key -> widget id (ids end in "-<key>")
        self.elements: dict[str, object] = {}  # user key -> latest element proto
        self.seen_this_run: set[str] = set()
        self.cache: dict[str, list] = {}  # hash -> [raw bytes, run count when last used, fragment id]
        self.run_count = 0
        self.max_age = 2
        self.timers: dict[str, tuple[float, asyncio.Task]] = {}
        self.running = False
        self.run_fragments: tuple[str, ...] = ()
        self.finished_full_runs = 0
        self.progress: tuple[int, int, str] | None = None
        self.progress_seq = 0
        self.changed = asyncio.Event()
        self.closed: str | None = None
        # While a run plays: (the epoch last seen, when it was first seen); None between runs.
        self.still: tuple[int, float] | None = None
        self.began = time.monotonic()

    # --- sending --------------------------------------------------------------------------------

    async def rerun(self, *, fragment_id: str = "", auto: bool = False, trigger: str | None = None) -> None:
        msg = self.BackMsg()
        cs = msg.rerun_script
        cs.query_string = self.query_string
        cs.page_script_hash = self.page_script_hash
        cs.fragment_id = fragment_id
        cs.is_auto_rerun = auto
        cs.widget_states.widgets.extend(self.widgets.values())
        if trigger is not None:  # a button press: sent once, never kept (the frontend resets triggers)
            cs.widget_states.widgets.append(self.WidgetState(id=trigger, trigger_value=True))
        cs.cached_message_hashes.extend(self.cache)
        info = cs.context_info
        info.timezone, info.timezone_offset, info.locale = "UTC", 0, "en-US"
        info.url, info.is_embedded, info.color_scheme = self.base + "/", False, "light"
        await self.ws.send(msg.SerializeToString())

    async def _timer(self, fragment_id: str, interval: float) -> None:
        # setInterval: fires on schedule whether or not the previous rerun finished; the server coalesces.
        with contextlib.suppress(Exception):
            while self.closed is None:
                await asyncio.sleep(interval)
                await self.rerun(fragment_id=fragment_id, auto=True)

    def _stop_timers(self, fragment_ids=None) -> None:
        for fid in list(self.timers) if fragment_ids is None else fragment_ids:
            entry = self.timers.pop(fid, None)
            if entry:
                entry[1].cancel()

    # --- receiving ------------------------------------------------------------------------------

    async def receive(self) -> None:
        try:
            async for raw in self.ws:
                self.result.bytes += len(raw)
                self._handle(raw)
                self.changed.set()
        except Exception as exc:  # a dropped connection is a result to report, not a crash
            self.closed = f"connection lost: {type(exc).__name__}: {exc}"
        else:
            self.closed = self.closed or "connection closed by the server"
        finally:
            self._stop_timers()
            self.changed.set()

    def _handle(self, raw: bytes) -> None:
        msg = self.ForwardMsg()
        msg.ParseFromString(raw)
        kind = msg.WhichOneof("type")
        if kind != "ref_hash" and msg.metadata.cacheable and msg.hash:
            self.cache.setdefault(msg.hash, [raw, self.run_count, msg.delta.fragment_id if kind == "delta" else ""])
        if kind == "ref_hash":
            entry = self.cache.get(msg.ref_hash)
            if entry is None:
                self.result.errors.append(f"cached message {msg.ref_hash} referenced but never received")
                return
            entry[1] = self.run_count
            metadata = msg.metadata
            msg = self.ForwardMsg()
            msg.ParseFromString(entry[0])
            msg.metadata.CopyFrom(metadata)
            kind = msg.WhichOneof("type")
            self.result.ref_hits += 1
        if kind == "new_session":
            self._new_session(msg)
        elif kind == "delta":
            self._delta(msg)
        elif kind == "script_finished":
            self._script_finished(msg)
        elif kind == "session_status_changed":
            self.running = msg.session_status_changed.script_is_running
        elif kind == "page_info_changed":
            self.query_string = msg.page_info_changed.query_string
        elif kind == "navigation" and msg.navigation.page_script_hash:
            self.page_script_hash = msg.navigation.page_script_hash
        elif kind == "auto_rerun":
            fid, interval = msg.auto_rerun.fragment_id, msg.auto_rerun.interval
            if fid and self.timers.get(fid, (None,))[0] != interval:
                self._stop_timers([fid])
                self.timers[fid] = (interval, asyncio.get_running_loop().create_task(self._timer(fid, interval)))
        elif kind == "stop_auto_rerun":
            self._stop_timers(list(msg.stop_auto_rerun.fragment_ids))

    def _new_session(self, msg) -> None:
        self.running = True
        self.run_fragments = tuple(msg.metadata.run.fragment_ids)
        self.max_age = msg.new_session.config.max_cached_message_age or self.max_age
        if self.run_fragments:
            self.result.fragment_runs += 1
        else:  # a full run: the frontend drops its timers, the fragment sets them again
            self.result.full_runs += 1
            self._stop_timers()
            self.seen_this_run = set()
            if not self.page_script_hash:
                self.page_script_hash = msg.new_session.page_script_hash

    def _delta(self, msg) -> None:
        self.result.deltas += 1
        delta = msg.delta
        if delta.WhichOneof("type") != "new_element":
            return
        element = delta.new_element
        kind = element.WhichOneof("type")
        if kind == "progress":
            match = PROGRESS.search(element.progress.text)
            if match:
                self.progress = (int(match[1]), int(match[2]), match[3])
                self.progress_seq += 1
                self.result.redraws += 1
                self._watch_epoch(self.progress[0], self.progress[2])
        elif kind == "exception":
            self.result.errors.append(f"exception shown: {element.exception.type}: {element.exception.message[:200]}")
        elif kind == "alert":
            alert = element.alert
            if alert.format == alert.ERROR:
                self.result.errors.append(f"error shown: {alert.body[:200]}")
            elif WAITING in alert.body:
                self.result.waiting_redraws += 1
                if self.still is None:  # waiting in line is playing too
                    self.still = (self.progress[0] if self.progress else 0, time.monotonic())
        proto = getattr(element, kind)
        wid = getattr(proto, "id", "")
        if wid:
            key = wid.rsplit("-", 1)[-1] if wid.startswith("$$ID-") else wid
            self.ids[key], self.elements[key] = wid, proto
            self.seen_this_run.add(wid)
            state = widget_state(element, self.WidgetState)
            # A value the server sets replaces the frontend's; otherwise the frontend keeps its own.
            if state is not None and (getattr(proto, "set_value", False) or wid not in self.widgets):
                self.widgets[wid] = state

    def _watch_epoch(self, epoch: int, status: str) -> None:
        """The stall figure: while a run plays (from the first "training" or waiting notice it shows
        until its finished status), the longest wall-clock gap between two changes of the epoch shown,
        the gap from the run's start to its first change included. Between runs nothing counts."""
        now = time.monotonic()
        if self.still is None:
            if status == "training":
                self.still = (epoch, now)
            return
        last_epoch, since = self.still
        if epoch != last_epoch or status in FINISHED:
            # A finished status ends the run: the counter stood still until then, changed or not.
            self._stalled(last_epoch, since, now, f"{epoch} ({status})")
            self.still = None if status in FINISHED else (epoch, now)

    def _stalled(self, epoch: int, since: float, now: float, then: str) -> None:
        if now - since > self.result.longest_stall:
            self.result.longest_stall = now - since
            self.result.stall_where = (
                f"run {len(self.result.runs) + 1}, epoch {epoch} to {then}, "
                f"from {since - self.began:.1f} s after the session began"
            )

    def _end_stall_watch(self) -> None:
        """A run that never finished (a timeout, an error): its counter stood still until now."""
        if self.still is not None:
            self._stalled(self.still[0], self.still[1], time.monotonic(), "the end of the test")
            self.still = None

    def _script_finished(self, msg) -> None:
        status = msg.script_finished
        if status == self.ForwardMsg.FINISHED_WITH_COMPILE_ERROR:
            self.result.errors.append("the script failed to compile")
        if status == self.ForwardMsg.FINISHED_EARLY_FOR_RERUN:
            return
        fragments = self.run_fragments
        if not fragments:
            self.finished_full_runs += 1
            # The frontend forgets widgets that a full run no longer drew.
            self.widgets = {k: v for k, v in self.widgets.items() if k in self.seen_this_run}
        self.run_count += 1
        for digest, (_, used, fid) in list(self.cache.items()):
            if fragments and fid not in fragments:
                continue
            if self.run_count - used > self.max_age:
                del self.cache[digest]

    # --- the person -----------------------------------------------------------------------------

    async def wait_for(self, what: str, predicate) -> None:
        while not predicate():
            if self.result.errors:  # the page showed an error: a person would be stuck there too
                raise Abandoned
            if self.closed:
                raise ConnectionError(f"{self.closed} while waiting for {what}")
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"timed out waiting for {what} (progress {self._progress_text()})")
            self.changed.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.changed.wait(), left)

    def _progress_text(self) -> str:
        return "none yet" if self.progress is None else "epoch {} / {} · {}".format(*self.progress)

    def _done(self, after_seq: int):
        return lambda: (
            self.progress_seq > after_seq
            and self.progress is not None
            and self.progress[2] in FINISHED
            and not self.running
            and not self.timers
        )

    async def connect(self) -> None:
        from websockets.asyncio.client import connect

        host = urllib.parse.urlsplit(self.base).netloc
        cookies, self.result.backend = await asyncio.to_thread(_first_cookies, self.base, self.route)
        cookie = cookies.get("_streamlit_xsrf")
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())} if cookies else {}
        self.ws = await connect(
            f"ws://{host}/_stcore/stream",
            # The frontend's second entry: the XSRF token, or this placeholder when it has none.
            subprotocols=["streamlit", cookie or "PLACEHOLDER_AUTH_TOKEN"],
            origin=self.base,
            additional_headers=headers,
            max_size=None,
            proxy=None,
            open_timeout=max(1.0, self.deadline - time.monotonic()),
        )

    async def play(self) -> SessionResult:
        """Open the page, train to the end, change the seed, press Play, train to the end again."""
        receiver = None
        try:
            start = self.began = time.monotonic()
            await self.connect()
            receiver = asyncio.get_running_loop().create_task(self.receive())
            seq = self.progress_seq
            await self.rerun()
            await self.wait_for("run 1 to finish", self._done(seq))
            self.result.runs.append(time.monotonic() - start)
            for run in range(2, self.n_runs + 1):
                await self._change_seed_and_play(run)
            if self.progress and self.progress[2] != "done":
                self.result.errors.append(f"a run ended {self.progress[2]}, not done")
        except Abandoned:
            pass  # its errors are recorded already
        except (TimeoutError, ConnectionError, OSError, Stuck) as exc:
            self.result.errors.append(str(exc) or type(exc).__name__)
        except Exception as exc:
            self.result.errors.append(f"{type(exc).__name__}: {exc}")
        finally:
            self._end_stall_watch()
            if receiver is not None and self.closed and not receiver.done():
                receiver.cancel()
        return self.result

    async def _change_seed_and_play(self, run: int) -> None:
        seed_id = self.ids.get("w_seed")
        if seed_id is None or seed_id not in self.widgets:
            raise Stuck("the sidebar has no seed widget")
        state = self.widgets[seed_id]
        new_seed = self.WidgetState(id=seed_id, double_value=state.double_value + 1)
        self.widgets[seed_id] = new_seed  # typed into the number input: the frontend keeps the new value
        full = self.finished_full_runs
        await self.rerun()
        await self.wait_for(
            f"the seed change before run {run}",
            lambda: (
                self.finished_full_runs > full
                and not self.running
                and self.progress is not None
                and self.progress[2] not in FINISHED
            ),
        )
        play = self.elements.get("play")
        if play is None or play.disabled or play.label != "Play":
            raise Stuck(f"no Play button to press before run {run}")
        seq, start = self.progress_seq, time.monotonic()
        await self.rerun(trigger=self.ids["play"])
        await self.wait_for(f"run {run} to finish", self._done(seq))
        self.result.runs.append(time.monotonic() - start)

    async def load_page(self) -> None:
        """Open the page and wait for its first run to finish (a warm-up: imports, first Trainer).
        A page that cannot even load once means the load test cannot run."""
        try:
            await self.connect()
        except OSError as exc:
            raise LoadTestError(f"could not open the page: {exc}") from None
        receiver = asyncio.get_running_loop().create_task(self.receive())
        try:
            await self.rerun()
            await self.wait_for("the first page load", lambda: self.finished_full_runs > 0)
        except (Abandoned, TimeoutError, ConnectionError) as exc:
            problems = "; ".join(self.result.errors) or str(exc)
            raise LoadTestError(f"the first page load failed: {problems}") from None
        finally:
            await self.close()
            receiver.cancel()

    async def close(self) -> None:
        self._stop_timers()
        self.closed = self.closed or "closed by the load test"
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.ws.close(), 5)


def _health(base: str, cookies: dict[str, str]) -> tuple[dict[str, str], str | None]:
    """GET /_stcore/health with these cookies: the cookies it sets, and the app process that answered
    (nginx's X-nnplay-backend header behind scripts/serve.sh; None from a lone Streamlit)."""
    request = urllib.request.Request(f"{base}/_stcore/health")
    if cookies:
        request.add_header("Cookie", "; ".join(f"{k}={v}" for k, v in cookies.items()))
    with _HTTP.open(request, timeout=10) as response:
        fresh = {}
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            fresh[name.strip()] = rest.split(";", 1)[0]
        return fresh, response.headers.get(BACKEND_HEADER)


def _first_cookies(base: str, route: str | None = None) -> tuple[dict[str, str], str | None]:
    """GET /_stcore/health as the frontend's first ping does. The server answers with the XSRF
    cookie; behind scripts/serve.sh's nginx, also with the route that keeps the browser on one process
    (or the browser brings a ``route`` it already has). Returns the cookies and the app process."""
    cookies = {ROUTE_COOKIE: route} if route else {}
    for _ in range(2):  # once more with the route, so the XSRF cookie comes from the process it names
        fresh, backend = _health(base, cookies)
        cookies.update(fresh)
        if ROUTE_COOKIE not in fresh:
            break
    return cookies, backend


def find_routes(base: str, expected: int | None = None, tries: int = 40) -> dict[str, str]:
    """Behind scripts/serve.sh: a route cookie for each app process ({backend: route}), found by
    asking nginx for fresh routes (cheap health checks) until every process has answered (``expected``
    of them when known; otherwise what ``tries`` random routes reach: with 2 processes, missing one
    is a 1 in 2**39 chance). Empty for a lone Streamlit, which names no backend."""
    routes: dict[str, str] = {}
    for _ in range(tries):
        fresh, backend = _health(base, {})
        if backend is None or ROUTE_COOKIE not in fresh:
            return {}
        routes.setdefault(backend, fresh[ROUTE_COOKIE])
        if expected is not None and len(routes) >= expected:
            break
    return routes


# --- the server -----------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tail(path: Path, lines: int) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no server log)"


class Server:
    """`streamlit run app.py` on a loopback port, as its own process group so that it always dies with us."""

    def __init__(self, port: int | None, log_dir: Path):
        self.port = port or _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = log_dir / "server.log"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 90) -> None:
        command = [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "app.py",
            "--server.headless",
            "true",
            "--server.address",
            "127.0.0.1",
            "--server.port",
            str(self.port),
            "--browser.gatherUsageStats",
            "false",  # nothing leaves the machine
        ]
        with open(self.log_path, "w") as log:
            self.proc = subprocess.Popen(
                command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise LoadTestError(f"the server exited with code {self.proc.returncode}:\n{self.log_tail()}")
            with contextlib.suppress(OSError), _HTTP.open(f"{self.base}/_stcore/health", timeout=2) as r:
                if r.read() == b"ok":
                    return
            time.sleep(0.2)
        raise LoadTestError(f"the server did not answer /_stcore/health within {timeout:.0f} s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 20) -> str:
        return _tail(self.log_path, lines)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)


def consecutive_free_ports(n: int) -> int:
    """The first of n consecutive free loopback ports (serve.sh numbers its app processes so)."""
    for _ in range(100):
        first = _free_port()
        try:
            for port in range(first, first + n):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", port))
        except OSError:
            continue
        return first
    raise LoadTestError(f"no {n} consecutive free loopback ports")


class Farm:
    """`bash scripts/serve.sh N PORT`: N app processes behind nginx, all on free loopback ports, as one
    process group; stopped as Ctrl-C stops it (serve.sh stops its processes), killed if it lingers."""

    def __init__(self, processes: int, log_dir: Path):
        self.processes = processes
        self.first, self.port = consecutive_free_ports(processes), _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = log_dir / "serve.log"
        self.run_dir = log_dir / "serve"  # serve.sh's nginx.conf and logs; the temporary folder goes at the end
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 180) -> None:
        env = dict(
            os.environ,
            NNPLAY_SERVE_ADDRESS="127.0.0.1",
            NNPLAY_SERVE_BACKEND_PORT=str(self.first),
            NNPLAY_SERVE_RUN_DIR=str(self.run_dir),
            PYTHON=sys.executable,  # the interpreter running this has the app's requirements
        )
        command = ["bash", "scripts/serve.sh", str(self.processes), str(self.port)]
        with open(self.log_path, "w") as log:
            self.proc = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + timeout
        while "press Ctrl-C" not in self.log_path.read_text(errors="replace"):  # nginx and every process answer
            if self.proc.poll() is not None:
                raise LoadTestError(f"scripts/serve.sh exited with code {self.proc.returncode}:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                raise LoadTestError(f"scripts/serve.sh did not come up within {timeout:.0f} s:\n{self.log_tail()}")
            time.sleep(0.3)

    def log_tail(self, lines: int = 20) -> str:
        return _tail(self.log_path, lines)

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # serve.sh's trap stops its app processes and nginx
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(30)
        with contextlib.suppress(ProcessLookupError):  # whatever of its group is left
            os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(5)


def _tree(pid: int) -> list[int]:
    """A process and its descendants (psutil is not a dependency; /proc is enough on Linux)."""
    pids = [pid]
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as children:
                for child in children.read().split():
                    pids += _tree(int(child))
    except (OSError, ValueError):
        pass
    return pids


def _rss_kb(pid: int) -> int:
    """VmRSS of one process."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _cpu_seconds(pid: int) -> tuple[float, float]:
    """User and system CPU seconds of a process (system time grows when threads fight over the GIL)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        tick = os.sysconf("SC_CLK_TCK")
        return int(fields[11]) / tick, int(fields[12]) / tick
    except (OSError, ValueError, IndexError):
        return 0.0, 0.0


class Sampler:
    """The server's resident memory and CPU time, sampled while sessions run: of the processes given
    and all their descendants (scripts/serve.sh's pid counts its app processes and nginx). Memory is
    kept as the peak of the sum and as each process's own peak (the issue's memory target is one
    process's)."""

    def __init__(self, pids: list[int], every: float = 0.25):
        self.roots, self.every, self.peak_kb = pids, every, 0
        self.peak_by_pid: dict[int, int] = {}
        self.task: asyncio.Task | None = None

    def pids(self) -> list[int]:
        return sorted({pid for root in self.roots for pid in _tree(root)})

    def cpu(self) -> tuple[float, float]:
        times = [_cpu_seconds(pid) for pid in self.pids()]
        return sum(t[0] for t in times), sum(t[1] for t in times)

    def sample(self) -> None:
        rss = {pid: _rss_kb(pid) for pid in self.pids()}
        self.peak_kb = max(self.peak_kb, sum(rss.values()))
        for pid, kb in rss.items():
            self.peak_by_pid[pid] = max(self.peak_by_pid.get(pid, 0), kb)

    @property
    def peak_process_kb(self) -> int:
        return max(self.peak_by_pid.values(), default=0)

    async def _loop(self) -> None:
        while True:
            self.sample()
            await asyncio.sleep(self.every)

    def __enter__(self) -> Sampler:
        self.task = asyncio.get_running_loop().create_task(self._loop())
        return self

    def __exit__(self, *exc) -> None:
        self.sample()
        self.task.cancel()


# --- the test -------------------------------------------------------------------------------------


async def run_sessions(base: str, query: str, n: int, stagger: float, deadline: float) -> list[SessionResult]:
    browsers = [Browser(base, query, i, deadline) for i in range(n)]

    async def start(i: int, browser: Browser) -> SessionResult:
        await asyncio.sleep(i * stagger)
        return await browser.play()

    try:
        # Sessions that are through stay connected, as open tabs do, until every one is done.
        return list(await asyncio.gather(*(start(i, b) for i, b in enumerate(browsers))))
    finally:
        await asyncio.gather(*(b.close() for b in browsers))


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile: with 50 sessions the p95 is the 48th slowest, a real session's time."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, math.ceil(len(ordered) * q / 100) - 1))]


async def load_test(args, base: str, pids: list[int], processes: int | None = None) -> dict:
    deadline = time.monotonic() + args.timeout
    load_before = os.getloadavg()[0]  # other work on the machine skews every figure: say how much there was
    # Behind nginx, warm every app process (imports, first Trainer), not just the one a route lands on:
    # a lone session on a cold process would make every ratio to it look better than it is.
    routes = await asyncio.to_thread(find_routes, base, processes)
    with Sampler(pids) as sampler:
        for route in routes.values() or [None]:
            await Browser(base, args.query, -1, deadline, route=route).load_page()
        lone = (await run_sessions(base, args.query, 1, 0.0, deadline))[0]
        cpu0, client0, start = sampler.cpu(), time.process_time(), time.monotonic()
        results = await run_sessions(base, args.query, args.sessions, args.stagger, deadline)
        wall = time.monotonic() - start
        server_cpu = tuple(b - a for a, b in zip(cpu0, sampler.cpu()))
        client_cpu = time.process_time() - client0
    machine = {"load_average_before": round(load_before, 2), "load_average_after": round(os.getloadavg()[0], 2)}
    memory = Memory(sampler.peak_kb / 1024, sampler.peak_process_kb / 1024) if pids else Memory(None, None)
    # A lone Streamlit names no backend: one process.
    processes = processes or len(routes) or 1
    return report(args, lone, results, wall, server_cpu, client_cpu, memory, processes) | machine


@dataclass
class Memory:
    peak_rss_mb: float | None  # all the server's processes together (None: not measured)
    peak_process_rss_mb: float | None  # the largest one alone


def p95_limit(sessions: int) -> float:
    """Issue 14 sets p95/lone ≤ 1.5× at 10 sessions and ≤ 3× at 50: the first up to 10 sessions,
    the second above."""
    return TARGET_P95_VS_LONE_SMALL if sessions <= SMALL_ROOM else TARGET_P95_VS_LONE


def targets(sessions: int, processes: int, ratio, max_stall, errors: int, unfinished: int, rss_mb) -> dict:
    """Issue 14's targets, each with its value, its limit, whether it is met (None: not measured) and
    whether it applies: whether the issue sets it for this size (and number of processes). The others
    are shown at any size, for information."""

    def target(value, limit, applies: bool, issue: str) -> dict:
        met = None if value is None else value <= limit
        return {"value": _round(value), "limit": limit, "met": met, "applies": applies, "issue": issue}

    limit = p95_limit(sessions)
    return {
        "p95_vs_lone": target(
            ratio if ratio is not None else math.inf,  # no ratio (no session finished): missed, not unmeasured
            limit,
            sessions in (SMALL_ROOM, FULL_ROOM),
            f"≤ {TARGET_P95_VS_LONE_SMALL:g}× at {SMALL_ROOM} sessions, ≤ {TARGET_P95_VS_LONE:g}× at {FULL_ROOM} "
            f"(used: ≤ {TARGET_P95_VS_LONE_SMALL:g}× up to {SMALL_ROOM} sessions, ≤ {TARGET_P95_VS_LONE:g}× above)",
        ),
        "stall_seconds": target(
            max_stall,
            TARGET_STALL_SECONDS,
            sessions == FULL_ROOM,
            f"≤ {TARGET_STALL_SECONDS:g} s at {FULL_ROOM} sessions",
        ),
        "errors": target(errors, 0, True, "0 at every size"),
        "unfinished": target(
            unfinished, 0, True, f"0 at every size ({MAX_SESSIONS} sessions over scripts/serve.sh 2 included)"
        ),
        "peak_rss_mb": target(
            rss_mb,
            TARGET_RSS_MB,
            sessions == FULL_ROOM and processes == 1,
            f"≤ {TARGET_RSS_MB:g} MB at {FULL_ROOM} sessions on one process (with several: the largest process)",
        ),
    }


def report(args, lone, results, wall, server_user_system, client_cpu, memory: Memory, processes: int = 1) -> dict:
    complete = [r for r in results if len(r.runs) == 2]
    times = [r.seconds for r in complete]
    errors = [f"session {r.index}: {e}" for r in [lone, *results] for e in r.errors]
    lone_s = lone.seconds if len(lone.runs) == 2 else None
    median = statistics.median(times) if times else None
    p95 = percentile(times, 95) if times else None
    ratio = p95 / lone_s if p95 and lone_s else None
    redraws = sum(r.redraws for r in results)
    server_cpu = sum(server_user_system)
    stalls = [r.longest_stall for r in results]
    max_stall, p95_stall = max(stalls), percentile(stalls, 95)
    unfinished = len(results) - len(complete)
    by_backend: dict[str, int] = {}
    for r in results:
        if r.backend:
            by_backend[r.backend] = by_backend.get(r.backend, 0) + 1
    return {
        "sessions": args.sessions,
        "query": args.query,
        "stagger_seconds": args.stagger,
        "server_processes": processes,
        "sessions_per_process": dict(sorted(by_backend.items())),
        "lone_seconds": _round(lone_s),
        "lone_runs_seconds": [_round(t) for t in lone.runs],
        "lone_redraws_per_second": _round(lone.redraws / lone.seconds if lone.runs else None),
        "median_seconds": _round(median),
        "p95_seconds": _round(p95),
        "max_seconds": _round(max(times) if times else None),
        "p95_vs_lone": _round(ratio),
        "run1_median_seconds": _round(statistics.median(r.runs[0] for r in complete) if complete else None),
        "run2_median_seconds": _round(statistics.median(r.runs[1] for r in complete) if complete else None),
        "completed_sessions": len(complete),
        "unfinished_sessions": unfinished,
        "wall_seconds": _round(wall),
        "redraws": redraws,
        "redraws_per_second": _round(redraws / wall if wall else None),
        "waiting_redraws": sum(r.waiting_redraws for r in results),
        "fragment_runs": sum(r.fragment_runs for r in results),
        "full_runs": sum(r.full_runs for r in results),
        "deltas": sum(r.deltas for r in results),
        "megabytes_received": _round(sum(r.bytes for r in results) / 2**20),
        "cached_refs": sum(r.ref_hits for r in results),
        "server_cpu_seconds": _round(server_cpu),
        "server_system_cpu_seconds": _round(server_user_system[1]),
        "server_cpu_ms_per_redraw": _round(server_cpu / redraws * 1000 if redraws else None, 1),
        "server_cpu_share": _round(server_cpu / wall / (os.cpu_count() or 1) if wall else None),
        "client_cpu_seconds": _round(client_cpu),
        "cpu_count": os.cpu_count(),
        "errors": len(errors),
        "error_samples": errors[:20],
        "peak_rss_mb": _round(memory.peak_rss_mb),
        "peak_process_rss_mb": _round(memory.peak_process_rss_mb),
        "lone_longest_stall_seconds": _round(lone.longest_stall),
        "max_stall_seconds": _round(max_stall),
        "p95_stall_seconds": _round(p95_stall),
        "longest_stall_where": max(results, key=lambda r: r.longest_stall).stall_where if results else "",
        "targets": targets(
            args.sessions, processes, ratio, max_stall, len(errors), unfinished, memory.peak_process_rss_mb
        ),
        "per_session": [
            {
                "runs_seconds": [_round(t) for t in r.runs],
                "backend": r.backend,
                "redraws": r.redraws,
                "redraws_per_second": _round(r.redraws / r.seconds if r.runs else None),
                "longest_stall_seconds": _round(r.longest_stall),
                "longest_stall_where": r.stall_where,
                "waiting_redraws": r.waiting_redraws,
                "fragment_runs": r.fragment_runs,
                "full_runs": r.full_runs,
                "errors": r.errors,
            }
            for r in results
        ],
    }


def _round(value, digits: int = 3):
    return None if value is None or value == math.inf else round(value, digits)


def readable(r: dict) -> str:
    def s(value, unit=" s"):
        return "—" if value is None else f"{value:g}{unit}"

    t = r["targets"]
    mark = {True: "met", False: "MISSED", None: "not measured"}
    processes = r["server_processes"]
    where = "one process" if processes == 1 else f"{processes} processes behind nginx"
    if r["sessions_per_process"]:
        where += " (sessions per process: " + ", ".join(map(str, r["sessions_per_process"].values())) + ")"
    rss = s(r["peak_rss_mb"], " MB")
    if processes > 1 and r["peak_process_rss_mb"] is not None:
        rss += f" all together, the largest process {s(r['peak_process_rss_mb'], ' MB')}"
    lines = [
        f"nnplay load test: {r['sessions']} sessions started {r['stagger_seconds']:g} s apart on {where}"
        + (f", query ?{r['query']}" if r["query"] else ", default Playground"),
        "each session: page opens and trains to the budget (run 1), seed changed, Play, trains again (run 2)",
        "",
        f"  lone session       {s(r['lone_seconds'])}  (runs {', '.join(f'{x:g}' for x in r['lone_runs_seconds'])} s; "
        f"{s(r['lone_redraws_per_second'], '')} redraws/s)",
        f"  median session     {s(r['median_seconds'])}  (run 1 {s(r['run1_median_seconds'])}, "
        f"run 2 {s(r['run2_median_seconds'])})",
        f"  p95 session        {s(r['p95_seconds'])}   slowest {s(r['max_seconds'])}",
        f"  p95 / lone         {s(r['p95_vs_lone'], '×')}",
        f"  longest stall      {s(r['max_stall_seconds'])}   p95 {s(r['p95_stall_seconds'])}   "
        f"lone {s(r['lone_longest_stall_seconds'])}   (epoch counter standing still while playing)",
        f"                     the longest: {r['longest_stall_where'] or '—'}",
        f"  errors             {r['errors']}   unfinished sessions {r['unfinished_sessions']}",
        f"  peak server RSS    {rss if r['peak_rss_mb'] is not None else '— (not measured: give --pid)'}",
        "",
        f"  targets (issue 14) at {r['sessions']} sessions on {processes} process{'es' if processes > 1 else ''}:",
    ]
    names = {
        "p95_vs_lone": ("p95 / lone", "×"),
        "stall_seconds": ("longest stall", " s"),
        "errors": ("errors", ""),
        "unfinished": ("unfinished", ""),
        "peak_rss_mb": ("peak RSS", " MB"),
    }
    for key, (label, unit) in names.items():
        target = t[key]
        limit = f"≤ {target['limit']:g}{unit}" if target["limit"] else "0"
        verdict = f"{mark[target['met']]} ({'applies' if target['applies'] else 'for information'})"
        lines.append(f"    {label:<15}{s(target['value'], unit):<12}{limit:<12}{verdict:<32}issue: {target['issue']}")
    lines += [
        "",
        f"  completed          {r['completed_sessions']} / {r['sessions']} sessions in {s(r['wall_seconds'])}",
        f"  redraws            {r['redraws']} ({s(r['redraws_per_second'], '/s')} server-wide), "
        f"{r['waiting_redraws']} of them 'waiting for a free trainer'",
        f"  script runs        {r['fragment_runs']} fragment, {r['full_runs']} full; {r['deltas']} deltas, "
        f"{r['megabytes_received']:g} MB, {r['cached_refs']} cached refs",
        f"  server CPU         {s(r['server_cpu_seconds'])} ({r['server_cpu_share'] or 0:.0%} of {r['cpu_count']} "
        f"cores, {s(r['server_system_cpu_seconds'])} system), {s(r['server_cpu_ms_per_redraw'], ' ms')} per redraw",
        f"  load generator     {s(r['client_cpu_seconds'])} CPU on the same machine",
        f"  machine load       {r['load_average_before']:g} before, {r['load_average_after']:g} after "
        "(1-minute load average; other processes skew the timings)",
    ]
    lines += [f"  ! {e}" for e in r["error_samples"]]
    return "\n".join(lines)


def check_url(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "http" or not parts.hostname or not parts.port:
        raise LoadTestError(f"--url must look like http://127.0.0.1:8501, not {url!r}")
    host = parts.hostname
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise LoadTestError(f"--url must be a loopback address (127.0.0.1, ::1 or localhost), not {host!r}")
    return f"http://{parts.netloc}"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=50, help=f"concurrent sessions, 1 to {MAX_SESSIONS}")
    parser.add_argument("--port", type=int, help="port for the server this starts (default: a free one)")
    parser.add_argument("--url", help="use a running server instead, e.g. http://127.0.0.1:8501 (loopback only)")
    parser.add_argument(
        "--pid",
        type=int,
        action="append",
        help="with --url: a server process id, to sample its memory and CPU with its descendants' (repeat it "
        "for several processes; scripts/serve.sh's own pid counts its app processes and nginx)",
    )
    parser.add_argument(
        "--serve",
        type=int,
        metavar="N",
        help=f"start `bash scripts/serve.sh N` (N app processes behind nginx, 1 to {MAX_PROCESSES}) on free "
        "loopback ports instead of one server, and stop it afterwards",
    )
    parser.add_argument("--timeout", type=float, help="overall bound in seconds (default 120 + 30 per session)")
    parser.add_argument("--stagger", type=float, default=0.1, help="seconds between session starts (default 0.1)")
    parser.add_argument("--query", default="", help="the page's URL query, e.g. epochs=100 (default: none)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the report")
    args = parser.parse_args(argv)
    if not 1 <= args.sessions <= MAX_SESSIONS:
        parser.error(f"--sessions must be 1 to {MAX_SESSIONS}, not {args.sessions}")
    if args.url and args.port:
        parser.error("--port starts a server; --url uses a running one: give one of them")
    if args.serve is not None and (args.url or args.port):
        parser.error("--serve starts scripts/serve.sh on free ports: give it without --url or --port")
    if args.serve is not None and not 1 <= args.serve <= MAX_PROCESSES:
        parser.error(f"--serve must be 1 to {MAX_PROCESSES} processes, not {args.serve}")
    if args.pid and not args.url:
        parser.error("--pid names the processes of a server given with --url")
    if args.timeout is None:
        args.timeout = 120.0 + 30.0 * args.sessions
    if not 0 < args.timeout <= 7200:
        parser.error("--timeout must be more than 0 and at most 7200 seconds")
    if not 0 <= args.stagger <= 10:
        parser.error("--stagger must be 0 to 10 seconds")
    args.query = args.query.lstrip("?")
    return args


def run(args) -> dict:
    """Start the server (unless --url), run the load test, and always stop the server again."""
    server = None
    processes = None  # unknown for --url: counted by the routes nginx hands out (1 without nginx)
    with tempfile.TemporaryDirectory(prefix="nnplay-load-") as tmp:
        try:
            if args.url:
                base, pids = check_url(args.url), args.pid or []
            else:
                server = Farm(args.serve, Path(tmp)) if args.serve else Server(args.port, Path(tmp))
                processes = args.serve or 1
                server.start()
                base, pids = server.base, [server.proc.pid]
            try:
                return _run_loop(lambda: asyncio.wait_for(load_test(args, base, pids, processes), args.timeout + 30))
            except TimeoutError:
                raise LoadTestError(f"the load test ran past its {args.timeout:.0f} s bound") from None
        finally:
            if server is not None:
                server.stop()


def main(argv=None) -> int:
    args = parse_args(argv)

    def terminate(signum, frame):
        raise KeyboardInterrupt  # unwinds through run(), which stops the server

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        result = run(args)
    except LoadTestError as exc:
        print(f"load test could not run: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("load test interrupted; the server was stopped", file=sys.stderr)
        return 2
    finally:
        signal.signal(signal.SIGTERM, previous)
    print(json.dumps(result, indent=2) if args.json else readable(result))
    return 1 if result["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
