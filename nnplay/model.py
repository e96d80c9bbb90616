"""The network: ``Network(nn.Module)`` built from a Config, its activations and initialisations."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from . import expr


class Sine(nn.Module):
    def forward(self, x):
        return torch.sin(x)


# name -> (label, module factory). A new activation is one entry here; the Config, the CLI and
# the app's widgets all read their choices from this dict.
ACTIVATIONS: dict[str, tuple[str, Callable[[], nn.Module]]] = {
    "relu": ("ReLU", nn.ReLU),
    "leaky_relu": ("Leaky ReLU", lambda: nn.LeakyReLU(0.01)),
    "elu": ("ELU", nn.ELU),
    "gelu": ("GELU", nn.GELU),
    "silu": ("SiLU (swish)", nn.SiLU),
    "mish": ("Mish", nn.Mish),
    "tanh": ("tanh", nn.Tanh),
    "sigmoid": ("Sigmoid", nn.Sigmoid),
    "softplus": ("Softplus", nn.Softplus),
    "sine": ("Sine", Sine),
    "linear": ("Linear (none)", nn.Identity),
}

# How the two branches of a mixed block combine.
MIXES: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "sum": torch.add,
    "mean": lambda a, b: (a + b) * 0.5,
    "product": torch.mul,
    "max": torch.maximum,
}

INITS = ("default", "xavier", "kaiming", "zeros")

# Gains for xavier/kaiming: the activations torch names get their own, the rest are treated as linear.
_GAIN_NAMES = {"relu": "relu", "leaky_relu": "leaky_relu", "tanh": "tanh", "sigmoid": "sigmoid"}


CUSTOM = "custom"  # an activation written as an expression of x (Config.activation_expr)


def parse_activation(spec: str) -> tuple[str, ...]:
    """``'relu'`` -> ``('relu',)``; ``'relu+tanh'`` -> ``('relu', 'tanh')`` (the article's mixed block)."""
    parts = tuple(p.strip() for p in spec.split("+"))
    if not 1 <= len(parts) <= 2:
        raise ValueError(f"an activation is one name or two joined by '+', not {spec!r}")
    for p in parts:
        if p not in ACTIVATIONS and p != CUSTOM:
            raise ValueError(f"unknown activation {p!r}; choose from {', '.join(ACTIVATIONS)} or {CUSTOM}")
    return parts


class Expression(nn.Module):
    """A user's activation, compiled from the safe expression language."""

    def __init__(self, text: str):
        super().__init__()
        self.text = text
        self._fn = expr.check_activation(text)

    def forward(self, x):
        return self._fn(x=x)

    def extra_repr(self):
        return repr(self.text)


def _activation(name: str, custom: str | None) -> nn.Module:
    if name == CUSTOM:
        if not custom:
            raise ValueError("activation 'custom' needs an expression of x")
        return Expression(custom)
    return ACTIVATIONS[name][1]()


class Mixed(nn.Module):
    """The article's experiment: one layer's output sent through two activations in parallel, then combined."""

    def __init__(self, first: str, second: str, mix: str = "sum", custom: str | None = None):
        super().__init__()
        self.first = _activation(first, custom)
        self.second = _activation(second, custom)
        self.mix = mix
        self._combine = MIXES[mix]

    def forward(self, x):
        return self._combine(self.first(x), self.second(x))

    def extra_repr(self):
        return f"mix={self.mix}"


def make_activation(spec: str, mix: str = "sum", custom: str | None = None) -> nn.Module:
    parts = parse_activation(spec)
    return Mixed(*parts, mix=mix, custom=custom) if len(parts) == 2 else _activation(parts[0], custom)


class Dropout(nn.Module):
    """Dropout that draws from its own generator: ``nn.Dropout`` uses the process-wide RNG, which
    every Streamlit session shares, so two users training at once would change each other's masks."""

    def __init__(self, p: float, generator: torch.Generator | None = None):
        super().__init__()
        self.p = p
        self.generator = generator

    def forward(self, x):
        if not self.training or self.p == 0:
            return x
        keep = torch.empty_like(x).bernoulli_(1 - self.p, generator=self.generator)
        return x * keep / (1 - self.p)

    def extra_repr(self):
        return f"p={self.p}"


class Network(nn.Module):
    """A fully connected network in the article's style: ``hidden1 -> act1 -> ... -> output``.

    ``forward`` returns logits (raw outputs); ``head`` turns them into what a person reads:
    a probability (sigmoid) for binary classification, class probabilities (softmax) for
    multi-class, and nothing for regression. Losses work on the logits, which is stabler.
    """

    def __init__(
        self,
        n_input: int,
        hidden: tuple[int, ...] = (8, 4),
        activation: tuple[str, ...] = ("relu",),
        n_output: int = 1,
        head: str = "sigmoid",
        dropout: float = 0.0,
        mix: str = "sum",
        generator: torch.Generator | None = None,
        custom_activation: str | None = None,
    ):
        super().__init__()
        if len(activation) not in (1, max(1, len(hidden))):
            raise ValueError(f"give one activation or one per hidden layer ({len(hidden)}), not {len(activation)}")
        acts = list(activation) * len(hidden) if len(activation) == 1 else list(activation)
        self.activation_names = tuple(acts)
        self.n_input, self.n_output = n_input, n_output
        width = n_input
        self.layers: list[tuple[nn.Linear, nn.Module, nn.Module | None]] = []
        for i, (n, act) in enumerate(zip(hidden, acts), start=1):
            linear = nn.Linear(width, n)
            activation_module = make_activation(act, mix, custom_activation)
            self.add_module(f"hidden{i}", linear)
            self.add_module(f"act{i}", activation_module)
            drop = None
            if dropout > 0:
                drop = Dropout(dropout, generator)
                self.add_module(f"dropout{i}", drop)
            self.layers.append((linear, activation_module, drop))
            width = n
        self.output = nn.Linear(width, n_output)
        self.head = {"sigmoid": nn.Sigmoid, "softmax": lambda: nn.Softmax(dim=1), "identity": nn.Identity}[head]()

    @property
    def linears(self) -> list[nn.Linear]:
        return [layer for layer, _, _ in self.layers] + [self.output]

    def forward(self, x):
        for linear, act, drop in self.layers:
            x = act(linear(x))
            if drop is not None:
                x = drop(x)
        return self.output(x)

    def forward_hidden(self, x) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Logits and every hidden layer's activations (after the activation, before dropout)."""
        hidden = []
        for linear, act, drop in self.layers:
            x = act(linear(x))
            hidden.append(x)
            if drop is not None:
                x = drop(x)
        return self.output(x), hidden

    def predict(self, x):
        """What a person reads: probabilities for classification, values for regression."""
        return self.head(self(x))

    def n_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters() if p.requires_grad)

    def __repr__(self):
        return f"{super().__repr__()}\n# {self.n_parameters():,} trainable parameters"

    def initialise(self, scheme: str = "default", generator: torch.Generator | None = None) -> None:
        """(Re)draw every weight from ``generator``: the same seed gives the same network."""
        with torch.no_grad():
            for i, linear in enumerate(self.linears):
                act = self.activation_names[i] if i < len(self.layers) else "linear"
                init_linear(linear, scheme, act, generator)


def init_linear(linear: nn.Linear, scheme: str, activation: str, generator: torch.Generator | None) -> None:
    w, b = linear.weight, linear.bias
    fan_in = w.shape[1]
    gain_name = _GAIN_NAMES.get(activation.split("+")[0], "linear")
    if scheme == "default":  # what nn.Linear does, but from our generator
        nn.init.kaiming_uniform_(w, a=math.sqrt(5), generator=generator)
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
        nn.init.uniform_(b, -bound, bound, generator=generator)
    elif scheme == "xavier":
        nn.init.xavier_uniform_(w, gain=nn.init.calculate_gain(gain_name), generator=generator)
        nn.init.zeros_(b)
    elif scheme == "kaiming":
        nonlinearity = gain_name if gain_name in ("relu", "leaky_relu") else "linear"
        nn.init.kaiming_uniform_(w, nonlinearity=nonlinearity, generator=generator)
        nn.init.zeros_(b)
    elif scheme == "zeros":
        nn.init.zeros_(w)
        nn.init.zeros_(b)
    else:
        raise ValueError(f"unknown init {scheme!r}; choose from {', '.join(INITS)}")
