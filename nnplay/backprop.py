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
# ReLU's forward works in place (z is the layer's fresh product, and its derivative reads only a):
# a 16-network sweep's epoch took 8% less.
ACTIVATIONS: dict[str, tuple[Callable, Callable]] = {
    "relu": (torch.relu_, lambda g, z, a: aten.threshold_backward.default(g, a, 0)),
    "leaky_relu": (
        lambda z: F.leaky_relu(z, 0.01),
        lambda g, z, a: aten.leaky_relu_backward.default(g, z, 0.01, False),
    ),
    "elu": (F.elu, lambda g, z, a: aten.elu_backward.default(g, 1.0, 1, 1, False, z)),
    "gelu": (F.gelu, lambda g, z, a: aten.gelu_backward.default(g, z)),
    "silu": (F.silu, lambda g, z, a: aten.silu_backward.default(g, z)),
    "mish": (F.mish, lambda g, z, a: aten.mish_backward.default(g, z)),
    "tanh": (torch.tanh, lambda g, z, a: aten.tanh_backward.default(g, a)),
    "sigmoid": (torch.sigmoid, lambda g, z, a: aten.sigmoid_backward.default(g, a)),
    "softplus": (F.softplus, lambda g, z, a: aten.softplus_backward.default(g, z, 1, 20)),
    "sine": (torch.sin, lambda g, z, a: g * torch.cos(z)),
    "linear": (lambda z: z, lambda g, z, a: g),
}


@dataclass
class Pass:
    """One forward pass of K stacked networks and what its backward pass needs (rows on dim -2)."""

    out: torch.Tensor  # logits [K, N, outputs]
    hidden: list[torch.Tensor]  # each hidden layer's activations, before dropout
    inputs: list[torch.Tensor]  # what each linear layer saw (after the previous layer's dropout)
    zs: list[torch.Tensor]  # pre-activations (leaves of a small graph where autograd differentiates)
    graphs: list[torch.Tensor | None]  # activations still attached to that graph, where there is one
    keeps: list[torch.Tensor | None]  # dropout masks


class Backprop:
    """Forward and backward passes, without an autograd graph, of K networks of one ``Network``'s
    shape stacked on a leading dimension: layer i's weight ``[K, out, in]`` and bias ``[K, out]``
    (a lone network is K = 1, its parameters viewed as such). ``torch.bmm`` runs all K at once."""

    def __init__(self, model: Network):
        known = [ACTIVATIONS.get(name) for name in model.activation_names]
        self.derivatives = [k and k[1] for k in known]
        # Plain lists: nn.Module attribute lookups cost more than some of the arithmetic here.
        self.acts = [k[0] if k else act for (_, act, _), k in zip(model.layers, known)]
        self.drops = [drop for _, _, drop in model.layers]

    @property
    def hand_written(self) -> bool:
        """True when no layer needs autograd, so one pass may serve more rows than it trains on."""
        return all(d is not None for d in self.derivatives)

    def forward(self, layers: list[tuple[torch.Tensor, torch.Tensor]], x: torch.Tensor, *, train: bool = True) -> Pass:
        """``layers``: per layer, the bias as ``[K, 1, out]`` and the weight as ``[K, in, out]``
        (views of the stacked parameters: see ``layer_views``); ``x`` [K, N, inputs]. Under
        ``torch.no_grad()``, as the engine calls it."""
        hidden, inputs, zs, graphs, keeps = [], [], [], [], []
        for (bias, weight_t), act, derivative, drop in zip(layers, self.acts, self.derivatives, self.drops):
            inputs.append(x)
            z = torch.bmm(x, weight_t).add_(bias)  # _linear's, inline: this loop is per epoch
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
                # The same draws, in the same order, as model.Dropout makes from the same generator
                # (dropout networks train alone: K = 1).
                keep = torch.empty_like(x).bernoulli_(1 - drop.p, generator=drop.generator)
                x = x * keep / (1 - drop.p)
            keeps.append(keep)
        inputs.append(x)
        out = _linear(layers[-1][0], x, layers[-1][1])
        return Pass(out, hidden, inputs, zs, graphs, keeps)

    def backward(self, fwd: Pass, dout: torch.Tensor, weights: list[torch.Tensor]) -> list[torch.Tensor]:
        """Gradients of every weight and bias (weight, bias, layer by layer; stacked as ``weights``)
        from dL/dlogits, under ``torch.no_grad()``. ``dout`` may cover only the first rows of the
        pass (training rows followed by test rows)."""
        n = dout.shape[1]
        whole = n == fwd.out.shape[1]  # slicing all rows still costs a dispatched view
        grads: list[torch.Tensor] = [None] * len(weights)  # type: ignore[list-item]
        g = dout
        for i in range(len(weights) // 2 - 1, -1, -1):
            grads[2 * i] = g.mT.bmm(fwd.inputs[i] if whole else fwd.inputs[i][:, :n])
            grads[2 * i + 1] = g.sum(1)
            if i == 0:
                break
            g = g.bmm(weights[2 * i])
            keep = fwd.keeps[i - 1]
            if keep is not None:
                g = g / (1 - self.drops[i - 1].p) * keep
            derivative = self.derivatives[i - 1]
            if derivative is not None:
                z, a = fwd.zs[i - 1], fwd.hidden[i - 1]
                g = derivative(g, z, a) if whole else derivative(g, z[:, :n], a[:, :n])
            else:  # a graph over all the pass's rows: only training passes (n == all rows) get here
                g = _through(fwd.graphs[i - 1], fwd.zs[i - 1], g)
        return grads


def _linear(bias: torch.Tensor, x: torch.Tensor, weight_t: torch.Tensor) -> torch.Tensor:
    """What F.linear computes, K times. ``baddbmm`` would be one call, but measured here it took
    1.5-4 times as long as the product and an in-place add of the bias, for one network or fifty."""
    return torch.bmm(x, weight_t).add_(bias)


def layer_views(weights: list[torch.Tensor]) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """What ``Backprop.forward`` takes, from weight ``[K, out, in]``, bias ``[K, out]``, layer by
    layer: views, made once, that stay current as the parameters are updated in place."""
    return [(b.unsqueeze(1), w.mT) for w, b in zip(weights[0::2], weights[1::2])]


def _through(output: torch.Tensor, leaf: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
    """dL/dleaf from dL/doutput, by autograd on the small graph between them."""
    if not output.requires_grad:  # an expression that ignores its input passes no gradient on
        return torch.zeros_like(leaf)
    (result,) = torch.autograd.grad(output, leaf, grad, allow_unused=True)
    return torch.zeros_like(leaf) if result is None else result


def loss_gradient(spec, out: torch.Tensor, y: torch.Tensor, task: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Each stacked network's loss ``[K]`` and dL/dlogits ``[K, N, outputs]`` for logits
    ``[K, N, outputs]`` and targets ``[K, N]``: written out for the common losses
    (``LossSpec.rows``), else by autograd on each network's loss alone (a handful of operations)."""
    if spec.rows is not None:
        written = spec.rows(out, y, task, 1 / y.shape[-1])
        if written is not None:
            return written[0].mean(-1), written[1]
    values, grads = [], []
    for o, t in zip(out, y):
        leaf = o.detach().requires_grad_()
        with torch.enable_grad():
            loss = spec.fn(leaf, t, task)
        values.append(loss.detach())
        grads.append(_through(loss, leaf, torch.ones_like(loss)))
    return torch.stack(values), torch.stack(grads)
