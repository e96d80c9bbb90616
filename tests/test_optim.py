import pytest
import torch

from nnplay.config import Config, ConfigError
from nnplay.optim import AVAILABLE_OPTIMIZERS, OPTIMIZERS, make_optimizer, make_schedule, set_lr
from nnplay.train import Trainer


def test_every_torch_optimizer_is_listed():
    names = {
        n.lower()
        for n in dir(torch.optim)
        if isinstance(getattr(torch.optim, n), type)
        and issubclass(getattr(torch.optim, n), torch.optim.Optimizer)
        and n != "Optimizer"
    }
    assert names <= {k.replace("_", "") for k in OPTIMIZERS}


def test_unavailable_optimizers_say_why():
    for name in ("sparse_adam", "muon"):
        assert name not in AVAILABLE_OPTIMIZERS and OPTIMIZERS[name].unavailable
        with pytest.raises(ConfigError, match="unavailable"):
            Config(optimizer=name)
        with pytest.raises(ValueError, match="unavailable"):
            make_optimizer(name, [torch.zeros(1, requires_grad=True)], Config())


LR = {"adadelta": 1.0, "rprop": 0.01, "asgd": 0.1, "sgd": 0.1, "lbfgs": 0.5, "adagrad": 0.1}


@pytest.mark.parametrize("name", AVAILABLE_OPTIMIZERS)
def test_every_optimizer_lowers_the_loss(name):
    config = Config(dataset="gauss", n_samples=200, optimizer=name, lr=LR.get(name, 0.02), epochs=40)
    trainer = Trainer(config).run()
    losses = trainer.records.column("train_loss")
    assert len(losses) == 40 and not trainer.diverged
    assert losses[-1] < losses[0] * 0.9, (name, losses[0], losses[-1])


@pytest.mark.parametrize("name", AVAILABLE_OPTIMIZERS)
def test_every_optimizer_trains_in_mini_batches(name):
    config = Config(dataset="gauss", n_samples=120, optimizer=name, lr=LR.get(name, 0.02), epochs=3, batch_size=16)
    trainer = Trainer(config).run()
    assert trainer.epoch == 3 and all(torch.isfinite(p).all() for p in trainer.model.parameters())


def test_schedules():
    def lrs(**kw):
        trainer = Trainer(Config(n_samples=50, epochs=20, lr=0.1, **kw)).run()
        return trainer.records.column("lr")

    assert lrs() == [0.1] * 20
    step = lrs(schedule="step", step_size=5, gamma=0.5)
    assert step[:5] == [0.1] * 5 and step[5] == pytest.approx(0.05) and step[10] == pytest.approx(0.025)
    expo = lrs(schedule="exponential", step_size=10, gamma=0.5)
    assert expo[10] == pytest.approx(0.05) and expo[1] < expo[0]
    cos = lrs(schedule="cosine")
    assert cos[0] == 0.1 and cos[10] == pytest.approx(0.05) and cos[-1] < 0.002


def test_set_lr_carries_on_with_the_schedule():
    p = [torch.zeros(2, requires_grad=True)]
    config = Config(schedule="step", step_size=1, gamma=0.5, lr=0.1)
    opt = make_optimizer("sgd", p, config)
    sched = make_schedule(opt, config)
    opt.step()
    sched.step()
    assert opt.param_groups[0]["lr"] == pytest.approx(0.05)
    set_lr(opt, sched, 1.0)  # the new base rate, at the schedule's current factor
    assert opt.param_groups[0]["lr"] == pytest.approx(0.5)
    opt.step()
    sched.step()
    assert opt.param_groups[0]["lr"] == pytest.approx(0.25)


@pytest.mark.parametrize(
    "name, fused_on_cuda", [("sgd", True), ("adam", True), ("adamw", True), ("adagrad", False), ("rmsprop", False)]
)
def test_fused_kernels_only_where_torch_has_them(name, fused_on_cuda):
    assert ("cuda" in OPTIMIZERS[name].fused_on) is fused_on_cuda
    opt = make_optimizer(name, (p for p in [torch.zeros(3, requires_grad=True)]), Config())  # a generator, as usual
    group = opt.param_groups[0]
    assert len(group["params"]) == 1
    fused = OPTIMIZERS[name].fused_on != ()
    assert bool(group.get("fused")) is fused and (fused or group["foreach"] is True)
    opt.zero_grad()
    group["params"][0].sum().backward()
    opt.step()  # torch checks a fused kernel's device here, not in the constructor
