import altair as alt
import numpy as np
import pandas as pd
import pytest
import torch

from nnplay import charts
from nnplay.config import Config
from nnplay.train import Trainer


@pytest.fixture(scope="module")
def trained():
    return Trainer(Config(epochs=60, n_samples=200)).run()


def layer_data(spec, i):
    return spec["datasets"][spec["layer"][i]["data"]["name"]]


def painted(cells: pd.DataFrame, shape) -> np.ndarray:
    """The palette index each grid point shows once the cells (places in half cells) are painted in
    order, each over the ones before, as the browser paints them; -1 where none covers it."""
    h, w = shape
    centres_y, centres_x = 2 * np.arange(h) + 1, 2 * np.arange(w) + 1  # grid point (i, j), in half cells
    canvas = np.full((h, w), -1)
    for x, x2, y, y2, c in cells[["x", "x2", "y", "y2", "c"]].itertuples(index=False):
        rows = (centres_y > y) & (centres_y < y2)
        cols = (centres_x > x) & (centres_x < x2)
        canvas[np.ix_(rows, cols)] = c
    return canvas


def test_colour_grid_maps_probabilities_to_the_palette():
    rgb = charts.colour_grid(np.array([[0.0, 0.5, 1.0]]), "binary")
    np.testing.assert_allclose(rgb[0, 0], charts._rgb(charts.PALETTE[0]))
    np.testing.assert_allclose(rgb[0, 1], charts.NEUTRAL)
    np.testing.assert_allclose(rgb[0, 2], charts._rgb(charts.PALETTE[1]))
    sharp = charts.colour_grid(np.array([[0.4, 0.6]]), "binary", discretize=True)
    np.testing.assert_allclose(sharp[0], [charts._rgb(charts.PALETTE[0]), charts._rgb(charts.PALETTE[1])])


def test_multiclass_colour_is_the_winner_with_its_probability_as_intensity():
    probs = np.zeros((3, 1, 2))
    probs[2, 0, 0] = 1.0  # certain: class 2
    probs[:, 0, 1] = 1 / 3  # undecided
    rgb = charts.colour_grid(probs, "multiclass")
    np.testing.assert_allclose(rgb[0, 0], charts._rgb(charts.PALETTE[2]))
    np.testing.assert_allclose(rgb[0, 1], charts.NEUTRAL)


def test_palette_is_okabe_ito():
    assert charts.PALETTE[:3] == ["#E69F00", "#0072B2", "#009E73"]


def test_boundary_cells_sit_on_the_grid_in_the_map_colours(trained):
    grid = trained.boundary(resolution=20)
    d = trained.data
    points = pd.DataFrame(
        {"x": d.raw_train[:, 0], "y": d.raw_train[:, 1], "label": [str(v) for v in d.y_train], "split": "train"}
    )
    spec = charts.boundary_chart(grid, points, task="binary", class_names=d.class_names).to_dict()
    cells_layer, dots_layer = spec["layer"]
    assert cells_layer["mark"]["type"] == "rect" and dots_layer["mark"]["type"] == "point"
    assert spec["usermeta"] == {"embedOptions": {"renderer": "canvas"}}
    assert spec["resolve"]["scale"] == {"x": "independent", "y": "independent"}
    cells = pd.DataFrame(layer_data(spec, 0))
    assert len(layer_data(spec, 1)) == len(d.X_train)
    # Painted in order, the cells show every grid point's palette index, in places (half cells) on a
    # scale over the whole grid...
    index, _palette = charts.colour_levels(grid.values, "binary")
    assert (painted(cells, (20, 20)) == index).all()
    assert len(cells) < 400  # a run of one colour is one cell
    # ...each reaching half a cell into the next, which is painted over it: no seams.
    assert ((cells["x2"] - cells["x"]) % 2 == 1).all() and (cells["y2"] == cells["y"] + 3).all()
    enc = cells_layer["encoding"]
    assert enc["x"]["scale"]["domain"] == [0, 40] and enc["y"]["scale"]["domain"] == [0, 40]
    # ...which spans the points' plot, whose domain runs from the first cell's edge to the last's.
    step = grid.xs[1] - grid.xs[0]
    x_domain = dots_layer["encoding"]["x"]["scale"]["domain"]
    assert x_domain == [pytest.approx(grid.xs[0] - step / 2), pytest.approx(grid.xs[-1] + step / 2)]
    # Its colour: the map's colour of that grid point, lightened.
    fill = enc["fill"]["scale"]
    shown = np.array([[int(c[i : i + 2], 16) for i in (1, 3, 5)] for c in np.asarray(fill["range"])[index.ravel()]])
    expected = charts.LIGHTEN + (1 - charts.LIGHTEN) * charts.colour_grid(grid.values, "binary")
    np.testing.assert_allclose(shown / 255, expected.reshape(-1, 3), atol=1 / 255)


