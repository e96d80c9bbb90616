"""The boundary as a picture file (the Playground's download): the coloured map, the data points, axes
with tick labels and a legend, drawn with Pillow in the chart's own colours (nnplay.charts).

Pillow, not a Vega-Lite renderer: Streamlit brings Pillow along, while exporting the Altair chart
itself would need a headless browser or vl-convert (a ~40 MB binary) on the server.
"""

from __future__ import annotations

import io
import math

import numpy as np
import pandas as pd
from PIL import Image, ImageDraw, ImageFont

from nnplay import charts

PLOT = 480  # pixels per side of the plot (the page's chart is 360)
LEFT, TOP, RIGHT, BOTTOM = 72, 40, 150, 56  # margins: tick labels and titles, the title, the legend
INK = (51, 51, 51)
POINT = 4  # a point's radius in pixels (the chart's size-28 marks, scaled with the plot)
FONT_SIZE = 13


def ticks(lo: float, hi: float, count: int = 6) -> tuple[np.ndarray, list[str]]:
    """Round values inside [lo, hi], about ``count`` of them, 1, 2 or 5 times a power of ten apart
    (d3's rule, which the charts' axes follow), and their labels with as many decimals as the step needs."""
    raw = (hi - lo) / count
    power = 10.0 ** math.floor(math.log10(raw))
    error = raw / power
    step = power * (10 if error >= 50**0.5 else 5 if error >= 10**0.5 else 2 if error >= 2**0.5 else 1)
    values = np.arange(math.ceil(lo / step), math.floor(hi / step) + 1) * step
    decimals = max(0, -math.floor(math.log10(step)))
    return values, [f"{0.0 if abs(v) < step / 2 else v:.{decimals}f}" for v in values]


def _hex(colour: str) -> tuple[int, int, int]:
    return tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))


def _rgb8(rgb: np.ndarray) -> np.ndarray:
    return np.rint(np.clip(rgb, 0, 1) * 255).astype(np.uint8)


class _Figure:
    """A white picture with one square plot on data scales, its axes and a legend column."""

    def __init__(self, x_dom, y_dom, axis_titles, title: str):
        self.x_dom, self.y_dom = x_dom, y_dom
        self.image = Image.new("RGB", (LEFT + PLOT + RIGHT, TOP + PLOT + BOTTOM), "white")
        self.draw = ImageDraw.Draw(self.image)
        self.font = ImageFont.load_default(size=FONT_SIZE)
        self.bold = ImageFont.load_default(size=FONT_SIZE + 1)
        self.titles, self.title = axis_titles, title
        self.legend_y = TOP

    def px(self, x) -> np.ndarray:
        lo, hi = self.x_dom
        return LEFT + (np.asarray(x, dtype=float) - lo) / (hi - lo) * PLOT

    def py(self, y) -> np.ndarray:
        lo, hi = self.y_dom
        return TOP + (hi - np.asarray(y, dtype=float)) / (hi - lo) * PLOT

    def axes(self) -> None:
        """The plot's frame, ticks with their labels, the axis titles and the picture's title."""
        draw, font = self.draw, self.font
        draw.rectangle((LEFT - 1, TOP - 1, LEFT + PLOT, TOP + PLOT), outline=INK)
        values, labels = ticks(*self.x_dom)
        for x, label in zip(np.rint(self.px(values)), labels):
            draw.line((x, TOP + PLOT, x, TOP + PLOT + 5), fill=INK)
            draw.text((x, TOP + PLOT + 8), label, fill=INK, font=font, anchor="mt")
        values, labels = ticks(*self.y_dom)
        for y, label in zip(np.rint(self.py(values)), labels):
            draw.line((LEFT - 6, y, LEFT - 1, y), fill=INK)
            draw.text((LEFT - 9, y), label, fill=INK, font=font, anchor="rm")
        x_title = self._fit(self.titles[0], PLOT)
        draw.text((LEFT + PLOT / 2, TOP + PLOT + 30), x_title, fill=INK, font=self.bold, anchor="mt")
        self._vertical(self._fit(self.titles[1], PLOT), (14, TOP + PLOT / 2))
        draw.text((LEFT, TOP / 2), self._fit(self.title, PLOT + RIGHT - 10), fill=INK, font=self.bold, anchor="lm")

    def _vertical(self, text: str, centre) -> None:
        _, _, right, bottom = self.bold.getbbox(text)
        label = Image.new("L", (right + 2, bottom + 2), 0)
        ImageDraw.Draw(label).text((1, 1), text, fill=255, font=self.bold)
        label = label.rotate(90, expand=True)
        at = (round(centre[0] - label.width / 2), round(centre[1] - label.height / 2))
        self.image.paste(Image.new("RGB", label.size, INK), at, label)

    def _fit(self, text: str, width: float) -> str:
        """The text cut (with …) to ``width`` pixels, as the charts' labels are."""
        if self.font.getlength(text) <= width:
            return text
        while text and self.font.getlength(text + "…") > width:
            text = text[:-1]
        return text + "…"

    def points(self, frame: pd.DataFrame, colours: np.ndarray, y: str = "y", squares: bool = True) -> None:
        """Points edged in white; test points as squares where the chart draws them so."""
        xs, ys = self.px(frame["x"]), self.py(frame[y])
        for x, yy, split, colour in zip(xs, ys, frame["split"], map(tuple, colours)):
            box = (x - POINT, yy - POINT, x + POINT, yy + POINT)
            if squares and split == "test":
                self.draw.rectangle(box, fill=colour, outline="white")
            else:
                self.draw.ellipse(box, fill=colour, outline="white")

    def legend_title(self, text: str) -> None:
        self.draw.text((LEFT + PLOT + 20, self.legend_y), text, fill=INK, font=self.bold)
        self.legend_y += 22

    def legend_entry(self, text: str, colour, shape: str = "circle") -> None:
        x, y = LEFT + PLOT + 20, self.legend_y + 8
        box = (x, y - POINT - 1, x + 2 * POINT + 2, y + POINT + 1)
        (self.draw.rectangle if shape == "square" else self.draw.ellipse)(box, fill=colour)
        self.draw.text((x + 16, y), self._fit(text, RIGHT - 40), fill=INK, font=self.font, anchor="lm")
        self.legend_y += 20

    def legend_splits(self, splits) -> None:
        if "test" in set(splits):
            self.legend_y += 10
            self.legend_title("split")
            self.legend_entry("train", _hex(charts.TRAIN))
            self.legend_entry("test", _hex(charts.TRAIN), "square")

    def png(self) -> bytes:
        buf = io.BytesIO()
        self.image.save(buf, format="PNG")
        return buf.getvalue()


