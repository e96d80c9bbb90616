"""Epochs in chunks: the engine runs several epochs before it reads their figures, and whatever
ends a run inside a chunk (a loss gone non-finite, a blow-up, early stopping, a snapshot) ends
it exactly where training one epoch at a time ends it."""

import numpy as np
import pytest
import torch

from nnplay import divergence, engine
from nnplay.config import ARTICLE, Config
from nnplay.train import DIVERGED, DONE, STOPPED, Trainer


def weights(trainer):
    return torch.cat([p.detach().flatten().cpu() for p in trainer.model.parameters()])


@pytest.fixture
def chunks(monkeypatch):
    """The lengths of the engine's runs, and how often a run was wound back."""
    seen = {"runs": [], "rewinds": []}
    run, rewind = engine._Stack.run, engine._Stack.rewind

    def spy_run(stack, n, *args):
        seen["runs"].append(n)
        return run(stack, n, *args)

    def spy_rewind(stack, n):
        seen["rewinds"].append(n)
        return rewind(stack, n)

    monkeypatch.setattr(engine._Stack, "run", spy_run)
    monkeypatch.setattr(engine._Stack, "rewind", spy_rewind)
    return seen


def one_at_a_time(config: Config) -> Trainer:
    trainer = Trainer(config)
    while trainer.step(1):
        pass
    return trainer


def assert_same_run(a: Trainer, b: Trainer) -> None:
    assert (a.status, a.epoch, a.message) == (b.status, b.epoch, b.message)
    assert a.records.records == b.records.records  # every figure, to the last bit
    assert torch.equal(weights(a), weights(b))
    assert [s.epoch for s in a.snapshots.items] == [s.epoch for s in b.snapshots.items]
    for s, t in zip(a.snapshots.items, b.snapshots.items):
        assert all(torch.equal(s.params[k], t.params[k]) for k in s.params)
        np.testing.assert_allclose(s.outputs, t.outputs, rtol=1e-6, atol=1e-6)  # one pass or another


CONFIGS = {  # on the CPU: these compare figures to the last bit, and a GPU's sums may round otherwise
    "article": ARTICLE.replace(epochs=120),
    "default Adam with a test split": Config(epochs=120, n_samples=200),
    "AdamW, L1 and L2": Config(epochs=90, n_samples=200, optimizer="adamw", l1=1e-3, l2=1e-3),
    "regression": Config(dataset="make_regression", n_samples=150, loss="mse", lr=0.01, epochs=80),
    "three classes": Config(dataset="blobs", n_classes=3, n_samples=150, epochs=80, snapshot_every=7),
}
CONFIGS = {name: config.replace(device="cpu") for name, config in CONFIGS.items()}


@pytest.mark.parametrize("name", CONFIGS)
def test_a_run_in_chunks_equals_one_epoch_at_a_time(name, chunks):
    config = CONFIGS[name]
    alone = one_at_a_time(config)
    chunks["runs"].clear()
    chunked = Trainer(config).run()
    assert max(chunks["runs"]) > 1  # it did run in chunks
    assert chunked.status == DONE
    assert_same_run(chunked, alone)


def test_a_loss_gone_non_finite_inside_a_chunk_ends_the_run_at_that_epoch(chunks, monkeypatch):
    monkeypatch.setattr(divergence, "EPOCHS", 10**9)  # the non-finite path, not the blow-up rule
    config = ARTICLE.replace(lr=1000.0, epochs=200, activation=("linear",), snapshot_every=50, device="cpu")
    alone = one_at_a_time(config)
    chunks["runs"].clear()
    chunked = Trainer(config).run()
    assert chunked.status == DIVERGED and "no longer finite" in chunked.message
    assert chunks["rewinds"] and max(chunks["runs"]) > chunked.epoch  # the chunk ran past it and was wound back
    assert_same_run(chunked, alone)
    assert torch.isfinite(weights(chunked)).all()  # the failing epoch's update was not made


def test_a_blow_up_inside_a_chunk_ends_the_run_at_that_epoch(chunks):
    config = ARTICLE.replace(lr=40.0, epochs=300, snapshot_every=100, device="cpu")
    alone = one_at_a_time(config)
    assert alone.status == DIVERGED and 5 < alone.epoch < 300
    chunked = Trainer(config).run()
    assert chunks["rewinds"]
    assert_same_run(chunked, alone)


def test_early_stopping_inside_a_chunk_stops_at_that_epoch(chunks):
    config = Config(epochs=3000, n_samples=200, patience=15, lr=0.1, device="cpu")
    alone = one_at_a_time(config)
    assert alone.status == STOPPED and alone.epoch < 3000
    chunks["runs"].clear()
    chunked = Trainer(config).run()
    assert chunks["rewinds"] and max(chunks["runs"]) > 1
    assert_same_run(chunked, alone)


