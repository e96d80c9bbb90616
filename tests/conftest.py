import sys

import pytest
import torch

from nnplay.config import Config

# Tests train many tiny networks; one intra-op thread is faster and keeps runs comparable.
torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _no_trainer_slots_left_over():
    """AppTest runs the app in this process: a session a test left playing keeps its trainer slot
    (pages/_turns.py) for its lease, and the next test's session would wait in line behind it."""
    yield
    turns = sys.modules.get("pages._turns")
    if turns is not None:
        turns._SLOTS = turns._make_slots()


@pytest.fixture(autouse=True)
def _no_pause_on_the_untrained_network(monkeypatch):
    """The Playground shows an untrained network for a moment before training (UNTRAINED_SECONDS, _TICKS);
    AppTest's reruns come faster than that. The test of that moment sets it back. The pages read
    these from pages._turns at each run (``from pages._turns import ...``), so the patch reaches them."""
    import pages._turns

    monkeypatch.setattr(pages._turns, "UNTRAINED_SECONDS", 0.0)
    monkeypatch.setattr(pages._turns, "UNTRAINED_TICKS", 0)
    # AppTest never ticks a fragment, so a first run that left the rest of the page to the first tick
    # would leave it undrawn; the test of that first run sets it back.
    monkeypatch.setattr(pages._turns, "PAINT_FIRST", False)


@pytest.fixture(autouse=True)
def _a_fresh_redraw_budget(monkeypatch):
    """The redraw budget measures a redraw's cost from the process's CPU, and in a test process that
    is every earlier test's too: a measurement left over from them made a lone session "busy" (two
    ticks' worth a frame) in a later test. Each test starts from the budget a server starts with."""
    import pages._turns
    from nnplay.room import Pace

    budget = pages._turns._PACE
    fresh = Pace(
        budget.tick, share=budget.share, line_share=budget.line_share, longest=budget.longest, training=budget._training
    )
    monkeypatch.setattr(pages._turns, "_PACE", fresh)


@pytest.fixture
def quick() -> Config:
    """A small, fast experiment."""
    return Config(n_samples=120, epochs=30, hidden=(6,), test_fraction=0.25)


def pytest_terminal_summary(terminalreporter):
    """Say how many hostile-input cases ran (tests/test_hostile.py), so the count shows in CI's output."""
    reports = terminalreporter.stats.get("passed", []) + terminalreporter.stats.get("failed", [])
    hostile = [r for r in reports if r.nodeid.startswith("tests/test_hostile.py::") and "[" in r.nodeid]
    if hostile:
        failed = sum(r.failed for r in hostile)
        terminalreporter.write_line(f"hostile-input corpus: {len(hostile)} cases, {failed} failed")
