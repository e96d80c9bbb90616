"""bench/load.py at a small size, against a real `streamlit run app.py`: behaviour only, never timings.

Three sessions open the Playground with a short budget (the Config travels in the URL query), train
to the end, change the seed, press Play and train to the end again, over Streamlit's own websocket
protocol. The figures are checked for being there and sane, not for being fast. With nginx, two
sessions do the same over `scripts/serve.sh 2` (--serve 2).
"""

import json
import os
import shutil

import pytest

from bench import load

SESSIONS = 3
# Six ticks per run (50 epochs a tick) for a session alone, so the fragment's auto-rerun timer is
# exercised (with others waiting in line a tick trains more: pages/_turns.py tick_factor); a small data
# set and grid keep each redraw cheap on a 2-core machine.
QUERY = "epochs=300&n_samples=200&grid=30"
KEYS = {
    "sessions",
    "lone_seconds",
    "median_seconds",
    "p95_seconds",
    "p95_vs_lone",
    "redraws_per_second",
    "errors",
    "peak_rss_mb",
    "peak_process_rss_mb",
    "max_stall_seconds",
    "p95_stall_seconds",
    "lone_longest_stall_seconds",
    "unfinished_sessions",
    "server_processes",
    "targets",
}
TARGETS = {"p95_vs_lone", "stall_seconds", "errors", "unfinished", "peak_rss_mb"}
NGINX = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin")  # as scripts/serve.sh finds it


@pytest.fixture(scope="module")
def report():
    """One small load test for the whole module: it starts a server and takes a while."""
    return load.run(load.parse_args(["--sessions", str(SESSIONS), "--query", QUERY, "--timeout", "240"]))


def test_every_session_trains_twice_without_errors(report):
    assert report["error_samples"] == []
    assert report["errors"] == 0
    assert report["completed_sessions"] == SESSIONS
    assert len(report["per_session"]) == SESSIONS
    for session in report["per_session"]:
        assert len(session["runs_seconds"]) == 2, session
        assert all(t > 0 for t in session["runs_seconds"])
        # At least the "done" page per run: with others in line, one tick may train a whole run.
        assert session["redraws"] >= 2
        assert session["fragment_runs"] >= 1  # the auto-rerun timer drove the live part
        assert session["errors"] == []
        assert session["longest_stall_seconds"] >= 0


def test_report_has_sane_figures(report):
    json.dumps(report)  # --json prints it as it is
    assert report.keys() >= KEYS
    assert report["sessions"] == SESSIONS
    assert report["lone_seconds"] > 0
    assert len(report["lone_runs_seconds"]) == 2
    assert 0 < report["median_seconds"] <= report["p95_seconds"] <= report["max_seconds"]
    assert report["p95_vs_lone"] == pytest.approx(report["p95_seconds"] / report["lone_seconds"], rel=0.01)
    assert report["redraws_per_second"] > 0
    assert report["peak_rss_mb"] > 0
    assert report["server_cpu_seconds"] > 0
    assert report["server_processes"] == 1
    assert report["unfinished_sessions"] == 0
    assert 0 < report["peak_process_rss_mb"] <= report["peak_rss_mb"]
    targets = report["targets"]
    assert targets.keys() == TARGETS
    assert all(isinstance(t["met"], bool) and isinstance(t["applies"], bool) for t in targets.values())
    assert targets["errors"]["met"] is True and targets["unfinished"]["met"] is True
    # Three sessions: the 10-session p95 limit is the one used, and only the counts apply here.
    assert targets["p95_vs_lone"]["limit"] == 1.5
    assert {k for k, t in targets.items() if t["applies"]} == {"errors", "unfinished"}
    assert targets["stall_seconds"]["value"] == report["max_stall_seconds"]


def test_stall_figures_are_there_for_every_session(report):
    stalls = [s["longest_stall_seconds"] for s in report["per_session"]]
    assert len(stalls) == SESSIONS and all(s >= 0 for s in stalls)
    assert report["max_stall_seconds"] == max(stalls)
    assert report["max_stall_seconds"] >= report["p95_stall_seconds"] >= 0
    assert report["lone_longest_stall_seconds"] >= 0
    assert "longest stall" in load.readable(report | {"load_average_before": 0.0, "load_average_after": 0.0})


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--sessions", "201"], "--sessions must be 1 to 200"),
        (["--sessions", "0"], "--sessions must be 1 to 200"),
        (["--url", "http://127.0.0.1:1", "--port", "2"], "give one of them"),
        (["--serve", "2", "--url", "http://127.0.0.1:1"], "without --url or --port"),
        (["--serve", "0"], "--serve must be 1 to 16"),
    ],
)
def test_refuses_bad_arguments(argv, message, capsys):
    with pytest.raises(SystemExit) as exc:
        load.parse_args(argv)
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("url", ["http://10.1.2.3:8501", "http://example.com:8501", "https://127.0.0.1:8501"])
def test_refuses_urls_off_this_machine(url):
    with pytest.raises(load.LoadTestError):
        load.check_url(url)


