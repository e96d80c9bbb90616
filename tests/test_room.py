"""The room trainer: sessions trained together in batched rounds end where they end alone."""

import io
import threading
import time

import pytest
import torch

from nnplay import engine, optim
from nnplay.config import Config
from nnplay.frames import frame_epochs
from nnplay.room import Pace, Room, Turns
from nnplay.train import Trainer

TOLERANCE = 1e-5  # float32: a stack's matmuls may round in another order than a lone network's
DEFAULT = Config()  # the default experiment: 1000 epochs of Adam on the circle


class Session:
    """A browser tab as the Playground drives the room: a frame at a time, its own lock."""

    def __init__(self, config: Config, name: str, start: int = 0):
        self.trainer = Trainer(config)
        self.name, self.start = name, start  # the round it presses Play in
        self.lock = threading.Lock()
        self.playing = True
        self.requests = []

    def frame(self) -> int:
        return frame_epochs(self.trainer.epoch) * 7  # a busy room trains several ticks' worth a frame


def play(room: Room, sessions: list[Session], *, events=None, rounds: int = 400) -> None:
    """Rounds of frames until every playing session is done; ``events[r]`` runs before round r."""
    for r in range(rounds):
        if events and r in events:
            events[r]()
        active = [s for s in sessions if s.playing and s.start <= r and not s.trainer.finished]
        if not active and all(s.start <= r for s in sessions) and not any(e > r for e in events or ()):
            return
        requests = [(s, room.submit(s.name, s.trainer, s.frame(), lock=s.lock)) for s in active]
        for s, request in requests:
            assert room.wait(request, timeout=60)
            s.requests.append(request)
    raise AssertionError("the sessions did not finish")


def alone(config: Config) -> Trainer:
    return Trainer(config).run()


def assert_as_alone(trainer: Trainer, tolerance: float = TOLERANCE) -> None:
    lone = alone(trainer.config)
    assert (trainer.status, trainer.epoch, trainer.message) == (lone.status, lone.epoch, lone.message)
    assert len(trainer.records) == len(lone.records)
    final, expected = trainer.evaluate(), lone.evaluate()
    assert final["train_loss"] == pytest.approx(expected["train_loss"], abs=tolerance)
    assert final["test_loss"] == pytest.approx(expected["test_loss"], abs=tolerance)
    assert trainer.records.last()["train_loss"] == pytest.approx(lone.records.last()["train_loss"], abs=tolerance)
    assert trainer.snapshots.epochs == lone.snapshots.epochs


@pytest.fixture
def room():
    return Room()


def test_a_room_of_several_groups_and_late_joiners_ends_as_each_alone(room):
    sessions = [
        Session(DEFAULT, "a"),
        Session(DEFAULT.replace(seed=1, lr=0.03), "b", start=3),  # joins a few frames later
        Session(DEFAULT.replace(optimizer="sgd", lr=0.3, momentum=0.9), "c", start=8),
        Session(DEFAULT.replace(l2=0.001, schedule="cosine"), "d", start=1),
        Session(DEFAULT.replace(hidden=(5,), dataset="xor"), "e"),  # another shape: another group
        Session(DEFAULT.replace(hidden=(5,), dataset="xor", seed=4, lr=0.01), "f", start=2),
        Session(DEFAULT.replace(dropout=0.1, epochs=300), "g"),  # trains alone in the same service
        Session(DEFAULT.replace(batch_size=64, epochs=200), "h"),
        Session(DEFAULT.replace(batch_size=64, epochs=200, seed=9, optimizer="sgd"), "i", start=2),
    ]
    play(room, sessions)
    for s in sessions:
        assert_as_alone(s.trainer)
    together = {s.name: max(r.together for r in s.requests) for s in sessions}
    assert together["a"] >= 3 and together["e"] == 2 and together["g"] == 1 and together["h"] == 2


def test_every_optimizer_that_stacks_ends_as_alone_on_the_default_experiment(room):
    names = sorted(set(optim.AVAILABLE_OPTIMIZERS) - {"lbfgs"})
    sessions = [
        Session(DEFAULT.replace(optimizer=o, lr=1.0 if o == "adadelta" else 0.01, seed=i), o, start=i % 3)
        for i, o in enumerate(names)
    ]
    play(room, sessions)
    for s in sessions:
        assert max(r.together for r in s.requests) == len(names)  # one group: each its own optimizer
        assert_as_alone(s.trainer)


def test_a_diverging_neighbour_leaves_the_others_as_alone(room):
    rates = (0.1, 1000, 0.3)
    sessions = [Session(DEFAULT.replace(optimizer="sgd", lr=lr, seed=s), f"s{s}") for s, lr in enumerate(rates)]
    play(room, sessions)
    assert sessions[1].trainer.diverged and "smaller learning rate" in sessions[1].trainer.message
    for s in sessions:
        assert_as_alone(s.trainer, tolerance=1e-3 if s.trainer.diverged else TOLERANCE)


