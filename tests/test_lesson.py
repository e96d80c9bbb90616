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
