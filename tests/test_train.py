import itertools
import threading

import numpy as np
import pytest
import torch

from nnplay import divergence
from nnplay.config import ARTICLE, PRESETS, Config
from nnplay.data import DATASETS, REGRESSION, build, read_csv
from nnplay.losses import LOSSES, LossError
from nnplay.model import ACTIVATIONS
from nnplay.optim import AVAILABLE_OPTIMIZERS
from nnplay.train import DIVERGED, DONE, LIVE_FIELDS, READY, STOPPED, Trainer, resolve_device


def weights(trainer):
    return torch.cat([p.detach().flatten().cpu() for p in trainer.model.parameters()])


# --- the article, through the engine --------------------------------------------------------


def test_article_untrained_outputs_start_near_one_half():
    trainer = Trainer(ARTICLE)
    first = trainer.snapshots.items[0]
    assert first.epoch == 0 and first.outputs.shape == (100,)
    assert np.abs(first.outputs - 0.5).max() < 0.15


def test_article_bce_falls_from_069_to_well_below_03():
    trainer = Trainer(ARTICLE).run()
    losses = trainer.records.column("train_loss")
    assert len(losses) == 1000 and trainer.status == DONE
    assert losses[0] == pytest.approx(0.69, abs=0.05)
    assert losses[-1] < 0.2
    last = trainer.snapshots.items[-1].outputs
    assert (
        np.abs(last - 0.5).mean() > 3 * np.abs(trainer.snapshots.items[0].outputs - 0.5).mean()
    )  # probabilities separate


def test_article_mixed_relu_tanh_block_trains():
    trainer = Trainer(PRESETS["article_mixed"]).run()
    assert "Mixed" in repr(trainer.model)
    losses = trainer.records.column("train_loss")
    assert losses[-1] < 0.3 < losses[0]


def test_mse_trains_the_regression_network():
    trainer = Trainer(PRESETS["article_regression"]).run()
    assert trainer.task == REGRESSION and trainer.model.n_output == 1
    assert isinstance(trainer.model.head, torch.nn.Identity)
    assert trainer.evaluate()["test_r2"] > 0.9


@pytest.mark.slow
@pytest.mark.parametrize("dataset", ["circle", "xor", "gauss", "moons"])
def test_default_network_learns_the_playground_sets(dataset):
    assert Trainer(Config(dataset=dataset)).run().evaluate()["test_accuracy"] >= 0.95


@pytest.mark.slow
def test_a_wider_network_learns_the_spiral():
    assert Trainer(Config(dataset="spiral", hidden=(16, 16))).run().evaluate()["test_accuracy"] >= 0.95


# --- every registry entry trains ---------------------------------------------------------------


@pytest.mark.parametrize("dataset", list(DATASETS))
def test_every_dataset_trains(dataset):
    trainer = Trainer(Config(dataset=dataset, n_samples=200, epochs=25)).run()
    losses = trainer.records.column("train_loss")
    assert losses[-1] < losses[0]


@pytest.mark.parametrize("activation", [*ACTIVATIONS, "relu+tanh"])
def test_every_activation_trains(activation):
    trainer = Trainer(Config(dataset="gauss", n_samples=200, activation=(activation,), epochs=30, init="xavier")).run()
    losses = trainer.records.column("train_loss")
    assert losses[-1] < losses[0], activation


@pytest.mark.parametrize("loss", list(LOSSES))
@pytest.mark.parametrize("dataset", ["gauss", "blobs", "plane"])
def test_every_loss_trains_where_it_fits(loss, dataset):
    config = Config(dataset=dataset, n_samples=200, epochs=30)
    if DATASETS[dataset].task not in LOSSES[loss].tasks:
        with pytest.raises(ValueError, match="does not fit"):
            config.replace(loss=loss)
        return
    trainer = Trainer(config.replace(loss=loss)).run()
    losses = trainer.records.column("train_loss")
    assert losses[-1] < losses[0], (loss, dataset)


def test_multiclass_head_and_accuracy():
    trainer = Trainer(Config(dataset="blobs", n_classes=4, n_samples=400, epochs=200)).run()
    assert trainer.model.n_output == 4
    assert trainer.evaluate()["test_accuracy"] > 0.9
    probs = trainer.predict(trainer.data.X_test[:5])
    assert probs.shape == (5, 4) and np.allclose(probs.sum(1), 1, atol=1e-5)


