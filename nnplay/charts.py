"""Charts as pure functions: data in, an ``alt.Chart`` or a Figure out (testable with ``to_dict()``, no Streamlit).

One colour-blind-safe palette (Okabe–Ito) serves every chart; the diverging boundary map runs
from the first class's orange to the second's blue through a neutral grey that reads on light and
dark themes alike.
"""

from __future__ import annotations

import base64
import functools
import io
import itertools
from typing import NamedTuple

import altair as alt
import numpy as np
import pandas as pd
import pyarrow as pa
from PIL import Image

# Okabe & Ito (2008): distinguishable under the common colour-vision deficiencies.
PALETTE = ["#E69F00", "#0072B2", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
TRAIN, TEST = "#4D4D4D", "#999999"
NEUTRAL = (0.55, 0.55, 0.55)
SIZE = 360  # pixels per side of the square plots
LEVELS = 65  # shades of the diverging map (odd: the undecided middle is one of them)
STRENGTHS = 16  # shades of each class's colour on a multi-class map
CANVAS = {"embedOptions": {"renderer": "canvas"}}  # a chart's usermeta: drawn on a canvas, not as SVG
LIGHTEN = 0.15  # share of white mixed into a map, so the data points on it stand out


class Figure(NamedTuple):
    """A chart as what changes from frame to frame, ``data`` (DataFrames by name), and what does not,
    ``spec`` (Vega-Lite that refers to its data by those names). A look's spec is built once and
    cached, so a frame of a live chart costs its data alone: building and converting the Altair
    chart anew was 30-50 ms of server CPU a frame. The browser, seeing the same spec, swaps the data
    in place."""

    spec: dict
    data: dict[str, pd.DataFrame]

    def to_dict(self) -> dict:
        """The whole chart, data included, as Altair's ``to_dict`` gives it."""
        records = {name: frame.to_dict("records") for name, frame in self.data.items()}
        return {**self.spec, "datasets": records}

    def wire(self) -> dict:
        """The chart as a page sends it: the spec, and each data set as Arrow IPC bytes (Streamlit
        passes bytes through as they are)."""
        return {**self.spec, "datasets": {name: arrow_bytes(frame) for name, frame in self.data.items()}}


def arrow_bytes(frame: pd.DataFrame) -> bytes:
    """A frame as Arrow IPC bytes, exactly as ``pa.Table.from_pandas(frame, preserve_index=False)``
    writes them. The schema (with its pandas metadata) is worked out once per set of columns and
    dtypes, and each column handed to Arrow as it is: pandas' whole-frame conversion was half of a
    Playground frame's CPU."""
    try:
        schema = _arrow_schema(tuple(frame.columns), tuple(frame.dtypes), frame)
        arrays = getattr(frame, "_iter_column_arrays", None)  # pandas' own, without a Series per column
        columns = arrays() if arrays is not None else (frame[c].array for c in frame)
        table = pa.Table.from_arrays([_arrow_column(v, f.type) for v, f in zip(columns, schema)], schema=schema)
    except (pa.ArrowException, TypeError, ValueError):  # a column unlike the first frame's: the slow way
        table = pa.Table.from_pandas(frame, preserve_index=False)
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue()


@functools.lru_cache(maxsize=256)
def _category_type(names: tuple) -> pd.CategoricalDtype:
    return pd.CategoricalDtype(list(names))


def _categorical(codes: np.ndarray, names: tuple) -> pd.Categorical:
    """A categorical from its codes, its categories checked once per set of names (each frame's
    check was a tenth of the frame)."""
    return pd.Categorical.from_codes(codes, dtype=_category_type(names))


_SCHEMAS: dict[tuple, pa.Schema] = {}


def _arrow_schema(columns: tuple, dtypes: tuple, frame: pd.DataFrame) -> pa.Schema:
    key = (columns, dtypes)
    schema = _SCHEMAS.get(key)
    if schema is None:
        if len(_SCHEMAS) > 256:
            _SCHEMAS.clear()
        schema = _SCHEMAS[key] = pa.Schema.from_pandas(frame, preserve_index=False)
    return schema


def _arrow_column(values, kind: pa.DataType) -> pa.Array:
    """A column's values (a numpy array or a pandas extension array) as Arrow, NaN as null as pandas'
    conversion has it."""
    if isinstance(values, pd.Categorical):
        categories = values.categories.array
        categories = categories if hasattr(categories, "__arrow_array__") else np.asarray(categories)
        return pa.DictionaryArray.from_arrays(
            pa.array(values.codes, type=kind.index_type), pa.array(categories, type=kind.value_type)
        )
    if not hasattr(values, "__arrow_array__"):
        values = np.asarray(values)
    return pa.array(values, type=kind, from_pandas=True)


def _look(build):
    """A figure's spec builder, cached by its (hashable) arguments: an Altair chart on named data,
    converted (and checked against the Vega-Lite schema) once per look. Callers share the dict and
    must not change it."""

    @functools.lru_cache(maxsize=256)
    def cached(*args, **kwargs) -> dict:
        return build(*args, **kwargs).to_dict()

    return functools.wraps(build)(cached)


def _tips(live: bool, *tips):
    """A live chart's tooltips: none while it plays. The browser formats every tooltip of every
    item each frame (a loss curve of 1000 epochs: thousands of number formats), which was most of a
    frame's work there; paused or done, the chart has them."""
    return alt.Undefined if live else list(tips)


def _hex(rgb) -> str:
    return "#" + "".join(f"{round(v * 255):02x}" for v in rgb)


def _rgb(hex_colour: str) -> np.ndarray:
    return np.array([int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)])


def class_colours(n: int) -> list[str]:
    return [PALETTE[i % len(PALETTE)] for i in range(n)]