@pytest.mark.parametrize("url", ["http://127.0.0.1:8501", "http://localhost:8501/", "http://[::1]:8501"])
def test_accepts_loopback_urls(url):
    assert load.check_url(url).startswith("http://")


def test_percentile_is_a_real_sample():
    values = list(range(1, 51))
    assert load.percentile(values, 95) == 48
    assert load.percentile([7.0], 95) == 7.0


def test_the_p95_limit_follows_the_room_size():
    assert [load.p95_limit(n) for n in (1, 3, 10, 11, 50, 200)] == [1.5, 1.5, 1.5, 3.0, 3.0, 3.0]


def test_which_targets_apply_at_which_size():
    def applying(sessions, processes):
        targets = load.targets(sessions, processes, 2.0, 1.0, 0, 0, 600.0)
        return {k for k, t in targets.items() if t["applies"]}

    assert applying(10, 1) == {"p95_vs_lone", "errors", "unfinished"}
    assert applying(50, 1) == {"p95_vs_lone", "stall_seconds", "errors", "unfinished", "peak_rss_mb"}
    assert applying(50, 2) == {"p95_vs_lone", "stall_seconds", "errors", "unfinished"}
    assert applying(200, 2) == {"errors", "unfinished"}
    ten = load.targets(10, 1, 2.0, 3.5, 1, 0, None)
    assert (ten["p95_vs_lone"]["met"], ten["stall_seconds"]["met"], ten["errors"]["met"]) == (False, False, False)
    assert ten["peak_rss_mb"]["met"] is None  # not measured is not missed
    assert load.targets(50, 1, None, 0.0, 0, 0, 1.0)["p95_vs_lone"]["met"] is False  # no ratio: missed


def test_the_stall_clock_runs_only_while_a_run_plays(monkeypatch):
    """Gaps between changes of the epoch shown, from the first "training" to the finished status;
    the seed change and the paused page between two runs do not count."""
    now = [0.0]
    monkeypatch.setattr(load.time, "monotonic", lambda: now[0])
    browser = load.Browser("http://127.0.0.1:1", "", 0, deadline=1e9)

    def show(at, epoch, status):
        now[0] = at
        browser._watch_epoch(epoch, status)

    show(0.0, 0, "ready")  # the untrained network, before the run plays
    show(5.0, 50, "training")  # the run starts
    show(5.2, 50, "training")  # the same epoch drawn again before the next tick
    show(7.0, 100, "training")  # 2 s standing still
    show(7.5, 200, "done")
    assert browser.result.longest_stall == pytest.approx(2.0)
    show(30.0, 0, "ready")  # seed changed, waiting for Play: 22.5 s, not counted
    show(31.0, 0, "paused")
    show(32.0, 50, "training")
    show(34.5, 50, "training")
    show(35.0, 200, "done")  # 3 s from the last change to the end
    assert browser.result.longest_stall == pytest.approx(3.0)
    show(40.0, 50, "training")  # a run that never ends: it counts up to the session's end
    now[0] = 44.0
    browser._end_stall_watch()
    assert browser.result.longest_stall == pytest.approx(4.0)


def test_two_sessions_over_serve_sh_with_two_processes(monkeypatch):
    """`python -m bench.load --sessions 200 --serve 2` at the smallest size: serve.sh started on free
    ports, every process warmed, the cookies that keep a session on its process, memory and CPU summed
    over the processes, and everything stopped afterwards."""
    if NGINX is None:
        message = "no nginx: run the README's test command, which installs Debian's nginx"
        if os.environ.get("NNPLAY_REQUIRE_BROWSER"):
            pytest.fail(message)
        pytest.skip(message)
    farms = []

    class Recorded(load.Farm):
        def start(self, *args, **kwargs):
            farms.append(self)
            super().start(*args, **kwargs)

    monkeypatch.setattr(load, "Farm", Recorded)
    result = load.run(load.parse_args(["--sessions", "2", "--serve", "2", "--query", QUERY, "--timeout", "240"]))
    assert result["error_samples"] == [] and result["completed_sessions"] == 2
    assert result["server_processes"] == 2
    assert sum(result["sessions_per_process"].values()) == 2
    assert all(s["backend"] in result["sessions_per_process"] for s in result["per_session"])
    # Two Streamlit + torch processes (about 500 MB each) and nginx: more than the largest alone.
    assert result["peak_rss_mb"] > result["peak_process_rss_mb"] > 0
    assert result["server_cpu_seconds"] > 0
    assert result["max_stall_seconds"] >= result["p95_stall_seconds"] >= 0
    assert result["targets"]["peak_rss_mb"]["applies"] is False  # the memory target is one process's
    (farm,) = farms
    assert farm.proc.poll() is not None
    with pytest.raises(ProcessLookupError):
        os.killpg(farm.proc.pid, 0)  # serve.sh's app processes and nginx went with it
