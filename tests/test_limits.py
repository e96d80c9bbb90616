import time

from nnplay.config import Config
from nnplay.limits import Limits, count_parameters
from nnplay.train import Trainer


def test_limits_from_the_environment():
    limits = Limits.from_env({"NNPLAY_MAX_SAMPLES": "1000", "NNPLAY_TICK_SECONDS": "0.2", "NNPLAY_MAX_EPOCHS": "x"})
    assert limits.max_samples == 1000 and limits.tick_seconds == 0.2 and limits.max_epochs == Limits().max_epochs


def test_problems_name_the_field_and_the_limit():
    limits = Limits(max_samples=1000, max_epochs=50, max_parameters=100, max_grid=50)
    problems = limits.problems(Config(n_samples=2000, epochs=60, grid=60), n_parameters=101)
    assert [p.split(":")[0] for p in problems] == ["n_samples", "epochs", "grid", "hidden"]
    assert "at most 1,000 points" in problems[0]
    assert limits.problems(Config(n_samples=1000, epochs=50, grid=50), n_parameters=100) == []


def test_parameter_count_matches_the_network():
    assert count_parameters(5, (8, 4), 1) == 89 == Trainer(Config(dataset="make_classification")).model.n_parameters()


def test_a_tick_stops_at_its_time_budget():
    trainer = Trainer(Config(n_samples=2000, epochs=100_000))
    start = time.perf_counter()
    ran = trainer.step(100_000, max_seconds=0.05)
    assert 1 <= ran < 100_000 and time.perf_counter() - start < 5
    assert trainer.step(3, max_seconds=0.0) == 1  # at least one epoch, always