def test_colour_levels_are_the_map_within_a_shade():
    probs = np.random.default_rng(0).dirichlet(np.ones(3), size=(6, 6)).transpose(2, 0, 1)
    for values, task, shades in ((probs, "multiclass", charts.STRENGTHS), (probs[0], "binary", charts.LEVELS)):
        index, palette = charts.colour_levels(values, task)
        assert index.shape == values.shape[-2:] and index.max() < len(palette)
        assert len(palette) == (shades * 3 if task == "multiclass" else shades)


def test_a_new_frame_of_the_boundary_sends_new_data_under_the_same_spec(trained):
    """What the page sends (pages._draw.wire): the same spec with new data, so the browser swaps
    the data in place instead of building the chart again."""
    from pages._draw import boundary, wire

    fresh = Trainer(trained.config)

    def sent():
        spec = wire(boundary(fresh))
        return spec, spec.pop("datasets")

    before, data_before = sent()
    fresh.step(5)
    after, data_after = sent()
    assert before == after
    assert list(data_before) == list(data_after) == ["cells", "points"]
    assert data_before["cells"] != data_after["cells"]  # the map moved
    assert data_before["points"] == data_after["points"]  # the points did not


def test_image_rows_run_top_down(trained):
    grid = trained.boundary(resolution=20)
    rgb = charts.colour_grid(grid.values, "binary")[::-1]
    np.testing.assert_allclose(rgb[0], charts.colour_grid(grid.values[-1:], "binary")[0])  # top row = highest y


def test_loss_chart_carries_train_and_test_series(trained):
    spec = charts.loss_chart(trained.history).to_dict()
    rows = pd.concat(pd.DataFrame(d) for d in spec["datasets"].values())
    assert set(rows["series"]) == {"train_loss", "test_loss", "train_accuracy", "test_accuracy"}
    assert len(rows[rows["series"] == "train_loss"]) == 60
    log = charts.loss_chart(trained.history, log_scale=True).to_dict()
    assert log["vconcat"][0]["encoding"]["y"]["scale"]["type"] == "log"


def test_a_long_loss_curve_draws_its_first_epochs_and_then_every_few():
    history = pd.DataFrame({"epoch": np.arange(1, 5001, dtype=float), "train_loss": np.linspace(1, 0, 5000)})
    data = charts.loss_chart(history).data["loss"]
    epochs = data["epoch"].tolist()
    assert len(epochs) <= charts.CURVE_POINTS + 100
    assert epochs[:100] == list(range(1, 101)) and epochs[-1] == 5000
    assert min(np.diff(epochs)) > 0 and max(np.diff(epochs)) == 13  # every 13th epoch after the first 100
    shown = history["train_loss"].iloc[[int(e) - 1 for e in epochs]]
    assert data["value"].tolist() == pytest.approx(shown.tolist())


def test_drift_chart_counts_every_point_at_each_shown_epoch(trained):
    drift = trained.snapshots.drift()
    spec = charts.drift_chart(drift, trained.data.y_train, trained.data.class_names, max_rows=5).to_dict()
    counts = pd.DataFrame(next(iter(spec["datasets"].values())))
    per_epoch = counts.groupby("epoch")["count"].sum()
    assert len(per_epoch) == 5 and (per_epoch == len(trained.data.X_train)).all()
    assert per_epoch.index[0] == 0 and per_epoch.index[-1] == trained.epoch