def test_cross_entropy_on_two_classes_uses_two_outputs():
    trainer = Trainer(Config(dataset="gauss", loss="cross_entropy", n_samples=200, epochs=50)).run()
    assert trainer.model.n_output == 2 and trainer.evaluate()["test_accuracy"] > 0.9
    assert trainer.predict(trainer.data.X_test).ndim == 1  # still P(class 1)


def test_csv_loss_mismatch_is_reported_by_the_trainer():
    table = read_csv(b"x,y\n1,0.5\n2,1.5\n3,2.5\n4,0.1\n")
    with pytest.raises(LossError, match="does not fit regression"):
        Trainer(Config(dataset="csv", loss="bce", test_fraction=0), table)


def test_zero_hidden_layers_is_logistic_regression():
    trainer = Trainer(Config(dataset="gauss", hidden=(), n_samples=200, epochs=100)).run()
    assert len(trainer.model.linears) == 1 and trainer.evaluate()["test_accuracy"] > 0.95
    assert trainer.records.last()["dead_fraction"] == 0.0


def test_engineered_features_let_a_linear_model_solve_the_circle():
    config = Config(dataset="circle", hidden=(), features=("x1", "x2", "x1sq", "x2sq"), epochs=300)
    assert Trainer(config).run().evaluate()["test_accuracy"] > 0.95


# --- chunks, reset, live changes ------------------------------------------------------------


def test_chunks_equal_one_run(quick):
    one = Trainer(quick).run()
    chunked = Trainer(quick)
    while chunked.step(7):
        pass
    assert chunked.epoch == quick.epochs and chunked.status == DONE
    assert one.records.column("train_loss") == chunked.records.column("train_loss")
    assert torch.equal(weights(one), weights(chunked))
    assert chunked.step(5) == 0  # never past the budget


def test_reset_gives_the_same_initialisation_and_the_same_run():
    config = Config(n_samples=150, epochs=20, dropout=0.2, batch_size=32)
    trainer = Trainer(config)
    start = weights(trainer)
    trainer.run()
    first = trainer.records.column("train_loss")
    assert not torch.equal(start, weights(trainer))
    trainer.reset()
    assert trainer.epoch == 0 and trainer.status == READY and len(trainer.records) == 0
    assert torch.equal(start, weights(trainer))
    assert trainer.run().records.column("train_loss") == first
    assert torch.equal(start, weights(Trainer(config)))  # a new Trainer from the same seed too


def test_seed_changes_the_initial_weights():
    assert not torch.equal(weights(Trainer(Config(seed=1))), weights(Trainer(Config(seed=2))))


def test_learning_rate_changes_live_and_architecture_does_not():
    trainer = Trainer(Config(n_samples=100, epochs=40, lr=0.01))
    trainer.step(10)
    assert trainer.apply(trainer.config.replace(lr=0.05, epochs=60))
    trainer.step(5)
    assert trainer.epoch == 15 and trainer.records.column("lr")[-1] == 0.05 and trainer.remaining == 45
    assert not trainer.apply(trainer.config.replace(hidden=(3,)))
    assert not trainer.apply(trainer.config.replace(dataset="xor"))
    assert {"lr", "epochs"} <= LIVE_FIELDS


def test_raising_the_budget_after_the_end_trains_on(quick):
    trainer = Trainer(quick).run()
    assert trainer.status == DONE
    assert trainer.apply(quick.replace(epochs=quick.epochs + 5))
    assert trainer.step(100) == 5


# --- history ---------------------------------------------------------------------------------


def test_history_columns_are_plain_floats(quick):
    trainer = Trainer(quick).run()
    frame = trainer.history
    assert len(frame) == quick.epochs and frame["epoch"].tolist() == list(range(1, quick.epochs + 1))
    expected = {
        "train_loss",
        "test_loss",
        "train_accuracy",
        "test_accuracy",
        "lr",
        "grad_norm_1",
        "grad_norm_out",
        "dead_fraction",
    }
    assert expected <= set(frame.columns)
    for record in trainer.records.records:
        assert all(type(v) is float for v in record.values())


def test_regression_history_reports_r2():
    trainer = Trainer(Config(dataset="sine", epochs=200, n_samples=300)).run()
    assert trainer.records.last()["train_r2"] > 0.5 and "train_accuracy" not in trainer.records.last()


