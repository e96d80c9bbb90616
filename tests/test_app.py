"""The app, driven through Streamlit's AppTest (no browser): pages, sidebar -> engine -> charts, URL."""

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import torch
from streamlit.testing.v1 import AppTest

from nnplay.charts import trainer_network_chart as network_chart
from nnplay.config import Config
from nnplay.data import build
from nnplay.frames import DEFAULT_SPEED, SPEEDS, frame_epochs, schedule
from nnplay.text import literal

APP = str(Path(__file__).resolve().parents[1] / "app.py")
CHART_KEYS = ("boundary", "loss", "drift", "timeline")


def app(**params) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    for k, v in params.items():
        at.query_params[k] = v
    return at.run()


def charts(at, key):
    """(spec, {dataset name: DataFrame}) of every chart inside the container with this key."""
    return [(json.loads(el.proto.spec), frames_of(el)) for el in at.get_by_key(key).get("vega_lite_chart")]


def frames_of(el) -> dict:
    """A chart element's datasets by name, as DataFrames (Streamlit sends them as Arrow)."""
    return {d.name: pa.ipc.open_stream(d.data.data).read_pandas() for d in el.proto.datasets}


def ok(at):
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_first_load_shows_the_untrained_network_then_plays_the_frame_schedule():
    at = ok(app())
    trainer = at.session_state["trainer"]
    assert at.session_state["running"] and trainer.epoch == 0  # the first frame: before any training
    for key in ("boundary", "loss", "drift"):
        assert charts(at, key), key
    assert "epoch 0 / 1000" in at.get_by_key("epoch").get("progress")[0].proto.text
    shown = [trainer.epoch]
    while at.session_state["running"]:
        ok(at.run())
        shown.append(trainer.epoch)
    assert shown == schedule(trainer.config.epochs, DEFAULT_SPEED)  # one frame per run, where the learning is
    assert trainer.status == "done"
    for key in CHART_KEYS:  # the timeline too, now that training has stopped
        assert charts(at, key), key


def test_a_new_tab_gets_the_untrained_boundary_first_and_the_rest_at_its_first_tick(monkeypatch):
    import pages._turns

    monkeypatch.setattr(pages._turns, "PAINT_FIRST", True)
    at = ok(app(lr="nan"))
    assert charts(at, "boundary") and at.button(key="pause") and at.get_by_key("epoch").get("progress")
    for key in ("loss", "network", "drift"):
        with pytest.raises(KeyError):
            at.get_by_key(key)
    assert not at.sidebar.selectbox  # no controls yet: they come with the first tick
    assert at.session_state["rest_pending"] and at.session_state["trainer"].epoch == 0
    assert any("lr" in w.value for w in at.warning)
    ok(at.run())  # what the first tick asks for: the whole page, the link's warning still on it
    assert any("lr" in w.value for w in at.warning)
    assert at.sidebar.selectbox(key="w_dataset").value == "circle"
    for key in ("boundary", "loss", "network", "drift"):
        assert charts(at, key), key
    assert not at.session_state["rest_pending"]


def test_the_untrained_network_stays_on_screen_a_moment(monkeypatch):
    import pages._turns

    monkeypatch.setattr(pages._turns, "UNTRAINED_SECONDS", 60.0)
    monkeypatch.setattr(pages._turns, "UNTRAINED_TICKS", 2)
    at = ok(app())
    ok(at.run())
    ok(at.run())
    assert at.session_state["running"] and at.session_state["trainer"].epoch == 0
    at.session_state["hold_until"] = 0.0  # the moment has passed, and two ticks with it
    ok(at.run())
    assert at.session_state["trainer"].epoch == 1
    at.button(key="reset").click()  # every run starts from its untrained picture
    ok(at.run())
    at.button(key="play").click()
    ok(at.run())  # one tick
    at.session_state["hold_until"] = 0.0
    ok(at.run())  # two ticks
    assert at.session_state["running"] and at.session_state["trainer"].epoch == 0  # seconds passed, ticks too few
    ok(at.run())
    assert at.session_state["trainer"].epoch == 1


def test_in_a_busy_room_the_untrained_network_is_held_for_its_seconds_not_for_slow_ticks(monkeypatch):
    import pages._turns

    monkeypatch.setattr(pages._turns, "UNTRAINED_SECONDS", 1.0)
    monkeypatch.setattr(pages._turns, "UNTRAINED_TICKS", 5)
    monkeypatch.setattr(pages._turns, "tick_every", lambda: 1.0)  # a busy room: the browser asks once a second
    at = ok(app())
    ok(at.run())  # the untrained frame
    assert at.session_state["running"] and at.session_state["trainer"].epoch == 0
    at.session_state["hold_until"] = 0.0  # its second has passed: one more tick, not five
    ok(at.run())
    ok(at.run())
    assert at.session_state["trainer"].epoch > 0


@pytest.mark.parametrize("speed", list(SPEEDS))
def test_the_speed_control_keeps_the_schedule_and_shows_on_every_page(speed):
    at = ok(app(autoplay="0", epochs="300"))
    at.select_slider(key="w_speed").set_value(speed)
    ok(at.run())
    assert at.query_params.get("speed") == (None if speed == DEFAULT_SPEED else speed)  # a link keeps it
    trainer = at.session_state["trainer"]
    for expected in schedule(300, speed)[1:6]:
        at.button(key="step").click()  # Step is one frame of the schedule: one epoch at first
        ok(at.run())
        assert trainer.epoch == expected
    for page in ("pages/compare.py", "pages/inside.py", "pages/playground.py"):
        at.switch_page(page)
        ok(at.run())
        assert at.select_slider(key="w_speed").value == speed, page


