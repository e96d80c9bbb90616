"""The boundary as a PNG (the Playground's download): read back as pixels and held against the chart."""

import io

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from nnplay import charts, picture
from nnplay.config import Config
from nnplay.train import Trainer
from tests.test_charts import painted


@pytest.fixture(scope="module")
def trained():
    return Trainer(Config(epochs=60, n_samples=200)).run()


def pixels(png: bytes) -> np.ndarray:
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    return np.asarray(image.convert("RGB")).astype(int)


def rgb(colour: str) -> list[int]:
    return [int(colour[i : i + 2], 16) for i in (1, 3, 5)]


def class_points(d, with_test=False) -> pd.DataFrame:
    """A data set's points as the pages give them to a boundary picture (x, y, class name, split)."""
    parts = [("train", d.raw_train, d.y_train)] + ([("test", d.raw_test, d.y_test)] if with_test else [])
    frames = [
        pd.DataFrame({"x": raw[:, 0], "y": raw[:, 1], "label": np.asarray(d.class_names)[y], "split": split})
        for split, raw, y in parts
    ]
    return pd.concat(frames, ignore_index=True)


def place(domains, x, y):
    """Where a point of the plane lands in the picture: the plot spans ``domains``, edge to edge."""
    (x0, x1), (y0, y1) = domains
    px = picture.LEFT + (np.asarray(x, dtype=float) - x0) / (x1 - x0) * picture.PLOT
    py = picture.TOP + (y1 - np.asarray(y, dtype=float)) / (y1 - y0) * picture.PLOT
    return px, py


def assert_plot_shows(image, domains, cells, x, y, colours, *, min_points=20) -> None:
    """The picture's plot shows the map ``cells`` ([n, n, 3] RGB, row 0 at the bottom) over
    ``domains`` wherever no point covers a cell's centre, and each point (``x``, ``y``) drawn in its
    RGB ``colour`` where no point drawn after it covers it (points are drawn in order)."""
    px, py = place(domains, x, y)
    n = len(cells)
    cell = picture.PLOT / n
    checked = 0
    for row in range(n):
        for col in range(n):
            cx, cy = picture.LEFT + (col + 0.5) * cell, picture.TOP + picture.PLOT - (row + 0.5) * cell
            if not ((np.abs(px - cx) <= picture.POINT + 1) & (np.abs(py - cy) <= picture.POINT + 1)).any():
                assert image[int(cy), int(cx)].tolist() == list(cells[row][col]), (row, col)
                checked += 1
    assert checked > 0.4 * n * n
    reach = 2 * picture.POINT + 2
    top = [
        i
        for i in range(len(px))
        if not ((np.abs(px[i + 1 :] - px[i]) < reach) & (np.abs(py[i + 1 :] - py[i]) < reach)).any()
    ]
    assert len(top) >= min_points
    for i in top:
        assert image[int(py[i]), int(px[i])].tolist() == list(colours[i]), i


def test_the_png_is_the_charts_map_with_its_points_on_axes_at_a_useful_size(trained):
    d = trained.data
    grid = trained.boundary(resolution=40)
    points = class_points(d)
    kw = dict(task=d.task, class_names=d.class_names, axis_titles=("x1", "x2"))
    image = pixels(picture.boundary_png(grid, points, title="epoch 60", **kw))
    assert image.shape[0] >= picture.PLOT and image.shape[1] >= picture.PLOT >= 480
    # The map in the colours the page's chart gives each cell (its spec: a palette index per cell),
    # the points in their class's colours.
    figure = charts.boundary_chart(grid, points, **kw)
    spec = figure.to_dict()
    cells_layer, dots_layer = spec["layer"]
    fills = cells_layer["encoding"]["fill"]["scale"]["range"]
    cells = [rgb(fills[c]) for c in painted(figure.data[cells_layer["data"]["name"]], (40, 40)).ravel()]
    classes = dots_layer["encoding"]["color"]["scale"]
    colour_of = dict(zip(classes["domain"], classes["range"]))
    domains = [dots_layer["encoding"][axis]["scale"]["domain"] for axis in ("x", "y")]
    assert domains == [list(map(pytest.approx, dom)) for dom in charts.cell_domains(grid)]
    colours = [rgb(colour_of[label]) for label in points["label"]]
    assert_plot_shows(image, domains, np.reshape(cells, (40, 40, 3)), points["x"], points["y"], colours)
    # The axes: a tick under the plot (and left of it) at each round value inside the plane.
    (x0, x1), (y0, y1) = domains
    xs, x_labels = picture.ticks(x0, x1)
    ys, _ = picture.ticks(y0, y1)
    assert len(xs) >= 4 and len(ys) >= 4 and "0" in x_labels
    tick_x, _ = place(domains, xs, np.zeros_like(xs))
    _, tick_y = place(domains, np.zeros_like(ys), ys)
    below, left = picture.TOP + picture.PLOT + 3, picture.LEFT - 4
    assert [image[below, round(x)].tolist() for x in tick_x] == [list(picture.INK)] * len(xs)
    assert [image[round(y), left].tolist() for y in tick_y] == [list(picture.INK)] * len(ys)
    between = (tick_x[0] + tick_x[1]) / 2
    assert image[below, round(between)].tolist() == [255, 255, 255]  # only the ticks, not a line