def test_pause_reset_close_and_a_new_network_mid_run(room):
    names = ("paused", "reset", "closed", "changed", "steady")
    paused, reset, closed, changed, steady = (Session(DEFAULT.replace(seed=i), n) for i, n in enumerate(names))
    gone = set()
    room = Room(alive=lambda owner: owner not in gone)

    def pause():
        paused.playing = False

    def resume():
        paused.playing = True

    def press_reset():
        with reset.lock:
            reset.trainer.reset()

    def close():
        gone.add("closed")
        closed.playing = False

    def new_network():  # a change of the layers: a new Trainer, in another group
        changed.trainer = Trainer(changed.trainer.config.replace(hidden=(6, 3)))

    events = {2: pause, 4: press_reset, 3: close, 5: new_network, 12: resume}
    play(room, [paused, reset, closed, changed, steady], events=events)
    for s in (paused, reset, changed, steady):
        assert_as_alone(s.trainer)
    assert 0 < closed.trainer.epoch < DEFAULT.epochs


def test_a_closed_tab_leaves_at_once(room):
    gone = {"x"}
    room = Room(alive=lambda owner: owner not in gone)
    t = Trainer(DEFAULT)
    request = room.submit("x", t, 50)
    assert room.wait(request, timeout=30)
    assert t.epoch == 0 and request.trained == 0


def test_a_failing_round_falls_back_to_training_alone_and_says_so(room, monkeypatch):
    real = engine._Stack.run

    def fails_when_stacked(stack, *args):
        if stack.k > 1:
            raise RuntimeError("a round that crashed")
        return real(stack, *args)

    monkeypatch.setattr(engine._Stack, "run", fails_when_stacked)
    sessions = [Session(DEFAULT.replace(seed=s, epochs=200), f"s{s}") for s in range(3)]
    play(room, sessions)
    for s in sessions:
        # The room's thread may take the very first frame before the others are asked for: alone.
        assert all(r.together == 1 for r in s.requests)
        assert all(r.alone_after_failure for r in s.requests[1:])
        assert_as_alone(s.trainer)


def test_a_session_that_fails_alone_gets_the_error_and_the_room_goes_on(room):
    bad, good = Session(DEFAULT.replace(epochs=100), "bad"), Session(DEFAULT.replace(epochs=100, seed=2), "good")

    def broken(record):
        raise ValueError("broken session")

    bad.trainer._after_epoch = broken
    first = room.submit("bad", bad.trainer, 10)
    second = room.submit("good", good.trainer, 10)
    assert room.wait(first, 30) and room.wait(second, 30)
    assert "could not train this network" in first.error and "broken session" in first.error
    assert second.error == "" and good.trainer.epoch == 10
    bad.playing = False
    play(room, [good])
    assert_as_alone(good.trainer)


def test_no_session_holds_another_sessions_weights_or_gradients(room):
    from nnplay import modelfile

    optimizers = ["sgd", "adam"]
    sessions = [Session(DEFAULT.replace(seed=s, epochs=30, optimizer=o), f"s{s}") for s, o in enumerate(optimizers)]
    play(room, sessions)
    assert max(r.together for r in sessions[0].requests) == 2
    for s in sessions:
        for p in s.trainer.model.parameters():
            for t in (p, p.grad):
                assert t.untyped_storage().nbytes() == t.numel() * t.element_size()  # its own storage, no more
        restored = torch.load(io.BytesIO(modelfile.model_bytes(s.trainer)), weights_only=True)["state_dict"]
        for value in restored.values():
            assert value.untyped_storage().nbytes() == value.numel() * value.element_size()


def test_a_session_whose_lock_is_held_trains_in_a_later_round(room):
    s = Session(DEFAULT.replace(epochs=50), "busy")
    s.lock.acquire()
    request = room.submit("busy", s.trainer, 5, lock=s.lock)
    assert not room.wait(request, timeout=0.3) and s.trainer.epoch == 0  # its own script holds it
    s.lock.release()
    assert room.wait(request, timeout=30) and s.trainer.epoch == 5


def until(condition, seconds: float = 30.0) -> None:
    """Poll ``condition`` (sleeping in between: a busy loop would keep the room from the interpreter)."""
    end = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.005)