def test_a_speed_from_a_link():
    at = ok(app(speed="slow motion", autoplay="0"))
    assert at.select_slider(key="w_speed").value == "slow motion"
    at = ok(app(speed="warp", autoplay="0"))
    assert at.session_state["speed"] == DEFAULT_SPEED
    assert any("speed" in w.value for w in at.warning)


def test_autoplay_off():
    at = ok(app(autoplay="0"))
    assert not at.session_state["running"] and at.session_state["trainer"].epoch == 0


def test_loss_chart_carries_the_history():
    at = ok(app())
    trainer = at.session_state["trainer"]
    for _ in range(5):
        ok(at.run())
    ((_spec, frames),) = charts(at, "loss")
    rows = pd.concat(frames.values())
    assert set(rows["series"]) >= {"train_loss", "test_loss", "train_accuracy", "test_accuracy"}
    assert rows[rows["series"] == "train_loss"]["value"].tolist() == pytest.approx(trainer.records.column("train_loss"))


def test_sidebar_change_reaches_the_engine_and_the_charts():
    at = ok(app(autoplay="0"))
    at.selectbox(key="w_dataset").set_value("xor")
    ok(at.run())
    assert at.session_state["config"].dataset == "xor"
    assert at.session_state["trainer"].data.name == "xor"
    assert at.query_params["dataset"] == "xor"
    ((_spec, frames),) = charts(at, "boundary")
    points = next(f for f in frames.values() if "split" in f)
    assert len(points) == len(at.session_state["trainer"].data.X_train)


def test_learning_rate_change_continues_training_architecture_change_restarts():
    at = ok(app())
    trainer = at.session_state["trainer"]
    while trainer.epoch < 20:
        ok(at.run())
    epoch = trainer.epoch
    at.select_slider(key="w_lr").set_value(0.1)
    ok(at.run())
    assert at.session_state["trainer"] is trainer and trainer.config.lr == 0.1 and trainer.epoch > epoch
    at.slider(key="w_layers").set_value(3)
    ok(at.run())
    assert at.session_state["trainer"] is not trainer
    assert at.session_state["config"].hidden == (8, 4, 4)
    assert any("rebuilt" in i.value for i in at.info)


def test_mixed_activation_from_the_sidebar():
    at = ok(app(autoplay="0"))
    at.selectbox(key="w_a0").set_value("relu")
    at.selectbox(key="w_m0").set_value("tanh")
    ok(at.run())
    assert at.session_state["config"].activation == ("relu+tanh", "tanh")
    assert "Mixed" in repr(at.session_state["trainer"].model)


def test_url_in_config_out_and_back():
    at = ok(app(dataset="spiral", hidden="16,16", lr="0.1", autoplay="0"))
    config = at.session_state["config"]
    assert (config.dataset, config.hidden, config.lr) == ("spiral", (16, 16), 0.1)
    back = {k: v[-1] if isinstance(v, list) else v for k, v in at.query_params.items()}
    assert Config.from_query(back) == (config, [])


def test_bad_url_params_warn_and_the_app_still_works():
    at = ok(app(lr="banana", hidden="9" * 2000, bogus="1", epochs="-3"))
    warnings = " ".join(w.value for w in at.warning)
    assert "lr" in warnings and "bogus" in warnings and "epochs" in warnings
    assert at.session_state["config"] == Config()
    for key in ("boundary", "loss", "drift"):
        assert charts(at, key)


def test_hide_flags_hide_controls():
    at = ok(app(hide="noise,optimizer", autoplay="0"))
    keys = {w.key for w in [*at.slider, *at.selectbox]}
    assert "w_noise" not in keys and "w_optimizer" not in keys and "w_dataset" in keys
    assert at.query_params["hide"] == "noise,optimizer"


def test_an_impossible_sidebar_setting_is_explained_and_changes_nothing():
    at = ok(app(autoplay="0"))
    at.selectbox(key="w_dataset").set_value("blobs")
    ok(at.run())
    at.selectbox(key="w_loss").set_value("bce")
    ok(at.run())
    assert at.session_state["config"].loss == "auto"
    reason = at.session_state["config_error"]
    assert "does not fit multi-class" in reason and "cross_entropy" in reason
    # Shown as text: its names and values may hold Markdown's characters (here an underscore).
    assert [e.value for e in at.sidebar.error] == [literal(f"Not applied — {reason}")]


def test_pause_step_reset():
    at = ok(app())
    trainer = at.session_state["trainer"]
    ok(at.run())
    at.button(key="pause").click()
    ok(at.run())
    assert not at.session_state["running"]
    epoch = trainer.epoch
    ok(at.run())
    assert trainer.epoch == epoch  # paused means paused
    at.button(key="step").click()
    ok(at.run())
    assert trainer.epoch == epoch + frame_epochs(epoch, DEFAULT_SPEED)
    at.button(key="reset").click()
    ok(at.run())
    assert trainer.epoch == 0


def test_divergence_shows_a_message_instead_of_charts_and_reset_recovers():
    at = ok(app(dataset="plane", optimizer="sgd", lr="1000", activation="linear"))
    for _ in range(3):
        ok(at.run())
    assert at.session_state["trainer"].diverged
    assert any("diverged" in e.value for e in at.error)
    with pytest.raises(KeyError):
        at.get_by_key("boundary")
    at.button(key="reset").click()
    ok(at.run())
    assert not at.session_state["trainer"].diverged and charts(at, "boundary")


@pytest.mark.parametrize("page", ["pages/inside.py", "pages/data.py", "pages/about.py"])
def test_every_page_renders(page):
    at = ok(app(autoplay="0"))
    at.switch_page(page)
    ok(at.run())
    if page == "pages/inside.py":
        assert at.get_by_key("network").get("vega_lite_chart")


