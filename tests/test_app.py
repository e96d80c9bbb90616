"""The app, driven through Streamlit's AppTest (no browser)."""

from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[1] / "app.py")


def test_app_renders_and_trains_the_article_network():
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    assert "nnplay" in at.title[0].value
    at.selectbox(key="preset").set_value("article").run()
    at.button(key="train").click().run()
    assert not at.exception
    assert "(hidden1): Linear(in_features=5, out_features=8, bias=True)" in at.code[0].value
    loss = float(at.metric[0].value)
    assert 0 < loss < 0.3
    assert at.get_by_key("loss") is not None
