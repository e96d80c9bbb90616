import json
import subprocess
import sys

import pandas as pd
import pytest

from nnplay.__main__ import main


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "nnplay", *args], capture_output=True, text=True, timeout=120)


def test_train_json_summary():
    result = run_cli("train", "--preset", "article", "--epochs", "200", "--json")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert {"config", "device", "epochs", "seconds", "epochs_per_second", "diverged", "final"} <= set(out)
    assert out["config"]["dataset"] == "make_classification" and out["config"]["epochs"] == 200
    assert out["epochs"] == 200 and out["diverged"] is False and out["device"] == "cpu"
    assert set(out["final"]) == {"train_loss", "test_loss", "train_accuracy", "test_accuracy"}
    assert out["final"]["train_loss"] < 0.69 and out["final"]["test_loss"] is None  # the article has no test set


def test_flags_are_the_url_names(capsys):
    assert (
        main(
            [
                "train",
                "--dataset",
                "sine",
                "--hidden",
                "6",
                "--activation",
                "relu+tanh",
                "--epochs",
                "20",
                "--lr",
                "0.01",
                "--json",
            ]
        )
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert out["config"]["hidden"] == [6] and out["config"]["activation"] == ["relu+tanh"]
    assert set(out["final"]) == {"train_loss", "test_loss", "train_r2", "test_r2"}


def test_text_summary_prints_the_model(capsys):
    assert main(["train", "--epochs", "5"]) == 0
    out = capsys.readouterr().out
    assert "(hidden1): Linear" in out and "trainable parameters" in out and "train_loss" in out


def test_bad_flags_exit_2_naming_the_flag(capsys):
    no_cuda = not __import__("torch").cuda.is_available()
    for args, words in (
        (["--lr", "abc"], "argument --lr: expected a number"),
        (["--lr", "-1"], "argument --lr:"),
        (["--hidden", "8,x"], "argument --hidden:"),
        (["--nonsense", "1"], "unrecognized arguments: --nonsense"),
        (["--dataset", "blobs", "--loss", "bce"], "argument --loss: loss 'bce' does not fit"),
        (["--device", "cuda"] if no_cuda else ["--device", "tpu"], "device"),
        (["--dataset", "csv"], "needs --csv FILE"),
        (["--target", "y"], "argument --target: only with --csv FILE"),
    ):
        with pytest.raises(SystemExit) as exit_:
            code = main(["train", *args])
            raise SystemExit(code)
        assert exit_.value.code == 2, args
        assert words in capsys.readouterr().err, args


def test_a_bad_flag_exits_2_from_the_shell():
    result = run_cli("train", "--epochs", "0")
    assert result.returncode == 2 and "argument --epochs: 0 is outside the allowed range 1 to 100000" in result.stderr


def test_divergence_exits_1_with_the_message(capsys):
    code = main(["train", "--dataset", "plane", "--optimizer", "sgd", "--lr", "50", "--activation", "linear", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 1 and out["diverged"] is True and "smaller learning rate" in out["message"]


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_a_blown_up_run_exits_1_and_says_so(capsys, activation):
    # The run: a finite loss hundreds of times its start used to end "done" with exit code 0.
    args = ["--dataset", "circle", "--optimizer", "sgd", "--lr", "1000", "--epochs", "50", "--activation", activation]
    code = main(["train", *args, "--device", "cpu", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 1 and out["status"] == "diverged" and out["diverged"] is True
    assert "blew up" in out["message"] and "smaller learning rate" in out["message"] and out["epochs"] < 50


def test_help_documents_the_exit_status():
    result = run_cli("train", "--help")
    text = " ".join(result.stdout.split())
    assert result.returncode == 0 and "exit status: 0 when the run trained" in text
    assert "1 when it diverged" in text and "blew up" in text and "2 for a bad flag or value" in text


def test_csv_from_the_command_line(tmp_path, capsys):
    path = tmp_path / "table.csv"
    pd.DataFrame({"a": range(40), "b": [i % 7 for i in range(40)], "y": [i % 2 for i in range(40)]}).to_csv(
        path, index=False
    )
    assert main(["train", "--csv", str(path), "--epochs", "5", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["task"] == "binary"
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"a,b\n1,x\n")
    assert main(["train", "--csv", str(bad), "--target", "a"]) == 2
    assert "not numeric: 'b'" in capsys.readouterr().err