def test_bars_and_confusion(trained):
    snap = trained.snapshots.items[-1]
    bars = charts.bars_chart(snap.outputs, trained.data.y_train, trained.data.class_names, epoch=snap.epoch).to_dict()
    assert len(next(iter(bars["datasets"].values()))) == len(trained.data.X_train)
    y = np.array([0, 0, 1, 1, 1])
    pred = np.array([0, 1, 1, 1, 0])
    spec = charts.confusion_chart(y, pred, ["a", "b"]).to_dict()
    cells = {(r["true"], r["predicted"]): r["count"] for r in next(iter(spec["datasets"].values()))}
    assert cells == {("a", "a"): 1, ("a", "b"): 1, ("b", "a"): 1, ("b", "b"): 2}


def test_confusion_labels_read_level_at_the_counts_size():
    spec = charts.confusion_chart(np.array([0, 1, 2]), np.array([0, 2, 2]), ["setosa", "versicolor", "virginica"])
    spec = spec.to_dict()
    counts_size = next(layer["mark"]["fontSize"] for layer in spec["layer"] if layer["mark"]["type"] == "text")
    for layer in spec["layer"]:
        for channel, title in (("x", "predicted class"), ("y", "true class")):
            encoding = layer["encoding"][channel]
            assert encoding["title"] == title
            assert encoding["axis"]["labelAngle"] == 0  # Vega-Lite's default stands a nominal x axis's labels on end
            assert encoding["axis"]["labelFontSize"] >= counts_size  # its default is 10 px
            assert encoding["axis"]["labelLimit"] >= 100  # "versicolor" whole


def network_parts(figure):
    """A network Figure's data by what each layer of its spec draws: the neurons' cells, the links, the dots."""
    spec = figure.to_dict()
    alt.LayerChart.from_dict(spec)  # a valid Vega-Lite chart, data included
    parts = {layer["mark"]["type"]: layer["data"]["name"] for layer in spec["layer"]}
    return tuple(figure.data[parts[mark]].astype({"x": int, "y": int}) for mark in ("rect", "rule", "circle"))


def spans(lo, hi):
    """Intervals [lo, hi) merged where they overlap: what a person sees as one block."""
    merged = []
    for a, b in sorted(zip(lo, hi)):
        if merged and a < merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return merged


def neuron_maps(cells, res):
    """Each hidden layer's maps as a person reads them: columns from left to right, the first neuron
    on top; per map its lower-left corner (half cells) and the palette index it shows at each grid point."""
    cells = cells.astype(int)
    layers = []
    for x0, x1 in spans(cells["x"], cells["x2"]):
        column = cells[(cells["x"] >= x0) & (cells["x"] < x1)]
        maps = []
        for y0, y1 in reversed(spans(column["y"], column["y2"])):  # highest first
            cell = column[(column["y"] >= y0) & (column["y"] < y1)]
            local = cell.assign(x=cell["x"] - x0, x2=cell["x2"] - x0, y=cell["y"] - y0, y2=cell["y2"] - y0)
            maps.append(((x0, y0), painted(local, (res, res))))
        layers.append(maps)
    return layers


def activations_by_hand(trainer, res):
    """Every hidden layer's activations on the plane's res x res grid, computed here with torch: [units, res, res]."""
    (name,) = trainer.config.activation
    act = {"tanh": torch.tanh, "relu": torch.relu}[name]
    _, _, points = trainer.data.plane(res)
    a = torch.as_tensor(trainer.data.transform(points), dtype=torch.float64)
    out = []
    for linear in trainer.model.linears[:-1]:
        a = act(a @ linear.weight.detach().double().T + linear.bias.detach().double())
        out.append(a.T.reshape(-1, res, res).numpy())
    return out


def network_figure(trainer, res):
    weights = [layer.weight.detach().numpy() for layer in trainer.model.linears]
    return charts.network_chart(weights, ["x1", "x2"], ["out"], trainer.neuron_grids(resolution=res))