def network_drawn(at):
    """The Playground's network diagram: (its links, its neurons' cells) as DataFrames."""
    (el,) = at.get_by_key("network").get("vega_lite_chart")
    frames = frames_of(el).values()
    return next(f for f in frames if "weight" in f), next(f for f in frames if "c" in f)


def test_the_playground_draws_the_network_live_and_a_switch_hides_it(monkeypatch):
    from nnplay.train import Trainer

    at = ok(app(autoplay="0"))
    trainer = at.session_state["trainer"]

    def weights():
        return sorted(np.concatenate([w.weight.detach().cpu().numpy().ravel() for w in trainer.model.linears]))

    links, cells = network_drawn(at)
    assert sorted(links["weight"]) == pytest.approx(weights()) and len(links) == 2 * 8 + 8 * 4 + 4
    assert cells.equals(network_chart(trainer).data["cells"])  # this trainer's maps, as they are now
    at.button(key="step").click()
    ok(at.run())
    assert trainer.epoch > 0
    new_links, new_cells = network_drawn(at)
    assert sorted(new_links["weight"]) == pytest.approx(weights()) != sorted(links["weight"])
    assert new_cells.equals(network_chart(trainer).data["cells"]) and not new_cells.equals(cells)
    # Switched off: no container, and nothing computed for it while training goes on.
    calls, grids = [], Trainer.neuron_grids
    monkeypatch.setattr(Trainer, "neuron_grids", lambda *a, **k: calls.append(a) or grids(*a, **k))
    at.toggle(key="show_network").set_value(False)
    ok(at.run())
    at.button(key="step").click()
    ok(at.run())
    with pytest.raises(KeyError):
        at.get_by_key("network")
    assert calls == [] and charts(at, "boundary")
    monkeypatch.undo()
    # The switch stays as it was set after a visit to another page.
    at.switch_page("pages/inside.py")
    ok(at.run())
    at.switch_page("pages/playground.py")
    ok(at.run())
    assert at.toggle(key="show_network").value is False
    with pytest.raises(KeyError):
        at.get_by_key("network")
    at.toggle(key="show_network").set_value(True)
    ok(at.run())
    assert sorted(network_drawn(at)[0]["weight"]) == pytest.approx(weights())


def test_a_network_too_dense_to_read_is_said_not_drawn():
    at = ok(app(autoplay="0", hidden="64"))
    shown = at.get_by_key("network")
    assert not shown.get("vega_lite_chart") and "not drawn" in shown.caption[0].value


def chart_with(at, column):
    """The one chart on the page whose data has this column, as a DataFrame."""
    found = [f for el in at.get("vega_lite_chart") for f in frames_of(el).values() if column in f]
    assert len(found) == 1, column
    return found[0]


def test_inside_shows_the_networks_weights_gradient_norms_and_dead_units():
    at = ok(app(dataset="xor", activation="relu"))
    while at.session_state["trainer"].epoch < 50:  # ticks train, so every view has a history to show
        ok(at.run())
    at.switch_page("pages/inside.py")
    ok(at.run())
    trainer = at.session_state["trainer"]
    model, history = trainer.model, trainer.history
    assert trainer.epoch > 0 and len(history) == trainer.epoch
    links = chart_with(at, "weight")
    weights = np.concatenate([layer.weight.detach().cpu().numpy().ravel() for layer in model.linears])
    assert sorted(links["weight"]) == pytest.approx(sorted(weights.tolist()))
    shown = chart_with(at, "c")  # every neuron's map, as the network's chart draws this trainer's now
    assert shown.equals(network_chart(trainer).data["cells"].reset_index(drop=True))
    ((spec, frames),) = charts(at, "gradients")
    norms = next(iter(frames.values()))
    legend = spec["encoding"]["color"]
    assert legend["title"] == "layer" and legend["sort"] == ["layer 1", "layer 2", "output layer"]
    assert at.sidebar.number_input(key="w_n0").label.startswith("layer 1")  # as the sidebar counts them
    for column, layer in (("grad_norm_1", "layer 1"), ("grad_norm_2", "layer 2"), ("grad_norm_out", "output layer")):
        assert norms[norms["layer"] == layer]["norm"].tolist() == pytest.approx(history[column].tolist()), layer
    assert set(norms["layer"]) == set(legend["sort"])
    (dead,) = at.metric
    assert dead.value == f"{history['dead_fraction'].iloc[-1]:.0%}"
    assert history["dead_fraction"].iloc[-1] > 0  # 1 of 6 ReLU units here: a wrong figure shows
    assert at.code[0].value == repr(model)


@pytest.mark.parametrize("dataset", ["blobs", "make_regression"])
def test_data_page_shows_the_configs_data(dataset):
    at = ok(app(autoplay="0", dataset=dataset))
    at.switch_page("pages/data.py")
    ok(at.run())
    config = at.session_state["config"]
    expected = build(config)  # drawn again from the Config, apart from the session's trainer
    n_train, n_test = len(expected.X_train), len(expected.X_test)
    assert f"{n_train} training and {n_test} test points, {expected.task}" in at.subheader[0].value
    table = at.dataframe[0].value
    assert list(table.columns) == [*expected.raw_names, "target"]
    np.testing.assert_allclose(table[expected.raw_names].to_numpy(), expected.raw_train, rtol=1e-6)
    if expected.task == "regression":
        np.testing.assert_allclose(table["target"].to_numpy(), expected.untarget(expected.y_train), rtol=1e-5)
    else:
        assert table["target"].tolist() == [expected.class_names[c] for c in expected.y_train]
    assert any(literal(", ".join(expected.feature_names)) in c.value for c in at.caption)