def test_train_metrics_come_from_the_training_pass():
    trainer = Trainer(Config(n_samples=200, epochs=5, test_fraction=0.5))
    trainer.step(1)
    before = trainer.snapshots.items[0]
    trainer.reset()
    loss_at_start = trainer.evaluate()["train_loss"]
    trainer.step(1)
    assert trainer.records.last()["train_loss"] == pytest.approx(loss_at_start, rel=1e-5)
    assert before.epoch == 0


def test_accuracy_from_training_pass_matches_an_evaluation():
    trainer = Trainer(Config(n_samples=300, epochs=50))
    trainer.step(49)
    expected = trainer.evaluate()
    trainer.step(1)
    record = trainer.records.last()
    assert record["train_accuracy"] == pytest.approx(expected["train_accuracy"])
    assert record["test_loss"] == pytest.approx(expected["test_loss"], rel=1e-5)


def test_gradient_norms_match_autograd():
    trainer = Trainer(Config(n_samples=100, hidden=(5,), epochs=1, test_fraction=0))
    model = trainer.model
    out = model(trainer.X_train)
    trainer.loss.fn(out, trainer.y_train, trainer.task).backward()
    expected = [torch.cat([m.weight.grad.flatten(), m.bias.grad.flatten()]).norm().item() for m in model.linears]
    model.zero_grad()
    trainer.step(1)
    got = [trainer.records.last()[k] for k in ("grad_norm_1", "grad_norm_out")]
    assert got == pytest.approx(expected, rel=1e-5)


def test_dead_relu_units_are_counted():
    trainer = Trainer(Config(dataset="gauss", hidden=(4, 4), activation=("relu",), n_samples=100, epochs=1))
    with torch.no_grad():
        trainer.model.hidden2.bias.fill_(-100.0)  # every unit of layer 2 outputs 0 for every point
    trainer.step(1)
    assert trainer.records.last()["dead_fraction"] == pytest.approx(0.5)


# --- divergence, early stopping ---------------------------------------------------------------


def test_divergence_stops_with_a_message_and_reset_recovers():
    config = Config(dataset="plane", optimizer="sgd", lr=50.0, activation=("linear",), epochs=100)
    trainer = Trainer(config)
    start = weights(trainer)
    trainer.run()
    assert trainer.status == DIVERGED and trainer.diverged and trainer.epoch < 100
    assert "smaller learning rate" in trainer.message and "50" in trainer.message
    assert all(np.isfinite(trainer.records.column("train_loss")))  # nothing non-finite recorded
    assert trainer.step(10) == 0
    summary = trainer.summary()
    assert summary["diverged"] is True
    trainer.reset()
    assert torch.equal(weights(trainer), start) and trainer.status == READY
    assert trainer.apply(config.replace(lr=0.01)) is True
    trainer.run()
    assert trainer.status == DONE


@pytest.mark.parametrize("name", ["sgd", "adam", "rmsprop", "adagrad", "rprop", "lbfgs", "asgd", "adadelta"])
def test_exploding_learning_rate_never_crashes(name):
    trainer = Trainer(
        Config(dataset="plane", optimizer=name, lr=1000.0, activation=("linear",), epochs=30, n_samples=100)
    )
    trainer.run()
    assert trainer.status in (DONE, DIVERGED)
    trainer.reset()
    assert trainer.status == READY


@pytest.mark.parametrize(
    "config",
    [
        Config(dataset="plane", optimizer="sgd", lr=1000.0, epochs=6, n_samples=100),
        Config(dataset="circle", optimizer="lbfgs", lr=1000.0, epochs=15, n_samples=100),
        Config(dataset="plane", optimizer="asgd", lr=1000.0, epochs=6, n_samples=100),
    ],
)
def test_a_blow_up_in_the_last_update_is_divergence(config, monkeypatch):
    monkeypatch.setattr(divergence, "EPOCHS", 10**9)  # the non-finite path: the blow-up rule would stop these first
    trainer = Trainer(config).run()
    assert "no longer finite" in trainer.message
    assert trainer.status == DIVERGED and trainer.summary()["diverged"] is True
    assert all(np.isfinite(s.outputs).all() for s in trainer.snapshots.items)


