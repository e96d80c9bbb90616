"""What every page shares: the session's Config and Trainer, the sidebar drawn from the Config's
field rules, URL sync, and small drawing helpers. Pages stay thin views over this and nnplay."""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass

import numpy as np
import pandas as pd
import streamlit as st
import torch
from streamlit import runtime
from streamlit.runtime.pages_manager import PagesManager
from streamlit.runtime.scriptrunner import get_script_run_ctx

from nnplay import charts, data, expr, losses, model, optim, picture
from nnplay.config import FIELDS, PRESET_TITLES, PRESETS, TYPES, Config, ConfigError, describe, format_value
from nnplay.export import ExportError, export
from nnplay.frames import DEFAULT_SPEED, SPEEDS, frame_epochs
from nnplay.limits import Limits, TrainerSlots
from nnplay.modelfile import load_model, model_bytes
from nnplay.text import literal
from nnplay.train import Grid, Trainer

COMPARE_PARAMS = tuple(f"b_{name}" for name in FIELDS)  # the Compare page's B: b_lr=0.1 ...
APP_PARAMS = ("autoplay", "hide", "page", "speed", *COMPARE_PARAMS)  # URL keys that belong to the app, not the Config
LR_STEPS = (1e-5, 1e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)
RATE_STEPS = (0.0, 1e-5, 1e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1, 0.3, 1.0)
TICK_SECONDS = 0.15
UNTRAINED_SECONDS = 1.0  # how long a run shows its untrained network before the first epoch,
UNTRAINED_TICKS = 5  # and for at least how many of the browser's ticks
PAINT_FIRST = True  # a session's first Playground run sends the untrained boundary alone; its first tick the rest,
# this long after: a new tab takes about half a second to load and draw its first chart, and the
# sidebar's forty controls, sent 0.15 s after it, held the boundary back by another half second.
REST_SECONDS = 0.6
LIMITS = Limits.from_env()


def _connected(owner: str) -> bool:
    """Whether the session that made this owner (see owner()) still has its browser tab."""
    session_id = owner.partition("/")[0]
    return not runtime.exists() or bool(runtime.get_instance().is_active_session(session_id))


def _make_slots() -> TrainerSlots:
    return TrainerSlots(LIMITS.concurrent_trainers, alive=_connected)


_SLOTS = _make_slots()
WAIT_SECONDS = 30.0  # longest a tick waits in line (a click or a closed tab ends the wait sooner)
MAX_TICK_FACTOR = 20

try:  # what st.altair_chart converts with (data as Arrow); without it, Altair's own to_dict
    from streamlit.elements.vega_charts import _convert_altair_to_vega_lite_spec as _vega_lite_spec
except ImportError:  # pragma: no cover
    _vega_lite_spec = None

GROUPS = {  # every control, by what it is about (the About page lists them so)
    "Data": (
        "dataset",
        "n_samples",
        "noise",
        "test_fraction",
        "seed",
        "label_noise",
        "imbalance",
        "n_classes",
        "features",
    ),
    "Network": ("hidden", "activation_expr", "mix", "dropout", "init"),
    "Training": (
        "loss",
        "loss_expr",
        "optimizer",
        "lr",
        "momentum",
        "nesterov",
        "schedule",
        "step_size",
        "gamma",
        "batch_size",
        "l1",
        "l2",
        "epochs",
        "patience",
    ),
    "Device": ("device", "threads", "snapshot_every", "grid"),
}
# What a run is mostly about, on one screen under the page list (1400 x 900): two to a row, as the
# sidebar is 240 px wide; the dataset has a row of its own, as its names are long. Each custom
# choice is followed by its expression. The rest of each group waits in a collapsed expander.
ESSENTIAL_ROWS = (("dataset",), ("hidden", "noise"), ("loss", "optimizer"), ("lr", "speed"))
FOLLOWERS = {"hidden": "activation_expr", "loss": "loss_expr"}
MORE = {
    "Data": "More data options",
    "Network": "More network options",
    "Training": "More training options",
    "Device": "Device",
}
EXPRESSIONS = {"activation_expr": expr.check_activation, "loss_expr": expr.check_loss}
HIDEABLE = (*(name for names in GROUPS.values() for name in names), "csv", "speed")  # what ?hide= may name