@pytest.mark.parametrize(
    "params",
    [
        {"dataset": "make_classification"},
        {"dataset": "sine"},
        {"dataset": "blobs"},
        {"dataset": "make_regression"},
        {"hidden": ""},
    ],
)
def test_pages_render_for_every_kind_of_data(params):
    at = ok(app(autoplay="0", **params))
    for page in ("pages/inside.py", "pages/data.py", "pages/playground.py"):
        at.switch_page(page)
        ok(at.run())


def test_csv_upload_good_and_bad():
    at = ok(app(autoplay="0"))
    frame = pd.DataFrame({"a": range(60), "b": [i % 5 for i in range(60)], "label": ["yes", "no"] * 30})
    at.file_uploader(key="csv_file").upload("table.csv", frame.to_csv(index=False).encode(), "text/csv")
    ok(at.run())
    assert at.session_state["config"].dataset == "csv"
    assert at.session_state["trainer"].data.raw_names == ["a", "b"]
    at.file_uploader(key="csv_file").upload("bad.csv", b"a,b\n1,0\nx,1\n", "text/csv")
    ok(at.run())
    assert any("not numeric" in e.value for e in at.error)
    assert at.session_state["trainer"].data.raw_names == ["a", "b"]  # the good table is kept


def test_an_uploaded_tables_axes_span_its_data_not_from_zero():
    """Heights of 150 to 190 cm drawn on an axis from 0 would fill a fifth of it."""
    rng = np.random.default_rng(0)
    people = pd.DataFrame({"height": rng.uniform(150, 190, 80), "weight": rng.uniform(50, 90, 80)})
    people["size"] = np.where(people["height"] + people["weight"] > 240, "tall", "short")
    prices = pd.DataFrame({"year": np.arange(1990, 2030)})
    prices["price"] = 200 + 5 * (prices["year"] - 1990) + rng.normal(0, 3, len(prices))
    for table, name in ((people, "people.csv"), (prices, "prices.csv")):
        at = ok(app(autoplay="0"))
        at.file_uploader(key="csv_file").upload(name, table.to_csv(index=False).encode(), "text/csv")
        ok(at.run())
        assert at.session_state["trainer"].data.raw_names == list(table.columns[:-1])
        ((spec, _),) = charts(at, "boundary")  # a map over the data's plane, or a curve over its line
        for layer in spec["layer"]:
            for channel in ("x", "y"):
                scale = layer["encoding"][channel].get("scale", {})
                domain = scale.get("domain")
                assert scale.get("zero") is False or (domain and not domain[0] <= 0 <= domain[1]), (name, channel)
        at.switch_page("pages/data.py")
        ok(at.run())
        ((spec, _),) = charts(at, "pairs")
        encoding = spec.get("spec", spec)["encoding"]  # every pair (a repeated chart), or the one input
        assert encoding["x"]["scale"]["zero"] is False and encoding["y"]["scale"]["zero"] is False, name


@pytest.fixture
def served(monkeypatch):
    """What a download button serves. AppTest keeps the bytes in a media store it builds for each
    run and drops afterwards (the button's proto holds only a URL), so the fixture keeps the stores;
    a button whose file is made when pressed (a callable) has it made here, as a click would."""
    from streamlit.runtime.media_file_manager import MediaFileManager
    from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
    from streamlit.testing.v1 import app_test

    stores, managers = [], []

    class Kept(MemoryMediaFileStorage):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            stores.append(self)

    class KeptManager(MediaFileManager):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            managers.append(self)

    monkeypatch.setattr(app_test, "MemoryMediaFileStorage", Kept)
    monkeypatch.setattr(app_test, "MediaFileManager", KeptManager)

    def content(button) -> bytes:
        url = button.proto.url
        if button.proto.deferred_file_id:
            assert not url
            url = managers[-1].execute_deferred(button.proto.deferred_file_id)
        return stores[-1].get_file(url.rsplit("/", 1)[-1]).content

    return content


def test_downloads_serve_this_sessions_model_history_and_script(served):
    from nnplay.export import export
    from nnplay.modelfile import load_model

    at = ok(app(autoplay="0", dataset="xor"))
    at.button(key="step").click()
    ok(at.run())
    trainer = at.session_state["trainer"]
    assert trainer.epoch > 0
    buttons = {b.key: b for b in at.download_button}
    config, state = load_model(served(buttons["dl_model"]))
    assert config == trainer.config and state.keys() == trainer.model.state_dict().keys()
    for name, tensor in trainer.model.state_dict().items():
        assert torch.equal(state[name], tensor.cpu()), name  # the trained weights, not the initial ones
    history = pd.read_csv(io.BytesIO(served(buttons["dl_history"])))
    assert history["train_loss"].tolist() == pytest.approx(trainer.records.column("train_loss"))
    assert served(buttons["dl_png"]).startswith(b"\x89PNG")
    assert served(buttons["dl_script"]).decode() == export(trainer.config)


