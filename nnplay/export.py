"""Config -> a standalone PyTorch script in the article's five-step style.

The script needs only torch, numpy and scikit-learn. It draws the same data, builds the same
``Network(nn.Module)`` with the same initial weights (from the same seeded generator), and trains
with the same loss, optimizer, schedule, batches and dropout masks, so on the CPU it ends on the
engine's final training loss. Its last line prints ``final train loss: <value>``: the trained
weights' loss on the training set, what ``python -m nnplay train`` reports as ``final.train_loss``.
"""

from __future__ import annotations

import ast
import inspect
import textwrap

import numpy as np
import torch

from . import data, expr, losses, model, optim
from .config import Config
from .data import BINARY, MULTICLASS, REGRESSION

_MODULES = {
    "relu": "nn.ReLU()",
    "leaky_relu": "nn.LeakyReLU(0.01)",
    "elu": "nn.ELU()",
    "gelu": "nn.GELU()",
    "silu": "nn.SiLU()",
    "mish": "nn.Mish()",
    "tanh": "nn.Tanh()",
    "sigmoid": "nn.Sigmoid()",
    "softplus": "nn.Softplus()",
    "sine": "Sine()",
    "linear": "nn.Identity()",
    "custom": "Custom()",
}
_MIX_CODE = {"sum": "a + b", "mean": "(a + b) * 0.5", "product": "a * b", "max": "torch.maximum(a, b)"}
_OPTIMIZERS = {
    "sgd": "optim.SGD(model.parameters(), lr={lr}, momentum={momentum}, nesterov={nesterov})",
    "rmsprop": "optim.RMSprop(model.parameters(), lr={lr}, momentum={momentum})",
    "lbfgs": "optim.LBFGS(model.parameters(), lr={lr}, max_iter=1)",
}
_OPTIMIZER_CLASS = {
    "adam": "Adam",
    "adamw": "AdamW",
    "adamax": "Adamax",
    "nadam": "NAdam",
    "radam": "RAdam",
    "adadelta": "Adadelta",
    "adagrad": "Adagrad",
    "adafactor": "Adafactor",
    "rprop": "Rprop",
    "asgd": "ASGD",
}
_TORCH_FUNCTIONS = {
    "abs": "torch.abs",
    "exp": "torch.exp",
    "log": "torch.log",
    "log1p": "torch.log1p",
    "sqrt": "torch.sqrt",
    "sin": "torch.sin",
    "cos": "torch.cos",
    "tanh": "torch.tanh",
    "sigmoid": "torch.sigmoid",
    "relu": "torch.relu",
    "softplus": "F.softplus",
    "cosh": "torch.cosh",
    "minimum": "torch.minimum",
    "maximum": "torch.maximum",
    "where": "torch.where",
    "mean": "torch.mean",
    "sum": "torch.sum",
}


class ExportError(ValueError):
    """This Config cannot be exported as a standalone script; the message says why."""


def sections(config: Config, table: data.Table | None = None, csv_path: str = "data.csv") -> dict[str, str]:
    """The script's parts by name (header, data, network, init, loss, optimizer, loop), for lessons.
    A CSV experiment needs its checked ``table`` and reads the file from ``csv_path``."""
    if config.dataset == data.CSV and table is None:
        raise ExportError("a CSV experiment needs its uploaded table to be exported")
    n_in, task, n_classes = data.shape(config, table)
    loss_name, loss_spec = losses.resolve(config.loss, task, config.loss_expr)
    n_out, head = loss_spec.outputs(task, n_classes)
    if config.dataset == data.CSV:
        data_part = _csv_section(config, table, csv_path, task, loss_spec)
    else:
        data_part = _data_section(config, *data.generator_call(config), task, loss_spec)
    parts = {
        "header": _header(config),
        "data": data_part,
        "network": _network_section(config, n_in, n_out, head),
        "init": _init_section(config),
        "loss": _loss_section(config, loss_name, loss_spec, task),
        "optimizer": _optimizer_section(config),
        "loop": _loop_section(config),
    }
    return {k: v.strip("\n") for k, v in parts.items()}