# A learning rate this large wrecks the network without a single non-finite number: the loss ends
# hundreds of times above its start with the outputs pinned. On the CPU (device="cpu"), because
# runs this chaotic end elsewhere on another device.
@pytest.mark.parametrize("dataset", ["circle", "xor"])
@pytest.mark.parametrize("lr", [1000.0, 100.0])
@pytest.mark.parametrize("optimizer", AVAILABLE_OPTIMIZERS)
def test_a_run_that_blows_up_is_reported_not_called_done(optimizer, lr, dataset):
    trainer = Trainer(Config(dataset=dataset, optimizer=optimizer, lr=lr, epochs=50, device="cpu"))
    start = trainer.evaluate()["train_loss"]
    trainer.run()
    final = trainer.evaluate()
    if trainer.status == DIVERGED:
        assert "smaller learning rate" in trainer.message and f"{lr:g}" in trainer.message
        assert trainer.summary()["diverged"] is True
    else:  # Adafactor's rate is relative to the weights' size, and Adadelta at 100 learns: runs that really learned
        assert trainer.status == DONE and final["train_loss"] < start / 2 and final["train_accuracy"] >= 0.9


def test_a_blown_up_run_stops_early_and_says_how_far_the_loss_rose():
    trainer = Trainer(Config(optimizer="sgd", lr=1000.0, epochs=50, activation=("relu",), device="cpu")).run()
    assert trainer.status == DIVERGED and trainer.epoch < 10  # stopped, not trained on to the budget
    assert "blew up" in trainer.message and f"{trainer.records.last()['train_loss']:.4g}" in trainer.message
    assert trainer.step(5) == 0
    trainer.reset()
    assert trainer.status == READY and trainer.apply(trainer.config.replace(lr=0.1))
    assert trainer.run().status == DONE


def test_a_run_that_ends_worse_than_it_started_is_reported():
    # Adadelta's first steps at lr 1000 kill most ReLUs; the loss never passes 10 times its start
    # for long, but the run ends above twice it, at chance accuracy.
    config = Config(optimizer="adadelta", lr=1000.0, epochs=50, activation=("relu",), device="cpu")
    trainer = Trainer(config).run()
    assert trainer.status == DIVERGED and trainer.epoch == 50
    assert "worse" in trainer.message and "smaller learning rate" in trainer.message
    assert trainer.records.last()["train_loss"] > 2 * trainer.records.column("train_loss")[0]


@pytest.mark.parametrize("name", list(PRESETS))
def test_no_false_alarm_on_the_presets(name):
    trainer = Trainer(PRESETS[name]).run()
    assert trainer.status == DONE and not trainer.message


def test_a_noisy_loss_that_wiggles_is_not_a_blow_up():
    # Mini-batch SGD (batches of 8) on labels of which 30% are flipped: the epoch loss goes up as
    # often as down once it has learned what it can.
    config = Config(optimizer="sgd", lr=0.3, batch_size=8, label_noise=0.3, epochs=100)
    trainer = Trainer(config).run()
    losses = np.array(trainer.records.column("train_loss"))
    assert (np.diff(losses[20:]) > 0).sum() >= 20  # it does wiggle
    assert trainer.status == DONE and not trainer.message


def test_momentum_changes_live_on_rmsprop_and_sgd():
    for name in ("rmsprop", "sgd"):
        config = Config(n_samples=50, epochs=20, optimizer=name, lr=0.01)
        trainer = Trainer(config)
        trainer.step(3)
        assert trainer.apply(config.replace(momentum=0.9))
        assert trainer.step(3) == 3 and trainer.optimizer.param_groups[0]["momentum"] == 0.9


def test_cosine_follows_a_live_change_of_the_budget():
    config = Config(n_samples=50, epochs=100, schedule="cosine", lr=0.1)
    trainer = Trainer(config)
    trainer.step(50)
    assert trainer.records.last()["lr"] == pytest.approx(0.1 * 0.5 * (1 + np.cos(np.pi * 49 / 100)))
    trainer.apply(config.replace(epochs=200))
    trainer.run()
    lrs = trainer.records.column("lr")
    assert all(a >= b for a, b in itertools.pairwise(lrs[50:]))  # still decaying, never climbing back
    assert lrs[-1] < 1e-4 and lrs[99] == pytest.approx(0.1 * 0.5 * (1 + np.cos(np.pi * 99 / 200)))


def test_live_lr_with_a_schedule_scales_the_schedule():
    config = Config(n_samples=50, epochs=40, schedule="step", step_size=10, gamma=0.5, lr=0.1)
    trainer = Trainer(config)
    trainer.step(15)
    trainer.apply(config.replace(lr=0.4))
    trainer.step(10)
    assert trainer.records.column("lr")[14] == pytest.approx(0.05)
    assert trainer.records.column("lr")[15] == pytest.approx(0.2) and trainer.records.column("lr")[20] == pytest.approx(
        0.1
    )


