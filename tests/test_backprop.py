"""The hand-written backpropagation against autograd, and the Trainer's fast path against its autograd path."""

import pytest
import torch

from nnplay import backprop, divergence, losses
from nnplay.config import Config
from nnplay.model import ACTIVATIONS, Network
from nnplay.train import Trainer


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_each_activation_matches_its_module_and_autograd(name):
    assert set(backprop.ACTIVATIONS) == set(ACTIVATIONS)
    forward, derivative = backprop.ACTIVATIONS[name]
    module = ACTIVATIONS[name][1]()
    z = torch.randn(64, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(1)) * 3
    z[0, 0] = 0.0  # the kink of ReLU-like functions
    z.requires_grad_()
    a = module(z)
    g = torch.randn_like(a)
    (expected,) = torch.autograd.grad(a, z, g)
    with torch.no_grad():
        assert torch.equal(forward(z.clone()), a)  # a clone: ReLU's works in place
        assert torch.allclose(derivative(g, z, a), expected, rtol=1e-12, atol=1e-12)


def _autograd_gradients(model, x, y, spec, task):
    model.zero_grad()
    spec.fn(model(x), y, task).backward()
    return [p.grad.clone() for layer in model.linears for p in (layer.weight, layer.bias)]


@pytest.mark.parametrize(
    "hidden, activation, custom",
    [
        ((8, 4), ("relu",), ""),
        ((6,), ("tanh",), ""),
        ((5, 5, 3), ("gelu", "sine", "softplus"), ""),
        ((7, 3), ("relu+tanh",), ""),  # the article's mixed block: autograd on its own small graph
        ((4,), ("custom",), "x * sigmoid(x)"),
        ((), ("relu",), ""),
    ],
)
@pytest.mark.parametrize("loss", ["bce", "cross_entropy", "mse", "huber", "custom"])
def test_gradients_equal_autograd(hidden, activation, custom, loss):
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(50, 3, dtype=torch.float64, generator=gen)
    task = "binary"
    spec = losses.custom("mean((y_pred - y)**4)") if loss == "custom" else losses.LOSSES[loss]
    n_out, head = spec.outputs(task, 2)
    y = spec.prepare((x[:, 0] > 0).long().numpy(), task)
    if y.is_floating_point():
        y = y.double()
    model = Network(3, hidden, activation, n_out, head, custom_activation=custom).double()
    model.initialise("default", gen)
    expected = _autograd_gradients(model, x, y, spec, task)
    bp = backprop.Backprop(model)
    with torch.no_grad():
        weights = _stacked(model)
        fwd = bp.forward(backprop.layer_views(weights), x[None])
        assert torch.allclose(fwd.out[0], model(x))
        loss_value, dout = backprop.loss_gradient(spec, fwd.out, y[None], task)
        got = [g[0] for g in bp.backward(fwd, dout, weights)]
    assert loss_value.item() == pytest.approx(spec.fn(model(x), y, task).item(), rel=1e-12)
    for a, b in zip(got, expected):
        assert torch.allclose(a, b, rtol=1e-10, atol=1e-12)


def test_gradients_of_the_training_rows_of_a_joint_pass():
    """Training and test rows go through one forward pass; only the training rows are backpropagated."""
    model = Network(2, (6, 3), ("tanh",), 1, "sigmoid")
    x = torch.randn(40, 2)
    y = (x[:, 0] > 0).float()
    spec = losses.LOSSES["bce"]
    expected = _autograd_gradients(model, x[:30], y[:30], spec, "binary")
    bp = backprop.Backprop(model)
    with torch.no_grad():
        weights = _stacked(model)
        fwd = bp.forward(backprop.layer_views(weights), x[None])
        _, dout = backprop.loss_gradient(spec, fwd.out[:, :30], y[None, :30], "binary")
        got = [g[0] for g in bp.backward(fwd, dout, weights)]
    for a, b in zip(got, expected):
        assert torch.allclose(a, b, atol=1e-6)


def _stacked(model):
    """A lone network's parameters as the engine passes them: a stack of one (views)."""
    return [p.unsqueeze(0) for linear in model.linears for p in (linear.weight, linear.bias)]


def test_a_stack_of_networks_gets_each_its_own_gradients():
    """K networks in one pass: each gets exactly the gradients it gets alone, on its own data."""
    gen = torch.Generator().manual_seed(5)
    models = [Network(2, (5, 3), ("tanh",), 1, "sigmoid") for _ in range(3)]
    for m in models:
        m.initialise("default", gen)
    xs = [torch.randn(20, 2, generator=gen) for _ in models]
    ys = [(x[:, 0] > 0).float() for x in xs]
    spec = losses.LOSSES["bce"]
    bp = backprop.Backprop(models[0])
    with torch.no_grad():
        weights = [torch.stack(ps) for ps in zip(*(_stacked(m) for m in models))]
        weights = [w[:, 0] for w in weights]
        fwd = bp.forward(backprop.layer_views(weights), torch.stack(xs))
        losses_, dout = backprop.loss_gradient(spec, fwd.out, torch.stack(ys), "binary")
        got = bp.backward(fwd, dout, weights)
    for k, (m, x, y) in enumerate(zip(models, xs, ys)):
        assert losses_[k].item() == pytest.approx(spec.fn(m(x), y, "binary").item(), rel=1e-6)
        for g, e in zip(got, _autograd_gradients(m, x, y, spec, "binary")):
            assert torch.allclose(g[k], e, atol=1e-6)


