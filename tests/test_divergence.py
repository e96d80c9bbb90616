"""The blow-up rule on its own (the Trainer and the sweep tests check that both follow it)."""

import math

from nnplay import divergence


def test_epochs_far_above_the_start_count_in_a_row_or_not():
    watch = divergence.Watch([1.0, 1.0])
    seen = [watch.blown([20.0, 20.0]), watch.blown([20.0, 0.5]), watch.blown([20.0, 20.0])]
    assert seen == [[False, False], [False, False], [True, False]]
    assert watch.blown([0.5, 20.0]) == [True, True]  # once blown, it stays blown
    assert watch.blown([10.0, 10.0]) == [True, True]


def test_a_wiggle_is_not_counted():
    watch = divergence.Watch([0.7])
    assert not any(watch.blown([0.7 * f])[0] for f in (1.5, 3.0, 9.9, 0.2, 5.0) * 20)


def test_ending_above_twice_the_start_is_worse():
    assert divergence.Watch([0.7, 0.7]).worse([1.5, 1.3]) == [True, False]


def test_a_start_that_is_not_a_positive_number_is_not_watched():
    # A custom loss can be negative, and a ratio to it means nothing.
    watch = divergence.Watch([-1.0, 0.0, math.nan])
    for _ in range(5):
        assert not any(watch.blown([1e9, 1e9, 1e9]))
    assert not any(watch.worse([1e9, 1e9, 1e9]))


def test_messages_say_what_happened_and_what_to_try():
    message = divergence.blown_up(4, 1000.0, 0.7036, 582.6)
    assert message.startswith("Training diverged after 4 epochs: the training loss blew up from 0.7036")
    assert "582.6" in message
    assert "smaller learning rate (it was 1000" in message
    assert "worse" in divergence.ended_worse(50, 1000.0, 0.7, 1.5)
    assert "no longer finite" in divergence.not_finite(3, 50.0)