def test_rprop_takes_a_live_learning_rate():
    config = Config(dataset="gauss", n_samples=100, epochs=30, optimizer="rprop", lr=0.01)
    a, b = Trainer(config), Trainer(config)
    a.step(3)
    b.step(3)
    b.apply(config.replace(lr=1e-6))
    a.step(10)
    b.step(10)
    assert a.records.column("train_loss")[-1] != b.records.column("train_loss")[-1]
    assert b.records.column("train_loss")[-1] == pytest.approx(b.records.column("train_loss")[3], rel=1e-3)


def test_early_stopping_resumes_with_more_patience():
    config = Config(dataset="xor", label_noise=0.2, hidden=(32, 32), epochs=3000, patience=30, n_samples=100)
    trainer = Trainer(config).run()
    assert trainer.status == STOPPED
    stopped_at = trainer.epoch
    assert trainer.apply(config.replace(patience=60))
    assert trainer.step(5) == 5 and trainer.epoch == stopped_at + 5


def test_adopting_loaded_weights_makes_them_the_reset_point(quick):
    trainer = Trainer(quick).run()
    trained = weights(trainer)
    trainer.adopt_current_weights()
    assert trainer.epoch == 0 and torch.equal(weights(trainer), trained)
    trainer.step(5)
    trainer.reset()
    assert torch.equal(weights(trainer), trained)


def test_early_stopping_with_patience():
    config = Config(dataset="xor", label_noise=0.2, hidden=(32, 32), epochs=5000, patience=30, n_samples=100)
    trainer = Trainer(config).run()
    assert trainer.status == STOPPED and trainer.epoch < 5000
    assert "no improvement of the test loss for 30 epochs" in trainer.message
    test_losses = trainer.records.column("test_loss")
    best = int(np.argmin(test_losses))
    assert len(test_losses) - 1 - best >= 30  # it waited out its patience after the best epoch
    assert trainer.snapshots.epochs[-1] == trainer.epoch


# --- snapshots and what the charts read ----------------------------------------------------------


def test_snapshots_every_k_epochs():
    trainer = Trainer(Config(epochs=50, snapshot_every=10, n_samples=80)).run()
    assert trainer.snapshots.epochs == [0, 10, 20, 30, 40, 50]
    drift = trainer.snapshots.drift()
    assert len(drift) == 6 * len(trainer.data.X_train) and drift["output"].between(0, 1).all()


def test_snapshots_stay_bounded_on_long_runs():
    trainer = Trainer(Config(epochs=3000, snapshot_every=1, n_samples=60, test_fraction=0))
    trainer.run()
    snaps = trainer.snapshots
    assert len(snaps.items) <= snaps.max_count and snaps.epochs[0] == 0 and snaps.epochs[-1] == 3000
    gaps = np.diff(snaps.epochs[:-1])
    assert len(set(gaps.tolist())) == 1  # evenly thinned


def test_multiclass_drift_is_the_probability_of_the_true_class():
    trainer = Trainer(Config(dataset="blobs", epochs=100, n_samples=200)).run()
    last = trainer.snapshots.items[-1].outputs
    probs = trainer.predict(trainer.data.X_train)
    np.testing.assert_allclose(last, probs[np.arange(len(probs)), trainer.data.y_train], rtol=1e-5)


def test_boundary_grid_now_and_at_a_past_epoch():
    trainer = Trainer(Config(epochs=100, grid=40)).run()
    now = trainer.boundary()
    assert now.values.shape == (40, 40) and now.epoch == 100 and ((now.values >= 0) & (now.values <= 1)).all()
    then = trainer.boundary(epoch=0)
    assert then.epoch == 0 and not np.allclose(then.values, now.values)
    assert trainer.boundary(epoch=0) is then  # cached for the timeline
    untrained = Trainer(Config(epochs=100, grid=40)).boundary()
    np.testing.assert_allclose(then.values, untrained.values, rtol=1e-6)


def test_boundary_agrees_with_predictions_at_the_data():
    trainer = Trainer(Config(epochs=50)).run()
    grid = trainer.boundary(resolution=30)
    # The grid's corner is the plane's lower-left point.
    point = np.array([[grid.xs[0], grid.ys[0]]])
    assert grid.values[0, 0] == pytest.approx(trainer.predict(trainer.data.transform(point))[0], rel=1e-5)