def test_the_written_out_loss_gradients_equal_autograd():
    gen = torch.Generator().manual_seed(3)
    cases = [("bce", "binary", 1, 2), ("cross_entropy", "multiclass", 4, 4), ("cross_entropy", "binary", 2, 2)]
    cases.append(("mse", "regression", 1, 0))
    for name, task, outputs, classes in cases:
        spec = losses.LOSSES[name]
        out = torch.randn(30, outputs, dtype=torch.float64, generator=gen)
        raw = torch.randint(0, classes, (30,), generator=gen) if classes else torch.randn(30, generator=gen)
        y = spec.prepare(raw.numpy(), task)
        y = y.double() if y.is_floating_point() else y
        leaf = out.clone().requires_grad_()
        value = spec.fn(leaf, y, task)
        (expected,) = torch.autograd.grad(value, leaf)
        rows, got = spec.rows(out, y, task, 1 / len(y))
        assert rows.mean().item() == pytest.approx(value.item(), rel=1e-12), name
        assert torch.allclose(got, expected, rtol=1e-12, atol=1e-15), name


def _both_paths(config: Config, epochs: int | None = None):
    fast, slow = Trainer(config), Trainer(config)
    assert fast._backprop is not None
    slow._backprop = slow._joint = None  # autograd's own path, as L-BFGS takes
    for t in (fast, slow):
        t.step(epochs or config.epochs)
    return fast, slow


PATH_CONFIGS = {
    "full": Config(n_samples=200, epochs=60),  # full batch, test rows in the same pass
    "minibatch-adam-l2": Config(n_samples=200, epochs=20, batch_size=32, optimizer="adam", l2=0.01),
    "dropout": Config(n_samples=200, epochs=40, dropout=0.2, activation=("relu",)),
    "mixed": Config(n_samples=200, epochs=40, hidden=(6, 6), activation=("relu+tanh",), mix="product"),
    "multiclass-l1": Config(
        n_samples=200, epochs=40, dataset="blobs", n_classes=3, l1=0.001, optimizer="rmsprop", momentum=0.5
    ),
    "regression": Config(n_samples=200, epochs=40, dataset="sine", loss="huber", schedule="cosine"),
    "custom": Config(n_samples=200, epochs=40, loss="custom", activation=("custom",), test_fraction=0),
    # SGD: from zero weights the output bias's gradient is zero but for rounding, whose sign
    # depends on the order rows are summed in, and Adam's first step turns any sign into a full step.
    "zeros": Config(n_samples=200, epochs=40, init="zeros", hidden=(4,), optimizer="sgd", lr=0.1),
    "none": Config(n_samples=200, epochs=40, hidden=()),
    "nesterov": Config(n_samples=200, epochs=40, optimizer="sgd", momentum=0.9, nesterov=True),
}


def assert_paths_agree(fast: Trainer, slow: Trainer, rel: float = 1e-4, atol: float = 1e-5) -> None:
    assert fast.status == slow.status and fast.epoch == slow.epoch
    assert [r.keys() for r in fast.records.records] == [r.keys() for r in slow.records.records]
    for a, b in zip(fast.records.records, slow.records.records):
        for key in a:
            assert a[key] == pytest.approx(b[key], rel=rel, abs=atol), key
    for p, q in zip(fast.model.parameters(), slow.model.parameters()):
        assert torch.allclose(p, q, atol=atol)
        assert torch.allclose(p.grad, q.grad, atol=atol)  # left in .grad, as backward() leaves them


@pytest.mark.parametrize("config", PATH_CONFIGS.values(), ids=PATH_CONFIGS.keys())
def test_fast_path_records_equal_the_autograd_path(config):
    assert_paths_agree(*_both_paths(config))


def test_divergence_is_caught_before_the_update_on_both_paths(monkeypatch):
    monkeypatch.setattr(divergence, "EPOCHS", 10**9)  # the non-finite path: the blow-up rule would stop it first
    config = Config(n_samples=200, epochs=200, lr=1000, optimizer="sgd", activation=("linear",), hidden=(16, 16))
    fast, slow = _both_paths(config)
    assert fast.diverged and slow.diverged and "no longer finite" in fast.message
    assert fast.epoch == slow.epoch


def test_lbfgs_keeps_the_autograd_path():
    assert Trainer(Config(n_samples=100, epochs=3, optimizer="lbfgs"))._backprop is None