LABELS = {
    "dataset": {k: v.label for k, v in data.DATASETS.items()} | {data.CSV: "Uploaded CSV"},
    "loss": {"auto": "auto"}  # a column wide: the help says what it picks
    | {k: v.label for k, v in losses.LOSSES.items()}
    | {"custom": "custom"},  # its expression follows it
    "optimizer": {k: v.label + ("" if v.make else " (unavailable)") for k, v in optim.OPTIMIZERS.items()},
    "schedule": {k: f"{k}: {v}" for k, v in optim.SCHEDULES.items()},
    "features": {k: v[0] for k, v in data.FEATURES.items()},
}
# What the sidebar calls a field where its name alone would not say (the rest: the name, spaced).
FIELD_LABELS = {
    "features": "input features",
    "hidden": "hidden layers",
    "lr": "learning rate",
    "l1": "L1 rate",
    "l2": "L2 rate",
}


def field_label(name: str) -> str:
    """A Config field as the sidebar names it ("learning rate" for ``lr``)."""
    return FIELD_LABELS.get(name, name.replace("_", " "))


def value_label(name: str, value) -> str:
    """A field's value as the sidebar shows it: a choice by its registry's name ("Adam" for
    ``adam``), activations by theirs, a switch as on or off, anything else as in a link."""
    if name == "activation":
        return ", ".join(" + ".join(map(_activation_label, spec.split("+"))) for spec in value)
    if isinstance(value, bool):
        return "on" if value else "off"
    names = LABELS.get(name)
    if names is None:
        return format_value(value)
    return ", ".join(names.get(v, v) for v in value) if isinstance(value, tuple) else names.get(value, value)


# --- session ------------------------------------------------------------------------------------


def frame(page_params: dict[str, str] | None = None, *, sidebar_last: bool = False) -> None:
    """What every page starts with: the session, the sidebar, the URL (plus the page's own
    ``page_params``, e.g. Compare's ``b_`` keys; leaving the page drops them). With
    ``sidebar_last`` the page draws the sidebar itself, after its main content: the browser paints
    what it receives first, and the sidebar's forty controls took it most of a second."""
    init_session()
    # The widgets are drawn by each page, so Streamlit scopes their state to the page; putting the
    # Config's values back before drawing keeps every page's sidebar true to the session.
    sync_widgets(st.session_state.config)
    if not sidebar_last:
        sidebar()
    write_url(page_params)


def init_session() -> None:
    """Read the URL once per session into the Config; later runs keep the session's own."""
    ss = st.session_state
    if "config" in ss:
        return
    if PagesManager.uses_pages_directory:
        # A fresh server takes a folder named pages/ beside the entry point for the old multipage
        # scheme until some run reaches st.navigation: a first visit straight to /inside ran this
        # page alone (raw file names for navigation, no page config). Running app.py instead puts
        # the visit through st.navigation, which also turns the old scheme off for the server.
        # Only on a session's first run (every page starts here): a rerun would drop a button's
        # click, and AppTest, which brings the old scheme back before every run, runs pages alone on purpose.
        PagesManager.uses_pages_directory = False
        st.rerun()
    query = st.query_params.to_dict()
    config, warnings = Config.from_query(query, ignore=APP_PARAMS)
    for problem in LIMITS.check(config):  # past this server's limits: the default, and say so
        default = FIELDS[problem.field].default
        config = config.replace(**{problem.field: default})
        warnings.append(f"{problem}; using the default {default!r}")
    ss.config = config
    ss.url_warnings = warnings
    ss.hide = read_hide(query.get("hide", ""), warnings)
    autoplay = query.get("autoplay", "1")
    if autoplay not in ("0", "1"):
        warnings.append(f"autoplay: expected 0 or 1, not {autoplay!r}; playing")
    ss.running = autoplay != "0"
    ss.trainer = None
    ss.trainer_error = None
    ss.table = None
    ss.notice = None
    ss.speed = query.get("speed", DEFAULT_SPEED)
    if ss.speed not in SPEEDS:
        warnings.append(f"speed: expected one of {', '.join(SPEEDS)}, not {ss.speed!r}; using {DEFAULT_SPEED!r}")
        ss.speed = DEFAULT_SPEED
    ss.config_error = None
    ss.lock = threading.Lock()  # one training step at a time: a tick may still run when a button is pressed


