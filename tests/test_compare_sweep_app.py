"""The Compare and Sweep pages through AppTest: training, charts, the URL, bad input."""

import json
from urllib.parse import parse_qs, urlparse

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from nnplay import charts as chart_module
from nnplay.text import literal
from tests.test_app import APP, charts, ok
from tests.test_charts import painted

SMALL = {"autoplay": "0", "epochs": "60", "n_samples": "100"}


def open_page(page: str, **params) -> AppTest:
    """A new session that lands on ``page`` with ``params`` in its URL (as a shared link would)."""
    at = AppTest.from_file(APP, default_timeout=60)
    for k, v in {**SMALL, **params}.items():
        at.query_params[k] = v
    ok(at.run())  # the Playground first: AppTest cannot open a registered page before a run
    at.switch_page(page)
    for k, v in params.items():  # as in the browser's URL when the page opens
        at.query_params[k] = v
    return ok(at.run())


def shown_boundary(chart, shape) -> np.ndarray:
    """The boundary map a chart shows: its cells painted, as palette indices (nnplay.charts.heatmap_cells)."""
    _spec, frames = chart
    return painted(next(f for f in frames.values() if "x2" in f and "c" in f), shape)


def boundary_of(trainer, epoch=None) -> np.ndarray:
    """What the trainer's own boundary at ``epoch`` looks like, coloured as the charts colour it."""
    index, _palette = chart_module.colour_levels(trainer.boundary(epoch=epoch).values, trainer.task)
    return index


def test_both_pages_render_with_the_default_config():
    for page in ("pages/compare.py", "pages/sweep.py"):
        at = AppTest.from_file(APP, default_timeout=60)
        at.query_params["autoplay"] = "0"
        ok(at.run())
        at.switch_page(page)
        ok(at.run())
        if page == "pages/compare.py":  # untrained, both boundaries already show the starting point
            assert (
                at.title[0].value == "Compare" and charts(at, "compare_boundary_a") and charts(at, "compare_boundary_b")
            )
        else:
            assert at.title[0].value == "Sweep" and not at.button(key="sweep_run").disabled


def test_compare_trains_a_and_b_and_shows_them_side_by_side():
    at = open_page("pages/compare.py")
    assert at.session_state["compare_b"] == {"lr": 0.1}  # B starts one learning rate up from A's 0.03
    at.button(key="compare_train").click()
    ok(at.run())
    ta, tb, _ = at.session_state["compare_pair"]
    assert ta.epoch == tb.epoch == 60 and ta.config.lr == 0.03 and tb.config.lr == 0.1
    for key in ("compare_boundary_a", "compare_boundary_b"):
        ((spec, _),) = charts(at, key)
        assert "at epoch 60" in json.dumps(spec["title"])
    ((_spec, frames),) = charts(at, "compare_loss")
    curves = next(iter(frames.values()))
    assert set(curves["run"]) == {"A", "B"} and set(curves["split"]) == {"train", "test"}
    assert len(curves[(curves["run"] == "B") & (curves["split"] == "train")]) == 60
    (slider,) = [s for s in at.select_slider if s.key.startswith("compare_when")]
    assert slider.value == 60 and slider.options[0] == "0"
    slider.set_value(0)
    ok(at.run())
    for key in ("compare_boundary_a", "compare_boundary_b"):
        assert "at epoch 0" in json.dumps(charts(at, key)[0][0]["title"])
    table = at.dataframe[0].value
    assert list(table.index) == ["A", "B"] and list(table["epochs"]) == [60, 60]
    assert {"train loss", "test loss", "train accuracy", "test accuracy", "seconds"} <= set(table.columns)
    for label, t in (("A", ta), ("B", tb)):  # each row, curve and picture is its own run's
        for metric, value in t.evaluate().items():
            assert table.loc[label, metric.replace("_", " ")] == pytest.approx(value, abs=1e-4), (label, metric)
        for split in ("train", "test"):
            shown = curves[(curves["run"] == label) & (curves["split"] == split)]
            assert shown["loss"].tolist() == pytest.approx(t.records.column(f"{split}_loss")), (label, split)
    assert not np.array_equal(boundary_of(ta), boundary_of(tb))  # so a swap would show
    next(s for s in at.select_slider if s.key.startswith("compare_when")).set_value(60)
    ok(at.run())
    for label, t in (("A", ta), ("B", tb)):
        expected = boundary_of(t, 60)
        shown = shown_boundary(charts(at, f"compare_boundary_{label.lower()}")[0], expected.shape)
        assert np.array_equal(shown, expected)