def boundary_png(
    grid,
    points: pd.DataFrame,
    *,
    task: str,
    class_names: list[str],
    discretize: bool = False,
    axis_titles=("x1", "x2"),
    title: str = "",
) -> bytes:
    """nnplay.charts.boundary_chart as a PNG: the same map in the same colours, the points on it
    coloured by class (by target for regression), axes with tick labels, a legend."""
    x_dom, y_dom = charts.cell_domains(grid)
    value_range = charts.value_range(grid, points, task)
    index, palette = charts.colour_levels(grid.values, task, discretize, value_range)
    figure = _Figure(x_dom, y_dom, axis_titles, title)
    cells = Image.fromarray(_rgb8(charts.lighten(palette)[index[::-1]]), "RGB")  # row 0 at the top
    figure.image.paste(cells.resize((PLOT, PLOT), Image.Resampling.NEAREST), (LEFT, TOP))
    figure.axes()
    if task == "regression":
        levels, shades = charts.colour_levels(points["label"].to_numpy(dtype=float), task, value_range=value_range)
        figure.points(points, _rgb8(shades[levels]))
        figure.legend_title("target")
        _colour_bar(figure, shades, value_range)
    else:
        colours = np.array([_hex(c) for c in charts.class_colours(len(class_names))], dtype=np.uint8)
        order = {name: i for i, name in enumerate(class_names)}
        figure.points(points, colours[[order[name] for name in points["label"]]])
        figure.legend_title("class")
        for name, colour in zip(class_names, colours):
            figure.legend_entry(name, tuple(colour))
    figure.legend_splits(points["split"])
    return figure.png()


def _colour_bar(figure: _Figure, shades: np.ndarray, value_range) -> None:
    """The targets' colours from the highest (top) to the lowest, with both ends labelled."""
    x, y, height = LEFT + PLOT + 20, figure.legend_y, 150
    bar = _rgb8(shades[::-1])[:, None, :].repeat(14, axis=1)
    figure.image.paste(Image.fromarray(bar, "RGB").resize((14, height)), (x, y))
    lo, hi = value_range
    for value, at in ((hi, y), (lo, y + height)):
        figure.draw.text((x + 20, at), f"{value:.3g}", fill=INK, font=figure.font, anchor="lm")
    figure.legend_y += height + 16


def curve_png(grid, points: pd.DataFrame, *, axis_title: str = "x", title: str = "") -> bytes:
    """nnplay.charts.curve_chart as a PNG: the data (train grey, test orange) and the fitted curve."""
    values = np.concatenate([np.asarray(grid.values, dtype=float), points["label"].to_numpy(dtype=float)])
    lo, hi = float(values.min()), float(values.max())
    pad = 0.05 * (hi - lo) if hi > lo else 1.0
    figure = _Figure((float(grid.xs[0]), float(grid.xs[-1])), (lo - pad, hi + pad), (axis_title, "y"), title)
    figure.axes()
    colours = np.array([_hex(charts.TRAIN if s == "train" else charts.PALETTE[0]) for s in points["split"]])
    figure.points(points, colours.reshape(-1, 3).astype(np.uint8), y="label", squares=False)
    line = list(zip(figure.px(grid.xs).tolist(), figure.py(grid.values).tolist()))
    figure.draw.line(line, fill=_hex(charts.PALETTE[1]), width=3, joint="curve")
    figure.legend_title("split")
    figure.legend_entry("train", _hex(charts.TRAIN))
    if "test" in set(points["split"]):
        figure.legend_entry("test", _hex(charts.PALETTE[0]))
    return figure.png()