def export(config: Config, table: data.Table | None = None, csv_path: str = "data.csv") -> str:
    """The Config as a runnable, readable script (a CSV experiment reads its table from ``csv_path``)."""
    return "\n\n".join(sections(config, table, csv_path).values()) + "\n"


def _header(config: Config) -> str:
    query = "&".join(f"{k}={v}" for k, v in config.to_query().items()) or "(the defaults)"
    return f'''"""A neural network in PyTorch, exported from nnplay.

Settings: {query}
Steps: the data, the Network class, the loss, the optimizer, and the training loop in five steps
(zero_grad, forward, loss, backward, step), as in "Building and Experimenting with Neural
Networks in PyTorch".
"""

import math

import numpy as np
import torch
import torch.nn.functional as F
from sklearn import datasets as skd
from sklearn.model_selection import train_test_split
from torch import nn, optim

torch.set_num_threads({config.threads})'''


def _source(fn) -> str:
    return textwrap.dedent(inspect.getsource(fn))


def _data_section(config, spec, kwargs, task, loss_spec) -> str:
    lines = ["# --- 1. The data " + "-" * 60]
    needs = []
    if spec.make.__code__.co_names and "_balanced_counts" in spec.make.__code__.co_names:
        needs.append(_source(data._balanced_counts))
    if spec.make is data.make_article_classification:
        lines.append(f"ARTICLE_RANDOM_STATE = {data.ARTICLE_RANDOM_STATE}")
    needs.append(_source(spec.make))
    lines += needs
    args = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
    lines.append(f"X, y = {spec.make.__name__}({args})")
    classify = task != REGRESSION
    n_classes = config.n_classes if task == MULTICLASS else 2
    if classify:
        lines.append("y = np.asarray(y, dtype=np.int64)")
        if config.label_noise > 0:
            lines.append(_source(data._flip_labels).replace("def _flip_labels", "def flip_labels"))
            lines.append(
                f"y = flip_labels(y, {config.label_noise!r}, {n_classes}, np.random.default_rng([{config.seed}, 1]))"
            )
    if spec.dims == 2:
        columns = ", ".join(_feature_code(f) for f in config.features)
        lines.append(f"\ndef inputs(points):\n    return np.column_stack([{columns}])\n")
    else:
        lines.append("\ndef inputs(points):\n    return points\n")
    y_all = None
    if classify and config.test_fraction > 0:
        built = data.build(config)
        y_all = np.concatenate([built.y_train, built.y_test])
    lines.append(_split_and_scale(config, task, loss_spec, y_all))
    return "\n".join(lines)


def _split_and_scale(config, task, loss_spec, y_all) -> str:
    lines = []
    if config.test_fraction > 0:
        stratify = "y" if y_all is not None and data.can_stratify(y_all, config.test_fraction) else "None"
        lines.append(
            f"X_train, X_test, y_train, y_test = train_test_split(\n"
            f"    X, y, test_size={config.test_fraction!r}, random_state={config.seed}, stratify={stratify}\n)"
        )
    else:
        lines.append("X_train, y_train = X, y  # no test set")
    lines.append(
        "# Standardise with the training set's statistics only.\n"
        "columns = inputs(np.asarray(X_train, dtype=np.float64))\n"
        "mean, std = columns.mean(axis=0), columns.std(axis=0)\n"
        "std = np.where(std > 1e-12, std, 1.0)\n"
        "X_train = torch.as_tensor(((columns - mean) / std).astype(np.float32))"
    )
    if task == REGRESSION:
        lines.append(
            "target_mean, target_std = float(np.mean(y_train)), float(np.std(y_train))\n"
            "target_std = target_std if target_std > 1e-12 else 1.0\n"
            "y_train = ((y_train - target_mean) / target_std).astype(np.float32)  # shape [N], like the output[:, 0]"
        )
    dtype = "torch.long" if loss_spec.prepare([0], task).dtype == torch.long else "torch.float32"
    lines.append(f"y_train = torch.as_tensor(y_train, dtype={dtype})")
    return "\n".join(lines)