def png_bytes(rgb: np.ndarray, alpha: float = 1.0) -> bytes:
    """A [h, w, 3] float image (row 0 at the top) as PNG bytes."""
    rgba = np.concatenate([rgb, np.full((*rgb.shape[:2], 1), alpha)], axis=2)
    img = Image.fromarray((np.clip(rgba, 0, 1) * 255).astype(np.uint8), "RGBA")
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def _png(rgb: np.ndarray, alpha: float = 0.85) -> str:
    return "data:image/png;base64," + base64.b64encode(png_bytes(rgb, alpha)).decode()


def colour_levels(values: np.ndarray, task: str, discretize: bool = False, value_range=None):
    """Grid values -> (a palette index per cell, the palette as RGB rows): P(class 1) on a diverging
    map; multi-class: the winning class's colour with its probability as intensity; regression: the
    diverging map over the value range. A fixed palette per task keeps a chart's spec the same from
    one frame to the next (only the indices change)."""
    neutral = np.array(NEUTRAL)
    if values.ndim == 3:  # [k, h, w] class probabilities
        k = values.shape[0]
        # 1/k (undecided) -> 0, certain -> 1
        strength = np.ones(values.shape[1:]) if discretize else (values.max(0) - 1 / k) / (1 - 1 / k)
        index = values.argmax(0) * STRENGTHS + np.rint(np.clip(strength, 0, 1) * (STRENGTHS - 1)).astype(int)
        shades = np.linspace(0, 1, STRENGTHS)[None, :, None]
        colours = np.stack([_rgb(c) for c in class_colours(k)])[:, None, :]
        return index, (neutral + (colours - neutral) * shades).reshape(-1, 3)
    if task == "regression":
        lo, hi = value_range if value_range is not None else (float(values.min()), float(values.max()))
        t = (values - lo) / (hi - lo) if hi > lo else np.full_like(values, 0.5)
    else:
        t = values
    t = np.clip(t, 0, 1)
    if discretize:
        t = (t > 0.5).astype(float)
    a, b = _rgb(PALETTE[0]), _rgb(PALETTE[1])
    s = np.linspace(-1, 1, LEVELS)[:, None]
    palette = np.where(s < 0, neutral + (a - neutral) * -s, neutral + (b - neutral) * s)
    return np.rint(t * (LEVELS - 1)).astype(int), palette


def colour_grid(values: np.ndarray, task: str, discretize: bool = False, value_range=None) -> np.ndarray:
    """Grid values -> RGB (see colour_levels)."""
    index, palette = colour_levels(values, task, discretize, value_range)
    return palette[index]


def lighten(palette: np.ndarray) -> np.ndarray:
    """A map's colours as drawn: mixed with white, so the data points on them stand out."""
    return LIGHTEN + (1 - LIGHTEN) * np.asarray(palette)


def cell_domains(grid) -> tuple[tuple[float, float], tuple[float, float]]:
    """The plane a boundary map covers: its grid points are the cells' centres."""
    xs, ys = grid.xs, grid.ys
    half_x, half_y = (xs[1] - xs[0]) / 2, (ys[1] - ys[0]) / 2
    return (float(xs[0] - half_x), float(xs[-1] + half_x)), (float(ys[0] - half_y), float(ys[-1] + half_y))


def value_range(grid, points: pd.DataFrame, task: str):
    """Regression: the span of the targets and the predictions, which the map and the points share
    (None otherwise: probabilities span 0 to 1)."""
    if task != "regression":
        return None
    values = np.concatenate([np.ravel(grid.values), points["label"].to_numpy(dtype=float)])
    return float(values.min()), float(values.max())


def heatmap_cells(index: np.ndarray) -> pd.DataFrame:
    """A map of palette indices (row 0 at the bottom) as cells: each row's runs of one index as one
    cell, places in half cells. Runs, not grid points: a map has 3-20 times fewer runs than points,
    and every cell costs the browser an interpreted encoding each frame."""
    h, w = index.shape
    starts_run = np.ones((h, w), dtype=bool)
    starts_run[:, 1:] = index[:, 1:] != index[:, :-1]
    rows, starts = np.nonzero(starts_run)  # row by row, left to right
    last_in_row = np.r_[rows[1:] != rows[:-1], True]
    ends = np.where(last_in_row, w, np.r_[starts[1:], w])
    small = np.uint8 if 2 * max(h, w) + 3 < 256 else np.uint16
    # Opaque cells half a cell wider and taller than their place, each drawn over by the next:
    # adjacent antialiased edges would otherwise let the background through as seams.
    return pd.DataFrame(
        {
            "x": (2 * starts).astype(small),
            "x2": (2 * ends + 1).astype(small),
            "y": (2 * rows).astype(small),
            "y2": (2 * rows + 3).astype(small),
            "c": index[rows, starts].astype(np.uint8 if index.max(initial=0) < 256 else np.uint16),
        }
    )


def heatmap_layer(index: np.ndarray, palette: np.ndarray, *, data: str | None = None) -> alt.Chart:
    """A map of palette indices (row 0 at the bottom) as rectangles, painted in the same pass as the
    rest of the chart, on scales of their own: cell positions in half cells. With ``data``, the
    cells are the named data set of that name (heatmap_cells gives them), not carried inline.

    An image mark loads its picture after the chart is drawn, so every redraw showed the points on a
    blank plot for a moment (4 of 9 frames in a browser). Rectangles never blank. Positions and
    colours come as small integers through scales, not expressions: Streamlit's Vega evaluates
    expressions with an interpreter, which took longer than the drawing itself."""
    h, w = index.shape
    colours = [_hex(rgb) for rgb in lighten(palette)]
    return _heatmap(h, w, tuple(colours), alt.NamedData(data) if data else heatmap_cells(index))


