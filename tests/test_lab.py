import numpy as np
import pytest
import torch

from nnplay import lab
from nnplay.expr import ExprError


def test_mixed_vs_relu_start_from_the_same_weights_and_both_learn():
    configs = lab.mixed_vs_relu(epochs=300)
    curves, trainers = lab.compare(configs)
    plain, mixed = trainers.values()
    first = {name: t.snapshots.items[0].params for name, t in trainers.items()}
    for key in first["ReLU"]:
        assert torch.equal(first["ReLU"][key], first["ReLU + tanh in parallel"][key])
    assert "Mixed" in repr(mixed.model) and "Mixed" not in repr(plain.model)
    assert set(curves["run"]) == set(configs) and len(curves) == 600
    for t in trainers.values():
        losses = t.records.column("train_loss")
        assert losses[-1] < losses[0]


def test_mse_vs_quartic_and_predictions_have_flat_targets():
    _, trainers = lab.compare(lab.mse_vs_quartic(epochs=1000))
    scatter = lab.predicted_vs_true(trainers)
    assert set(scatter["run"]) == {"MSE", "custom: mean((y_pred - y)**4)"}
    for t in trainers.values():
        assert t.evaluate()["test_r2"] > 0.5
    n = len(next(iter(trainers.values())).data.X_test)
    assert len(scatter) == 2 * n and np.corrcoef(scatter["true"], scatter["predicted"])[0, 1] > 0.8


def test_activation_curve_has_the_autograd_derivative():
    frame = lab.activation_curve("x * sigmoid(x)", n=9)
    x = torch.linspace(-4, 4, 9)
    s = torch.sigmoid(x)
    derivative = frame[frame["curve"] == "derivative"]["value"].to_numpy()
    np.testing.assert_allclose(derivative, (s + x * s * (1 - s)).numpy(), atol=1e-5)


def test_loss_curve_is_the_loss_of_the_error():
    frame = lab.loss_curve("mean((y_pred - y)**4)", n=5)
    np.testing.assert_allclose(frame["loss"], frame["error"] ** 4, rtol=1e-5)
    with pytest.raises(ExprError):
        lab.loss_curve("open('x')")