@pytest.mark.parametrize("dataset, axes", [("xor", (0, 1)), ("make_classification", (0, 2))])
def test_the_boundary_download_is_the_chart_on_the_page(served, dataset, axes):
    """The PNG shows what the boundary chart shows, the same slice of the article's 5 inputs included:
    its map and its points in their classes' colours, at a size for a slide."""
    from PIL import Image

    from tests.test_charts import painted
    from tests.test_picture import assert_plot_shows, rgb

    at = ok(app(autoplay="0", dataset=dataset, n_samples="200"))
    if axes != (0, 1):
        at.selectbox(key="ax1").set_value(axes[1])
    at.button(key="step").click()
    ok(at.run())
    assert at.session_state["trainer"].epoch > 0
    ((spec, frames),) = charts(at, "boundary")
    cells_layer, dots_layer = spec["layer"]
    assert dots_layer["encoding"]["y"]["title"] == f"x{axes[1] + 1}"
    cells = next(f for f in frames.values() if "c" in f)
    dots = next(f for f in frames.values() if "label" in f)
    fills = cells_layer["encoding"]["fill"]["scale"]["range"]
    n = cells_layer["encoding"]["x"]["scale"]["domain"][1] // 2  # cells' places are in half cells
    shown = np.reshape([rgb(fills[c]) for c in painted(cells, (n, n)).ravel()], (n, n, 3))
    classes = dots_layer["encoding"]["color"]["scale"]
    colours = [rgb(dict(zip(classes["domain"], classes["range"]))[label]) for label in dots["label"]]
    domains = [dots_layer["encoding"][axis]["scale"]["domain"] for axis in ("x", "y")]

    button = {b.key: b for b in at.download_button}["dl_png"]
    image = Image.open(io.BytesIO(served(button)))
    assert image.format == "PNG" and min(image.size) >= 480
    assert_plot_shows(np.asarray(image.convert("RGB")).astype(int), domains, shown, dots["x"], dots["y"], colours)


def test_the_boundary_download_draws_a_fitted_curve_too(served):
    from PIL import Image

    from nnplay.charts import PALETTE

    at = ok(app(autoplay="0", dataset="sine"))
    ((spec, _),) = charts(at, "boundary")
    assert spec["layer"][1]["mark"]["type"] == "line"  # the page shows a curve, not a map
    button = {b.key: b for b in at.download_button}["dl_png"]
    image = np.asarray(Image.open(io.BytesIO(served(button))).convert("RGB"))
    assert min(image.shape[:2]) >= 480
    blue = (image == [int(PALETTE[1][i : i + 2], 16) for i in (1, 3, 5)]).all(axis=2)
    assert blue.any(axis=0).sum() >= 480  # the fitted curve runs across the plot


def test_uploading_a_saved_model_continues_from_it():
    from nnplay.modelfile import model_bytes

    source = ok(app(dataset="xor", hidden="5", autoplay="0"))
    trained = source.session_state["trainer"]
    trained.step(200)
    saved = model_bytes(trained)
    at = ok(app(autoplay="0"))
    at.file_uploader(key="model_file").upload("model.pt", saved, "application/octet-stream")
    ok(at.run())
    trainer = at.session_state["trainer"]
    assert at.session_state["config"] == trained.config and at.query_params["dataset"] == "xor"
    assert trainer.evaluate()["train_loss"] == pytest.approx(trained.evaluate()["train_loss"], rel=1e-6)
    at.file_uploader(key="model_file").upload("bad.pt", b"not a model", "application/octet-stream")
    ok(at.run())
    assert any("not an nnplay model" in e.value for e in at.error)
    assert at.session_state["trainer"] is trainer


def test_lab_validates_plots_and_uses_expressions():
    at = ok(app(autoplay="0"))
    at.switch_page("pages/lab.py")
    ok(at.run())
    assert at.get_by_key("compare_mixed").get("vega_lite_chart") and at.get_by_key("compare_loss").get(
        "vega_lite_chart"
    )
    at.text_input(key="lab_loss").set_value("mean(abs(y_pred - y)**3)")
    ok(at.run())
    assert any("Valid" in s.value for s in at.success)
    at.button(key="use_loss").click()
    ok(at.run())
    config = at.session_state["config"]
    assert (config.loss, config.loss_expr) == ("custom", "mean(abs(y_pred - y)**3)")
    assert at.query_params["loss_expr"] == "mean(abs(y_pred - y)**3)"
    at.text_input(key="lab_activation").set_value("__import__('os').system('id')")
    ok(at.run())
    assert any("Not usable" in e.value for e in at.error)
    assert any("^" in c.value and "__import__" in c.value for c in at.code)  # the caret, as plain text
    at.text_input(key="lab_activation").set_value("sin(x) + 0.1*x")
    ok(at.run())
    at.button(key="use_activation").click()
    ok(at.run())
    assert at.session_state["config"].activation == ("custom",)
    at.switch_page("pages/playground.py")
    ok(at.run())
    assert "Expression('sin(x) + 0.1*x')" in repr(at.session_state["trainer"].model)


def test_playground_shows_the_pytorch_code():
    at = ok(app(autoplay="0", dataset="moons"))
    assert not at.code  # drawn when asked for: highlighting it slowed the first page load
    at.toggle(key="show_code").set_value(True)
    ok(at.run())
    codes = [c.value for c in at.code]
    assert any("class Network(nn.Module)" in c and "make_moons" in c for c in codes)


def test_no_hidden_layers_and_a_sidebar_change_keep_working():
    at = ok(app(hidden="", autoplay="0"))
    at.number_input(key="w_seed").set_value(3)
    ok(at.run())
    assert at.session_state["config"].seed == 3 and at.session_state["config"].hidden == ()
    at = ok(app(autoplay="0"))
    at.slider(key="w_layers").set_value(0)
    ok(at.run())
    assert at.session_state["config"].hidden == () and at.session_state["trainer"].model.layers == []


def test_every_page_shows_the_sessions_settings_in_the_sidebar():
    at = ok(app(dataset="blobs", epochs="300", autoplay="0"))
    for page in ("pages/inside.py", "pages/data.py", "pages/about.py", "pages/lab.py", "pages/playground.py"):
        at.switch_page(page)
        ok(at.run())
        assert at.selectbox(key="w_dataset").value == "blobs", page
        assert at.number_input(key="w_epochs").value == 300, page
        assert at.slider(key="w_layers").value == 2, page
    at.number_input(key="w_seed").set_value(5)
    ok(at.run())
    assert at.session_state["config"] == Config(dataset="blobs", epochs=300, seed=5)


