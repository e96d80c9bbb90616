"""The benchmark's equal-loss claims, at small sizes (timings are for the bench command, not for tests)."""

import json

import torch

from nnplay import bench
from nnplay.__main__ import main
from nnplay.config import ARTICLE
from nnplay.train import Trainer


def test_seed_loop_engine_and_sklearn_reach_the_same_loss_from_the_same_weights():
    trainer = Trainer(ARTICLE.replace(n_samples=150, epochs=60)).run()
    X, y = trainer.X_train, trainer.y_train
    state = trainer._initial_state
    seed = bench.seed_loop(X, y, state, 60)
    assert abs(trainer.records.last()["train_loss"] - seed) <= bench.TOLERANCE
    assert abs(bench.sklearn_full_batch(X, y, state, 60) - seed) <= bench.TOLERANCE


def test_batched_sweep_equals_separate_runs():
    trainer = Trainer(ARTICLE.replace(n_samples=120, epochs=40))
    X, y = trainer.X_train, trainer.y_train
    states = []
    for s in range(3):
        t = Trainer(ARTICLE.replace(seed=s, n_samples=120))
        states.append({k: v.clone() for k, v in t._initial_state.items()})
    losses = bench.batched_sweep(X, y, states, 40)
    for got, state in zip(losses, states):
        assert abs(got - bench.seed_loop(X, y, state, 40)) <= bench.TOLERANCE
    assert torch.get_num_threads() >= 1


def test_bench_command_quick_json(capsys):
    assert main(["bench", "--quick", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    for key in (
        "engine_vs_seed",
        "sklearn_vs_seed",
        "sweep16_per_model_vs_seed",
        "minibatch_engine_vs_sklearn",
        "redraw_kb",
        "redraw_ms",
        "equal_loss",
        "device",
    ):
        assert key in out
    assert out["equal_loss"] is True and out["redraw_kb"] > 0
