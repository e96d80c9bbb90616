"""What a viewer sees while the Playground plays, sampled at every animation frame in Chromium
(bench.frames has the figures): the untrained network first, frames in the order of the schedule,
the boundary's map painted in every sampled frame, and pages that never die (bench.soak)."""

import itertools

import pytest

from bench.frames import watch
from bench.soak import Tab, wait_all
from nnplay.frames import DEFAULT_SPEED, schedule

pytestmark = pytest.mark.e2e


def test_frames_start_untrained_follow_the_schedule_and_always_show_the_map(browser, server):
    samples = watch(browser, server + "/?epochs=200", timeout=120)
    drawn = [s for s in samples if s["chart"]]
    assert drawn and drawn[-1]["status"] == "done"
    first = drawn[0]
    assert first["epoch"] == 0 and first["status"] == "ready"  # the untrained network, before any epoch
    frames = [e for e, _ in itertools.groupby(s["epoch"] for s in drawn)]
    assert frames == sorted(set(frames)) and frames[-1] == 200  # in order, to the end of the budget
    assert set(frames) <= set(schedule(200, DEFAULT_SPEED))  # only epochs the schedule shows
    assert len(frames) >= 8  # of the schedule's 25: a busy machine may paint two in one animation frame
    unpainted = [s for s in drawn if s["painted"] < 0.9]
    assert not unpainted, unpainted[:3]  # the map is there in every sampled animation frame, epoch 0 too


def test_runs_to_their_end_and_again_after_reset_never_kill_the_page(browser, server):
    queries = ["?epochs=300", "?optimizer=sgd&lr=1000&epochs=300", "?optimizer=sgd&lr=10&epochs=300"]
    tabs = [Tab(browser, server + "/" + q) for q in queries]
    try:
        assert wait_all(tabs, timeout=120) == ["ended"] * 3, [t.errors for t in tabs]
        for t in tabs:
            t.replay()
        assert wait_all(tabs, timeout=120) == ["ended"] * 3, [t.errors for t in tabs]
    finally:
        for t in tabs:
            t.close()