def _heatmap(h: int, w: int, colours: tuple[str, ...], source) -> alt.Chart:
    return (
        alt.Chart(source)
        .mark_rect(strokeWidth=0, clip=True)
        .encode(
            x=alt.X("x:Q", scale=alt.Scale(domain=[0, 2 * w], nice=False, zero=False), axis=None),
            x2=alt.X2("x2:Q"),
            y=alt.Y("y:Q", scale=alt.Scale(domain=[0, 2 * h], nice=False, zero=False), axis=None),
            y2=alt.Y2("y2:Q"),
            fill=alt.Fill("c:O", scale=alt.Scale(domain=list(range(len(colours))), range=list(colours)), legend=None),
        )
    )


def boundary_chart(
    grid,
    points: pd.DataFrame,
    *,
    task: str,
    class_names: list[str],
    discretize: bool = False,
    axis_titles=("x1", "x2"),
    title: str = "",
    size: tuple[int, int] = (SIZE, SIZE),
    legend: bool = True,
    live: bool = False,
) -> Figure:
    """The model's output over the input plane (one cell per grid point, lightened so the points
    stand out), with the data points on top. ``points`` has columns x, y, label, split."""
    x_dom, y_dom = cell_domains(grid)
    span = value_range(grid, points, task)
    index, palette = colour_levels(grid.values, task, discretize, span)
    colours = tuple(_hex(rgb) for rgb in lighten(palette))
    names, titles = tuple(class_names), tuple(axis_titles)
    look = (index.shape, colours, x_dom, y_dom, task, names, span, titles, title, size, legend, live)
    spec = _boundary_look(*look)
    return Figure(spec, {"cells": heatmap_cells(index), "points": points})


@_look
def _boundary_look(
    shape, colours, x_dom, y_dom, task, class_names, value_range, axis_titles, title, size, legend, live
):
    x_scale = alt.Scale(domain=list(x_dom), nice=False, zero=False)
    y_scale = alt.Scale(domain=list(y_dom), nice=False, zero=False)
    if task == "regression":
        lo, hi = value_range
        scale = alt.Scale(domain=[lo, (lo + hi) / 2, hi], range=[PALETTE[0], _hex(NEUTRAL), PALETTE[1]])
        colour = alt.Color("label:Q", scale=scale, title="target")
    else:
        colour = alt.Color(
            "label:N", scale=alt.Scale(domain=list(class_names), range=class_colours(len(class_names))), title="class"
        )
    dots = (
        alt.Chart(alt.NamedData("points"))
        .mark_point(filled=True, size=28, opacity=1, strokeWidth=0.8)
        .encode(
            x=alt.X("x:Q", scale=x_scale, title=axis_titles[0], axis=alt.Axis(orient="bottom")),
            y=alt.Y("y:Q", scale=y_scale, title=axis_titles[1], axis=alt.Axis(orient="left")),
            color=colour,
            shape=alt.Shape("split:N", scale=alt.Scale(domain=["train", "test"], range=["circle", "square"])),
            stroke=alt.value("white"),
            tooltip=_tips(live, *map(alt.Tooltip, ("x:Q", "y:Q", colour.shorthand, "split:N"))),
        )
    )
    # The cells' scales (half cells) and the points' (the data's units) both span the plot, cell
    # edges on the points' domain. Canvas: one bitmap repainted per frame, where SVG would rebuild
    # thousands of nodes.
    chart = (
        alt.layer(_heatmap(*shape, colours, alt.NamedData("cells")), dots)
        .resolve_scale(x="independent", y="independent")
        .properties(width=size[0], height=size[1], title=title, usermeta=CANVAS)
    )
    return chart if legend else chart.configure_legend(disable=True)


def curve_chart(grid, points: pd.DataFrame, *, axis_title: str = "x", title: str = "") -> alt.Chart:
    """Regression on 1-D input: the fitted curve over the data."""
    line = pd.DataFrame({"x": grid.xs, "y": grid.values})
    # Axes over the data, not from 0: an uploaded column may sit far from it (heights of 150 to 190 cm).
    fit = (
        alt.Chart(line)
        .mark_line(color=PALETTE[1], strokeWidth=2.5)
        .encode(
            x=alt.X("x:Q", title=axis_title, scale=alt.Scale(zero=False)), y=alt.Y("y:Q", scale=alt.Scale(zero=False))
        )
    )
    dots = (
        alt.Chart(points)
        .mark_point(filled=True, size=22, opacity=0.6)
        .encode(
            x=alt.X("x:Q", scale=alt.Scale(zero=False)),
            y=alt.Y("label:Q", title="y", scale=alt.Scale(zero=False)),
            color=alt.Color("split:N", scale=alt.Scale(domain=["train", "test"], range=[TRAIN, PALETTE[0]])),
        )
    )
    return alt.layer(dots, fit).properties(width=SIZE * 1.1, height=SIZE * 0.8, title=title)


CURVE_POINTS = 400  # epochs a loss curve draws: a 300-pixel-wide line shows no more