def test_a_page_that_wants_to_draw_gets_its_trainer_within_an_epoch_and_training_goes_on():
    room = Room(round_seconds=60.0)  # one long round: only the page's wish ends it early
    sessions = [Session(DEFAULT.replace(epochs=20000, seed=i), f"s{i}") for i in range(3)]
    requests = [room.submit(s.name, s.trainer, 20000, lock=s.lock) for s in sessions]
    page, request = sessions[1], requests[1]
    until(lambda: page.trainer.epoch >= 10)
    request.wanted = True
    assert page.lock.acquire(timeout=2.0), "the room held on to a trainer its page wanted to draw"
    try:
        drawn_at, others_at = page.trainer.epoch, sessions[0].trainer.epoch
        assert not request.done.is_set() and 10 <= drawn_at < 20000
        torch.testing.assert_close(page.trainer.evaluate()["train_loss"], page.trainer.evaluate()["train_loss"])
        until(lambda: sessions[0].trainer.epoch > others_at)  # the rest of its group trains on meanwhile
        assert page.trainer.epoch == drawn_at  # ... but not the trainer being drawn
        request.wanted = False
    finally:
        page.lock.release()
    until(lambda: page.trainer.epoch > drawn_at)  # its frame goes on in a later round
    for s in sessions:
        room.cancel(s.name)


def test_a_group_takes_its_sessions_locks_when_its_turn_comes_not_at_the_rounds_start():
    from nnplay.room import Request

    room = Room(round_seconds=60.0)
    first = Session(DEFAULT.replace(hidden=(16, 16), epochs=20000), "first")  # another shape: another group
    second = Session(DEFAULT.replace(epochs=20000), "second")
    requests = [Request(s.name, s.trainer, 20000, s.lock) for s in (first, second)]
    passing = threading.Thread(target=room._round, args=(requests,))
    passing.start()
    until(lambda: first.trainer.epoch >= 5)
    requests[1].wanted = True  # the second page comes to draw while the first group trains
    assert second.lock.acquire(timeout=2.0), "the room held a lock of a group it was not training"
    second.lock.release()
    assert first.trainer.epoch < 20000 and second.trainer.epoch == 0
    requests[0].cancelled = True  # ends the first group's pass after its epoch in training
    passing.join(30)
    assert not passing.is_alive() and second.trainer.epoch == 0  # wanted by its page: not trained this round


def test_pace_spreads_a_redraw_budget_over_the_room():
    cpu, training = [0.0], [0.0]
    pace = Pace(0.15, share=0.5, longest=2.5, cost=0.03, clock=lambda: cpu[0], training=lambda: training[0])
    assert pace.interval(1) == 0.15 and pace.ticks(1) == 1
    assert pace.interval(10) == pytest.approx(0.6) and pace.ticks(10) == 4
    assert pace.interval(200) == 2.5 and pace.capacity() == 41
    pace.drawn()
    for _ in range(40):  # 40 redraws in 3 s of the process's CPU, 1 s of it training: 50 ms each
        cpu[0] += 0.075
        training[0] += 0.025
        pace.drawn()
    assert pace.cost == pytest.approx(0.5 * (0.03 + 0.05), rel=0.01)  # halfway to what it measured
    for _ in range(200):
        cpu[0] += 0.05
        pace.drawn()
    assert pace.cost == pytest.approx(0.05, rel=0.01) and pace.capacity() == 25
    wider = Pace(0.15, share=0.5, line_share=0.9, longest=2.5, cost=0.05)
    assert wider.interval(40) == 2.5 and wider.capacity() == 45  # the line starts later than the budget's share


def test_turns_go_one_at_a_time_in_the_order_asked():
    turns, order, inside = Turns(), [], []
    first = turns.join()
    assert turns.wait(first, 0)  # nobody ahead: the turn at once
    tickets = {}

    def page(i):
        ticket = tickets[i]
        assert turns.wait(ticket, 5)
        inside.append(i)
        assert len(inside) == 1, "two pages drawing at once"
        order.append(i)
        inside.remove(i)
        turns.leave(ticket)

    threads = []
    for i in range(8):  # asked in this order while the first page draws
        tickets[i] = turns.join()
        threads.append(threading.Thread(target=page, args=(i,)))
    for t in reversed(threads):  # woken in the opposite order: the line, not the wake-up, decides
        t.start()
    assert turns.waiting() == 8 and not turns.wait(tickets[0], 0.05)
    turns.leave(first)
    for t in threads:
        t.join(5)
    assert order == list(range(8))
    assert turns.waiting() == 0 and turns.wait(turns.join(), 0)  # free again


def test_a_page_that_gives_up_its_place_does_not_block_the_line():
    turns = Turns()
    first, stopped, next_ = turns.join(), turns.join(), turns.join()
    turns.leave(stopped)  # a Pause or a closed tab while in line
    assert turns.waiting() == 1
    turns.leave(first)
    assert turns.wait(next_, 0) and not stopped.is_set()
