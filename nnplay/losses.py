"""Losses, each with the tasks it fits and the output head it needs.

Every loss takes the network's raw outputs (logits, shape ``[N, outputs]``) and prepared targets
(shape ``[N]``) and returns a scalar. Shapes are made explicit so ``[N, 1]`` never broadcasts
against ``[N]`` (a bug in the article's regression code).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from . import expr
from .data import BINARY, MULTICLASS, REGRESSION

CLASSIFY = (BINARY, MULTICLASS)


class LossError(ValueError):
    """A loss does not fit the task; the message says which would."""


def _bce(out, y):
    # Same value as the article's nn.BCELoss on sigmoid outputs, computed stably from the logit.
    return F.binary_cross_entropy_with_logits(out[:, 0], y)


def _cross_entropy(out, y):
    return F.cross_entropy(out, y)


def _nll(out, y):
    return F.nll_loss(F.log_softmax(out, dim=1), y)


def _kl(out, y):
    target = F.one_hot(y, out.shape[1]).to(out.dtype)
    return F.kl_div(F.log_softmax(out, dim=1), target, reduction="batchmean")


def _pointwise(fn):
    """A regression loss; on classification it compares predicted probabilities with 0/1 targets
    (TensorFlow Playground's squared loss on classification works this way)."""

    def loss(out, y, task):
        if task == REGRESSION:
            return fn(out[:, 0], y)
        if task == BINARY:
            return fn(torch.sigmoid(out[:, 0]), y)
        return fn(torch.softmax(out, dim=1), F.one_hot(y, out.shape[1]).to(out.dtype))

    return loss


@dataclass(frozen=True)
class LossSpec:
    label: str
    tasks: tuple[str, ...]
    fn: Callable  # (logits, targets, task) -> scalar
    class_outputs: bool  # classification: one logit per class (True) or a single logit (False)
    # (logits [..., N, outputs], targets [..., N], task, weight, loss=True) -> (each row's loss [..., N],
    # dloss/dlogits with row j's term scaled by weight[..., j, 0]) written out, for the common losses:
    # with weight 1/N it is the gradient of the mean, and a weight of 0 leaves a row out of the
    # gradient while its loss is still measured (nnplay.engine passes test rows along that way).
    # A weight of None skips the gradient, loss=False the losses (None in their place). The others
    # are differentiated by autograd (nnplay.backprop.loss_gradient).
    rows: Callable | None = None

    def outputs(self, task: str, n_classes: int) -> tuple[int, str]:
        """(output units, head) this loss needs on this task."""
        if task == REGRESSION:
            return 1, "identity"
        if task == BINARY and not self.class_outputs:
            return 1, "sigmoid"
        return n_classes, "softmax"

    def prepare(self, y: np.ndarray, task: str) -> torch.Tensor:
        """Targets as the loss wants them: class indices or float values, shape [N]."""
        if task == MULTICLASS or (task == BINARY and self.class_outputs):
            return torch.as_tensor(y, dtype=torch.long)
        return torch.as_tensor(y, dtype=torch.float32)


def _plain(fn):
    return lambda out, y, task: fn(out, y)


# Each is the formula autograd's own backward of that loss evaluates, for K networks at once.
def _bce_rows(out, y, task, weight, loss=True):
    rows = torch.binary_cross_entropy_with_logits(out[..., 0], y, None, None, 0) if loss else None  # 0: no reduction
    return rows, None if weight is None else torch.sigmoid(out).sub_(y[..., None]).mul_(weight)


def _cross_entropy_rows(out, y, task, weight, loss=True):
    log_p = F.log_softmax(out, dim=-1)
    index = y[..., None]
    rows = -log_p.gather(-1, index)[..., 0] if loss else None
    if weight is None:
        return rows, None
    minus_one = torch.full(index.shape, -1.0, dtype=out.dtype, device=out.device)
    return rows, log_p.exp().scatter_add_(-1, index, minus_one) * weight


def _mse_rows(out, y, task, weight, loss=True):
    if task != REGRESSION:
        return None
    error = out - y[..., None]
    return error[..., 0].square() if loss else None, None if weight is None else error * (2 * weight)


LOSSES: dict[str, LossSpec] = {
    "bce": LossSpec("Binary cross-entropy", (BINARY,), _plain(_bce), False, _bce_rows),
    "cross_entropy": LossSpec("Cross-entropy", CLASSIFY, _plain(_cross_entropy), True, _cross_entropy_rows),
    "nll": LossSpec("Negative log-likelihood", CLASSIFY, _plain(_nll), True),
    "kl_div": LossSpec("KL divergence", CLASSIFY, _plain(_kl), True),
    "mse": LossSpec("Mean squared error", (REGRESSION, *CLASSIFY), _pointwise(F.mse_loss), False, _mse_rows),
    "mae": LossSpec("Mean absolute error (L1)", (REGRESSION, *CLASSIFY), _pointwise(F.l1_loss), False),
    "huber": LossSpec("Huber (smooth L1)", (REGRESSION, *CLASSIFY), _pointwise(F.smooth_l1_loss), False),
}
AUTO = {BINARY: "bce", MULTICLASS: "cross_entropy", REGRESSION: "mse"}
CUSTOM = "custom"  # a loss written as an expression of y_pred and y (Config.loss_expr)
LOSS_CHOICES = ("auto", *LOSSES, CUSTOM)


def custom(text: str) -> LossSpec:
    """A user's loss expression: ``y_pred`` is the prediction (a probability for classification,
    class probabilities against one-hot targets for multi-class), ``y`` the target."""
    compiled = expr.check_loss(text)

    fn = _pointwise(lambda p, t: compiled(y_pred=p, y=t).reshape(()))
    return LossSpec(f"Custom: {text}", (REGRESSION, BINARY, MULTICLASS), fn, False)


_SUGGEST = {BINARY: "bce or cross_entropy", MULTICLASS: "cross_entropy", REGRESSION: "mse, mae or huber"}


def resolve(name: str, task: str, expression: str = "") -> tuple[str, LossSpec]:
    """The loss a Config names for a task ('auto' picks the usual one); LossError when it does not fit.
    ``expression`` is the custom loss's text."""
    if name == CUSTOM:
        try:
            return CUSTOM, custom(expression)
        except expr.ExprError as exc:
            raise LossError(f"custom loss: {exc}") from None
    key = AUTO[task] if name == "auto" else name
    if key not in LOSSES:
        raise LossError(f"unknown loss {name!r}; choose from {', '.join(LOSS_CHOICES)}")
    spec = LOSSES[key]
    if task not in spec.tasks:
        what = {BINARY: "binary classification", MULTICLASS: "multi-class classification", REGRESSION: "regression"}[
            task
        ]
        raise LossError(f"loss {key!r} does not fit {what}; try {_SUGGEST[task]}")
    return key, spec
