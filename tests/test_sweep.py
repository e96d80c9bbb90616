"""Sweeps: the batched pass against solo Trainers, the honest fallback, value checking; Compare's pair."""

import math

import pytest
import torch

from nnplay import optim, sweep
from nnplay.config import Config
from nnplay.train import Trainer

TOLERANCE = 1e-5  # float32: the batched matmuls sum in another order than the Trainer's
BASE = Config(n_samples=120, epochs=40, hidden=(6,), test_fraction=0.25)


def solo(config: Config) -> Trainer:
    return Trainer(config).run()


def assert_like_solo(result: sweep.Result, tolerance: float = TOLERANCE) -> None:
    alone = solo(result.config)
    assert result.epochs == alone.epoch and result.status == alone.status
    assert result.history["train_loss"][-1] == pytest.approx(alone.records.last()["train_loss"], abs=tolerance)
    assert result.history["test_loss"][-1] == pytest.approx(alone.records.last()["test_loss"], abs=tolerance)
    for key, value in alone.evaluate().items():
        assert result.final[key] == pytest.approx(value, abs=tolerance), key


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
@pytest.mark.parametrize(
    "knob, values",
    [("lr", [0.003, 0.03, 0.3]), ("seed", [0, 1, 2]), ("l2", [0.0, 0.001, 0.01]), ("noise", [0.0, 0.1, 0.3])],
)
def test_the_batched_pass_ends_where_solo_trainers_end(optimizer, knob, values):
    result = sweep.sweep(BASE.replace(optimizer=optimizer), knob, values)
    assert result.path == "batched" and result.reason == ""
    assert [r.value for r in result.results] == values
    for r in result.results:
        assert r.path == "batched"
        assert_like_solo(r)


@pytest.mark.parametrize("optimizer", sorted(set(optim.AVAILABLE_OPTIMIZERS) - {"lbfgs"}))
def test_every_optimizer_but_lbfgs_batches_each_run_with_its_own_rate(optimizer):
    config = BASE.replace(optimizer=optimizer, epochs=25, momentum=0.5 if optimizer in ("sgd", "rmsprop") else 0.0)
    result = sweep.sweep(config, "lr", [0.001, 0.01, 0.05])
    assert result.path == "batched"
    for r in result.results:
        # Adafactor scales each step by its weight's size: at lr 0.05 a last-bit difference of the
        # batched matmuls in a weight near zero moves later steps, and float32 agrees to 1e-4.
        assert_like_solo(r, tolerance=1e-4 if optimizer == "adafactor" else TOLERANCE)


@pytest.mark.parametrize(
    "config, knob, values",
    [
        (BASE.replace(batch_size=32), "seed", [0, 1, 2]),  # each run shuffles with its own generator
        (BASE.replace(batch_size=32, optimizer="adam"), "lr", [0.01, 0.1]),
        (BASE.replace(dataset="blobs", n_samples=150), "lr", [0.01, 0.1]),
        (BASE.replace(dataset="make_regression"), "noise", [0.1, 0.5]),
        (BASE.replace(activation=("relu+tanh", "custom"), hidden=(5, 3), loss="custom"), "seed", [0, 3]),
        (BASE.replace(schedule="cosine", l1=0.001, test_fraction=0.0), "l2", [0.0, 0.01]),
    ],
    ids=["minibatch-seeds", "minibatch-lr", "multiclass", "regression", "mixed-custom", "cosine-no-test"],
)
def test_the_batched_pass_covers_minibatches_tasks_mixed_blocks_and_schedules(config, knob, values):
    result = sweep.sweep(config, knob, values)
    assert result.path == "batched"
    for r in result.results:
        alone = solo(r.config)
        assert r.history["train_loss"][-1] == pytest.approx(alone.records.last()["train_loss"], abs=TOLERANCE)
        assert r.final["train_loss"] == pytest.approx(alone.evaluate()["train_loss"], abs=TOLERANCE)


@pytest.mark.parametrize(
    "config, knob, values, words",
    [
        (BASE, "width", [2, 4], "shapes"),
        (BASE, "batch_size", [0, 16], "batch size"),
        (BASE.replace(optimizer="lbfgs", lr=0.5), "seed", [0, 1], "L-BFGS"),
        (BASE.replace(dropout=0.2), "seed", [0, 1], "dropout"),
    ],
)
def test_what_cannot_be_batched_trains_one_after_another_and_says_why(config, knob, values, words):
    result = sweep.sweep(config, knob, values)
    assert result.path == "sequential" and words in result.reason
    for r in result.results:
        assert r.path == "sequential"
        assert_like_solo(r, tolerance=0.0)  # the very same code as a solo Trainer


