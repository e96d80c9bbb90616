import threading
import time

from nnplay.config import Config
from nnplay.limits import Limits, TrainerSlots, count_parameters
from nnplay.train import Trainer


def test_limits_from_the_environment():
    limits = Limits.from_env({"NNPLAY_MAX_SAMPLES": "1000", "NNPLAY_TICK_SECONDS": "0.2", "NNPLAY_MAX_EPOCHS": "x"})
    assert limits.max_samples == 1000 and limits.tick_seconds == 0.2 and limits.max_epochs == Limits().max_epochs


def test_problems_name_the_field_and_the_limit():
    limits = Limits(max_samples=1000, max_epochs=50, max_parameters=100, max_grid=50)
    problems = limits.problems(Config(n_samples=2000, epochs=60, grid=60), n_parameters=101)
    assert [field for field, _ in problems] == ["n_samples", "epochs", "grid", "hidden"]
    assert problems[0].message == "this server allows at most 1,000 points per data set"
    assert str(problems[0]) == "n_samples: this server allows at most 1,000 points per data set"
    assert limits.problems(Config(n_samples=1000, epochs=50, grid=50), n_parameters=100) == []


def test_the_check_counts_the_networks_parameters_from_its_data_and_loss():
    limits = Limits(max_parameters=88)
    config = Config(dataset="make_classification", hidden=(8, 4))  # 5 inputs, 89 parameters
    assert limits.check(config) == [("hidden", "this network has 89 parameters; this server allows 88")]
    assert Limits(max_parameters=89).check(config) == []
    csv = config.replace(dataset="csv", n_samples=50_000)
    assert limits.check(csv) == []  # no table yet: no count (the Trainer says what is missing), no n_samples limit


def test_parameter_count_matches_the_network():
    assert count_parameters(5, (8, 4), 1) == 89 == Trainer(Config(dataset="make_classification")).model.n_parameters()


def test_a_tick_stops_at_its_time_budget(monkeypatch):
    import types

    import nnplay.engine
    from nnplay.backprop import Backprop

    cpu = FakeClock()
    forward = Backprop.forward

    def costly(*args, **kwargs):  # each epoch's pass is one second of CPU: the epochs' cost, made exact
        cpu.now += 1.0
        return forward(*args, **kwargs)

    monkeypatch.setattr(Backprop, "forward", costly)
    monkeypatch.setattr(nnplay.engine, "CHUNK_SECONDS", 20.0)  # chunks up to 20 of these epochs
    monkeypatch.setattr(nnplay.engine, "time", types.SimpleNamespace(perf_counter=time.perf_counter, thread_time=cpu))
    trainer = Trainer(Config(n_samples=50, epochs=100_000))
    # One epoch to time them, three that fit in the 3.5 s left, then one that passes 4.5 s.
    assert trainer.step(100_000, max_seconds=4.5) == 5
    assert trainer.epoch == 5
    assert trainer.step(3, max_seconds=0.0) == 1  # at least one epoch, always
    assert trainer.step(3) == 3  # no budget, no clock


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_slots_serve_the_line_first_come_first_served():
    slots = TrainerSlots(2, clock=FakeClock())
    assert slots.acquire("a") and slots.acquire("b")
    assert not slots.acquire("c") and not slots.acquire("d")
    assert slots.busy() == (2, 2) and slots.position("c") == 1 and slots.position("d") == 2
    assert slots.acquire("a")  # a holder keeps its slot from tick to tick
    slots.release("a")
    assert not slots.acquire("d")  # c came first
    assert slots.acquire("c") and slots.position("c") == 0 and slots.position("d") == 1
    assert slots.position("newcomer") == 2


def test_slots_of_sessions_that_stopped_asking_go_to_the_next_in_line():
    clock = FakeClock()
    slots = TrainerSlots(1, lease_seconds=3.0, clock=clock)
    assert slots.acquire("closed tab")
    assert not slots.acquire("gone too") and not slots.acquire("waiting")
    clock.now = 2.0
    assert not slots.acquire("waiting")  # keeps its place by asking again
    clock.now = 4.0
    assert slots.acquire("waiting")  # the holder and "gone too" stopped asking 4 s ago
    assert slots.busy() == (1, 0)


def test_a_waiting_session_gets_the_slot_as_soon_as_it_is_released():
    # A clock that stands still and a lease of days: only release()'s notify can wake the waiter
    # (its own wait would last days), so no wall-clock figure is needed to tell "at once".
    slots = TrainerSlots(1, lease_seconds=1e6, clock=FakeClock())
    assert slots.acquire("a")
    got = []
    waiter = threading.Thread(target=lambda: got.append(slots.acquire("b", timeout=1e6)), daemon=True)
    waiter.start()
    while slots.busy() != (1, 1):
        time.sleep(0.01)
    slots.release("a")
    waiter.join(timeout=60)  # a guard against hanging the suite, not a speed limit
    assert not waiter.is_alive() and got == [True]
    assert not slots.acquire("c")
    slots.release("b")
    assert slots.acquire("c") and slots.position("c") == 0
    slots.release("c")
    assert slots.busy() == (0, 0)


def test_many_threads_never_hold_more_than_the_capacity():
    slots = TrainerSlots(3)
    inside, most, lock = [0], [0], threading.Lock()

    def session(name):
        for _ in range(20):
            assert slots.acquire(name, timeout=10, pin=True)
            with lock:
                inside[0] += 1
                most[0] = max(most[0], inside[0])
            time.sleep(0.001)
            with lock:
                inside[0] -= 1
            slots.release(name)

    threads = [threading.Thread(target=session, args=(i,)) for i in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert most[0] == 3 and slots.busy() == (0, 0)


def test_a_pinned_slot_never_lapses_until_released():
    clock = FakeClock()
    slots = TrainerSlots(1, lease_seconds=3.0, clock=clock)
    assert slots.acquire("sweep", pin=True)
    clock.now = 60.0  # a long sweep asks nothing meanwhile
    assert not slots.acquire("next") and slots.position("sweep") == 0
    slots.release("sweep")
    assert slots.acquire("next")


def test_a_closed_tab_gives_its_slot_back_at_once():
    connected = {"a", "b"}
    slots = TrainerSlots(1, clock=FakeClock(), alive=lambda owner: owner in connected)
    assert slots.acquire("a") and not slots.acquire("b")
    connected.discard("a")
    assert slots.acquire("b")
    assert not slots.acquire("a", timeout=0.2) and slots.busy() == (1, 0)  # a gone session never queues


def test_a_long_run_takes_turns_with_the_line():
    clock = FakeClock()
    slots = TrainerSlots(1, clock=clock)
    assert slots.acquire("long run")
    for tick in range(1, 31):
        clock.now = float(tick)
        assert slots.acquire("long run")  # its ticks keep the slot
    assert not slots.turn_over("long run", quantum=5.0)  # nobody waits: it keeps training
    assert not slots.acquire("newcomer")
    assert slots.turn_over("long run", quantum=5.0)
    slots.release("long run")
    assert not slots.acquire("long run")  # back of the line
    assert slots.acquire("newcomer") and not slots.turn_over("newcomer", quantum=5.0)