def test_link_warnings_are_shown_once():
    at = ok(app(epochs="abc", autoplay="0"))
    assert any("epochs" in w.value for w in at.warning)
    ok(at.run())
    assert not any("epochs" in w.value for w in at.warning)


def test_regression_has_a_timeline_and_no_discretize():
    at = ok(app(dataset="plane", autoplay="0"))
    at.button(key="step").click()
    ok(at.run())
    assert charts(at, "timeline") and charts(at, "boundary")
    assert "discretize" not in {t.key for t in at.toggle}


def test_paused_status_is_said():
    at = ok(app())
    ok(at.run())
    at.button(key="pause").click()
    ok(at.run())
    assert "paused" in at.get_by_key("epoch").get("progress")[0].proto.text


def test_server_limits_are_enforced_and_said():
    from pages._limits import LIMITS

    at = ok(app(n_samples=str(LIMITS.max_samples + 1), autoplay="0"))
    assert at.session_state["config"].n_samples == Config().n_samples
    assert any("this server allows at most" in w.value for w in at.warning)
    at.number_input(key="w_epochs").set_value(LIMITS.max_epochs + 1)
    ok(at.run())
    assert at.session_state["config"].epochs == Config().epochs
    assert any("this server allows at most" in e.value for e in at.sidebar.error)
    at.slider(key="w_layers").set_value(8)
    ok(at.run())
    for i in range(8):
        at.number_input(key=f"w_n{i}").set_value(256)
    ok(at.run())
    assert at.session_state["config"].hidden != (256,) * 8
    assert any("parameters; this server allows" in e.value.replace("\\", "") for e in at.sidebar.error)  # as shown


def test_sessions_wait_for_a_free_trainer_in_line(monkeypatch):
    import pages._turns
    from pages._limits import LIMITS
    from pages._turns import trainer_slots

    monkeypatch.setattr(pages._turns, "WAIT_SECONDS", 1.0)
    monkeypatch.setattr(pages._turns, "capacity", lambda: LIMITS.concurrent_trainers)  # a full room

    slots = trainer_slots()
    slots.capacity = LIMITS.concurrent_trainers
    others = [f"other session {i}" for i in range(LIMITS.concurrent_trainers + 2)]
    taken = [slots.acquire(o) for o in others]  # the last two wait in line
    try:
        assert taken == [True] * LIMITS.concurrent_trainers + [False, False]
        at = ok(AppTest.from_file(APP, default_timeout=60).run())
        ok(at.run())  # the first tick after the untrained frame waits in line
        assert at.session_state["trainer"].epoch == 0
        notice = next(i.value for i in at.info if "Waiting for a free trainer" in i.value)
        assert "number 3 of 3 in line" in notice
        for o in others:
            slots.release(o)
        ok(at.run())  # the next tick trains
        assert at.session_state["trainer"].epoch > 0
        assert not any("Waiting for a free trainer" in i.value for i in at.info)
    finally:
        for o in others:
            slots.release(o)
        slots.release(at.session_state["owner"])


def test_a_busy_room_redraws_less_often_trains_more_per_frame_and_says_so(monkeypatch):
    import pages._turns
    from nnplay.frames import frames_epochs
    from nnplay.room import Pace

    # Ten sessions playing, each redraw costing 50 ms: half the CPU for redraws is a frame a second each.
    monkeypatch.setattr(pages._turns, "_PACE", Pace(pages._turns.TICK_SECONDS, share=0.5, cost=0.05))
    slots = pages._turns.trainer_slots()
    others = [f"playing {i}" for i in range(9)]
    slots.capacity = 20
    monkeypatch.setattr(pages._turns, "capacity", lambda: 20)
    for o in others:
        assert slots.acquire(o)
    try:
        at = ok(app())
        ok(at.run())  # the first tick after the untrained frame trains, in the room
        ticks = round(1.0 / pages._turns.TICK_SECONDS)
        assert at.session_state["trainer"].epoch == frames_epochs(0, "normal", ticks)
        line = " ".join(c.value for c in at.caption)
        assert "Busy server: 10 sessions are playing, so this page redraws every 1.1 s" in line
        assert f"each frame trains {ticks} frames' worth of epochs" in line
    finally:
        for o in [*others, at.session_state["owner"]]:
            slots.release(o)


def test_unchanged_charts_are_not_built_again(monkeypatch):
    from nnplay import charts as chart_module

    charts_in = charts

    built = {"loss": 0, "boundary": 0, "network": 0}
    for name in built:
        original = getattr(chart_module, f"{name}_chart")

        def counting(*args, _name=name, _original=original, **kwargs):
            built[_name] += 1
            return _original(*args, **kwargs)

        monkeypatch.setattr(chart_module, f"{name}_chart", counting)
    at = ok(app(autoplay="0"))
    assert built == {"loss": 1, "boundary": 2, "network": 1}  # now, and as it was at the timeline's epoch
    loss_spec = charts_in(at, "loss")
    at.toggle(key="show_test").set_value(True)
    ok(at.run())
    assert built == {"loss": 1, "boundary": 3, "network": 1}  # only the chart whose view changed
    assert charts_in(at, "loss")[0][0] == loss_spec[0][0]
    at.button(key="step").click()
    ok(at.run())
    assert built == {"loss": 2, "boundary": 5, "network": 2}  # trained: all are stale
    at.button(key="reset").click()
    ok(at.run())
    assert built == {"loss": 3, "boundary": 7, "network": 3}  # back at epoch 0, but another run: stale too