def read_hide(text: str, warnings: list[str]) -> frozenset[str]:
    """The controls ``hide=`` names; a name that is not one is left out, with a warning naming it."""
    names = {h.strip() for h in text.split(",") if h.strip()}
    unknown = sorted(names - set(HIDEABLE))
    if unknown:
        shown = ", ".join(repr(n if len(n) <= 40 else n[:40] + "…") for n in unknown[:8])
        more = f" and {len(unknown) - 8} more" if len(unknown) > 8 else ""
        warnings.append(f"hide: no control is called {shown}{more}; the names are: {', '.join(HIDEABLE)}")
    return frozenset(names & set(HIDEABLE))


def write_url(page_params: dict[str, str] | None = None) -> None:
    ss = st.session_state
    wanted = ss.config.to_query()
    if ss.hide:
        wanted["hide"] = ",".join(sorted(ss.hide))
    if ss.speed != DEFAULT_SPEED:
        wanted["speed"] = ss.speed
    wanted.update(page_params or {})
    if st.query_params.to_dict() != wanted:
        st.query_params.from_dict(wanted)


def current_trainer() -> Trainer | None:
    """The session's Trainer for its Config: kept when only live fields changed (the learning rate,
    the budget...), rebuilt (and said so) when the data or the architecture changed."""
    ss = st.session_state
    config, trainer = ss.config, ss.trainer
    if trainer is not None and trainer.config == config:
        return trainer
    if trainer is not None and trainer.apply(config):
        return trainer
    try:
        ss.trainer = Trainer(config, ss.table)
        ss.trainer_error = None
        if trainer is not None:
            ss.notice = "Data or architecture changed: the network was rebuilt and training starts over."
    except (ValueError, data.DataError) as exc:
        ss.trainer, ss.trainer_error = None, str(exc)
        if config.dataset == data.CSV and ss.table is None:
            ss.trainer_error = "this link asks for an uploaded CSV: upload one under More data options in the sidebar"
    return ss.trainer


def set_config(config: Config) -> None:
    """Replace the Config from code (an upload, a lesson link); the widgets follow when frame() syncs them."""
    ss = st.session_state
    ss.config = config
    for name in EXPRESSIONS:  # a refused draft (see sync_widgets) gives way to the new expression
        ss.pop(f"w_{name}", None)


# --- sidebar ------------------------------------------------------------------------------------


def _layer_specs(config: Config) -> list[str]:
    acts = config.activation
    return list(acts) * len(config.hidden) if len(acts) == 1 else list(acts)


def sync_widgets(config: Config) -> None:
    """Put a Config's values into the widgets' state (they are drawn from there)."""
    ss = st.session_state
    for name in FIELDS:
        if name in EXPRESSIONS and _refused(name):
            continue  # left in its field to be mended, under the reason it was not applied
        if name not in ("hidden", "activation"):
            value = getattr(config, name)
            ss[f"w_{name}"] = list(value) if isinstance(value, tuple) else value
    ss.w_speed = ss.speed
    _sync_layers(config)


def _sync_layers(config: Config) -> None:
    ss = st.session_state
    ss.w_layers = len(config.hidden)
    for i, (n, spec) in enumerate(zip(config.hidden, _layer_specs(config))):
        first, _, second = spec.partition("+")
        ss[f"w_n{i}"], ss[f"w_a{i}"], ss[f"w_m{i}"] = n, first, second or "none"


