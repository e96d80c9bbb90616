"""Optimizers and learning-rate schedules, as registries the Config and the app read their choices from."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import optim


@dataclass(frozen=True)
class OptimizerSpec:
    label: str
    make: Callable | None  # (params, config) -> torch.optim.Optimizer; None when unavailable
    uses_momentum: bool = False
    needs_closure: bool = False
    unavailable: str = ""  # why it cannot train this network, when it cannot
    fused_on: tuple[str, ...] = ()  # device types torch has a fused kernel of it for


def _sgd(params, c, **kw):
    return optim.SGD(params, lr=c.lr, momentum=c.momentum, nesterov=c.nesterov and c.momentum > 0, **kw)


OPTIMIZERS: dict[str, OptimizerSpec] = {
    "sgd": OptimizerSpec("SGD", _sgd, uses_momentum=True, fused_on=("cpu", "cuda")),
    "adam": OptimizerSpec("Adam", lambda p, c, **kw: optim.Adam(p, lr=c.lr, **kw), fused_on=("cpu", "cuda")),
    "adamw": OptimizerSpec("AdamW", lambda p, c, **kw: optim.AdamW(p, lr=c.lr, **kw), fused_on=("cpu", "cuda")),
    "adamax": OptimizerSpec("Adamax", lambda p, c: optim.Adamax(p, lr=c.lr)),
    "nadam": OptimizerSpec("NAdam", lambda p, c: optim.NAdam(p, lr=c.lr)),
    "radam": OptimizerSpec("RAdam", lambda p, c: optim.RAdam(p, lr=c.lr)),
    "adadelta": OptimizerSpec("Adadelta", lambda p, c: optim.Adadelta(p, lr=c.lr)),
    "adagrad": OptimizerSpec("Adagrad", lambda p, c, **kw: optim.Adagrad(p, lr=c.lr, **kw), fused_on=("cpu",)),
    "adafactor": OptimizerSpec("Adafactor", lambda p, c: optim.Adafactor(p, lr=c.lr)),
    "rmsprop": OptimizerSpec(
        "RMSprop", lambda p, c: optim.RMSprop(p, lr=c.lr, momentum=c.momentum), uses_momentum=True
    ),
    "rprop": OptimizerSpec("Rprop", lambda p, c: optim.Rprop(p, lr=c.lr)),
    "asgd": OptimizerSpec("ASGD", lambda p, c: optim.ASGD(p, lr=c.lr)),
    "lbfgs": OptimizerSpec("L-BFGS", lambda p, c: optim.LBFGS(p, lr=c.lr, max_iter=1), needs_closure=True),
    "sparse_adam": OptimizerSpec(
        "SparseAdam",
        None,
        unavailable="SparseAdam needs sparse gradients, and a fully connected network only produces dense ones",
    ),
    "muon": OptimizerSpec(
        "Muon",
        None,
        unavailable="Muon only updates 2-D weight matrices; the biases would need a second optimizer",
    ),
}
AVAILABLE_OPTIMIZERS = tuple(k for k, v in OPTIMIZERS.items() if v.make is not None)

SCHEDULES = {
    "none": "constant learning rate",
    "step": "multiply by gamma every step_size epochs",
    "exponential": "decay smoothly by gamma every step_size epochs",
    "cosine": "cosine from lr down to 0 over the epoch budget",
}


def make_optimizer(name: str, params, config) -> torch.optim.Optimizer:
    spec = OPTIMIZERS[name]
    if spec.make is None:
        raise ValueError(f"optimizer {name!r} is unavailable: {spec.unavailable}")
    params = list(params)
    # One kernel for every weight tensor. On a CPU with a handful of small tensors the per-tensor
    # calls, not the arithmetic, are the cost (Adam's step measured 2-3x faster fused). torch only
    # checks the device at the first step, so the choice is made here.
    fused = bool(params) and all(p.device.type in spec.fused_on for p in params)
    optimizer = spec.make(params, config, fused=True) if fused else spec.make(params, config)
    for group in optimizer.param_groups:
        # The others: one call per kind of state instead of one per weight tensor, which torch
        # only picks by itself on GPUs.
        if "foreach" in group and not group.get("fused"):
            group["foreach"] = True
    return optimizer


def schedule_factor(config, epoch: int, budget: int) -> float:
    """The schedule's multiplier of the base learning rate at ``epoch``."""
    if config.schedule == "step":
        return config.gamma ** (epoch // config.step_size)
    if config.schedule == "exponential":
        return config.gamma ** (epoch / config.step_size)
    if config.schedule == "cosine":
        return 0.5 * (1 + math.cos(math.pi * min(epoch, budget) / max(1, budget)))
    return 1.0


def make_schedule(optimizer, config, budget: Callable[[], int] | None = None):
    """The Config's schedule as a LambdaLR stepped once per epoch (None for a constant rate).

    The rate is always ``lr * factor(epoch)``, so a live change of ``lr`` or of the budget
    (``budget`` is read at every step) carries on smoothly from where training is.
    """
    if config.schedule == "none":
        return None
    budget = budget or (lambda: config.epochs)
    return optim.lr_scheduler.LambdaLR(optimizer, lambda epoch: schedule_factor(config, epoch, budget()))


def set_lr(optimizer, scheduler, lr: float) -> None:
    """Change the base learning rate mid-training (as TensorFlow Playground does) without a restart."""
    factor = 1.0
    if scheduler is not None:
        scheduler.base_lrs = [lr for _ in scheduler.base_lrs]
        factor = scheduler.lr_lambdas[0](scheduler.last_epoch)
    for group in optimizer.param_groups:
        old = group["lr"]
        group["lr"] = lr * factor
        if isinstance(optimizer, optim.Rprop) and old > 0:
            # Rprop keeps a step size per weight, seeded from lr once; rescale them instead.
            for p in group["params"]:
                state = optimizer.state.get(p)
                if state and "step_size" in state:
                    state["step_size"].mul_(group["lr"] / old)


def set_momentum(optimizer, momentum: float) -> None:
    """Change momentum mid-training; RMSprop needs a buffer it did not keep while momentum was 0."""
    for group in optimizer.param_groups:
        if "momentum" not in group:
            continue
        group["momentum"] = momentum
        if isinstance(optimizer, optim.RMSprop) and momentum > 0:
            for p in group["params"]:
                state = optimizer.state.get(p)
                if state and "momentum_buffer" not in state:
                    state["momentum_buffer"] = torch.zeros_like(p, memory_format=torch.preserve_format)
