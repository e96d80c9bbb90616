"""Hand-written backpropagation for ``Network``: the Trainer's fast path.

For networks this small, PyTorch's per-operation overhead sets the pace, not arithmetic: recording
an autograd graph and walking it back costs more than the matrix products themselves. Here the
forward pass keeps what the backward pass needs, and the backward pass calls the very kernels
autograd would (``threshold_backward`` for ReLU, ``tanh_backward``...), so the gradients are
autograd's. Whatever has no hand-written derivative (the mixed block, a custom expression, every
loss) is differentiated by autograd on its own small graph, so every Config still trains here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from .model import Network

aten = torch.ops.aten

F = torch.nn.functional

# activation name -> (forward, derivative): forward(z) -> a is what the module in
# model.ACTIVATIONS computes (called as a function, it skips the module call's overhead), and
# derivative(dL/da, z, a) -> dL/dz is the kernel autograd runs for it (a test checks both).
ACTIVATIONS: dict[str, tuple[Callable, Callable]] = {
    "relu": (torch.relu, lambda g, z, a: aten.threshold_backward(g, a, 0)),
    "leaky_relu": (lambda z: F.leaky_relu(z, 0.01), lambda g, z, a: aten.leaky_relu_backward(g, z, 0.01, False)),
    "elu": (F.elu, lambda g, z, a: aten.elu_backward(g, 1.0, 1, 1, False, z)),
    "gelu": (F.gelu, lambda g, z, a: aten.gelu_backward(g, z)),
    "silu": (F.silu, lambda g, z, a: aten.silu_backward(g, z)),
    "mish": (F.mish, lambda g, z, a: aten.mish_backward(g, z)),
    "tanh": (torch.tanh, lambda g, z, a: aten.tanh_backward(g, a)),
    "sigmoid": (torch.sigmoid, lambda g, z, a: aten.sigmoid_backward(g, a)),
    "softplus": (F.softplus, lambda g, z, a: aten.softplus_backward(g, z, 1, 20)),
    "sine": (torch.sin, lambda g, z, a: g * torch.cos(z)),
    "linear": (lambda z: z, lambda g, z, a: g),
}


@dataclass
class Pass:
    """One forward pass and what its backward pass needs."""

    out: torch.Tensor  # logits [N, outputs]
    hidden: list[torch.Tensor]  # each hidden layer's activations, before dropout
    inputs: list[torch.Tensor]  # what each linear layer saw (after the previous layer's dropout)
    zs: list[torch.Tensor]  # pre-activations (leaves of a small graph where autograd differentiates)
    graphs: list[torch.Tensor | None]  # activations still attached to that graph, where there is one
    keeps: list[torch.Tensor | None]  # dropout masks


class Backprop:
    """Forward and backward passes of one ``Network`` without an autograd graph."""

    def __init__(self, model: Network):
        self.model = model
        known = [ACTIVATIONS.get(name) for name in model.activation_names]
        self.derivatives = [k and k[1] for k in known]
        # Plain lists: nn.Module attribute lookups cost more than some of the arithmetic here.
        # Weights are kept transposed as views: updates happen in place, so the views stay current,
        # and F.linear would transpose on every call.
        self.layers = [
            (linear.bias, linear.weight.t(), k[0] if k else act, drop)
            for (linear, act, drop), k in zip(model.layers, known)
        ]
        self.output = (model.output.bias, model.output.weight.t())
        self.weights = [linear.weight for linear in model.linears]

    @property
    def hand_written(self) -> bool:
        """True when no layer needs autograd, so one pass may serve more rows than it trains on."""
        return all(d is not None for d in self.derivatives)

    def forward(self, x: torch.Tensor, *, train: bool = True) -> Pass:
        """Under ``torch.no_grad()``, as the Trainer calls it."""
        hidden, inputs, zs, graphs, keeps = [], [], [], [], []
        for (bias, weight_t, act, drop), derivative in zip(self.layers, self.derivatives):
            inputs.append(x)
            z = torch.addmm(bias, x, weight_t)  # what F.linear computes
            graph = None
            if derivative is None:
                z = z.requires_grad_()
                with torch.enable_grad():
                    a = graph = act(z)
            else:
                a = act(z)
            zs.append(z)
            graphs.append(graph)
            x = a if graph is None else a.detach()
            hidden.append(x)
            keep = None
            if drop is not None and train and drop.p > 0:
                # The same draws, in the same order, as model.Dropout makes from the same generator.
                keep = torch.empty_like(x).bernoulli_(1 - drop.p, generator=drop.generator)
                x = x * keep / (1 - drop.p)
            keeps.append(keep)
        inputs.append(x)
        out = torch.addmm(self.output[0], x, self.output[1])
        return Pass(out, hidden, inputs, zs, graphs, keeps)

    def backward(self, fwd: Pass, dout: torch.Tensor) -> list[torch.Tensor]:
        """Gradients of every weight and bias (weight, bias, layer by layer) from dL/dlogits, under
        ``torch.no_grad()``. ``dout`` may cover only the first rows of the pass (training rows
        followed by test rows)."""
        n = dout.shape[0]
        whole = n == fwd.out.shape[0]  # slicing all rows still costs a dispatched view
        grads: list[torch.Tensor] = [None] * (2 * len(self.weights))  # type: ignore[list-item]
        g = dout
        for i in range(len(self.weights) - 1, -1, -1):
            grads[2 * i] = g.t().mm(fwd.inputs[i] if whole else fwd.inputs[i][:n])
            grads[2 * i + 1] = g.sum(0)
            if i == 0:
                break
            g = g.mm(self.weights[i])
            keep = fwd.keeps[i - 1]
            if keep is not None:
                g = g / (1 - self.layers[i - 1][3].p) * keep
            derivative = self.derivatives[i - 1]
            if derivative is not None:
                z, a = fwd.zs[i - 1], fwd.hidden[i - 1]
                g = derivative(g, z, a) if whole else derivative(g, z[:n], a[:n])
            else:  # a graph over all the pass's rows: only training passes (n == all rows) get here
                g = _through(fwd.graphs[i - 1], fwd.zs[i - 1], g)
        return grads


def _through(output: torch.Tensor, leaf: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
    """dL/dleaf from dL/doutput, by autograd on the small graph between them."""
    if not output.requires_grad:  # an expression that ignores its input passes no gradient on
        return torch.zeros_like(leaf)
    (result,) = torch.autograd.grad(output, leaf, grad, allow_unused=True)
    return torch.zeros_like(leaf) if result is None else result


def loss_gradient(spec, out: torch.Tensor, y: torch.Tensor, task: str) -> tuple[torch.Tensor, torch.Tensor]:
    """The loss and dL/dlogits: written out for the common losses (``LossSpec.gradient``), else by
    autograd on the loss alone (it is a handful of operations)."""
    if spec.gradient is not None:
        written = spec.gradient(out, y, task)
        if written is not None:
            return written
    leaf = out.detach().requires_grad_()
    with torch.enable_grad():
        loss = spec.fn(leaf, y, task)
    return loss.detach(), _through(loss, leaf, torch.ones_like(loss))