def _from_widgets() -> None:
    """Every widget change lands here: a valid Config replaces the old one, an invalid one is
    explained and changes nothing."""
    ss = st.session_state
    values = {name: ss[f"w_{name}"] for name in FIELDS if f"w_{name}" in ss and name not in ("hidden", "activation")}
    for name in EXPRESSIONS:
        if _refused(name):  # an expression that does not check is never applied: the run keeps its own
            values[name] = getattr(ss.config, name)
    values["features"] = tuple(values.get("features", ss.config.features))
    layers = ss.w_layers
    for i in range(layers):  # a new layer starts like the one before it
        ss.setdefault(f"w_n{i}", ss.get(f"w_n{i - 1}", 4))
        ss.setdefault(f"w_a{i}", ss.get(f"w_a{i - 1}", "relu"))
        ss.setdefault(f"w_m{i}", ss.get(f"w_m{i - 1}", "none"))
    values["hidden"] = tuple(int(ss[f"w_n{i}"]) for i in range(layers))
    specs = [ss[f"w_a{i}"] + ("" if ss[f"w_m{i}"] == "none" else "+" + ss[f"w_m{i}"]) for i in range(layers)]
    if not specs:  # no hidden layer: nothing to choose, keep what there was
        values["activation"] = ss.config.activation[:1]
    else:
        values["activation"] = (specs[0],) if len(set(specs)) == 1 else tuple(specs)
    try:
        config = ss.config.replace(**values)
    except ConfigError as exc:
        ss.config_error = str(exc)
        return
    problems = LIMITS.check(config, ss.table)
    ss.config, ss.config_error = (ss.config, "; ".join(map(str, problems))) if problems else (config, None)


def _refused(name: str) -> bool:
    """Whether an expression's field holds text its check refuses."""
    key = f"w_{name}"
    if key not in st.session_state:
        return False
    try:
        EXPRESSIONS[name](st.session_state[key])
    except expr.ExprError:
        return True
    return False


def trainer_slots() -> TrainerSlots:
    """Server-wide: how many sessions may train at the same moment (the rest wait their turn, first
    come first served). One per process, like this module: every session's script imports the same one."""
    return _SLOTS


def owner() -> str:
    """This session's name in the line for a trainer: its Streamlit session id (so a closed tab
    gives its slot back at once), made unique (AppTest gives every session the same id)."""
    ctx = get_script_run_ctx()
    session_id = ctx.session_id if ctx else "-"
    return st.session_state.setdefault("owner", f"{session_id}/{uuid.uuid4().hex}")


def take_trainer(notice, until: float) -> bool:
    """A pinned trainer slot for this session (Compare, Sweep: it must be released in a finally),
    waiting in line and saying so in ``notice`` (an st.empty) until ``until`` (perf_counter);
    False, and out of the line, if none came."""
    slots, me = trainer_slots(), owner()
    while not slots.acquire(me, timeout=0.5, pin=True):
        if time.perf_counter() > until:
            slots.release(me)
            return False
        notice.info(f"Waiting for a free trainer (number {slots.position(me)} in line)…")
    return True


def echo() -> bool:
    """Whether a click on a button outside the live fragment reached its callback through one of the
    fragment's ticks. Streamlit 1.67 delivers such a click twice, with the tick and then with the
    full run that follows (a browser showed 15 Step clicks as 21 callbacks, each extra one in a
    tick): the tick's copy is the echo."""
    ctx = get_script_run_ctx()
    return bool(ctx and ctx.fragment_ids_this_run)