def _csv_section(config, table, csv_path, task, loss_spec) -> str:
    classify = task != REGRESSION
    lines = [
        "# --- 1. The data " + "-" * 60,
        "import pandas as pd\n",
        f"frame = pd.read_csv({csv_path!r}, sep={table.delimiter!r}, index_col=False, skipinitialspace=True)",
        "frame.columns = [str(c).strip() for c in frame.columns]",
        f"X = frame[{table.feature_names!r}].to_numpy(dtype=np.float64)",
        f"target = frame[{table.target!r}]",
    ]
    if classify:
        lines.append(
            "numeric = pd.api.types.is_numeric_dtype(target)\n"
            "classes = np.sort(target.unique()) if numeric else sorted(target.astype(str).unique())\n"
            "lookup = {c: i for i, c in enumerate(classes)}\n"
            "y = (target if numeric else target.astype(str)).map(lookup).to_numpy(dtype=np.int64)"
        )
        if config.label_noise > 0:
            lines.append(_source(data._flip_labels).replace("def _flip_labels", "def flip_labels"))
            rng = f"np.random.default_rng([{config.seed}, 1])"
            lines.append(f"y = flip_labels(y, {config.label_noise!r}, {table.n_classes}, {rng})")
    else:
        lines.append("y = target.to_numpy(dtype=np.float64)")
    lines.append("\ndef inputs(points):\n    return points\n")
    y_all = None
    if classify and config.test_fraction > 0:
        y_all = data._flip_labels(table.y, config.label_noise, table.n_classes, np.random.default_rng([config.seed, 1]))
    lines.append(_split_and_scale(config, task, loss_spec, y_all))
    return "\n".join(lines)


def _feature_code(name: str) -> str:
    return {
        "x1": "points[:, 0]",
        "x2": "points[:, 1]",
        "x1sq": "points[:, 0] ** 2",
        "x2sq": "points[:, 1] ** 2",
        "x1x2": "points[:, 0] * points[:, 1]",
        "sinx1": "np.sin(points[:, 0])",
        "sinx2": "np.sin(points[:, 1])",
        "cosx1": "np.cos(points[:, 0])",
        "cosx2": "np.cos(points[:, 1])",
    }[name]


def expression_code(text: str, variables: tuple[str, ...]) -> str:
    """A checked expression as plain torch code (the same operations the engine runs)."""
    expr.compile_expr(text, variables)  # refuses anything outside the whitelist first
    tree = ast.parse(text.strip(), mode="eval").body

    def code(node) -> str:
        if isinstance(node, ast.Constant):
            return f"torch.tensor({float(node.value)!r})"
        if isinstance(node, ast.Name):
            return node.id if node.id in variables else f"torch.tensor({expr.CONSTANTS[node.id]!r})"
        if isinstance(node, ast.UnaryOp):
            return f"(-{code(node.operand)})" if isinstance(node.op, ast.USub) else code(node.operand)
        if isinstance(node, ast.BinOp):
            op = {ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.Div: "div", ast.Pow: "pow"}[type(node.op)]
            return f"torch.{op}({code(node.left)}, {code(node.right)})"
        if isinstance(node, ast.Compare):
            op = {ast.Lt: "lt", ast.LtE: "le", ast.Gt: "gt", ast.GtE: "ge"}[type(node.ops[0])]
            return f"torch.{op}({code(node.left)}, {code(node.comparators[0])})"
        name = node.func.id
        args = [code(a) for a in node.args]
        if name == "clamp":
            return f"torch.minimum(torch.maximum({args[0]}, {args[1]}), {args[2]})"
        return f"{_TORCH_FUNCTIONS[name]}({', '.join(args)})"

    return code(tree)