def test_b_travels_in_the_url_and_a_new_change_replaces_it():
    at = open_page("pages/compare.py", b_lr="0.3")
    assert at.session_state["compare_b"] == {"lr": 0.3} and at.query_params["b_lr"] == "0.3"
    said = literal("learning rate: 0.03 → 0.3")
    assert any(said in c.value and "same initial weights" in c.value for c in at.caption)
    at.selectbox(key="b_field").set_value("hidden")
    ok(at.run())
    assert any("B is the same as A" in i.value for i in at.info) and "b_lr" not in at.query_params
    at.text_input(key="b_value_hidden").set_value("16")
    ok(at.run())
    assert at.query_params["b_hidden"] == "16" and at.session_state["compare_pair"][1].config.hidden == (16,)
    assert any("architecture differs" in c.value for c in at.caption)
    at.text_input(key="b_value_hidden").set_value("banana")
    ok(at.run())
    assert any(literal("b_hidden: expected a number") in e.value for e in at.error)
    assert at.query_params["b_hidden"] == "16"  # the bad value changed nothing


def test_compare_names_fields_and_values_as_the_sidebar_does():
    at = open_page("pages/compare.py", b_optimizer="sgd", b_features="x1,x2,x1x2")
    sidebar = {w.key: w for w in (*at.sidebar.selectbox, *at.sidebar.select_slider, *at.sidebar.multiselect)}
    fields = at.selectbox(key="b_field")
    assert fields.value == "optimizer"
    for name in ("optimizer", "lr", "l2", "features"):
        assert fields.format_func(name) == sidebar[f"w_{name}"].label
        assert fields.format_func(name) in fields.options
    assert "learning rate" in fields.options and "lr" not in fields.options
    optimizers = sidebar["w_optimizer"].options
    assert at.selectbox(key="b_value_optimizer").options == optimizers and {"Adam", "SGD"} <= set(optimizers)
    features = sidebar["w_features"].format_func
    said = literal(
        f"B differs in optimizer: Adam → SGD, input features: {features('x1')}, {features('x2')} → "
        f"{features('x1')}, {features('x2')}, {features('x1x2')}."
    )
    assert any(c.value.startswith(said) for c in at.caption), [c.value for c in at.caption]


def test_each_kind_of_field_has_a_widget_for_bs_value():
    at = open_page("pages/compare.py")
    for field, widget, value, query in [
        ("optimizer", "selectbox", "sgd", "sgd"),
        ("nesterov", "checkbox", True, None),  # Nesterov needs SGD with momentum: refused, said
        ("features", "text_input", "x1,x2,x1x2", "x1,x2,x1x2"),
        ("activation", "text_input", "relu+tanh", "relu+tanh"),
        ("l2", "select_slider", 0.01, "0.01"),
        ("n_samples", "text_input", "150", "150"),
        ("loss_expr", "text_input", "mean(abs(y_pred - y))", "mean(abs(y_pred - y))"),
    ]:
        at.selectbox(key="b_field").set_value(field)
        ok(at.run())
        getattr(at, widget)(key=f"b_value_{field}").set_value(value)
        ok(at.run())
        if query is None:
            assert any(literal(f"b_{field}: Nesterov needs optimizer sgd") in e.value for e in at.error)
            assert not [k for k in at.query_params if k.startswith("b_")]
        else:
            assert at.query_params[f"b_{field}"] == query, field
            b = at.session_state["compare_pair"][1].config
            assert getattr(b, field) != getattr(at.session_state["config"], field), field


def test_a_bad_b_param_warns_and_b_keeps_as_value():
    at = open_page("pages/compare.py", b_lr="banana", b_epochs="50000")
    warnings = " ".join(w.value for w in at.warning)
    assert literal("b_lr: expected a number, not 'banana'; B keeps A's value") in warnings
    assert literal("b_epochs: this server allows at most") in warnings  # a server limit, as for A
    assert not [k for k in at.query_params if k.startswith("b_")] and at.session_state["compare_b"] == {}
    assert any("B is the same as A" in i.value for i in at.info)
    at.button(key="compare_train").click()
    ok(at.run())
    assert charts(at, "compare_loss")


