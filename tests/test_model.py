import pytest
import torch
from torch import nn

from nnplay.model import ACTIVATIONS, INITS, MIXES, Dropout, Mixed, Network, make_activation, parse_activation


def test_print_model_reads_like_the_article():
    text = repr(Network(5, (8, 4), ("relu",), 1, "sigmoid"))
    for line in (
        "(hidden1): Linear(in_features=5, out_features=8, bias=True)",
        "(hidden2): Linear(in_features=8, out_features=4, bias=True)",
        "(act1): ReLU()",
        "(output): Linear(in_features=4, out_features=1, bias=True)",
        "(head): Sigmoid()",
        "# 89 trainable parameters",
    ):
        assert line in text


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_every_activation_runs_and_passes_gradients(name):
    x = torch.linspace(-3, 3, 13, requires_grad=True)
    y = make_activation(name)(x)
    assert y.shape == x.shape and torch.isfinite(y).all()
    y.sum().backward()
    assert torch.isfinite(x.grad).all()


def test_known_activation_values():
    x = torch.tensor([-1.0, 0.5])
    assert torch.equal(make_activation("sine")(x), torch.sin(x))
    assert torch.equal(make_activation("linear")(x), x)
    assert torch.allclose(make_activation("leaky_relu")(x), torch.tensor([-0.01, 0.5]))


def test_mixed_block_is_the_articles_relu_plus_tanh():
    x = torch.randn(20, 8)
    mixed = make_activation("relu+tanh")
    assert isinstance(mixed, Mixed)
    assert torch.allclose(mixed(x), torch.relu(x) + torch.tanh(x))
    assert torch.allclose(make_activation("relu+tanh", "product")(x), torch.relu(x) * torch.tanh(x))
    assert torch.allclose(make_activation("gelu+sigmoid", "mean")(x), (nn.GELU()(x) + torch.sigmoid(x)) / 2)
    assert set(MIXES) >= {"sum", "mean", "product", "max"}


def test_parse_activation_errors():
    assert parse_activation("relu + tanh") == ("relu", "tanh")
    with pytest.raises(ValueError, match="unknown activation 'bogus'"):
        parse_activation("relu+bogus")


@pytest.mark.parametrize("hidden", [(), (1,), (8, 4), (256,) * 8])
def test_architecture_sizes(hidden):
    net = Network(3, hidden, ("tanh",), 2, "softmax")
    out, states = net.forward_hidden(torch.randn(7, 3))
    assert out.shape == (7, 2) and [s.shape[1] for s in states] == list(hidden)
    assert len(net.linears) == len(hidden) + 1
    expected = sum(a * b + b for a, b in zip((3, *hidden), (*hidden, 2)))
    assert net.n_parameters() == expected


def test_heads():
    x = torch.randn(4, 2)
    p = Network(2, (3,), ("relu",), 1, "sigmoid").predict(x)
    assert ((p > 0) & (p < 1)).all()
    probs = Network(2, (3,), ("relu",), 3, "softmax").predict(x)
    assert torch.allclose(probs.sum(1), torch.ones(4))
    reg = Network(2, (3,), ("relu",), 1, "identity")
    assert torch.equal(reg.predict(x), reg(x))


def test_one_activation_per_layer():
    net = Network(2, (4, 4), ("relu", "tanh+sine"), 1)
    assert net.activation_names == ("relu", "tanh+sine") and isinstance(net.act2, Mixed)
    with pytest.raises(ValueError, match="one per hidden layer"):
        Network(2, (4, 4, 4), ("relu", "tanh"), 1)


@pytest.mark.parametrize("scheme", INITS)
def test_same_seed_same_weights(scheme):
    def weights(seed):
        net = Network(2, (8, 4), ("relu",), 1)
        net.initialise(scheme, torch.Generator().manual_seed(seed))
        return torch.cat([p.flatten() for p in net.parameters()])

    assert torch.equal(weights(1), weights(1))
    if scheme == "zeros":
        assert weights(1).abs().sum() == 0
    else:
        assert not torch.equal(weights(1), weights(2))


def test_initialisation_ignores_the_global_seed():
    net = Network(2, (8,), ("relu",), 1)
    torch.manual_seed(0)
    net.initialise("default", torch.Generator().manual_seed(5))
    a = net.hidden1.weight.clone()
    torch.manual_seed(123)
    net.initialise("default", torch.Generator().manual_seed(5))
    assert torch.equal(a, net.hidden1.weight)


def test_default_init_matches_nn_linear_distribution():
    net = Network(100, (50,), ("relu",), 1)
    net.initialise("default", torch.Generator().manual_seed(0))
    bound = 1 / 100**0.5
    assert net.hidden1.weight.abs().max() <= bound and net.hidden1.weight.abs().max() > 0.9 * bound
    with pytest.raises(ValueError, match="unknown init"):
        net.initialise("orthogonal")


def test_dropout_uses_its_own_generator_and_only_in_training():
    x = torch.ones(1000)
    a = Dropout(0.5, torch.Generator().manual_seed(1))(x)
    torch.manual_seed(99)
    b = Dropout(0.5, torch.Generator().manual_seed(1))(x)
    assert torch.equal(a, b)
    assert 0.4 < (a == 0).float().mean() < 0.6 and set(a.unique().tolist()) == {0.0, 2.0}
    drop = Dropout(0.5)
    drop.eval()
    assert torch.equal(drop(x), x)


def test_networks_of_one_architecture_stack_for_one_vectorised_pass():
    """Several models of one architecture train in one batched pass by stacking their weights
    (torch.func): the basis of sweeps and comparisons."""
    import copy

    from torch.func import functional_call, grad, stack_module_state, vmap

    nets = []
    for seed in range(4):
        net = Network(2, (8, 4), ("relu+tanh",), 1)
        net.initialise("default", torch.Generator().manual_seed(seed))
        nets.append(net)
    params, buffers = stack_module_state(nets)
    base = copy.deepcopy(nets[0]).to("meta")
    x, y = torch.randn(30, 2), torch.randint(0, 2, (30,)).float()

    def loss(p, b):
        return nn.functional.binary_cross_entropy_with_logits(functional_call(base, (p, b), (x,))[:, 0], y)

    grads = vmap(grad(loss))(params, buffers)
    for i, net in enumerate(nets):
        net.zero_grad()
        nn.functional.binary_cross_entropy_with_logits(net(x)[:, 0], y).backward()
        assert torch.allclose(grads["hidden1.weight"][i], net.hidden1.weight.grad, atol=1e-6)
        assert torch.allclose(grads["output.bias"][i], net.output.bias.grad, atol=1e-6)