def test_lab_use_button_rechecks_edited_text_and_draws_the_scatter():
    at = ok(app(autoplay="0"))
    at.switch_page("pages/lab.py")
    ok(at.run())
    scatter = [c for c in at.get_by_key("compare_loss").get("vega_lite_chart") if '"predicted"' in c.proto.spec]
    assert scatter and "encoding" in json.loads(scatter[0].proto.spec)["layer"][0]  # the y = x line draws
    at.text_input(key="lab_loss").set_value("mean(y_pred - y")
    at.button(key="use_loss").click()
    ok(at.run())
    assert at.session_state["config"].loss == "auto"
    said = literal("Not usable: loss_expr: not a valid expression: '(' was never closed")
    assert said in [e.value for e in at.error]
    assert any("mean(y_pred - y\n" in c.value and c.value.endswith("^") for c in at.code)


def test_a_step_click_echoed_by_a_tick_trains_once(monkeypatch):
    """Streamlit 1.67 delivers a click that lands during a tick twice: with the tick (a fragment
    run) and with the full run after it (15 Step clicks were 21 callbacks in a browser)."""
    import types

    import pages._turns

    at = ok(app(autoplay="0"))
    trainer = at.session_state["trainer"]
    tick = types.SimpleNamespace(fragment_ids_this_run=["live"], session_id="-")
    real = pages._turns.get_script_run_ctx
    monkeypatch.setattr(pages._turns, "get_script_run_ctx", lambda: tick)
    assert pages._turns.echo()
    monkeypatch.setattr(pages._turns, "get_script_run_ctx", real)
    at.button(key="step").click()
    ok(at.run())  # a full run: the click counts
    assert trainer.epoch == 1


def test_the_playground_shows_the_same_final_figures_as_the_command_line():
    """One meaning per name: the tiles show the weights as they are, as `python -m nnplay train`
    reports them (final.train_loss...), from the untrained network on."""
    at = ok(app(epochs="40"))
    trainer = at.session_state["trainer"]
    while True:
        shown = {m.label: m.value for m in at.get_by_key("metrics").get("metric")}
        summary = trainer.summary()["final"]
        for name in ("train_loss", "test_loss", "train_accuracy", "test_accuracy"):
            assert shown[name.replace("_", " ")] == f"{summary[name]:.4f}", (trainer.epoch, name)
        if not at.session_state["running"]:
            break
        ok(at.run())
    assert trainer.epoch == 40


def test_the_loss_chart_offers_a_log_epoch_axis():
    at = ok(app(epochs="60"))
    for _ in range(4):
        ok(at.run())

    def x_scales():
        ((spec, _frames),) = charts(at, "loss")
        return [view["encoding"]["x"].get("scale", {}).get("type") for view in spec["vconcat"]]

    assert x_scales() == [None, None]
    at.toggle(key="log_epochs").set_value(True)
    ok(at.run())
    assert x_scales() == ["log", "log"]


def test_live_charts_have_their_tooltips_when_paused_not_while_playing():
    """The browser formats every tooltip of every item each frame: playing charts carry none."""

    def tooltips(at):
        specs = {key: json.dumps(charts(at, key)[0][0]) for key in ("boundary", "loss", "network", "drift")}
        return {key: '"tooltip"' in spec for key, spec in specs.items()}

    at = ok(app(epochs="40"))
    ok(at.run())
    playing = {"boundary": False, "loss": False, "network": False, "drift": False}
    assert at.session_state["running"] and tooltips(at) == playing
    at.button(key="pause").click()
    ok(at.run())
    assert tooltips(at) == {"boundary": True, "loss": True, "network": True, "drift": True}


def sidebar_text_input(at, key):
    (field,) = [t for t in at.sidebar.text_input if t.key == key]
    return field


def test_a_custom_loss_from_a_link_is_shown_in_the_sidebar_and_edited_there():
    at = ok(app(dataset="plane", loss="custom", loss_expr="mean(abs(y_pred - y)**3)", autoplay="0"))
    field = sidebar_text_input(at, "w_loss_expr")
    assert field.value == "mean(abs(y_pred - y)**3)"
    old = at.session_state["trainer"]
    field.set_value("mean((y_pred - y)**2) + 0.1*mean(abs(y_pred - y))")
    ok(at.run())
    wanted = "mean((y_pred - y)**2) + 0.1*mean(abs(y_pred - y))"
    assert at.session_state["config"].loss_expr == wanted
    assert at.session_state["trainer"].loss.label == f"Custom: {wanted}" != old.loss.label
    assert at.query_params["loss_expr"] == wanted  # a copied link carries it
    assert sidebar_text_input(at, "w_loss_expr").value == wanted
    at = ok(app(dataset="plane", loss="custom", hide="loss_expr", autoplay="0"))
    assert not [t for t in at.text_input if t.key == "w_loss_expr"]  # hide= takes it, as any control


def test_a_custom_activation_is_shown_under_the_layers_and_kept_across_pages():
    at = ok(app(activation="custom", activation_expr="x * tanh(x)", autoplay="0"))
    assert sidebar_text_input(at, "w_activation_expr").value == "x * tanh(x)"
    sidebar_text_input(at, "w_activation_expr").set_value("sin(x) + 0.5*x")
    ok(at.run())
    assert "Expression('sin(x) + 0.5*x')" in repr(at.session_state["trainer"].model)
    at.selectbox(key="w_a1").set_value("relu")  # one layer custom, the other not: still shown
    ok(at.run())
    assert at.session_state["config"].activation == ("custom", "relu")
    for page in ("pages/compare.py", "pages/playground.py"):
        at.switch_page(page)
        ok(at.run())
        assert sidebar_text_input(at, "w_activation_expr").value == "sin(x) + 0.5*x", page


