"""The article's two comparisons, run from the same data and the same initial weights, and the
curves the Lab draws for a custom function. Pure engine code: the Lab and Lesson pages draw it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from . import expr
from .config import ARTICLE, PRESETS, Config
from .train import Trainer


def compare(configs: dict[str, Config]) -> tuple[pd.DataFrame, dict[str, Trainer]]:
    """Train each Config and return their loss curves side by side (long form: epoch, run, loss)."""
    trainers = {name: Trainer(c).run() for name, c in configs.items()}
    frames = [
        pd.DataFrame({"epoch": t.history["epoch"], "run": name, "train_loss": t.history["train_loss"]})
        for name, t in trainers.items()
    ]
    return pd.concat(frames, ignore_index=True), trainers


def mixed_vs_relu(epochs: int = 1000) -> dict[str, Config]:
    """The article's network with plain ReLU vs its parallel ReLU + tanh block (same data, same weights)."""
    base = ARTICLE.replace(epochs=epochs)
    return {"ReLU": base, "ReLU + tanh in parallel": PRESETS["article_mixed"].replace(epochs=epochs)}


def mse_vs_quartic(epochs: int = 1000, loss_expr: str = "mean((y_pred - y)**4)") -> dict[str, Config]:
    """The regression network trained with MSE vs a custom loss (the article's quartic by default)."""
    base = PRESETS["article_regression"].replace(epochs=epochs)
    return {"MSE": base, f"custom: {loss_expr}": base.replace(loss="custom", loss_expr=loss_expr)}


def predicted_vs_true(trainers: dict[str, Trainer]) -> pd.DataFrame:
    """Test-set predictions against the truth, on the original target scale, targets shaped [N]."""
    frames = []
    for name, t in trainers.items():
        d = t.data
        X, y = (d.X_test, d.y_test) if len(d.X_test) else (d.X_train, d.y_train)
        frames.append(pd.DataFrame({"true": d.untarget(y), "predicted": t.predict(X), "run": name}))
    return pd.concat(frames, ignore_index=True)


def activation_curve(text: str, lo: float = -4.0, hi: float = 4.0, n: int = 161) -> pd.DataFrame:
    """A custom activation and its derivative over [lo, hi] (autograd), as the article's notebook plots them."""
    fn = expr.check_activation(text)
    x = torch.linspace(lo, hi, n, requires_grad=True)
    with torch.enable_grad():
        y = fn(x=x)
        (grad,) = torch.autograd.grad(y.sum(), x)
    xs = x.detach().numpy()
    return pd.concat(
        [
            pd.DataFrame({"x": xs, "value": y.detach().numpy(), "curve": "activation"}),
            pd.DataFrame({"x": xs, "value": grad.numpy(), "curve": "derivative"}),
        ],
        ignore_index=True,
    )


def loss_curve(text: str, lo: float = -3.0, hi: float = 3.0, n: int = 121) -> pd.DataFrame:
    """A custom loss as a function of the error y_pred - y, for one point at a time."""
    fn = expr.check_loss(text)
    errors = np.linspace(lo, hi, n)
    zero = torch.zeros(1)
    values = np.array([float(fn(y_pred=torch.tensor([e], dtype=torch.float32), y=zero)) for e in errors])
    return pd.DataFrame({"error": errors, "loss": np.where(np.isfinite(values), values, np.nan)})