def _network_section(config, n_in, n_out, head) -> str:
    acts = list(config.activation) * len(config.hidden) if len(config.activation) == 1 else list(config.activation)
    names = {p for a in acts for p in model.parse_activation(a)}
    lines = ["# --- 2. The network " + "-" * 57]
    if "sine" in names:
        lines.append("class Sine(nn.Module):\n    def forward(self, x):\n        return torch.sin(x)\n")
    if "custom" in names:
        body = expression_code(config.activation_expr, ("x",))
        lines.append(
            f'class Custom(nn.Module):\n    """{config.activation_expr}"""\n\n'
            f"    def forward(self, x):\n        return {body}\n"
        )
    if any("+" in a for a in acts):
        lines.append(
            "class Mixed(nn.Module):\n"
            '    """The article\'s idea: one layer\'s output through two activations in parallel, combined."""\n\n'
            "    def __init__(self, first, second):\n"
            "        super().__init__()\n"
            "        self.first, self.second = first, second\n\n"
            "    def forward(self, x):\n"
            "        a, b = self.first(x), self.second(x)\n"
            f"        return {_MIX_CODE[config.mix]}\n"
        )
    if config.dropout > 0:
        lines.append(
            textwrap.dedent('''
            class Dropout(nn.Module):
                """Dropout drawing its masks from its own generator, so a seed fixes them."""

                def __init__(self, p, generator):
                    super().__init__()
                    self.p, self.generator = p, generator

                def forward(self, x):
                    if not self.training or self.p == 0:
                        return x
                    keep = torch.empty_like(x).bernoulli_(1 - self.p, generator=self.generator)
                    return x * keep / (1 - self.p)
        ''')
        )
        lines.append(f"dropout_generator = torch.Generator().manual_seed({config.seed + 2})\n")
    init, forward = ["        super().__init__()"], []
    width = n_in
    for i, (n, act) in enumerate(zip(config.hidden, acts), start=1):
        parts = model.parse_activation(act)
        module = _MODULES[parts[0]] if len(parts) == 1 else f"Mixed({_MODULES[parts[0]]}, {_MODULES[parts[1]]})"
        init.append(f"        self.hidden{i} = nn.Linear({width}, {n})")
        init.append(f"        self.act{i} = {module}")
        forward.append(f"        x = self.act{i}(self.hidden{i}(x))")
        if config.dropout > 0:
            init.append(f"        self.dropout{i} = Dropout({config.dropout!r}, dropout_generator)")
            forward.append(f"        x = self.dropout{i}(x)")
        width = n
    init.append(f"        self.output = nn.Linear({width}, {n_out})")
    head_doc = {
        "sigmoid": "torch.sigmoid(output) is the probability of class 1",
        "softmax": "torch.softmax(output, 1) are the class probabilities",
        "identity": "the output is the (standardised) prediction",
    }[head]
    lines.append(
        "class Network(nn.Module):\n"
        f'    """Returns raw outputs (logits); {head_doc}."""\n\n'
        "    def __init__(self):\n" + "\n".join(init) + "\n\n"
        "    def forward(self, x):\n"
        + "\n".join(forward)
        + ("\n" if forward else "")
        + "        return self.output(x)\n"
    )
    lines.append("model = Network()\nprint(model)")
    return "\n".join(lines)


def _init_section(config) -> str:
    acts = list(config.activation) * len(config.hidden) if len(config.activation) == 1 else list(config.activation)
    layers = [f"model.hidden{i}" for i in range(1, len(config.hidden) + 1)] + ["model.output"]
    lines = [
        "# The same seed gives the same initial weights.",
        f"generator = torch.Generator().manual_seed({config.seed})",
        "with torch.no_grad():",
    ]
    for layer, act in zip(layers, [*acts, "linear"]):
        gain = {"relu": "relu", "leaky_relu": "leaky_relu", "tanh": "tanh", "sigmoid": "sigmoid"}.get(
            act.split("+")[0], "linear"
        )
        if config.init == "default":
            lines.append(f"    nn.init.kaiming_uniform_({layer}.weight, a=math.sqrt(5), generator=generator)")
            lines.append(f"    bound = 1 / math.sqrt({layer}.weight.shape[1])")
            lines.append(f"    nn.init.uniform_({layer}.bias, -bound, bound, generator=generator)")
        elif config.init == "xavier":
            lines.append(
                f"    nn.init.xavier_uniform_({layer}.weight, gain=nn.init.calculate_gain({gain!r}), "
                "generator=generator)"
            )
            lines.append(f"    nn.init.zeros_({layer}.bias)")
        elif config.init == "kaiming":
            nonlinearity = gain if gain in ("relu", "leaky_relu") else "linear"
            lines.append(
                f"    nn.init.kaiming_uniform_({layer}.weight, nonlinearity={nonlinearity!r}, generator=generator)"
            )
            lines.append(f"    nn.init.zeros_({layer}.bias)")
        else:
            lines.append(f"    nn.init.zeros_({layer}.weight)")
            lines.append(f"    nn.init.zeros_({layer}.bias)")
    return "\n".join(lines)