def test_a_group_wound_back_for_one_member_leaves_the_others_as_they_are(chunks, monkeypatch):
    monkeypatch.setattr(divergence, "EPOCHS", 10**9)
    base = ARTICLE.replace(epochs=150, activation=("linear",), device="cpu")
    configs = [base.replace(seed=s) for s in range(3)] + [base.replace(lr=1000.0, seed=7)]
    stepped = [Trainer(c) for c in configs]
    while engine.train(stepped, 1) != [0] * len(configs):
        pass
    chunks["runs"].clear()
    group = [Trainer(c) for c in configs]
    engine.train(group, 150)
    assert chunks["rewinds"] and max(chunks["runs"]) > group[-1].epoch
    assert group[-1].status == DIVERGED and [t.status for t in group[:3]] == [DONE] * 3
    for a, b, config in zip(group, stepped, configs):
        assert_same_run(a, b)
        lone = Trainer(config).run()  # and as alone, to float32's rounding of a stack
        assert (a.status, a.epoch, a.message) == (lone.status, lone.epoch, lone.message)
        assert a.records.last()["train_loss"] == pytest.approx(lone.records.last()["train_loss"], rel=1e-5, abs=1e-5)


def test_a_snapshot_interval_changed_inside_a_chunk_is_kept_exactly(chunks, monkeypatch):
    """A live change of snapshot_every (another thread's, as a page's) lands mid-chunk: the
    snapshots it makes due there come from the weights of their epoch."""
    config = Config(epochs=100, n_samples=200, snapshot_every=10, device="cpu")

    def changing(trainer):
        after = trainer._after_epoch

        def after_epoch(record):
            if trainer.epoch == 41:
                trainer.snapshots.every = 3
            return after(record)

        trainer._after_epoch = after_epoch
        return trainer

    monkeypatch.setattr(engine, "CHUNK_SECONDS", 10.0)  # one chunk from epoch 2 to the end: the change lands inside
    alone = changing(Trainer(config))
    while alone.step(1):
        pass
    chunks["runs"].clear()
    chunked = changing(Trainer(config)).run()
    assert max(chunks["runs"]) > 3 and chunks["rewinds"]
    assert [s.epoch for s in chunked.snapshots.items][:8] == [0, 10, 20, 30, 40, 42, 45, 48]
    assert_same_run(chunked, alone)


# --- CUDA graphs, as the engine uses them ---------------------------------------------------


def replayed_in_place(work, undo):
    """What ``engine._capture`` promises, on the CPU: capturing trains nothing, and each replay
    writes the work's results into the very tensors the capture returned."""
    for _ in range(engine.GRAPH_WARMUPS):
        work()
        undo()
    outputs = work()
    undo()

    def replay():
        fresh = work()
        with torch.inference_mode():  # the outputs are the pass's own, inference tensors
            for static, new in zip(_tensors(outputs), _tensors(fresh), strict=True):
                static.copy_(new)

    return replay, outputs


def _tensors(tree):
    if isinstance(tree, torch.Tensor):
        yield tree
    elif isinstance(tree, (list, tuple)):
        for item in tree:
            yield from _tensors(item)
    elif isinstance(tree, dict):
        for item in tree.values():
            yield from _tensors(item)


@pytest.fixture
def graphs(monkeypatch):
    """The graph path on the CPU: captures as ``replayed_in_place`` makes them, and a count of them."""
    captured = []

    def capture(work, undo):
        captured.append(work)
        with torch.inference_mode():
            return replayed_in_place(work, undo)

    monkeypatch.setattr(engine, "_graphs_on", lambda device: True)
    monkeypatch.setattr(engine, "_capture", capture)
    # Chunks as long as the snapshots allow, however busy the machine: a graph needs repeats of one length.
    monkeypatch.setattr(engine, "CHUNK_SECONDS", 10.0)
    return captured


@pytest.mark.parametrize("name", CONFIGS)
def test_chunks_replayed_as_graphs_equal_one_epoch_at_a_time(name, graphs):
    config = CONFIGS[name].replace(snapshot_every=20)  # a graph's chunk ends where a snapshot falls due
    alone = one_at_a_time(config)  # chunks of one epoch: never a graph
    assert not graphs
    replayed = Trainer(config).run()
    assert graphs and replayed.graph_note == "replayed as CUDA graphs"
    assert_same_run(replayed, alone)


def test_a_divergence_inside_a_replayed_chunk_is_wound_back_as_any(graphs, chunks, monkeypatch):
    monkeypatch.setattr(divergence, "EPOCHS", 10**9)
    # Chunks of six (a snapshot every six epochs): the third of them, 19-24, is captured and replayed.
    config = ARTICLE.replace(lr=2.5, epochs=400, activation=("linear",), snapshot_every=6, device="cpu")
    alone = one_at_a_time(config)
    assert alone.status == DIVERGED and alone.epoch == 20 and "no longer finite" in alone.message  # at the 21st
    replayed = Trainer(config).run()
    assert graphs and chunks["rewinds"] == [3]  # wound back to its start, and through 19-21 again
    assert_same_run(replayed, alone)


def test_a_failed_capture_trains_eagerly_and_says_why(graphs, monkeypatch):
    def fails(work, undo):
        work()  # a capture that fails part-way, after its warm-up changed the weights
        raise RuntimeError("operation not permitted when stream is capturing")

    monkeypatch.setattr(engine, "_capture", fails)
    config = CONFIGS["default Adam with a test split"].replace(snapshot_every=20)
    trainer = Trainer(config).run()
    assert trainer.graph_note.startswith("eager: CUDA graph capture failed (RuntimeError: operation not permitted")
    assert_same_run(trainer, one_at_a_time(config))
