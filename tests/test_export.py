"""Exported scripts run on their own and end on the engine's final training loss."""

import ast
import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest

from nnplay.__main__ import main
from nnplay.config import PRESETS, Config
from nnplay.data import read_csv
from nnplay.export import ExportError, export, expression_code
from nnplay.train import Trainer

CASES = {
    "article": PRESETS["article"].replace(epochs=200),
    "default": Config(epochs=100),
    "article_mixed": PRESETS["article_mixed"].replace(epochs=200),
    "quartic_loss": PRESETS["article_regression"].replace(loss="custom", epochs=100),
    "blobs_sgd_nesterov_minibatch_dropout": Config(
        dataset="blobs", optimizer="sgd", momentum=0.9, nesterov=True, lr=0.05, batch_size=32, epochs=20, dropout=0.2
    ),
    "moons_lbfgs_l2_features": Config(
        dataset="moons", optimizer="lbfgs", lr=0.5, l2=0.001, epochs=30, features=("x1", "x2", "x1x2")
    ),
    "spiral_custom_activation_cosine": Config(
        dataset="spiral",
        activation=("custom", "relu+tanh"),
        mix="product",
        schedule="cosine",
        epochs=50,
        init="xavier",
        label_noise=0.1,
    ),
    "sine_huber_rmsprop_step_l1": Config(
        dataset="sine",
        loss="huber",
        optimizer="rmsprop",
        momentum=0.5,
        lr=0.01,
        schedule="step",
        step_size=10,
        epochs=40,
        l1=0.001,
    ),
    "xor_mse_kaiming_imbalanced": Config(
        dataset="xor", loss="mse", init="kaiming", activation=("relu",), epochs=50, batch_size=50, imbalance=0.3
    ),
    "gauss_kl_adamw": Config(dataset="gauss", loss="kl_div", optimizer="adamw", epochs=30, test_fraction=0.0),
}


def run_script(path):
    return subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("exported")
    paths = {}
    for name, config in CASES.items():
        paths[name] = folder / f"{name}.py"
        paths[name].write_text(export(config))
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = dict(zip(paths, pool.map(run_script, paths.values())))
    return results


@pytest.mark.parametrize("name", list(CASES))
def test_exported_script_reproduces_the_engines_final_loss(runs, name):
    result = runs[name]
    assert result.returncode == 0, result.stderr[-2000:]
    last = result.stdout.strip().splitlines()[-1]
    assert last.startswith("final train loss: ")
    engine = Trainer(CASES[name]).run().summary()["final"]["train_loss"]  # what the CLI reports
    assert float(last.split(": ")[1]) == pytest.approx(engine, rel=1e-5, abs=1e-7)


# The same flags through both commands: the script's last line is the number that
# `python -m nnplay train --json` reports under the same name, "final train loss".
CLI_FLAGS = {
    "one_epoch": ["--epochs", "1"],
    "300_epochs": ["--epochs", "300"],
    "article_minibatch_dropout": ["--preset", "article", "--epochs", "20", "--batch_size", "16", "--dropout", "0.3"],
    "spiral_sgd_momentum_l2": [
        "--dataset",
        "spiral",
        "--optimizer",
        "sgd",
        "--lr",
        "0.3",
        "--momentum",
        "0.9",
        "--l2",
        "0.001",
        "--epochs",
        "50",
    ],
}


def test_the_exported_script_ends_on_the_clis_final_train_loss(tmp_path, capsys):
    reported, paths = {}, {}
    for name, flags in CLI_FLAGS.items():
        assert main(["train", *flags, "--device", "cpu", "--json"]) == 0
        reported[name] = json.loads(capsys.readouterr().out)["final"]["train_loss"]
        assert main(["export", *flags]) == 0
        paths[name] = tmp_path / f"{name}.py"
        paths[name].write_text(capsys.readouterr().out)
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = dict(zip(paths, pool.map(run_script, paths.values())))
    for name, result in results.items():
        assert result.returncode == 0, result.stderr[-2000:]
        last = result.stdout.strip().splitlines()[-1]
        assert last.startswith("final train loss: "), name
        assert float(last.split(": ")[1]) == pytest.approx(reported[name], rel=1e-5, abs=1e-7), name


def test_script_is_readable_and_self_contained():
    script = export(PRESETS["article"])
    ast.parse(script)
    imports = {line.split()[1].split(".")[0] for line in script.splitlines() if line.startswith(("import ", "from "))}
    assert imports <= {"math", "numpy", "torch", "sklearn"}  # (and pandas, for a CSV)
    for words in (
        "class Network(nn.Module)",
        "optimizer.zero_grad()",
        "backward()",
        "optimizer.step()",
        "self.hidden1 = nn.Linear(5, 8)",
        "print(model)",
    ):
        assert words in script


def test_expressions_become_plain_torch():
    assert expression_code("mean((y_pred - y)**4)", ("y_pred", "y")) == (
        "torch.mean(torch.pow(torch.sub(y_pred, y), torch.tensor(4.0)))"
    )
    assert "torch.where(torch.gt(x, torch.tensor(0.0))" in expression_code("where(x > 0, x, 0.01*x)", ("x",))


def test_csv_needs_its_table():
    with pytest.raises(ExportError, match="needs its uploaded table"):
        export(Config(dataset="csv"))


@pytest.mark.parametrize("kind", ["classification", "regression"])
def test_csv_experiments_export_and_reproduce(tmp_path, kind):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(150, 3))
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    if kind == "classification":
        frame["label"] = np.where(X[:, 0] + X[:, 1] > 0, "yes", np.where(X[:, 2] > 0.5, "maybe", "no"))
        config = Config(dataset="csv", epochs=60, label_noise=0.1)
    else:
        frame["label"] = X[:, 0] * 2.5 - X[:, 1] + 0.1 * rng.normal(size=150)
        config = Config(dataset="csv", epochs=60, loss="huber")
    path = tmp_path / "table.csv"
    frame.to_csv(path, sep=";", index=False)
    table = read_csv(path)
    assert table.delimiter == ";"
    script = tmp_path / "script.py"
    script.write_text(export(config, table, str(path)))
    result = run_script(script)
    assert result.returncode == 0, result.stderr[-2000:]
    engine = Trainer(config, table).run().summary()["final"]["train_loss"]
    assert float(result.stdout.strip().splitlines()[-1].split(": ")[1]) == pytest.approx(engine, rel=1e-5, abs=1e-7)


def test_export_command(capsys):
    assert main(["export", "--preset", "article", "--epochs", "5"]) == 0
    out = capsys.readouterr().out
    assert "for epoch in range(5):" in out and out.rstrip().endswith('print(f"final train loss: {final_loss}")')
    with pytest.raises(SystemExit):
        main(["export", "--lr", "x"])


def test_export_command_with_a_csv(tmp_path, capsys):
    path = tmp_path / "t.csv"
    pd.DataFrame({"a": range(30), "y": [0, 1] * 15}).to_csv(path, index=False)
    assert main(["export", "--csv", str(path), "--epochs", "3"]) == 0
    assert f"pd.read_csv({str(path)!r}" in capsys.readouterr().out


def test_lesson_snippets_follow_the_head():
    from nnplay.export import drift_code, untrained_code

    assert "torch.sigmoid(output[:10])" in untrained_code("sigmoid")
    assert "torch.softmax(output[:10], dim=1)" in untrained_code("softmax")
    assert "print(output[:10])" in untrained_code("identity")
    assert "if epoch % 7 == 0:" in drift_code("sigmoid", 7, 100)
    for head in ("sigmoid", "softmax", "identity"):
        ast.parse(untrained_code(head))