def test_a_bad_expression_in_the_sidebar_is_explained_with_a_caret_and_not_applied():
    at = ok(app(dataset="plane", loss="custom", autoplay="0"))
    config, trainer = at.session_state["config"], at.session_state["trainer"]
    sidebar_text_input(at, "w_loss_expr").set_value("mean((y_pred - y)**2")
    ok(at.run())
    assert at.session_state["config"] == config and at.session_state["trainer"] is trainer
    (error,) = [e.value for e in at.sidebar.error]
    reason = "not a valid expression: '(' was never closed"
    assert error == literal(f"Not applied (training keeps {config.loss_expr}): {reason}")
    (code,) = [c.value for c in at.sidebar.code]
    line, caret = code.splitlines()
    assert line.strip() == "mean((y_pred - y)**2"
    assert line[caret.index("^")] == "("  # under the parenthesis left open
    assert sidebar_text_input(at, "w_loss_expr").value == "mean((y_pred - y)**2"  # left there to mend
    at.select_slider(key="w_lr").set_value(0.1)  # another change still applies; the loss stays
    ok(at.run())
    assert at.session_state["config"] == config.replace(lr=0.1)
    sidebar_text_input(at, "w_loss_expr").set_value("mean((y_pred - y)**2)")
    ok(at.run())
    assert at.session_state["config"].loss_expr == "mean((y_pred - y)**2)"
    assert not at.sidebar.error and not at.sidebar.code


def test_the_sidebar_shows_the_expression_in_use_after_a_page_switch():
    at = ok(app(dataset="plane", loss="custom", autoplay="0"))
    sidebar_text_input(at, "w_loss_expr").set_value("mean(abs(y_pred - y))")
    ok(at.run())
    for page in ("pages/compare.py", "pages/playground.py"):
        at.switch_page(page)
        ok(at.run())
        assert sidebar_text_input(at, "w_loss_expr").value == "mean(abs(y_pred - y))", page
    at.switch_page("pages/lab.py")
    ok(at.run())
    at.text_input(key="lab_loss").set_value("mean((y_pred - y)**2)")
    at.button(key="use_loss").click()
    ok(at.run())
    assert sidebar_text_input(at, "w_loss_expr").value == "mean((y_pred - y)**2)"  # the Lab's, now in use


def test_the_labs_use_button_says_what_it_did():
    at = ok(app(autoplay="0"))
    at.switch_page("pages/lab.py")
    ok(at.run())
    at.text_input(key="lab_loss").set_value("mean(abs(y_pred - y)**3)")
    ok(at.run())
    at.button(key="use_loss").click()
    ok(at.run())
    assert any(literal("mean(abs(y_pred - y)**3)") in i.value for i in at.info), [i.value for i in at.info]
    assert sidebar_text_input(at, "w_loss_expr").value == "mean(abs(y_pred - y)**3)"


def test_a_preset_from_the_sidebar_sets_every_control_and_ends_where_the_command_line_does(capsys):
    from nnplay.__main__ import main
    from nnplay.config import PRESETS, describe

    at = ok(app(dataset="spiral", lr="0.3", hidden="16,16,16", autoplay="0"))
    captions = [c.value for c in at.sidebar.caption]
    for preset in PRESETS.values():  # each says what it is
        assert describe(preset) in captions
    old = at.session_state["trainer"]
    at.button(key="preset_article").click()
    ok(at.run())
    article = PRESETS["article"]
    assert at.session_state["config"] == article
    assert at.selectbox(key="w_dataset").value == "make_classification"
    assert at.number_input(key="w_n_samples").value == 100
    assert at.slider(key="w_test_fraction").value == 0.0
    assert at.slider(key="w_layers").value == 2
    assert [at.number_input(key=f"w_n{i}").value for i in range(2)] == [8, 4]
    assert [at.selectbox(key=f"w_a{i}").value for i in range(2)] == ["relu", "relu"]
    assert (at.selectbox(key="w_loss").value, at.selectbox(key="w_optimizer").value) == ("bce", "sgd")
    assert at.select_slider(key="w_lr").value == 0.1
    assert any(literal("Started from the article's experiment") in i.value for i in at.info)
    trainer = at.session_state["trainer"]
    assert trainer is not old and trainer.epoch == 0 and at.session_state["running"]
    while at.session_state["running"]:
        ok(at.run())
    assert trainer.epoch == article.epochs
    capsys.readouterr()
    assert main(["train", "--preset", "article", "--json"]) == 0
    cli = json.loads(capsys.readouterr().out)["final"]["train_loss"]
    shown = {m.label: m.value for m in at.get_by_key("metrics").get("metric")}
    assert float(shown["train loss"]) == pytest.approx(cli, abs=5e-5)  # four decimals on screen
    assert trainer.evaluate()["train_loss"] == pytest.approx(cli, rel=1e-6)


def test_a_network_the_room_cannot_train_stops_with_the_error_as_text(monkeypatch):
    from nnplay import engine
    from nnplay.text import literal

    def broken(stack, *args):
        raise RuntimeError("**bold** [x](//example.invalid)")

    monkeypatch.setattr(engine._Stack, "run", broken)
    at = ok(app())
    ok(at.run())  # the first tick after the untrained frame asks the room, which fails
    shown = [e.value for e in at.error]
    assert any("could not train this network" in e for e in shown), shown
    assert any(literal("**bold** [x](//example.invalid)") in e for e in shown), shown
    assert at.session_state["running"] is False


def test_every_drawing_counts_toward_a_redraws_cost():
    """The redraw budget divides the process's CPU by the redraws: a page drawn without training
    (Play's page run, the untrained moment, Pause) counts too. Counting only trained frames made a
    redraw look several times dearer at 50 sessions, and the line held sessions back."""
    import pages._turns

    budget = pages._turns.pace()
    at = ok(app(autoplay="0"))
    before = budget._redraws
    ok(at.run())  # nothing trained: the page waits for Play
    assert at.session_state["trainer"].epoch == 0
    assert budget._redraws == before + 1
