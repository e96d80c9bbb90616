"""The Lesson page through AppTest: what it shows must be what its code does."""

import pytest

from tests.test_app import app, ok


def lesson(article: bool = True, **params):
    at = ok(app(autoplay="0", **params))
    at.switch_page("pages/lesson.py")
    ok(at.run())
    if article:
        at.button(key="lesson_article").click()
        ok(at.run())
    return at


def test_one_sgd_step_moves_each_weight_by_minus_lr_times_its_gradient():
    at = lesson()
    config = at.session_state["config"]
    assert config.optimizer == "sgd" and config.momentum == 0
    table = at.dataframe[0].value
    assert (table["gradient"].abs() > 1e-3).any()
    moved = table["weight after"] - table["weight before"]
    assert moved.tolist() == pytest.approx((-config.lr * table["gradient"]).tolist(), rel=1e-5, abs=1e-6)


def test_lesson_walks_the_article_with_generated_code():
    at = lesson()
    assert at.session_state["config"].dataset == "make_classification"
    headers = [h.value for h in at.header]
    assert len(headers) == 8 and headers[0] == "1. The data" and headers[-1] == "8. A custom loss"
    codes = "\n".join(c.value for c in at.code)
    assert "self.hidden1 = nn.Linear(5, 8)" in codes and "optim.SGD(model.parameters(), lr=0.1" in codes
    assert "torch.pow(torch.sub(y_pred, y), torch.tensor(4.0))" in codes
    assert "(hidden1): Linear(in_features=5, out_features=8, bias=True)" in codes
    assert "print(torch.sigmoid(output[:10]))" in codes and "history.append(torch.sigmoid(model(X_train)))" in codes


def run(code: str, namespace: dict) -> str:
    """Run a shown code block in the namespace the blocks before it built; return what it printed."""
    out = []
    namespace["print"] = lambda *args, sep=" ", end="\n": out.append(sep.join(map(str, args)) + end)
    exec(code, namespace)
    return "".join(out).rstrip("\n")


@pytest.mark.parametrize(
    "article, params",
    [
        (True, {}),
        (False, {"dataset": "blobs", "epochs": "5"}),
        (False, {"dataset": "make_regression", "epochs": "5"}),
        (False, {"dataset": "sine", "epochs": "5"}),
        (False, {"dataset": "xor", "activation": "relu+tanh,custom", "dropout": "0.2", "epochs": "5"}),
    ],
    ids=["article", "blobs", "regression", "sine", "dropout-mixed-custom"],
)
def test_each_shown_code_block_prints_what_the_page_shows_under_it(article, params):
    """The blocks run in order as one script, as a reader would paste them; every printout the
    page shows under a block is what that block prints (an independent forward pass: the code's
    own data, weights and loss, not the engine's)."""
    at = lesson(article, **params)
    blocks = list(at.code)
    namespace: dict = {}
    compared = 0
    for block, below in zip(blocks, [*blocks[1:], None]):
        if block.language != "python":
            continue
        printed = run(block.value, namespace)
        if below is not None and below.language == "text":
            assert printed == below.value.rstrip("\n"), block.value
            compared += 1
    assert compared >= 2  # the model (step 2) and the untrained outputs (step 3) at least