def test_early_stopping_batches_and_each_run_stops_at_its_own_epoch():
    result = sweep.sweep(BASE.replace(patience=5, epochs=400, optimizer="sgd"), "lr", [0.03, 1.0])
    assert result.path == "batched"
    for r in result.results:
        assert_like_solo(r)
    assert [(r.status, r.epochs) for r in result.results] == [("done", 400), ("early_stopped", 298)]


def test_width_sets_every_hidden_layer():
    configs = sweep.configs_for(BASE.replace(hidden=(8, 4)), "width", [3, 5])
    assert [c.hidden for c in configs] == [(3, 3), (5, 5)]
    with pytest.raises(sweep.SweepError, match="width: this network has no hidden layer"):
        sweep.configs_for(BASE.replace(hidden=()), "width", [3])


def test_a_diverging_value_stops_alone_before_its_bad_update():
    config = BASE.replace(dataset="plane", optimizer="sgd", activation=("linear",))
    result = sweep.sweep(config, "lr", [0.1, 1000.0])
    good, bad = result.results
    assert result.path == "batched" and good.status == "done" and bad.diverged
    assert "smaller learning rate" in bad.message and "1000" in bad.message
    alone = solo(bad.config)
    assert alone.diverged and bad.epochs == alone.epoch == len(bad.history["train_loss"])
    assert_like_solo(good)


def test_a_blown_up_value_stops_alone_as_a_trainer_does():
    # Finite all the way, but hundreds of times its starting loss: the same rule and the same
    # epoch as a solo Trainer, and the same message.
    config = BASE.replace(optimizer="sgd", device="cpu")
    result = sweep.sweep(config, "lr", [0.1, 1000.0])
    good, bad = result.results
    assert result.path == "batched" and good.status == "done" and bad.diverged
    assert "blew up" in bad.message and "1000" in bad.message
    assert bad.epochs < config.epochs and len(bad.history["train_loss"]) == bad.epochs
    assert bad.message == solo(bad.config).message
    assert_like_solo(bad, tolerance=1e-3)  # the loss is in the hundreds here: float32 keeps 1e-6 of it
    assert_like_solo(good)


def test_a_value_that_ends_worse_than_it_started_is_diverged_as_a_trainer_says():
    config = Config(optimizer="adadelta", activation=("relu",), epochs=50, device="cpu")
    result = sweep.sweep(config, "lr", [1.0, 1000.0])
    good, bad = result.results
    assert result.path == "batched" and good.status == "done"
    assert bad.diverged and bad.epochs == 50 and "worse" in bad.message
    assert bad.message == solo(bad.config).message
    assert_like_solo(bad)


@pytest.mark.parametrize(
    "knob, text, words",
    [
        ("lr", "banana", "lr: expected a number, not 'banana'"),
        ("lr", "0.1, 0.1", "lr: 0.1 is given twice"),
        ("lr", " ", "lr: give one or more values"),
        ("lr", "5000", "lr: 5000.0 is outside the allowed range"),
        ("width", "0", "width: 0 is outside the allowed range 1 to 256"),
        ("width", "4 4", "width: expected a number"),
        ("seed", "1.5", "seed: expected a whole number"),
        ("noise", "0:2:3", "noise: 2.0 is outside the allowed range"),
        ("lr", "1:2", "lr: a range is from:to:count"),
        ("lr", "a:b:3", "lr: a range is from:to:count with numbers"),
        ("momentum", "0.1", "momentum: not a knob to sweep"),
    ],
)
def test_bad_values_are_refused_with_a_message_naming_the_knob(knob, text, words):
    with pytest.raises(sweep.SweepError) as caught:
        sweep.parse_values(knob, text)
    assert words in str(caught.value)


def test_the_count_is_capped():
    many = ", ".join(str(i) for i in range(sweep.MAX_VALUES + 1))
    with pytest.raises(sweep.SweepError, match=f"seed: at most {sweep.MAX_VALUES} values at once, got 17"):
        sweep.parse_values("seed", many)
    with pytest.raises(sweep.SweepError, match=f"lr: a range's count must be 1 to {sweep.MAX_VALUES}, not 40"):
        sweep.parse_values("lr", "0.001:1:40")
    with pytest.raises(sweep.SweepError, match="at most"):
        sweep.sweep(BASE, "seed", list(range(sweep.MAX_VALUES + 1)))
    assert len(sweep.parse_values("seed", ", ".join(str(i) for i in range(sweep.MAX_VALUES)))) == sweep.MAX_VALUES


