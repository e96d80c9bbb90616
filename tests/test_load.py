"""bench/load.py at a small size, against a real `streamlit run app.py`: behaviour only, never timings.

Three sessions open the Playground with a short budget (the Config travels in the URL query), train
to the end, change the seed, press Play and train to the end again, over Streamlit's own websocket
protocol. The figures are checked for being there and sane, not for being fast.
"""

import json

import pytest

from bench import load

SESSIONS = 3
# Six ticks per run (50 epochs a tick) for a session alone, so the fragment's auto-rerun timer is
# exercised (with others waiting in line a tick trains more: pages/_shared.py tick_factor); a small data
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
    "targets",
}


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
    targets = report["targets"]
    assert targets.keys() == {"p95_vs_lone", "errors", "peak_rss_mb"}
    assert all(isinstance(t["met"], bool) for t in targets.values())
    assert targets["errors"]["met"] is True


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--sessions", "201"], "--sessions must be 1 to 200"),
        (["--sessions", "0"], "--sessions must be 1 to 200"),
        (["--url", "http://127.0.0.1:1", "--port", "2"], "give one of them"),
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
