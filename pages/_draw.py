"""Drawing helpers: charts sent as Vega-Lite specs that stay the same from frame to frame (so the
browser swaps their data in place), the boundary as a chart or a PNG, and the tables behind them."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pandas as pd
import streamlit as st

from nnplay import charts, data, picture
from nnplay.train import Grid, Trainer

try:  # what st.altair_chart converts with (data as Arrow); without it, Altair's own to_dict
    from streamlit.elements.vega_charts import _convert_altair_to_vega_lite_spec as _vega_lite_spec
except ImportError:  # pragma: no cover
    _vega_lite_spec = None


def chart(name: str, key, build, **kwargs) -> None:
    """Draw the chart ``build()`` makes. When this session last drew ``name`` with an equal ``key``,
    what it sent then is sent again: a session waiting for a trainer or switching a toggle redraws
    unchanged charts."""
    drawn = st.session_state.setdefault("drawn_charts", {})
    hit = drawn.get(name)
    if hit is None or hit[0] != key:
        hit = drawn[name] = (key, wire(build()))
    st.vega_lite_chart(hit[1], **kwargs)


def draw(picture, **kwargs) -> None:
    """Draw a chart once (no cache: see chart)."""
    st.vega_lite_chart(wire(picture), **kwargs)


def wire(picture) -> dict:
    """A Figure or an Altair chart as the spec Streamlit sends. A Figure's spec is built once per
    look (nnplay.charts.Figure); an Altair chart is converted as st.altair_chart does, without the
    JSON-schema check (most of a redraw's CPU; the charts' own tests convert with it)."""
    if isinstance(picture, charts.Figure):
        return picture.wire()
    if _vega_lite_spec is None:  # pragma: no cover
        return stable_spec(picture.to_dict(validate=False))
    return stable_spec(_vega_lite_spec(_Unvalidated(picture)))


class _Unvalidated:
    """A chart as Streamlit's converter takes it, to be converted without Altair's JSON-schema check."""

    def __init__(self, chart):
        self.chart = chart

    def to_dict(self) -> dict:
        return self.chart.to_dict(validate=False)


def stable_spec(spec: dict) -> dict:
    """The spec with its data sets named by position instead of by a hash of their contents, so a
    new frame of the same chart has the same spec: the browser then swaps the data in place
    instead of building the chart again (which blanked it for a moment). Not "data_N": Vega-Lite
    gives its own data sources those names."""
    datasets = spec.pop("datasets", {})
    text = json.dumps(spec)
    renamed = {}
    for i, (name, values) in enumerate(datasets.items()):
        text = text.replace(json.dumps(name), json.dumps(f"nnplay_{i}"))
        renamed[f"nnplay_{i}"] = values
    return {**json.loads(text), "datasets": renamed} if renamed else json.loads(text)


def trainer_key(trainer: Trainer, *options) -> tuple:
    """What a chart of ``trainer`` depends on: which run, how far it is, its settings, the view's options."""
    return (trainer, trainer.generation, trainer.epoch, trainer.status, trainer.config, *options)


def training_table(d) -> pd.DataFrame:
    """The raw training inputs with their target (original scale, or class names)."""
    frame = pd.DataFrame(d.raw_train, columns=d.raw_names)
    frame["target"] = d.untarget(d.y_train) if d.task == data.REGRESSION else np.asarray(d.class_names)[d.y_train]
    return frame


def points_frame(trainer: Trainer, *, with_test: bool, axes=(0, 1)) -> pd.DataFrame:
    d = trainer.data
    parts = [("train", d.raw_train, d.y_train)] + ([("test", d.raw_test, d.y_test)] if with_test else [])
    frames = []
    for split, raw, y in parts:
        if d.raw_dims == 1:
            x, yy = raw[:, 0], np.zeros(len(raw))
        else:
            x, yy = raw[:, axes[0]], raw[:, axes[1]]
        label = d.untarget(y) if d.task == data.REGRESSION else np.asarray(d.class_names)[y.astype(int)]
        frames.append(pd.DataFrame({"x": x, "y": yy, "label": label, "split": split}))
    return pd.concat(frames, ignore_index=True)


@dataclass(frozen=True)
class BoundaryView:
    """A picture of what the model learned, read from the trainer once: drawn as the page's chart,
    and again as PNG bytes when the download asks for them. It holds none of the trainer, because the
    download is drawn on Streamlit's own thread, while the session's ticks may be training."""

    grid: Grid
    points: pd.DataFrame
    task: str
    class_names: list[str]
    axis_titles: tuple[str, ...]
    discretize: bool = False

    def chart(self, title: str = "", size=None, legend: bool = True, live: bool = False):
        if self.grid.ys is None:
            curve = charts.curve_chart(self.grid, self.points, axis_title=self.axis_titles[0], title=title)
            curve = curve.properties(width=size[0], height=size[1]) if size else curve
            return curve if legend else curve.configure_legend(disable=True)
        size = size or (charts.SIZE, charts.SIZE)
        map_ = self._map()
        return charts.boundary_chart(self.grid, self.points, title=title, size=size, legend=legend, live=live, **map_)

    def png(self, title: str = "") -> bytes:
        if self.grid.ys is None:
            return picture.curve_png(self.grid, self.points, axis_title=self.axis_titles[0], title=title)
        return picture.boundary_png(self.grid, self.points, title=title, **self._map())

    def _map(self) -> dict:
        return dict(
            task=self.task, class_names=self.class_names, discretize=self.discretize, axis_titles=self.axis_titles
        )


def boundary_view(trainer: Trainer, *, epoch=None, with_test=False, discretize=False, axes=(0, 1)) -> BoundaryView:
    """The right picture of what the model learned: a boundary map over two inputs ``axes``, a
    fitted curve (1-D regression)."""
    d = trainer.data
    return BoundaryView(
        trainer.boundary(epoch=epoch, axes=axes),
        points_frame(trainer, with_test=with_test, axes=axes),
        d.task,
        d.class_names,
        (d.raw_names[0],) if d.raw_dims == 1 else (d.raw_names[axes[0]], d.raw_names[axes[1]]),
        discretize,
    )


def boundary(trainer: Trainer, *, title="", size=None, legend=True, live=False, **view):
    """The boundary_view as a chart (``live``: while it plays, see charts.boundary_chart)."""
    return boundary_view(trainer, **view).chart(title, size, legend, live)


NETWORK_CAPTION = (
    "Each square is a neuron's output across the inputs the boundary shows: orange below zero, blue above. "
    "Links are coloured by the weight's sign and drawn as thick as its size."
)
NOT_DRAWN = (
    f"The network is not drawn: more than {charts.MAX_DRAWN_UNITS} neurons in a layer or "
    f"{charts.MAX_DRAWN_LINKS} links in all would be too dense to read."
)


def boundary_png(shown: dict, sliced: bool) -> bytes:
    """The Playground's boundary as last drawn (``shown["boundary"]``, a BoundaryView), as a PNG.
    Drawn when the download is asked for, not with every frame: it takes about 20 ms."""
    view = shown["boundary"]
    note = ", a slice through the other inputs at their mean" if sliced else ""
    return view.png(title=f"epoch {view.grid.epoch}{note}")


def drift(trainer: Trainer, *, live: bool = False):
    """The article's probability drift for a Trainer's snapshots (``live``: while it plays, see charts.drift_chart)."""
    d = trainer.data
    drifted = trainer.snapshots.drift()
    return charts.drift_chart(drifted, d.y_train, d.class_names, multiclass=d.task == "multiclass", live=live)