def _loss_section(config, loss_name, loss_spec, task) -> str:
    lines = ["# --- 3. The loss " + "-" * 60]
    if loss_name == "custom":
        body = expression_code(config.loss_expr, expr.LOSS_VARIABLES)
        lines.append(f'def custom_loss(y_pred, y):\n    """{config.loss_expr}"""\n    return {body}\n')
        pointwise = "custom_loss"
    else:
        pointwise = {"mse": "F.mse_loss", "mae": "F.l1_loss", "huber": "F.smooth_l1_loss"}.get(loss_name)
    if loss_name == "bce":
        body = "F.binary_cross_entropy_with_logits(output[:, 0], y)  # the article's BCELoss, from the logit"
    elif loss_name == "cross_entropy":
        body = "F.cross_entropy(output, y)"
    elif loss_name == "nll":
        body = "F.nll_loss(F.log_softmax(output, dim=1), y)"
    elif loss_name == "kl_div":
        body = (
            "F.kl_div(F.log_softmax(output, dim=1), F.one_hot(y, output.shape[1]).to(output.dtype), "
            'reduction="batchmean")'
        )
    elif task == REGRESSION:
        body = f"{pointwise}(output[:, 0], y)"
    elif task == BINARY:
        body = f"{pointwise}(torch.sigmoid(output[:, 0]), y)"
    else:
        body = f"{pointwise}(torch.softmax(output, dim=1), F.one_hot(y, output.shape[1]).to(output.dtype))"
    if loss_name == "custom":
        body = f"{body}.reshape(())"
    lines.append(f"def criterion(output, y):\n    return {body}\n")
    if config.l1 or config.l2:
        weights = ", ".join(
            [f"model.hidden{i}.weight" for i in range(1, len(config.hidden) + 1)] + ["model.output.weight"]
        )
        penalty = ["def penalty():", f"    weights = [{weights}]", "    total = 0.0"]
        if config.l1:
            penalty.append(f"    total = total + {config.l1!r} * sum(w.abs().sum() for w in weights)")
        if config.l2:
            penalty.append(f"    total = total + {config.l2!r} * sum(w.pow(2).sum() for w in weights)")
        penalty.append("    return total\n")
        lines.append("\n".join(penalty))
    return "\n".join(lines)


def _optimizer_section(config) -> str:
    lines = ["# --- 4. The optimizer " + "-" * 55]
    if config.optimizer in _OPTIMIZERS:
        nesterov = config.nesterov and config.momentum > 0
        lines.append(
            "optimizer = "
            + _OPTIMIZERS[config.optimizer].format(
                lr=repr(config.lr), momentum=repr(config.momentum), nesterov=nesterov
            )
        )
    else:
        lines.append(f"optimizer = optim.{_OPTIMIZER_CLASS[config.optimizer]}(model.parameters(), lr={config.lr!r})")
    factor = {
        "step": f"{config.gamma!r} ** (epoch // {config.step_size})",
        "exponential": f"{config.gamma!r} ** (epoch / {config.step_size})",
        "cosine": f"0.5 * (1 + math.cos(math.pi * min(epoch, {config.epochs}) / {max(1, config.epochs)}))",
    }.get(config.schedule)
    if factor:
        lines.append(f"scheduler = optim.lr_scheduler.LambdaLR(optimizer, lambda epoch: {factor})  # {config.schedule}")
    assert config.optimizer in optim.AVAILABLE_OPTIMIZERS
    return "\n".join(lines)


