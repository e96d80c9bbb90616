import numpy as np
import torch

from nnplay.history import History, Snapshot, Snapshots


def snap(epoch, n=10):
    return Snapshot(epoch, {"w": torch.zeros(3)}, np.full(n, epoch, dtype=np.float32))


def test_history_frame_and_columns():
    h = History()
    h.append({"epoch": 1.0, "train_loss": 0.5})
    h.append({"epoch": 2.0, "train_loss": 0.4})
    assert len(h) == 2 and h.column("train_loss") == [0.5, 0.4] and h.last()["epoch"] == 2.0
    assert h.frame()["train_loss"].tolist() == [0.5, 0.4]
    h.append({"epoch": 3.0, "train_loss": 0.3})
    assert len(h.frame()) == 3  # the cached frame follows new records


def test_thinning_keeps_first_and_latest_and_doubles_the_spacing():
    s = Snapshots(every=1, max_count=8)
    for e in range(0, 100):
        if s.due(e):
            s.add(snap(e))
    s.add(snap(100))  # a final snapshot off the grid stays as the latest
    assert len(s.items) <= 8 and s.epochs[0] == 0 and s.epochs[-1] == 100
    assert s.every > 1 and all(e % s.every == 0 for e in s.epochs[:-1])


def test_byte_budget_and_running_total():
    s = Snapshots(every=1, max_bytes=10 * snap(0, 100).nbytes)
    for e in range(50):
        s.add(snap(e, 100))
    assert s.nbytes <= s.max_bytes and s.nbytes == sum(x.nbytes for x in s.items)


def test_same_epoch_replaces_and_at_finds_the_latest_before():
    s = Snapshots(every=5)
    s.add(snap(0))
    s.add(snap(5))
    s.add(snap(5))
    assert s.epochs == [0, 5] and s.at(7).epoch == 5 and s.at(4).epoch == 0 and s.at(-1).epoch == 0
    frame = s.drift()
    assert list(frame.columns) == ["epoch", "point", "output"] and len(frame) == 20
    assert Snapshots(every=1).drift().empty
