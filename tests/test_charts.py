import numpy as np
import pandas as pd
import pytest

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
    """What the page sends (pages._shared.wire): the same spec with new data, so the browser swaps
    the data in place instead of building the chart again."""
    from pages._shared import boundary, wire

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


def test_network_chart_draws_every_weight_with_its_sign(trained):
    weights = [layer.weight.detach().cpu().numpy() for layer in trained.model.linears]
    spec = charts.network_chart(weights, ["x1", "x2"], ["out"]).to_dict()
    links = pd.DataFrame(layer_data(spec, 0))
    assert len(links) == sum(w.size for w in weights)
    assert ((links["weight"] >= 0) == (links["sign"] == "positive")).all()
    assert links["width"].max() == pytest.approx(4.8)


def test_neuron_charts_one_image_per_neuron(trained):
    spec = charts.neuron_charts(trained.neuron_grids(resolution=10)).to_dict()
    assert len(next(iter(spec["datasets"].values()))) == sum(trained.config.hidden)


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
