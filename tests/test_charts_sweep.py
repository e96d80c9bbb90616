"""The Compare and Sweep charts (nnplay/charts.py, the functions at its end): data in, spec out."""

import numpy as np
import pandas as pd
import pytest

from nnplay import charts


def rows(spec) -> list[dict]:
    return next(iter(spec["datasets"].values()))


def test_pair_loss_chart_overlays_a_and_b_train_solid_test_dashed():
    curves = pd.DataFrame(
        {
            "epoch": [0, 1, 0, 1, 0, 1],
            "loss": [0.7, 0.5, 0.7, 0.6, 0.8, None],
            "run": ["A", "A", "B", "B", "A", "A"],
            "split": ["train", "train", "train", "train", "test", "test"],
        }
    )
    spec = charts.pair_loss_chart(curves, log_scale=True).to_dict()
    colour = spec["encoding"]["color"]["scale"]
    assert colour == {"domain": ["A", "B"], "range": [charts.PALETTE[2], charts.PALETTE[3]]}
    assert spec["encoding"]["strokeDash"]["scale"]["domain"] == ["train", "test"]
    assert spec["encoding"]["y"]["scale"]["type"] == "log"
    assert len(rows(spec)) == 5  # the missing test loss is left out
    with_zero = curves.assign(loss=curves["loss"].fillna(0.0))
    assert "type" not in charts.pair_loss_chart(with_zero, log_scale=True).to_dict()["encoding"]["y"]["scale"]


def test_sweep_metric_chart_puts_loss_and_accuracy_against_the_knob():
    finals = pd.DataFrame(
        {
            "value": [0.01, 0.01, 0.1, 0.1],
            "split": ["train", "test"] * 2,
            "loss": [0.3, 0.35, 0.1, 0.2],
            "score": [0.9, 0.85, 0.97, 0.9],
        }
    )
    spec = charts.sweep_metric_chart(finals, knob_title="learning rate", log_x=True).to_dict()
    loss, score = spec["hconcat"]
    assert loss["encoding"]["x"]["scale"]["type"] == "log" and loss["encoding"]["x"]["title"] == "learning rate"
    assert loss["encoding"]["y"]["field"] == "loss" and score["encoding"]["y"]["field"] == "score"
    assert score["encoding"]["y"]["scale"]["domain"] == [0, 1] and score["encoding"]["y"]["title"] == "final accuracy"
    assert loss["mark"] == {"type": "line", "point": True}
    with_zero = charts.sweep_metric_chart(finals.replace(0.01, 0.0), knob_title="L2", log_x=True, metric="r2").to_dict()
    x_scale = with_zero["hconcat"][0]["encoding"]["x"]["scale"]
    assert x_scale == {"type": "symlog", "constant": 0.1}  # 0 has a place on the axis
    assert with_zero["hconcat"][1]["encoding"]["y"]["title"] == "final R²"
    linear = charts.sweep_metric_chart(finals, knob_title="seed").to_dict()
    assert "type" not in linear["hconcat"][0]["encoding"]["x"]["scale"]


def test_sweep_curves_chart_colours_each_value_in_order():
    labels = [str(v) for v in range(10)]
    curves = pd.DataFrame(
        {"epoch": [0, 1] * 10, "train_loss": [0.7, 0.4] * 10, "label": [x for x in labels for _ in range(2)]}
    )
    spec = charts.sweep_curves_chart(curves, knob_title="seed").to_dict()
    colour = spec["encoding"]["color"]
    assert colour["scale"]["domain"] == labels and colour["title"] == "seed"
    assert colour["scale"]["range"][:8] == charts.PALETTE and colour["scale"]["range"][8] == charts.PALETTE[0]
    dash = spec["encoding"]["strokeDash"]
    assert dash["field"] == "label" and dash["scale"]["domain"] == labels
    assert dash["scale"]["range"][7] == [1, 0] and dash["scale"]["range"][8] == [6, 3]  # past the palette: dashed
    assert len(rows(spec)) == 20


@pytest.mark.parametrize("n", [4, 16])
def test_the_sweep_legend_names_every_value_with_its_colour_and_dash(n):
    labels = [f"{v:g}" for v in np.geomspace(0.001, 1, n)]
    curves = pd.DataFrame({"epoch": [0, 1] * n, "train_loss": [0.7, 0.4] * n, "label": np.repeat(labels, 2)})
    spec = charts.sweep_curves_chart(curves, knob_title="learning rate").to_dict()
    colour, dash = spec["encoding"]["color"], spec["encoding"]["strokeDash"]
    # One legend: Vega-Lite merges the two when they share field, type, title and legend.
    assert (colour["field"], colour["type"], colour["title"]) == (dash["field"], dash["type"], dash["title"])
    assert colour["legend"] == dash["legend"] and colour["title"] == "learning rate"
    legend = colour["legend"]
    assert legend["symbolLimit"] >= n and legend["symbolType"] == "stroke"
    # Rows of the legend fit the chart's height (Streamlit cut a 16-row legend after 11 rows of 20 px).
    rows_shown = -(-n // legend.get("columns", 1))
    assert 20 * (rows_shown + 1) <= spec["height"]
    assert legend["labelLimit"] >= 8 * 7  # "0.00158489": about 7 px a character
