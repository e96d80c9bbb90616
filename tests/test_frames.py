"""The frame schedule: which epochs a viewer sees (nnplay.frames)."""

import itertools

import pytest

from nnplay.config import Config
from nnplay.frames import DEFAULT_SPEED, SPEEDS, frame_epochs, learned_by, schedule
from nnplay.train import Trainer


@pytest.mark.parametrize("speed", list(SPEEDS))
def test_every_schedule_starts_untrained_goes_one_epoch_at_a_time_and_ends_on_the_budget(speed):
    epochs = schedule(1000, speed)
    assert epochs[:3] == [0, 1, 2] and epochs[-1] == 1000
    assert all(b > a for a, b in itertools.pairwise(epochs))


def test_faster_speeds_show_fewer_frames_and_slow_motion_shows_every_epoch():
    counts = [len(schedule(1000, speed)) for speed in SPEEDS]
    assert counts == sorted(counts, reverse=True) and len(set(counts)) == len(counts)
    assert schedule(50, "slow motion") == list(range(51))


def test_frames_grow_with_the_epochs_so_far():
    assert [frame_epochs(e) for e in (0, 1, 5, 10, 100, 1000)] == [1, 1, 1, 2, 20, 200]
    assert schedule(100, start=40)[:3] == [40, 48, 58]  # a run resumed mid-way keeps the shape


def test_the_default_run_spends_its_frames_where_it_learns():
    """The default experiment makes 90% of its loss drop in its first few dozen epochs: the
    schedule shows at least 15 frames before that, and about 35 for the whole run."""
    config = Config()
    learned = learned_by(Trainer(config).run().history["train_loss"].tolist())
    frames = schedule(config.epochs, DEFAULT_SPEED)
    assert sum(e < learned for e in frames) >= 15
    assert len(frames) <= 40
    assert len([e for e in range(0, config.epochs + 1, 50) if e < learned]) <= 1  # what 50 a frame showed


def test_an_unknown_speed_names_the_argument():
    with pytest.raises(ValueError, match="`speed` must be one of"):
        frame_epochs(3, "warp")


def test_learned_by_is_where_the_loss_has_made_its_share_of_the_drop():
    assert learned_by([1.0, 0.5, 0.15, 0.05, 0.0]) == 4  # 0.05 is within 10% of the 1.0 drop
    assert learned_by([1.0, 0.5, 0.15, 0.05, 0.0], share=0.5) == 2
