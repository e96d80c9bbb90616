import pytest
import torch
import torch.nn.functional as F
from torch import nn

from nnplay.data import BINARY, MULTICLASS, REGRESSION
from nnplay.losses import AUTO, LOSSES, LossError, resolve


def test_bce_equals_the_articles_bceloss_on_sigmoid_outputs():
    logits = torch.randn(50, 1)
    y = torch.randint(0, 2, (50,)).float()
    spec = LOSSES["bce"]
    ours = spec.fn(logits, y, BINARY)
    article = nn.BCELoss()(torch.sigmoid(logits).view(-1), y)
    assert torch.allclose(ours, article, atol=1e-6)


def test_bce_stays_finite_where_sigmoid_saturates():
    logits = torch.tensor([[200.0], [-200.0]])
    assert torch.isfinite(LOSSES["bce"].fn(logits, torch.tensor([0.0, 1.0]), BINARY))


def test_class_losses_agree_on_one_hot_targets():
    out = torch.randn(30, 4)
    y = torch.randint(0, 4, (30,))
    ce = LOSSES["cross_entropy"].fn(out, y, MULTICLASS)
    assert torch.allclose(LOSSES["nll"].fn(out, y, MULTICLASS), ce)
    assert torch.allclose(LOSSES["kl_div"].fn(out, y, MULTICLASS), ce, atol=1e-5)  # entropy of one-hot is 0


def test_pointwise_losses_on_each_task():
    out = torch.randn(10, 1)
    y = torch.randn(10)
    assert torch.allclose(LOSSES["mse"].fn(out, y, REGRESSION), F.mse_loss(out[:, 0], y))
    assert torch.allclose(LOSSES["mae"].fn(out, y, REGRESSION), (out[:, 0] - y).abs().mean())
    yb = (y > 0).float()
    assert torch.allclose(LOSSES["mse"].fn(out, yb, BINARY), F.mse_loss(torch.sigmoid(out[:, 0]), yb))
    out3 = torch.randn(10, 3)
    y3 = torch.randint(0, 3, (10,))
    expected = F.smooth_l1_loss(torch.softmax(out3, 1), F.one_hot(y3, 3).float())
    assert torch.allclose(LOSSES["huber"].fn(out3, y3, MULTICLASS), expected)


def test_no_broadcast_between_n_by_1_and_n():
    out, y = torch.zeros(5, 1), torch.arange(5.0)
    assert LOSSES["mse"].fn(out, y, REGRESSION).item() == pytest.approx((torch.arange(5.0) ** 2).mean().item())


@pytest.mark.parametrize("task", [BINARY, MULTICLASS, REGRESSION])
def test_auto_and_compatibility(task):
    key, spec = resolve("auto", task)
    assert key == AUTO[task] and task in spec.tasks
    for name, loss in LOSSES.items():
        if task in loss.tasks:
            assert resolve(name, task)[0] == name
        else:
            with pytest.raises(LossError, match="does not fit"):
                resolve(name, task)


def test_heads_and_targets():
    assert LOSSES["bce"].outputs(BINARY, 2) == (1, "sigmoid")
    assert LOSSES["cross_entropy"].outputs(BINARY, 2) == (2, "softmax")
    assert LOSSES["mse"].outputs(REGRESSION, 1) == (1, "identity")
    assert LOSSES["cross_entropy"].prepare([0, 1], BINARY).dtype == torch.long
    assert LOSSES["bce"].prepare([0, 1], BINARY).dtype == torch.float32
    with pytest.raises(LossError, match="unknown loss"):
        resolve("quartic", BINARY)