def tick_factor(waiting: int) -> int:
    """How many ticks' worth of epochs one tick trains: more while others wait in line, so a run
    needs fewer redraws (the costly part of a tick) and gives its trainer back sooner."""
    return max(1, min(MAX_TICK_FACTOR, 1 + waiting // LIMITS.concurrent_trainers))


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


def _visible(name: str, config: Config) -> bool:
    spec = data.DATASETS.get(config.dataset)
    task = config.task
    rules = {
        "n_samples": spec is not None,
        "noise": spec is not None and config.dataset != "make_classification",
        "label_noise": task not in (None, data.REGRESSION),
        "imbalance": task not in (None, data.REGRESSION),
        "n_classes": config.dataset == "blobs",
        "features": spec is not None and spec.dims == 2,
        "mix": any("+" in a for a in config.activation),
        "activation_expr": any(model.CUSTOM in a for a in config.activation),
        "loss_expr": config.loss == "custom",
        "momentum": optim.OPTIMIZERS[config.optimizer].uses_momentum,
        "nesterov": config.optimizer == "sgd",
        "step_size": config.schedule in ("step", "exponential"),
        "gamma": config.schedule in ("step", "exponential"),
    }
    return rules.get(name, True)


def _steps_with(steps: tuple[float, ...], value: float) -> list[float]:
    return sorted({*steps, value})


def _widget(name: str) -> None:
    meta, t, key = FIELDS[name].metadata, TYPES[name], f"w_{name}"
    label = field_label(name)
    helptext = meta["help"]
    kw = dict(key=key, help=helptext, on_change=_from_widgets)
    value = st.session_state[key]
    if name == "features":
        st.multiselect(label, list(data.FEATURES), format_func=LABELS["features"].get, **kw)
    elif meta["choices"] is not None:
        st.selectbox(label, meta["choices"], format_func=lambda k: value_label(name, k), **kw)
    elif t is bool:
        st.checkbox(label, **kw)
    elif t is str:
        st.text_input(label, max_chars=300, **kw)
    elif name == "lr":
        st.select_slider(label, _steps_with(LR_STEPS, value), format_func=lambda v: f"{v:g}", **kw)
    elif name in ("l1", "l2"):
        st.select_slider(label, _steps_with(RATE_STEPS, value), format_func=lambda v: f"{v:g}", **kw)
    elif t is float:
        st.slider(label, float(meta["lo"]), float(meta["hi"]), step=0.01 if meta["hi"] <= 1 else 0.1, **kw)
    else:
        st.number_input(label, int(meta["lo"]), int(meta["hi"]), step=1, **kw)


def _activation_label(name: str) -> str:
    return model.ACTIVATIONS[name][0] if name in model.ACTIVATIONS else "custom"


def _layer_count() -> None:
    st.slider(
        field_label("hidden"),
        0,
        8,
        key="w_layers",
        on_change=_from_widgets,
        help=FIELDS["hidden"].metadata["help"] + ". Below: one row per layer, its neurons and its activation.",
    )


def _layer_rows() -> None:
    """One row per hidden layer, its neurons and its activation, under the layer count (whose help
    says so): without labels, a two-layer network fits on the screen with the rest."""
    names = [*model.ACTIVATIONS, model.CUSTOM]
    for i in range(st.session_state.w_layers):
        left, right = st.columns([1, 1.3])
        left.number_input(
            f"layer {i + 1} neurons",
            1,
            256,
            step=1,
            key=f"w_n{i}",
            on_change=_from_widgets,
            label_visibility="collapsed",
        )
        right.selectbox(
            f"layer {i + 1} activation",
            names,
            key=f"w_a{i}",
            on_change=_from_widgets,
            format_func=_activation_label,
            label_visibility="collapsed",
        )


def _mix_rows() -> None:
    names = [*model.ACTIVATIONS, model.CUSTOM]
    for i in range(st.session_state.w_layers):
        st.selectbox(
            f"layer {i + 1}: mixed in parallel with",
            ["none", *names],
            key=f"w_m{i}",
            on_change=_from_widgets,
            format_func=lambda k: k if k == "none" else _activation_label(k),
            help="The article's block: this layer's output through two activations in parallel, combined",
        )


def _set_speed() -> None:
    st.session_state.speed = st.session_state.w_speed


def next_frame(trainer: Trainer, factor: int = 1) -> int:
    """The epochs the next frame trains: the session's speed on the frame schedule (nnplay.frames)."""
    return frame_epochs(trainer.epoch, st.session_state.speed) * factor


def sidebar() -> None:
    ss = st.session_state
    config, hide = ss.config, ss.hide
    shown = {name for names in GROUPS.values() for name in names if name not in hide and _visible(name, config)}
    shown |= {"speed", "csv"} - hide
    with st.sidebar:
        _presets()
        for row in ESSENTIAL_ROWS:
            names = [name for name in row if name in shown]
            cells = st.columns(len(names)) if len(names) > 1 else [st.container() for _ in names]
            for cell, name in zip(cells, names):
                with cell:
                    _control(name)
            if "hidden" in names:
                _layer_rows()
            for name in row:
                if FOLLOWERS.get(name) in shown:
                    _expression(FOLLOWERS[name], config)
        if ss.config_error:  # on the screen with the controls, whichever one it came from
            st.error(literal(f"Not applied — {ss.config_error}"))
        placed = {name for row in ESSENTIAL_ROWS for name in row} | set(FOLLOWERS.values())
        for group, title in MORE.items():
            names = [name for name in GROUPS[group] if name in shown and name not in placed]
            csv = group == "Data" and "csv" in shown
            mixes = group == "Network" and "hidden" in shown and ss.w_layers > 0
            if not (names or csv or mixes):
                continue  # hide= took all of it
            with st.expander(title):
                for name in names:
                    _control(name)
                if csv:
                    _csv_upload()
                if mixes:
                    _mix_rows()
                if group == "Device":
                    cuda = torch.cuda.get_device_name() if torch.cuda.is_available() else None
                    st.caption(f"CUDA available: {'yes — ' + cuda if cuda else 'no'}")


def _control(name: str) -> None:
    if name == "hidden":
        _layer_count()
    elif name == "speed":
        st.select_slider(
            "speed",
            list(SPEEDS),
            key="w_speed",
            help="How fast the epochs go by. Every speed starts with one epoch a frame, where the network "
            "changes most, and then trains more epochs a frame; slow motion stays at one epoch a frame.",
            on_change=_set_speed,
        )
    else:
        _widget(name)


def _expression(name: str, config: Config) -> None:
    """The custom loss or activation in use, editable; a change that does not check stays in its
    field, with the reason, and the run keeps the expression it had."""
    in_use = getattr(config, name)
    expression_field(
        "custom loss of y_pred and y" if name == "loss_expr" else "custom activation of x",
        f"w_{name}",
        EXPRESSIONS[name],
        refused=f"Not applied (training keeps {in_use}):",
        on_change=_from_widgets,
        help=FIELDS[name].metadata["help"] + "; the Lab plots it",
    )


def expression_field(label: str, key: str, check, *, refused: str = "Not usable:", **kwargs):
    """A text field for an expression (nnplay.expr), checked each time it is entered: what
    ``check`` makes of the text, or None after saying why not (see refusal), with a caret under the
    fault. The Lab's editors and the sidebar's custom loss and activation are this field."""
    text = st.text_input(label, key=key, max_chars=expr.MAX_CHARS, **kwargs)
    try:
        return check(text)
    except expr.ExprError as exc:
        refusal(str(exc), refused)
        return None


def refusal(message: str, title: str = "Not usable:") -> None:
    """An expression's problem (an ExprError's message): ``title`` and the reason as text, where
    they wrap in a narrow sidebar, then the expression with its caret under the offending part in
    a code block, which keeps the caret's column."""
    reason, _, pointed = message.partition("\n")
    st.error(literal(f"{title} {reason}"))
    if pointed:
        st.code(pointed, language=None)


def _presets() -> None:
    """The ready-made experiments (nnplay.config.PRESETS), each with what it is."""
    # Its state is tracked so a choice can close it: left open, it covered the run it had started.
    popover = st.popover(
        "Start from a preset", icon=":material/auto_awesome:", width="stretch", key="presets", on_change="rerun"
    )
    with popover:
        for name, config in PRESETS.items():
            title = PRESET_TITLES[name]
            st.button(title[0].upper() + title[1:], key=f"preset_{name}", on_click=_use_preset, args=(name,))
            st.caption(describe(config))


def _use_preset(name: str) -> None:
    ss = st.session_state
    set_config(PRESETS[name])
    ss.trainer, ss.running, ss.config_error = None, True, None  # a fresh run of it, from its first epoch
    ss.presets = False  # the popover closes
    ss.notice = f"Started from {PRESET_TITLES[name]}: {describe(PRESETS[name])}."


def _csv_upload() -> None:
    st.file_uploader("or upload a CSV", type=["csv", "txt", "tsv"], key="csv_file", on_change=_read_upload)
    if st.session_state.get("csv_file") is not None:
        st.text_input("target column (blank = the last)", key="csv_target", on_change=_read_upload)


def _read_upload() -> None:
    """Check an uploaded table; a good one becomes the data set, a bad one is explained and ignored."""
    ss = st.session_state
    upload = ss.get("csv_file")
    if upload is None:
        return
    try:
        table = data.read_csv(upload.getvalue(), target=ss.get("csv_target") or None)
    except data.DataError as exc:
        ss.csv_error = f"{upload.name}: {exc}"
        return
    ss.csv_error = None
    ss.table = table
    ss.trainer = None  # the same Config now means other data
    set_config(ss.config.replace(dataset="csv"))


# --- drawing helpers -----------------------------------------------------------------------------


def notices() -> None:
    ss = st.session_state
    warnings = ss.get("url_warnings", [])
    # Shown once (the URL is corrected now), but in the run that draws the whole page: a new tab's
    # first run, the boundary alone, is replaced 0.6 s later.
    if not ss.get("rest_pending"):
        ss.url_warnings = []
    for w in warnings[:8]:
        st.warning(literal(f"Link setting ignored — {w}"), icon="⚠️")
    if len(warnings) > 8:
        st.warning(f"… and {len(warnings) - 8} more link settings ignored.")
    if ss.get("csv_error"):
        st.error(literal(f"CSV not used — {ss.csv_error}"))
    if ss.get("notice"):
        st.info(literal(ss.notice))
        if not ss.get("rest_pending"):
            ss.notice = None
    if ss.get("trainer_error"):
        st.error(literal(f"This experiment cannot run — {ss.trainer_error}"))


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


# --- saving and loading --------------------------------------------------------------------------


def _on_model_upload() -> None:
    ss = st.session_state
    upload = ss.get("model_file")
    if upload is None:
        return
    try:
        config, state = load_model(upload.getvalue())
        if config.dataset == data.CSV and ss.table is None:
            raise ValueError("this model was trained on an uploaded CSV: upload that table first")
        trainer = Trainer(config, ss.table)
        trainer.model.load_state_dict(state)
    except (ValueError, RuntimeError) as exc:
        ss.model_error = f"{upload.name}: {str(exc).splitlines()[0][:300]}"
        return
    trainer.adopt_current_weights()
    ss.model_error = None
    ss.trainer, ss.running = trainer, False
    set_config(config)
    ss.notice = f"Loaded {upload.name}: its weights are the new starting point (Reset returns to them)."


def downloads(trainer: Trainer) -> None:
    with st.expander("Save and load"):
        cols = st.columns(3)
        cols[0].download_button("Model (.pt)", model_bytes(trainer), "nnplay-model.pt", key="dl_model")
        cols[1].download_button(
            "History (.csv)", trainer.history.to_csv(index=False), "nnplay-history.csv", key="dl_history"
        )
        shown = st.session_state.setdefault("shown", {})
        sliced = trainer.data.raw_dims > 2
        cols[2].download_button(
            "Boundary (.png)",
            lambda: boundary_png(shown, sliced),
            "nnplay-boundary.png",
            mime="image/png",
            key="dl_png",
            help="The boundary chart as it is on the page when you press this",
        )
        st.file_uploader("Continue from a saved model", type=["pt"], key="model_file", on_change=_on_model_upload)
    with st.expander("Show the PyTorch code"):
        try:
            upload = st.session_state.get("csv_file")
            script = export(trainer.config, st.session_state.table, upload.name if upload else "data.csv")
        except ExportError as exc:
            st.info(str(exc))
        else:
            st.download_button("Download the script", script, "nnplay_experiment.py", key="dl_script")
            # Highlighting a hundred lines took the browser 0.4 s of the first page load, even in a
            # closed expander: the code is drawn when asked for.
            if st.toggle("show the code here", key="show_code"):
                st.code(script, language="python")
        if st.session_state.get("model_error"):
            st.error(literal(f"Model not loaded — {st.session_state.model_error}"))


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