def test_sweep_over_three_learning_rates_trains_together_and_links_each_one():
    at = open_page("pages/sweep.py")
    at.text_input(key="sweep_values").set_value("0.01, 0.1, 1")
    ok(at.run())
    at.button(key="sweep_run").click()
    ok(at.run())
    result = at.session_state["sweep_result"]
    assert result.path == "batched" and [r.value for r in result.results] == [0.01, 0.1, 1.0]
    assert any("3 networks trained together in one batched pass" in c.value for c in at.caption)
    ((spec, frames),) = charts(at, "sweep_knob_chart")
    assert spec["hconcat"][0]["encoding"]["x"]["scale"]["type"] == "log"
    finals = next(iter(frames.values()))
    assert sorted(set(finals["value"])) == [0.01, 0.1, 1.0]
    ((spec, frames),) = charts(at, "sweep_curves")
    assert spec["encoding"]["color"]["scale"]["domain"] == ["0.01", "0.1", "1.0"]
    knob = at.selectbox(key="sweep_knob")
    assert spec["encoding"]["color"]["title"] == knob.format_func(knob.value) == "learning rate"  # not "lr"
    curves = next(iter(frames.values()))
    assert len(curves) == 3 * 60
    boundaries = charts(at, "sweep_boundaries")
    assert len(boundaries) == 3
    for r, boundary in zip(result.results, boundaries):  # each run's numbers and picture are its own
        evaluated = r.trainer.evaluate()  # the run's final weights, measured again
        for split in ("train", "test"):
            row = finals[(finals["value"] == r.value) & (finals["split"] == split)]
            assert row["loss"].tolist() == pytest.approx([r.final[f"{split}_loss"]])
            assert row["score"].tolist() == pytest.approx([r.final[f"{split}_accuracy"]])
            assert r.final[f"{split}_loss"] == pytest.approx(evaluated[f"{split}_loss"], rel=1e-5)
        shown = curves[curves["label"] == str(r.value)]
        assert shown["train_loss"].tolist() == pytest.approx(r.history["train_loss"])
        expected = boundary_of(r.trainer)
        assert np.array_equal(shown_boundary(boundary, expected.shape), expected)
    assert len({boundary_of(r.trainer).tobytes() for r in result.results}) == 3  # a mix-up would show
    links = [(b.proto.label, b.proto.url) for b in at.get("link_button")]
    assert [label for label, _ in links] == ["lr = 0.01 ↗", "lr = 0.1 ↗", "lr = 1.0 ↗"]
    query = parse_qs(urlparse(links[1][1]).query)
    assert urlparse(links[1][1]).path == "/" and query == {"lr": ["0.1"], "epochs": ["60"], "n_samples": ["100"]}
    at.button(key="sweep_open_1").click()
    ok(at.run())
    assert at.session_state["config"].lr == 0.1 and at.query_params["lr"] == "0.1"
    assert at.session_state["trainer"].config.lr == 0.1  # the Playground took it


def test_a_width_sweep_trains_one_after_another_and_says_why():
    at = open_page("pages/sweep.py")
    at.selectbox(key="sweep_knob").set_value("width")
    ok(at.run())
    assert at.text_input(key="sweep_values").value == "2, 4, 8, 16"
    at.text_input(key="sweep_values").set_value("2, 5")
    at.button(key="sweep_run").click()
    ok(at.run())
    assert any("one after another (the widths change the weight shapes)" in c.value for c in at.caption)
    assert [r.config.hidden for r in at.session_state["sweep_result"].results] == [(2, 2), (5, 5)]


@pytest.mark.parametrize(
    "text, words",
    [
        ("0.1, banana", "lr: expected a number, not 'banana'"),
        (", ".join(["0.1"] * 20), "lr: at most 16 values at once, got 20"),
        ("0.1, 0.1", "lr: 0.1 is given twice"),
    ],
    ids=["not-a-number", "too-many", "twice"],
)
def test_a_bad_value_list_says_why_and_trains_nothing(text, words):
    at = open_page("pages/sweep.py")
    at.text_input(key="sweep_values").set_value(text)
    ok(at.run())
    assert any(literal(words) in e.value for e in at.error)
    assert at.button(key="sweep_run").disabled and "sweep_result" not in at.session_state
    at.text_input(key="sweep_values").set_value("0.1")  # mended, it runs
    ok(at.run())
    at.button(key="sweep_run").click()
    ok(at.run())
    assert len(at.session_state["sweep_result"].results) == 1