def test_ranges_are_geometric_for_rates_and_whole_for_counts():
    assert sweep.parse_values("lr", "0.001:1:4") == pytest.approx([0.001, 0.01, 0.1, 1.0])
    assert sweep.parse_values("l2", "0:0.3:4") == pytest.approx([0.0, 0.1, 0.2, 0.3])  # 0: linear
    assert sweep.parse_values("width", "1:16:5") == [1, 5, 8, 12, 16]
    assert sweep.parse_values("noise", "0.1; 0.2") == [0.1, 0.2]


def test_a_time_limit_stops_every_run_and_says_so():
    for knob, values in (("lr", [0.01, 0.1]), ("width", [2, 3])):
        result = sweep.sweep(BASE.replace(epochs=5000), knob, values, max_seconds=0.0)
        for r in result.results:
            assert r.epochs < 5000 and r.status != "done" and "time limit" in r.message


def test_train_batched_is_the_benchs_entry_point():
    configs = [BASE.replace(seed=s) for s in range(4)]
    results = sweep.train_batched(configs)
    assert [r.config for r in results] == configs and all(r.path == "batched" for r in results)
    assert results[2].final["train_loss"] == pytest.approx(solo(configs[2]).evaluate()["train_loss"], abs=TOLERANCE)
    with pytest.raises(sweep.SweepError, match="shapes"):
        sweep.train_batched([BASE, BASE.replace(hidden=(3,))])


def test_results_draw_the_final_boundary():
    result = sweep.sweep(BASE, "seed", [0, 5])
    alone = solo(result.results[1].config)
    grid = result.results[1].boundary(resolution=20)
    assert grid.values.shape == (20, 20)
    assert grid.values == pytest.approx(alone.boundary(resolution=20).values, abs=1e-4)


def test_pair_shares_data_and_initial_weights_where_the_shapes_allow():
    a = BASE.replace(init="xavier", activation=("relu",))
    ta, tb, note = sweep.pair(a, a.replace(activation=("tanh",)))  # xavier's gain differs by activation
    assert note == "B trains on the same data from the same initial weights."
    for key, value in ta.model.state_dict().items():
        assert torch.equal(value, tb.model.state_dict()[key])
    tb.run()
    tb.reset()  # Reset returns to the shared start
    assert torch.equal(tb.model.state_dict()["hidden1.weight"], ta.model.state_dict()["hidden1.weight"])
    assert "architecture differs" in sweep.pair(a, a.replace(hidden=(9,)))[2]
    assert "different data from its own initial weights (its seed differs)" in sweep.pair(a, a.replace(seed=4))[2]
    assert sweep.pair(a, a.replace(noise=0.3))[2] == "B trains on different data from the same initial weights."


def test_read_changes_uses_the_field_rules_and_warns_by_key():
    changes, warnings = sweep.read_changes(
        {"b_lr": "0.1", "b_hidden": "16,16", "b_epochs": ["5", "7"], "b_momentum": "2", "lr": "9", "b_bogus": "1"}
    )
    assert changes == {"lr": 0.1, "hidden": (16, 16), "epochs": 7}
    assert len(warnings) == 1 and warnings[0].startswith("b_momentum: 2.0 is outside the allowed range")
    assert all(math.isfinite(v) for v in (changes["lr"],))


def test_a_batched_sweep_reports_progress_about_every_quarter_second(monkeypatch):
    """Each report ends an engine call, and each call stacks the networks anew: the chunks between
    reports grow to about PROGRESS_SECONDS from the call before, not a fixed fiftieth of the budget."""
    from nnplay import engine

    calls, reports = [], []
    train = engine.train

    def counting(trainers, epochs, **kwargs):
        calls.append(epochs)
        return train(trainers, epochs, **kwargs)

    monkeypatch.setattr(engine, "train", counting)
    monkeypatch.setattr(sweep, "PROGRESS_SECONDS", 0.05)
    configs = [Config(n_samples=200, epochs=3000, seed=s) for s in range(4)]
    results = sweep.train_batched(configs, progress=lambda done, text: reports.append((done, text)))
    assert all(r.epochs == 3000 for r in results)
    assert calls[0] == 60 and max(calls) > 60  # a fiftieth first, then as long as the pace allows
    assert len(reports) == len(calls) and reports[-1] == (1.0, "epoch 3000 of 3000, 4 networks in one pass")
    assert [d for d, _ in reports] == sorted(d for d, _ in reports)