def test_test_points_are_squares_and_a_multiclass_map_keeps_its_colours():
    trainer = Trainer(Config(dataset="blobs", n_classes=3, epochs=20, n_samples=150, test_fraction=0.3)).run()
    d = trainer.data
    grid = trainer.boundary()
    points = class_points(d, with_test=True)
    image = pixels(picture.boundary_png(grid, points, task=d.task, class_names=d.class_names))
    index, palette = charts.colour_levels(grid.values, d.task)
    lit = np.rint(charts.lighten(palette) * 255).astype(int)
    colours = [rgb(charts.class_colours(3)[d.class_names.index(label)]) for label in points["label"]]
    domains = charts.cell_domains(grid)
    assert_plot_shows(image, domains, lit[index], points["x"], points["y"], colours)
    # Test points are squares: inside the white edge, a square's corner is filled, a circle's is not.
    px, py = place(domains, points["x"], points["y"])
    r, reach = picture.POINT - 1, 2 * picture.POINT + 2
    alone = [
        i
        for i in points.index[points["split"] == "test"]
        if ((np.abs(px - px[i]) < reach) & (np.abs(py - py[i]) < reach)).sum() == 1
    ]
    assert len(alone) >= 3
    for i in alone:
        assert image[int(py[i]) + r, int(px[i]) + r].tolist() == colours[i]
        assert image[int(py[i]) + picture.POINT + 2, int(px[i])].tolist() != colours[i]  # and no bigger


def test_regression_points_take_the_maps_colour_for_their_target_and_1d_data_draws_its_curve():
    trainer = Trainer(Config(dataset="plane", epochs=5, n_samples=80)).run()
    d = trainer.data
    grid = trainer.boundary()
    target = d.untarget(d.y_train)
    points = pd.DataFrame({"x": d.raw_train[:, 0], "y": d.raw_train[:, 1], "label": target, "split": "train"})
    image = pixels(picture.boundary_png(grid, points, task=d.task, class_names=[]))
    span = charts.value_range(grid, points, d.task)
    cells, palette = charts.colour_levels(grid.values, d.task, value_range=span)
    levels, _ = charts.colour_levels(target, d.task, value_range=span)
    as_rgb = np.rint(palette * 255).astype(int)
    lit = np.rint(charts.lighten(palette) * 255).astype(int)
    assert_plot_shows(image, charts.cell_domains(grid), lit[cells], points["x"], points["y"], as_rgb[levels])

    sine = Trainer(Config(dataset="sine", epochs=30, n_samples=80)).run()
    d = sine.data
    grid = sine.boundary()
    points = pd.DataFrame({"x": d.raw_train[:, 0], "y": 0.0, "label": d.untarget(d.y_train), "split": "train"})
    image = pixels(picture.curve_png(grid, points, axis_title=d.raw_names[0]))
    blue = (image == rgb(charts.PALETTE[1])).all(axis=2)
    grey = (image == rgb(charts.TRAIN)).all(axis=2)
    plot = (slice(picture.TOP, picture.TOP + picture.PLOT), slice(picture.LEFT, picture.LEFT + picture.PLOT))
    columns_with_curve = blue[plot].any(axis=0)
    assert columns_with_curve.mean() > 0.95  # one unbroken line across the plot
    assert grey[plot].sum() > 10 * len(points)


@pytest.mark.parametrize(
    "lo, hi, labels",
    [
        (-1.2, 1.2, ["-1.0", "-0.5", "0.0", "0.5", "1.0"]),
        (-6.3, 6.3, ["-6", "-4", "-2", "0", "2", "4", "6"]),
        (981.0, 1130.0, ["1000", "1020", "1040", "1060", "1080", "1100", "1120"]),
        (0.0131, 0.0171, ["0.0135", "0.0140", "0.0145", "0.0150", "0.0155", "0.0160", "0.0165", "0.0170"]),
    ],
)
def test_ticks_are_round_values_inside_the_plane(lo, hi, labels):
    values, text = picture.ticks(lo, hi)
    assert text == labels
    assert values.tolist() == pytest.approx([float(t) for t in labels])