def curve_points(n: int) -> np.ndarray:
    """Which of ``n`` epochs a curve draws: the first hundred (where the learning is, wide on a
    log-epoch axis), then evenly spaced ones, and the last; each frame sent a thousand before."""
    step = -(-n // CURVE_POINTS)
    return np.unique(np.concatenate([np.arange(min(n, 100)), np.arange(0, n, step), [n - 1]]))


def loss_chart(
    history: pd.DataFrame,
    *,
    log_scale: bool = False,
    metric: str = "accuracy",
    log_epochs: bool = False,
    live: bool = False,
) -> Figure:
    """Train and test loss per epoch, and accuracy (or R²) below on a shared epoch axis (``log_epochs``:
    a log axis, which gives the first epochs, where most of the learning is, their share of the width)."""
    # Built with numpy, not melt: pandas' reshaping was most of a frame's CPU for this chart.
    history = history.iloc[curve_points(len(history))] if len(history) > CURVE_POINTS else history
    epochs = history["epoch"].to_numpy() if len(history) else np.zeros(0, dtype=int)
    data = {}
    for name, kind in (("loss", "loss"), ("score", metric)):
        parts = []
        for split in ("train", "test"):
            series = f"{split}_{kind}"
            if series in history and len(history):
                values = history[series].to_numpy(dtype=float)
                keep = ~np.isnan(values)
                parts.append((epochs[keep], series, split, values[keep]))
        # Categoricals from their codes: factorizing a thousand repeated names each frame was slow.
        sizes = [len(p[0]) for p in parts]
        data[name] = pd.DataFrame(
            {
                "epoch": np.concatenate([p[0] for p in parts]) if parts else np.zeros(0, dtype=int),
                "series": _categorical(np.repeat(np.arange(len(parts)), sizes), tuple(p[1] for p in parts)),
                "value": np.concatenate([p[3] for p in parts]) if parts else np.zeros(0),
                "split": _categorical(
                    np.repeat([("train", "test").index(p[2]) for p in parts], sizes).astype(int), ("train", "test")
                ),
            }
        )
    return Figure(_loss_look(log_scale, metric, log_epochs, live), data)


@_look
def _loss_look(log_scale: bool, metric: str, log_epochs: bool, live: bool):
    colour = alt.Color("split:N", scale=alt.Scale(domain=["train", "test"], range=[PALETTE[1], PALETTE[0]]), title="")
    y_scale = alt.Scale(type="log") if log_scale else alt.Scale(zero=True)
    x_scale = alt.Scale(type="log") if log_epochs else alt.Scale()
    loss = (
        alt.Chart(alt.NamedData("loss"))
        .mark_line()
        .encode(
            x=alt.X("epoch:Q", title="epoch", scale=x_scale),
            y=alt.Y("value:Q", title="loss", scale=y_scale),
            color=colour,
            tooltip=_tips(live, alt.Tooltip("epoch:Q"), alt.Tooltip("split:N"), alt.Tooltip("value:Q", format=".4f")),
        )
        .properties(width=SIZE * 1.1, height=170)
    )
    label = "R²" if metric == "r2" else "accuracy"
    score = (
        alt.Chart(alt.NamedData("score"))
        .mark_line()
        .encode(
            x=alt.X("epoch:Q", title="epoch", scale=x_scale),
            y=alt.Y("value:Q", title=label, scale=alt.Scale(domain=[0, 1] if metric == "accuracy" else [-0.2, 1])),
            color=colour,
            tooltip=_tips(live, alt.Tooltip("epoch:Q"), alt.Tooltip("split:N"), alt.Tooltip("value:Q", format=".3f")),
        )
        .properties(width=SIZE * 1.1, height=110)
    )
    return alt.vconcat(loss, score)


def drift_chart(
    drift: pd.DataFrame,
    labels: np.ndarray,
    class_names: list[str],
    *,
    multiclass: bool = False,
    max_rows: int = 12,
    live: bool = False,
) -> Figure:
    """The article's probability drift as a ridgeline: a histogram of the training points' outputs
    at each snapshot epoch, coloured by true class. Starts near 0.5 and separates as it learns."""
    epochs = np.unique(drift["epoch"].to_numpy())
    if len(epochs) > max_rows:  # evenly chosen rows, always the first and the last
        epochs = epochs[np.unique(np.linspace(0, len(epochs) - 1, max_rows).round().astype(int))]
    # Counted with numpy, not groupby: pandas was most of a frame's CPU for this chart.
    rows = np.isin(drift["epoch"].to_numpy(), epochs)
    row = np.searchsorted(epochs, drift["epoch"].to_numpy()[rows])
    cls = np.tile(np.asarray(labels).astype(int), len(epochs))
    bins = np.linspace(0, 1, 26)
    k = len(class_names)
    bin_ = np.clip(np.digitize(drift["output"].to_numpy()[rows], bins) - 1, 0, 24)
    tally = np.bincount((row * k + cls) * 25 + bin_, minlength=len(epochs) * k * 25)
    (where,) = np.nonzero(tally)
    counts = pd.DataFrame(
        {
            "epoch": epochs[where // (k * 25)],
            "class": _categorical(where // 25 % k, tuple(class_names)),
            "bin": where % 25,
            "count": tally[where],
            "start": bins[where % 25],
            "end": bins[where % 25 + 1],
        }
    )
    return Figure(_drift_look(multiclass, tuple(class_names), live), {"counts": counts})


@_look
def _drift_look(multiclass: bool, class_names: tuple[str, ...], live: bool):
    names = class_names
    title = "P(true class)" if multiclass else "P(class 1)"
    return (
        alt.Chart(alt.NamedData("counts"))
        .mark_bar(opacity=0.85, binSpacing=0)
        .encode(
            x=alt.X("start:Q", bin="binned", title=title, scale=alt.Scale(domain=[0, 1])),
            x2=alt.X2("end:Q"),
            y=alt.Y("count:Q", stack=True, title=None, axis=alt.Axis(labels=False, ticks=False)),
            color=alt.Color("class:N", scale=alt.Scale(domain=list(class_names), range=class_colours(len(names)))),
            row=alt.Row("epoch:O", title="epoch", header=alt.Header(labelAngle=0, labelAlign="left")),
            tooltip=_tips(live, alt.Tooltip("epoch:O"), alt.Tooltip("class:N"), alt.Tooltip("count:Q")),
        )
        .properties(width=SIZE * 0.8, height=26)
        .configure_facet(spacing=2)
    )


def bars_chart(outputs: np.ndarray, labels: np.ndarray, class_names: list[str], *, epoch: int) -> alt.Chart:
    """The article's bars per sample: each training point's output at one epoch, coloured by class."""
    frame = pd.DataFrame(
        {"point": np.arange(len(outputs)), "output": outputs, "class": np.asarray(class_names)[labels.astype(int)]}
    )
    if len(frame) > 400:  # a readable number of bars; the same points at every epoch
        frame = frame.iloc[np.linspace(0, len(frame) - 1, 400).astype(int)]
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X("point:O", axis=None, title="training points"),
            y=alt.Y("output:Q", scale=alt.Scale(domain=[0, 1]), title="output"),
            color=alt.Color("class:N", scale=alt.Scale(domain=class_names, range=class_colours(len(class_names)))),
            tooltip=[alt.Tooltip("point:O"), alt.Tooltip("output:Q", format=".3f"), alt.Tooltip("class:N")],
        )
        .properties(width=SIZE * 1.1, height=150, title=f"outputs at epoch {epoch}")
    )


def confusion_chart(y_true: np.ndarray, y_pred: np.ndarray, class_names: list[str]) -> alt.Chart:
    k = len(class_names)
    counts = np.zeros((k, k), dtype=int)
    np.add.at(counts, (y_true.astype(int), y_pred.astype(int)), 1)
    frame = pd.DataFrame(
        [(class_names[i], class_names[j], int(counts[i, j])) for i in range(k) for j in range(k)],
        columns=["true", "predicted", "count"],
    )
    # Vega-Lite's defaults stand a nominal x axis's labels on end, at 10 px: level, at the counts' size.
    axis = alt.Axis(labelAngle=0, labelFontSize=13, titleFontSize=13, labelLimit=120)
    base = alt.Chart(frame).encode(
        x=alt.X("predicted:N", sort=class_names, title="predicted class", axis=axis),
        y=alt.Y("true:N", sort=class_names, title="true class", axis=axis),
    )
    cells = base.mark_rect().encode(
        color=alt.Color("count:Q", scale=alt.Scale(scheme="blues"), legend=None),
        tooltip=[alt.Tooltip("true"), alt.Tooltip("predicted"), alt.Tooltip("count")],
    )
    text = base.mark_text(fontSize=13).encode(
        text=alt.Text("count:Q"),
        color=alt.condition(alt.datum.count > counts.max() / 2, alt.value("white"), alt.value("black")),
    )
    return (cells + text).properties(width=min(80 * k, SIZE), height=min(80 * k, SIZE))


def gradient_chart(history: pd.DataFrame) -> alt.Chart:
    """Each layer's gradient norm per epoch (the history's grad_norm_1, ..., grad_norm_out), the layers
    named as the sidebar counts them: layer 1, layer 2, ..., then the output layer."""
    columns = [c for c in history.columns if c.startswith("grad_norm_")]
    names = {c: "output layer" if c == "grad_norm_out" else f"layer {c.removeprefix('grad_norm_')}" for c in columns}
    long = history[["epoch", *columns]].rename(columns=names).melt("epoch", var_name="layer", value_name="norm")
    return (
        alt.Chart(long)
        .mark_line()
        .encode(
            x=alt.X("epoch:Q", title="epoch"),
            y=alt.Y("norm:Q", title="gradient norm", scale=alt.Scale(type="symlog")),
            color=alt.Color("layer:N", sort=list(names.values()), title="layer"),
            tooltip=[alt.Tooltip("layer:N"), alt.Tooltip("epoch:Q"), alt.Tooltip("norm:Q", format=".4g")],
        )
    )


NETWORK_BOX = 36  # pixels per side of a hidden neuron's map in the network diagram
NETWORK_STEP = 120  # pixels from one layer's column to the next: the default network fits beside the boundary
MAX_DRAWN_UNITS = 32  # the widest layer the diagram draws: past it the maps are specks,
MAX_DRAWN_LINKS = 1200  # and the most links (a 2-32-32-1 network's 1 120): past them a blur
MAP_CELLS = 1200  # grid points of all the neuron maps together, at most (the default 8-4's at 10 × 10)


def network_drawable(trainer) -> bool:
    """Whether a Trainer's network is worth drawing as a diagram (MAX_DRAWN_UNITS, MAX_DRAWN_LINKS)."""
    sizes = [trainer.data.n_features, *(layer.out_features for layer in trainer.model.linears)]
    links = sum(a * b for a, b in itertools.pairwise(sizes))
    return max(sizes) <= MAX_DRAWN_UNITS and links <= MAX_DRAWN_LINKS


def map_resolution(hidden: tuple[int, ...]) -> int:
    """Grid points per side of each neuron's map: 10, as TensorFlow Playground draws its neurons,
    fewer when a larger network's maps would add up past MAP_CELLS (two layers of 32: 4 × 4 each).
    Each run of a colour is an item the browser encodes every frame: with 20 × 20 maps the default
    network's diagram cost headless Chromium about 50 ms of script a frame, with 10 × 10 about 25-35."""
    return int(np.clip(np.sqrt(MAP_CELLS / max(1, sum(hidden))), 4, 10))


def activation_levels(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A layer's activations -> (a palette index per value, the palette): the boundary map's diverging
    colours, orange below zero, grey at zero, blue above, on TensorFlow Playground's -1…1 (tanh's
    range), stretched to the layer's largest size where it goes past (ReLU). One scale per layer, so
    its neurons compare; a diverged network's NaNs show as grey."""
    values = np.nan_to_num(values, nan=0.0, posinf=0.0, neginf=0.0)
    top = max(1.0, float(np.abs(values).max(initial=0.0)))
    # colour_levels reads a 3-D array as class probabilities: hand it the values as one 2-D sheet
    index, palette = colour_levels(values.reshape(-1, values.shape[-1]), "regression", value_range=(-top, top))
    return index.reshape(values.shape), palette


def trainer_network_chart(trainer, *, axes=(0, 1), live: bool = False) -> Figure:
    """A Trainer's network_chart as the app shows it, each neuron's map over the boundary's plane
    (raw inputs ``axes``, the others at their mean), from one forward pass of a small grid."""
    model, d = trainer.model, trainer.data
    weights = [layer.weight.detach().cpu().numpy() for layer in model.linears]
    hidden = tuple(w.shape[0] for w in weights[:-1])
    maps = trainer.neuron_grids(resolution=map_resolution(hidden), axes=axes) if hidden else []
    outputs = d.class_names if model.n_output > 1 else ["output"]
    titles = ["input", *(f"layer {i} · {a}" for i, a in enumerate(model.activation_names, 1)), "output"]
    return network_chart(weights, d.feature_names, outputs, maps, titles=titles, live=live)


def network_chart(
    weights: list[np.ndarray],
    input_names: list[str],
    output_names: list[str],
    maps: list[np.ndarray],
    *,
    titles: list[str] | None = None,
    live: bool = False,
) -> Figure:
    """The network as TensorFlow Playground draws it: a column per layer, each hidden neuron drawn as
    its activation over the input plane (``maps``: per hidden layer ``[units, r, r]`` with row 0 at
    the bottom, as the boundary's grid, or ``[units, r]`` on a line), links coloured by the weight's
    sign and as thick as its size, ``titles`` over the columns (``live``: no tooltips, see _tips).

    A frame is its data: the maps' cells and the links' weights. Where everything sits, and the
    spec, are worked out once per network shape (_network_layout)."""
    # A line's neurons vary along x only: drawn as squares whose rows repeat, like the plane's.
    maps = [np.broadcast_to(g[:, None, :], (len(g), g.shape[1], g.shape[1])) if g.ndim == 2 else g for g in maps]
    sizes = (weights[0].shape[1], *(w.shape[0] for w in weights))
    res = maps[0].shape[-1] if maps else 0
    layout = _network_layout(sizes, res, tuple(input_names), tuple(output_names), tuple(titles or ()), live)
    small = np.uint8 if max(layout.extent) + 3 < 256 else np.uint16
    if maps:
        index = np.concatenate([activation_levels(g)[0] for g in maps])
        # One tall map of every neuron's rows (a run never leaves its row), each row then moved to its map's place.
        stacked = heatmap_cells(index.reshape(-1, res))
        row = stacked["y"].to_numpy(dtype=int) // 2
        ox, oy = layout.origins[row // res].T
        y = oy + 2 * (row % res)
        cells = pd.DataFrame(
            {
                "x": (ox + stacked["x"]).astype(small),
                "x2": (ox + stacked["x2"]).astype(small),
                "y": y.astype(small),
                "y2": (y + 3).astype(small),
                "c": stacked["c"],
            }
        )
    else:
        cells = pd.DataFrame({k: np.zeros(0, dtype=small) for k in ("x", "x2", "y", "y2", "c")})
    w = np.concatenate([np.ravel(w) for w in weights])  # layer by layer, each row of w a neuron's inputs
    peak = float(np.nanmax(np.abs(w), initial=0.0)) or 1.0
    links = layout.links.assign(
        weight=w,
        sign=_categorical((w < 0).astype(np.int8), ("positive", "negative")),
        width=0.3 + 4.5 * np.abs(w) / peak,
    )
    return Figure(layout.spec, {"cells": cells, "links": links, "nodes": layout.nodes})


class _Layout(NamedTuple):
    extent: tuple[int, int]  # the diagram's size in half cells of a map, the unit of every place
    origins: np.ndarray  # [hidden neurons, 2]: each map's lower-left corner
    links: pd.DataFrame  # each link's ends and name, layer by layer, in the order of the weights' rows
    nodes: pd.DataFrame  # the inputs' and outputs' dots, their names and the columns' titles
    spec: dict


@functools.lru_cache(maxsize=64)
def _network_layout(sizes, res, input_names, output_names, titles, live) -> _Layout:
    """Where a network of these layer sizes draws each map, link and name. Callers share the result
    and must not change it."""
    box = int(np.clip(320 // max(sizes), 10, NETWORK_BOX))  # the tallest column in about 420 pixels
    side = 2 * (res or 10)  # a map's side in half cells
    px = box / side

    def units(pixels: float) -> int:
        return int(np.ceil(pixels / px))

    pitch = side + max(2, side // 3)
    step, top, gap = units(NETWORK_STEP), units(24), units(12)
    left = units(7 * max(map(len, input_names)) + 24)
    right = units(7 * max(map(len, output_names)) + 24)
    body = max(sizes) * pitch
    extent = (left + (len(sizes) - 1) * step + right, body + top)
    cx = [left + c * step for c in range(len(sizes))]

    def cy(i: int, n: int) -> int:  # first on top
        return round(body / 2 + ((n - 1) / 2 - i) * pitch)

    def name(layer: int, i: int) -> str:
        return input_names[i] if layer == 0 else output_names[i] if layer == len(sizes) - 1 else f"h{layer}.{i + 1}"

    half = [0] + [side // 2] * (len(sizes) - 2) + [0]  # a map's links meet its sides, a dot's its centre
    links = pd.DataFrame(
        [
            (
                cx[layer] + half[layer],
                cy(i, n_in),
                cx[layer + 1] - half[layer + 1],
                cy(j, n_out),
                f"{name(layer, i)} → {name(layer + 1, j)}",
            )
            for layer, (n_in, n_out) in enumerate(itertools.pairwise(sizes))
            for j in range(n_out)
            for i in range(n_in)
        ],
        columns=["x", "y", "x2", "y2", "link"],
    )
    origins = np.array(
        [(cx[layer] - side // 2, cy(i, n) - side // 2) for layer, n in enumerate(sizes[1:-1], 1) for i in range(n)],
        dtype=int,
    ).reshape(-1, 2)
    nodes = pd.DataFrame(
        [(cx[0], cy(i, sizes[0]), cx[0] - gap, n, "right", 110) for i, n in enumerate(input_names)]
        + [(cx[-1], cy(i, sizes[-1]), cx[-1] + gap, n, "left", 110) for i, n in enumerate(output_names)]
        + [(c, extent[1] - top // 2, c, t, "center", 0) for c, t in zip(cx, titles)],
        columns=["x", "y", "tx", "text", "align", "dot"],
    )
    _, palette = activation_levels(np.zeros((1, 1)))
    colours = tuple(_hex(rgb) for rgb in LIGHTEN + (1 - LIGHTEN) * palette)
    spec = _network_look(extent, (extent[0] * px, extent[1] * px), colours, live)
    return _Layout(extent, origins, links, nodes, spec)


@_look
def _network_look(extent, size, colours, live):
    x_scale = alt.Scale(domain=[0, extent[0]], nice=False, zero=False)
    y_scale = alt.Scale(domain=[0, extent[1]], nice=False, zero=False)
    x, y = alt.X("x:Q", scale=x_scale, axis=None), alt.Y("y:Q", scale=y_scale, axis=None)
    # Every map in one rect mark, on the same scales as the links (half cells).
    maps = _heatmap(extent[1] / 2, extent[0] / 2, colours, alt.NamedData("cells"))
    edges = (
        alt.Chart(alt.NamedData("links"))
        .mark_rule(opacity=0.7)
        .encode(
            x=x,
            y=y,
            x2=alt.X2("x2:Q"),
            y2=alt.Y2("y2:Q"),
            color=alt.Color(
                "sign:N", scale=alt.Scale(domain=["positive", "negative"], range=[PALETTE[1], PALETTE[0]]), legend=None
            ),
            strokeWidth=alt.StrokeWidth("width:Q", scale=None, legend=None),
            tooltip=_tips(live, alt.Tooltip("link:N"), alt.Tooltip("weight:Q", format=".3f")),
        )
    )
    nodes = alt.Chart(alt.NamedData("nodes"))
    dots = nodes.mark_circle(color="#666666", opacity=1).encode(
        x=x, y=y, size=alt.Size("dot:Q", scale=None, legend=None), tooltip=_tips(live, alt.Tooltip("text:N"))
    )
    # Names and titles in one text mark, each row with its own alignment (a mark's align is no
    # encoding channel; an expression of a dozen rows costs the browser nothing).
    labels = nodes.mark_text(align=alt.ExprRef("datum.align"), color="#888888", fontSize=13).encode(
        x=alt.X("tx:Q", scale=x_scale, axis=None), y=y, text=alt.Text("text:N")
    )
    return alt.layer(maps, edges, dots, labels).properties(width=size[0], height=size[1], usermeta=CANVAS)


def compare_chart(curves: pd.DataFrame, *, title: str = "", log_scale: bool = False) -> alt.Chart:
    """Loss curves of several runs overlaid (long form: epoch, run, train_loss)."""
    runs = list(dict.fromkeys(curves["run"]))
    log = log_scale and bool((curves["train_loss"] > 0).all())  # a log axis cannot show zero or less
    return (
        alt.Chart(curves)
        .mark_line()
        .encode(
            x=alt.X("epoch:Q"),
            y=alt.Y("train_loss:Q", title="train loss", scale=alt.Scale(type="log") if log else alt.Scale()),
            color=alt.Color("run:N", scale=alt.Scale(domain=runs, range=class_colours(len(runs)))),
            tooltip=[alt.Tooltip("run:N"), alt.Tooltip("epoch:Q"), alt.Tooltip("train_loss:Q", format=".4f")],
        )
        .properties(height=240, title=title)
    )


def scatter_chart(frame: pd.DataFrame) -> alt.Chart:
    """Predicted against true values per run, with the y = x line."""
    runs = list(dict.fromkeys(frame["run"]))
    lo, hi = float(frame[["true", "predicted"]].min().min()), float(frame[["true", "predicted"]].max().max())
    line = (
        alt.Chart(pd.DataFrame({"true": [lo, hi], "predicted": [lo, hi]}))
        .mark_line(color=TEST, strokeDash=[4, 4])
        .encode(x=alt.X("true:Q"), y=alt.Y("predicted:Q"))
    )
    dots = (
        alt.Chart(frame)
        .mark_circle(size=24, opacity=0.6)
        .encode(
            x=alt.X("true:Q"),
            y=alt.Y("predicted:Q"),
            color=alt.Color("run:N", scale=alt.Scale(domain=runs, range=class_colours(len(runs)))),
        )
    )
    return alt.layer(line, dots).properties(height=240, title="predicted vs true (test set)")


def pairs_chart(frame: pd.DataFrame, names: list[str], *, regression: bool, class_names: list[str]) -> alt.Chart:
    """Every pair of inputs as a scatter coloured by the target (the article shows its 5 features so)."""
    colour = (
        alt.Color("target:Q", scale=alt.Scale(scheme="blueorange"))
        if regression
        else alt.Color("target:N", scale=alt.Scale(domain=class_names, range=class_colours(len(class_names))))
    )
    return (
        alt.Chart(frame)
        .mark_circle(size=14, opacity=0.7)
        .encode(
            # Each axis over its column's values, not from 0 (an uploaded column may sit far from it).
            x=alt.X(alt.repeat("column"), type="quantitative", scale=alt.Scale(zero=False)),
            y=alt.Y(alt.repeat("row"), type="quantitative", scale=alt.Scale(zero=False)),
            color=colour,
        )
        .properties(width=max(60, 420 // len(names)), height=max(60, 420 // len(names)))
        .repeat(row=names, column=names)
    )


# --- Compare and Sweep ---------------------------------------------------------------------------

# A and B in Compare: green and purple, apart from the classes' orange and blue in the boundary maps.
RUN_COLOURS = {"A": PALETTE[2], "B": PALETTE[3]}


def pair_loss_chart(curves: pd.DataFrame, *, log_scale: bool = False, title: str = "") -> alt.Chart:
    """A's and B's loss curves overlaid (long form: epoch, run, split, loss): train solid, test dashed."""
    curves = curves.dropna(subset=["loss"])
    log = log_scale and bool((curves["loss"] > 0).all())  # a log axis cannot show zero or less
    return (
        alt.Chart(curves)
        .mark_line()
        .encode(
            x=alt.X("epoch:Q", title="epoch"),
            y=alt.Y("loss:Q", title="loss", scale=alt.Scale(type="log") if log else alt.Scale(zero=True)),
            color=alt.Color(
                "run:N", scale=alt.Scale(domain=list(RUN_COLOURS), range=list(RUN_COLOURS.values())), title=""
            ),
            strokeDash=alt.StrokeDash(
                "split:N", scale=alt.Scale(domain=["train", "test"], range=[[1, 0], [5, 3]]), title=""
            ),
            detail=alt.Detail("split:N"),
            tooltip=[
                alt.Tooltip("run:N"),
                alt.Tooltip("split:N"),
                alt.Tooltip("epoch:Q"),
                alt.Tooltip("loss:Q", format=".4f"),
            ],
        )
        .properties(width=SIZE * 1.6, height=240, title=title)
    )


def _knob_scale(values, log: bool) -> alt.Scale:
    """A log axis for rates; symlog when zero is among them (a log axis cannot place 0)."""
    values = np.asarray(values, dtype=float)
    if not log:
        return alt.Scale(zero=False)
    positive = values[values > 0]
    if len(positive) == len(values):
        return alt.Scale(type="log")
    return alt.Scale(type="symlog", constant=float(positive.min()) if len(positive) else 1.0)


def sweep_metric_chart(
    finals: pd.DataFrame, *, knob_title: str, log_x: bool = False, metric: str = "accuracy"
) -> alt.HConcatChart:
    """Final loss and accuracy (R²) against the knob's value (long form: value, split, loss, score)."""
    scale = _knob_scale(finals["value"], log_x)
    colour = alt.Color("split:N", scale=alt.Scale(domain=["train", "test"], range=[PALETTE[1], PALETTE[0]]), title="")
    x = alt.X("value:Q", title=knob_title, scale=scale)
    label = "R²" if metric == "r2" else "accuracy"

    def panel(column: str, title: str, y_scale: alt.Scale) -> alt.Chart:
        return (
            alt.Chart(finals.dropna(subset=[column]))
            .mark_line(point=True)
            .encode(
                x=x,
                y=alt.Y(f"{column}:Q", title=title, scale=y_scale),
                color=colour,
                tooltip=[alt.Tooltip("value:Q"), alt.Tooltip("split:N"), alt.Tooltip(f"{column}:Q", format=".4f")],
            )
            .properties(width=SIZE * 0.9, height=220)
        )

    score_scale = alt.Scale(domain=[0, 1]) if metric == "accuracy" else alt.Scale(zero=False)
    return alt.hconcat(panel("loss", "final loss", alt.Scale(zero=True)), panel("score", f"final {label}", score_scale))


def sweep_curves_chart(curves: pd.DataFrame, *, knob_title: str, log_scale: bool = False) -> alt.Chart:
    """Every value's train loss curve overlaid (long form: epoch, label, train_loss), coloured by the
    value in the order given; past eight values the colours repeat with dashes. One legend names
    every value (the colour and the dash of each), in two columns from nine values on: in one
    column, a 16-value legend ran past the chart's height and Streamlit cut it after 11."""
    labels = list(dict.fromkeys(curves["label"]))
    log = log_scale and bool((curves["train_loss"] > 0).all())
    colours = alt.Scale(domain=labels, range=class_colours(len(labels)))
    dashes = alt.Scale(domain=labels, range=[[1, 0] if i < len(PALETTE) else [6, 3] for i in range(len(labels))])
    # The same field, title and legend on colour and dash: Vega-Lite merges them into one legend
    # whose symbols are short lines in each value's colour and dash.
    legend = alt.Legend(
        columns=1 if len(labels) <= len(PALETTE) else 2, symbolLimit=len(labels), symbolType="stroke", labelLimit=110
    )
    return (
        alt.Chart(curves)
        .mark_line()
        .encode(
            x=alt.X("epoch:Q", title="epoch"),
            y=alt.Y("train_loss:Q", title="train loss", scale=alt.Scale(type="log") if log else alt.Scale(zero=True)),
            color=alt.Color("label:N", scale=colours, title=knob_title, legend=legend),
            strokeDash=alt.StrokeDash("label:N", scale=dashes, title=knob_title, legend=legend),
            tooltip=[alt.Tooltip("label:N"), alt.Tooltip("epoch:Q"), alt.Tooltip("train_loss:Q", format=".4f")],
        )
        .properties(width=SIZE * 1.6, height=260)
    )