@pytest.mark.parametrize("activation, epochs", [("tanh", 60), ("tanh", 0), ("relu", 60)])
def test_network_chart_draws_each_neuron_as_its_activation_over_the_plane(activation, epochs):
    trainer = Trainer(Config(epochs=epochs or 1, n_samples=200, activation=(activation,)))
    if epochs:
        trainer.run()
    res = 10
    figure = network_figure(trainer, res)
    cells, _, _ = network_parts(figure)
    shown = neuron_maps(cells, res)
    assert [len(maps) for maps in shown] == list(trainer.config.hidden)
    for maps, expected in zip(shown, activations_by_hand(trainer, res)):
        # The boundary's diverging colours on -1...1 (orange below zero, grey at zero, blue above), one
        # scale per layer, stretched where a layer goes past it (ReLU): an untrained tanh layer is pale.
        top = max(1.0, np.abs(expected).max())
        levels = np.rint((expected / top + 1) / 2 * (charts.LEVELS - 1))
        assert np.ptp(levels) > 4  # maps that differ: a wrong neuron or plane shows
        for (_, grid), want in zip(maps, levels):
            assert np.abs(grid - want).max() <= 1  # float rounding may tip a value into the next shade
    points = pd.DataFrame({"x": [0.0], "y": [0.0], "label": ["0"], "split": ["train"]})
    boundary = charts.boundary_chart(trainer.boundary(resolution=res), points, task="binary", class_names=["0", "1"])
    fill = figure.spec["layer"][0]["encoding"]["fill"]["scale"]
    assert fill == boundary.spec["layer"][0]["encoding"]["fill"]["scale"]  # the boundary map's colours
    assert figure.spec["usermeta"] == charts.CANVAS


def test_network_chart_draws_every_weight_between_its_neurons_with_its_sign_and_size(trained):
    res = 10
    weights = [layer.weight.detach().numpy() for layer in trained.model.linears]
    cells, links, dots = network_parts(network_figure(trained, res))
    dots = dots[dots["dot"] > 0].sort_values("y", ascending=False)
    inputs, outputs = dots[dots["x"] == dots["x"].min()], dots[dots["x"] == dots["x"].max()]
    # Where a person sees each neuron's links leave (right) and arrive (left): a map's sides, a dot's centre.
    leave = [list(zip(inputs["x"], inputs["y"]))]
    arrive = [None]
    for maps in neuron_maps(cells, res):
        leave.append([(x0 + 2 * res, y0 + res) for (x0, y0), _ in maps])
        arrive.append([(x0, y0 + res) for (x0, y0), _ in maps])
    arrive.append(list(zip(outputs["x"], outputs["y"])))
    assert len(links) == sum(w.size for w in weights)
    peak = max(np.abs(w).max() for w in weights)
    seen = set()
    for link in links.itertuples():
        ((layer, i),) = [
            (k, i) for k, ends in enumerate(leave) for i, end in enumerate(ends) if end == (link.x, link.y)
        ]
        j = arrive[layer + 1].index((link.x2, link.y2))
        assert link.weight == pytest.approx(weights[layer][j, i]), (layer, i, j)
        assert link.sign == ("positive" if link.weight >= 0 else "negative")
        assert link.width == pytest.approx(0.3 + 4.5 * abs(weights[layer][j, i]) / peak)
        seen.add((layer, i, j))
    assert len(seen) == len(links)
    colour = network_figure(trained, res).spec["layer"][1]["encoding"]["color"]["scale"]
    blue, orange = charts.PALETTE[1], charts.PALETTE[0]
    assert dict(zip(colour["domain"], colour["range"])) == {"positive": blue, "negative": orange}


def test_a_new_frame_of_the_network_sends_new_data_under_the_same_spec(trained):
    """What the page sends (pages._draw.wire): the spec built once for the network's shape, the
    maps and the links new each frame, the names as they were."""
    from pages._draw import wire

    fresh = Trainer(trained.config)
    first = charts.trainer_network_chart(fresh)
    before = wire(first)
    fresh.step(5)
    second = charts.trainer_network_chart(fresh)
    after = wire(second)
    assert first.spec is second.spec
    data_before, data_after = before.pop("datasets"), after.pop("datasets")
    assert before == after
    assert {k: data_before[k] != data_after[k] for k in data_before} == {"cells": True, "links": True, "nodes": False}


def test_network_sizes_the_neuron_maps_to_the_network():
    assert charts.map_resolution((8, 4)) == 10
    for hidden in ((32,), (32, 32), (16, 16, 16, 16)):
        assert sum(hidden) * charts.map_resolution(hidden) ** 2 <= charts.MAP_CELLS
    shapes = ((32, 32), (33,), (32, 32, 32))
    drawable = {h: charts.network_drawable(Trainer(Config(hidden=h, epochs=1))) for h in shapes}
    assert drawable == {(32, 32): True, (33,): False, (32, 32, 32): False}