def _loop_section(config) -> str:
    objective = "loss + penalty()" if config.l1 or config.l2 else "loss"
    full = config.batch_size == 0
    lines = ["# --- 5. Training: the five steps, epoch after epoch " + "-" * 25]
    if not full:
        lines.append(f"shuffle = torch.Generator().manual_seed({config.seed + 1})")
    lines.append(f"n = len(X_train)\nfor epoch in range({config.epochs}):")
    if full:
        lines.append("    batches = [(X_train, y_train)]")
    else:
        lines.append(f"    if {config.batch_size} >= n:\n        batches = [(X_train, y_train)]\n    else:")
        lines.append(
            f"        order = torch.randperm(n, generator=shuffle)\n"
            f"        batches = [(X_train[i], y_train[i]) for i in order.split({config.batch_size})]"
        )
    lines.append("    total = 0.0")
    lines.append("    for xb, yb in batches:")
    if config.optimizer == "lbfgs":
        lines.append(
            textwrap.indent(
                textwrap.dedent(f"""
            first = []

            def closure():
                optimizer.zero_grad()                 # 1. reset the gradients
                output = model(xb)                    # 2. forward pass
                loss = criterion(output, yb)          # 3. the loss
                if not first:
                    first.append(loss.item())
                objective = {objective}
                if torch.isfinite(objective):
                    objective.backward()              # 4. backward pass (autograd)
                return objective

            optimizer.step(closure)                   # 5. one step of the optimizer
            total += first[0] * len(xb)
        """).strip("\n"),
                " " * 8,
            )
        )
    else:
        lines.append(
            textwrap.indent(
                textwrap.dedent(f"""
            optimizer.zero_grad()                     # 1. reset the gradients
            output = model(xb)                        # 2. forward pass
            loss = criterion(output, yb)              # 3. the loss
            objective = {objective}
            if not torch.isfinite(objective):
                raise SystemExit(f"diverged at epoch {{epoch + 1}}")
            objective.backward()                      # 4. backward pass (autograd)
            optimizer.step()                          # 5. one step of the optimizer
            total += loss.item() * len(xb)
        """).strip("\n"),
                " " * 8,
            )
        )
    if config.schedule != "none":
        lines.append("    scheduler.step()")
    lines.append("    train_loss = total / n")
    lines.append('    if epoch % 100 == 0:\n        print(f"epoch {epoch + 1}: loss {train_loss:.4f}")')
    # The loop's losses are measured during each epoch, before its update; nnplay's "final train
    # loss" (the CLI's, the Compare and Sweep tables') is the trained weights' own: the same here.
    lines.append(
        "\n# The trained weights' loss on the training set (each epoch's loss above is from before its update).\n"
        "model.eval()\n"
        "with torch.no_grad():\n"
        "    final_loss = criterion(model(X_train), y_train).item()\n"
        'print(f"final train loss: {final_loss}")'
    )
    return "\n".join(lines)


def prediction_code(head: str, outputs: str = "output") -> str:
    """How the script turns raw outputs into what a person reads, for a head (sigmoid, softmax, identity)."""
    return {"sigmoid": f"torch.sigmoid({outputs})", "softmax": f"torch.softmax({outputs}, dim=1)"}.get(head, outputs)


def untrained_code(head: str, dropout: bool = False) -> str:
    """The lesson's look at the untrained network (step 3); with dropout, looked at in eval mode."""
    look = "with torch.no_grad():\n    output = model(X_train)\n"
    if dropout:
        look = f"model.eval()  # no dropout while looking\n{look}model.train()\n"
    return (
        look + f"print({prediction_code(head, 'output[:10]')})  # the first ten outputs\n"
        "print(criterion(output, y_train))  # the initial loss"
    )


def drift_code(head: str, every: int, epochs: int) -> str:
    """The article's probability drift: keep the outputs every few epochs (step 6)."""
    return (
        "history = []  # the outputs for every training point, every few epochs\n"
        f"for epoch in range({epochs}):\n"
        "    ...  # the five steps, as above\n"
        f"    if epoch % {every} == 0:\n"
        "        with torch.no_grad():\n"
        f"            history.append({prediction_code(head, 'model(X_train)')})"
    )
