"""The benchmark's equal-loss claims, at small sizes (timings are for the bench command, not for tests)."""

import json

import pytest
import torch

from nnplay import bench, charts
from nnplay.__main__ import main
from nnplay.config import ARTICLE, Config
from nnplay.train import Trainer


def test_seed_loop_engine_and_sklearn_reach_the_same_loss_from_the_same_weights():
    trainer = Trainer(ARTICLE.replace(n_samples=150, epochs=60)).run()
    X, y = trainer.X_train, trainer.y_train
    state = trainer._initial_state
    seed = bench.seed_loop(X, y, state, 60)
    assert abs(trainer.records.last()["train_loss"] - seed) <= bench.TOLERANCE
    assert abs(bench.sklearn_full_batch(X, y, state, 60) - seed) <= bench.TOLERANCE


def test_batched_sweep_equals_separate_seed_loops():
    configs = bench.sweep_configs(ARTICLE.replace(n_samples=120, epochs=40), k=4)
    assert len({c.seed for c in configs}) == 4
    batched, solo = bench.sweep_vs_seed_loops(configs)
    assert len(batched) == len(solo) == 4
    for got, expected in zip(batched, solo):
        assert abs(got - expected) <= bench.TOLERANCE


def test_bench_command_quick_json(capsys):
    assert main(["bench", "--quick", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    for key in (
        "engine_vs_seed",
        "engine_split_vs_seed",
        "engine_vs_sklearn_200",
        "sklearn_vs_seed",
        "sweep16_per_model_vs_seed",
        "minibatch_engine_vs_sklearn",
        "redraw_kb",
        "redraw_ms",
        "network_redraw_kb",
        "network_redraw_ms",
        "equal_loss",
        "device",
    ):
        assert key in out
    assert out["equal_loss"] is True and out["redraw_kb"] > 0
    assert ("cuda_graphs" in out) != torch.cuda.is_available()  # a GPU row is never left blank
    assert ("cuda_graphs_vs_eager_200" in out) == torch.cuda.is_available()
    # The network's row measures the network diagram as the Playground sends it, and a frame counts it.
    figure = charts.trainer_network_chart(Trainer(Config(epochs=50)).run()).wire()
    sent = sum(map(len, figure.pop("datasets").values())) + len(json.dumps(figure))
    assert out["network_redraw_kb"] == pytest.approx(sent / 1024)
    assert out["frame_kb"] > out["redraw_kb"] + out["network_redraw_kb"]