def test_network_chart_on_a_line_repeats_each_neurons_row():
    trainer = Trainer(Config(dataset="sine", hidden=(3,), epochs=5)).run()
    cells, _, _ = network_parts(charts.trainer_network_chart(trainer))
    (maps,) = neuron_maps(cells, charts.map_resolution((3,)))
    assert len(maps) == 3 and all((grid == grid[:1]).all() for _, grid in maps)  # the same up the square,
    assert any(len(set(grid[0])) > 1 for _, grid in maps)  # the activation along x across it


def test_curve_chart_for_1d_regression():
    trainer = Trainer(Config(dataset="sine", epochs=10, grid=30))
    grid = trainer.boundary()
    points = pd.DataFrame(
        {
            "x": trainer.data.raw_train[:, 0],
            "y": 0.0,
            "label": trainer.data.untarget(trainer.data.y_train),
            "split": "train",
        }
    )
    spec = charts.curve_chart(grid, points).to_dict()
    assert len(layer_data(spec, 1)) == 30


def test_a_live_chart_is_built_once_per_look_and_its_frames_change_only_data(trained):
    """The spec of a look is built (and checked against the Vega-Lite schema) once; a new frame of the
    same look sends the same spec with new data, which the browser swaps in place."""
    import altair as alt

    d = trained.data
    points = pd.DataFrame({"x": d.raw_train[:, 0], "y": d.raw_train[:, 1], "label": "a", "split": "train"})
    early = charts.boundary_chart(trained.boundary(epoch=0), points, task="binary", class_names=["a", "b"])
    late = charts.boundary_chart(trained.boundary(), points, task="binary", class_names=["a", "b"])
    assert early.spec is late.spec
    assert not early.data["cells"]["c"].equals(late.data["cells"]["c"])
    alt.LayerChart.from_dict(late.to_dict())  # a valid Vega-Lite chart, data included
    curves = charts.loss_chart(trained.history)
    assert curves.spec is charts.loss_chart(trained.history.iloc[:5]).spec
    assert curves.spec is not charts.loss_chart(trained.history, log_scale=True).spec
    wire = late.wire()
    assert set(wire["datasets"]) == {"cells", "points"} and all(isinstance(b, bytes) for b in wire["datasets"].values())


def test_arrow_bytes_are_what_pandas_whole_frame_conversion_writes(trained):
    """The page sends each chart's data as Arrow: the fast conversion must write the very bytes
    pa.Table.from_pandas does, for every chart's data and for frames unlike the first of their kind."""
    import pyarrow as pa

    def reference(frame):
        table = pa.Table.from_pandas(frame, preserve_index=False)
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
        return sink.getvalue().to_pybytes()

    d = trained.data
    points = pd.DataFrame(
        {"x": d.raw_train[:, 0], "y": d.raw_train[:, 1], "label": np.asarray(d.class_names)[d.y_train]}
    )
    figures = [
        charts.loss_chart(trained.history),
        charts.trainer_network_chart(trained),
        charts.drift_chart(trained.snapshots.drift(), d.y_train, d.class_names),
        charts.boundary_chart(trained.boundary(), points, task=d.task, class_names=d.class_names),
    ]
    frames = [frame for figure in figures for frame in figure.data.values()]
    frames += [
        pd.DataFrame({"v": [1.0, np.nan, np.inf], "flag": [True, False, True], "n": np.arange(3, dtype=np.int32)}),
        pd.DataFrame({"name": ["a", None, "c"], "c": pd.Categorical(["x", "y", "x"], categories=["x", "y", "z"])}),
        pd.DataFrame({"v": np.zeros(0)}),
    ]
    for frame in frames + frames:  # the second time from the cached schema
        assert charts.arrow_bytes(frame) == reference(frame), list(frame.dtypes)
    mixed = pd.DataFrame({"o": pd.Series(["a", "b"], dtype=object)})
    assert charts.arrow_bytes(mixed) == reference(mixed)
    mixed["o"] = pd.Series([1, 2], dtype=object)  # same column and dtype, other content: not the cached schema's
    assert charts.arrow_bytes(mixed) == reference(mixed)