def test_boundary_shapes_for_multiclass_regression_and_1d():
    assert Trainer(Config(dataset="blobs", n_classes=5, grid=20)).boundary().values.shape == (5, 20, 20)
    assert Trainer(Config(dataset="multi_gauss", grid=20)).boundary().values.shape == (20, 20)
    line = Trainer(Config(dataset="sine", grid=25)).boundary()
    assert line.ys is None and line.values.shape == (25,)
    proj = Trainer(Config(dataset="make_regression", grid=15)).boundary(axes=(2, 5))
    assert proj.values.shape == (15, 15)


def test_neuron_grids():
    trainer = Trainer(Config(hidden=(6, 3)))
    grids = trainer.neuron_grids(resolution=12)
    assert [g.shape for g in grids] == [(6, 12, 12), (3, 12, 12)]
    assert Trainer(Config(dataset="sine", hidden=(4,))).neuron_grids(resolution=9)[0].shape == (4, 9)


def test_regression_predictions_are_on_the_original_scale():
    trainer = Trainer(Config(dataset="make_regression", n_samples=300, epochs=300)).run()
    raw_y = trainer.data.untarget(trainer.data.y_test)
    pred = trainer.predict(trainer.data.X_test)
    assert np.corrcoef(raw_y, pred)[0, 1] > 0.9 and raw_y.std() > 10  # raw targets, not standardised


# --- randomness and threads -----------------------------------------------------------------


def test_concurrent_trainers_in_threads_equal_their_solo_runs():
    configs = [
        Config(dataset="circle", seed=1, epochs=60, dropout=0.3, batch_size=32),
        Config(dataset="xor", seed=2, epochs=60, hidden=(5, 5), batch_size=16),
        Config(dataset="blobs", seed=3, epochs=60, dropout=0.1),
        Config(dataset="sine", seed=4, epochs=60),
    ]
    solo = [Trainer(c).run().records.column("train_loss") for c in configs]
    results = [None] * len(configs)
    barrier = threading.Barrier(len(configs))

    def work(i):
        barrier.wait()
        torch.manual_seed(1000 + i)  # global RNG churn from "other users" must not matter
        trainer = Trainer(configs[i])
        torch.rand(100)
        results[i] = trainer.run().records.column("train_loss")

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(configs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == solo


def test_threads_setting_is_applied(quick):
    Trainer(quick.replace(threads=2)).step(1)
    assert torch.get_num_threads() == 2
    Trainer(quick).step(1)
    assert torch.get_num_threads() == 1


# --- device ----------------------------------------------------------------------------------


def test_device_resolution():
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA GPU"):
            Trainer(Config(device="cuda"))


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_training_matches_cpu():
    config = Config(epochs=50, n_samples=200)
    gpu = Trainer(config.replace(device="cuda")).run()
    cpu = Trainer(config.replace(device="cpu")).run()
    assert gpu.device.type == "cuda" and all(p.is_cuda for p in gpu.model.parameters())
    assert gpu.summary()["device"].startswith("cuda")
    np.testing.assert_allclose(gpu.records.column("train_loss"), cpu.records.column("train_loss"), rtol=1e-3)
    assert gpu.boundary(resolution=10).values.shape == (10, 10)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_dropout_and_minibatches_are_reproducible():
    config = Config(epochs=10, dropout=0.3, batch_size=32, device="cuda")
    assert Trainer(config).run().records.column("train_loss") == Trainer(config).run().records.column("train_loss")


def test_build_is_reused_when_given():
    config = Config(n_samples=100)
    ds = build(config)
    assert Trainer(config, data=ds).data is ds


def test_the_articles_quartic_loss_trains_the_regression_network():
    config = PRESETS["article_regression"].replace(loss="custom", loss_expr="mean((y_pred - y)**4)")
    trainer = Trainer(config).run()
    assert trainer.loss_name == "custom" and trainer.evaluate()["test_r2"] > 0.9
    out = torch.randn(5, 1)
    y = torch.randn(5)
    assert torch.allclose(trainer.loss.fn(out, y, "regression"), ((out[:, 0] - y) ** 4).mean())


def test_custom_activation_and_custom_loss_on_classification():
    config = Config(
        dataset="moons",
        activation=("custom",),
        activation_expr="where(x > 0, x, 0.01*x)",
        loss="custom",
        loss_expr="mean((y_pred - y)**2)",
        epochs=300,
    )
    trainer = Trainer(config).run()
    assert "Expression('where(x > 0, x, 0.01*x)')" in repr(trainer.model)
    assert trainer.evaluate()["test_accuracy"] > 0.9
