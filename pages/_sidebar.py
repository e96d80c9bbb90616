"""The sidebar, drawn from the Config's field rules (nnplay.config) and the controls' names
(pages/_controls.py): its widgets hold the session's Config, and every change to them goes
through one check (a valid Config replaces the old one, an invalid one is explained)."""

from __future__ import annotations

import streamlit as st
import torch

from nnplay import data, expr, model, optim
from nnplay.config import FIELDS, PRESET_TITLES, PRESETS, TYPES, Config, ConfigError, describe
from nnplay.frames import SPEEDS
from nnplay.text import literal
from pages._controls import (
    ESSENTIAL_ROWS,
    EXPRESSIONS,
    FOLLOWERS,
    GROUPS,
    LABELS,
    LR_STEPS,
    MORE,
    RATE_STEPS,
    activation_label,
    field_label,
    value_label,
)
from pages._limits import LIMITS


def set_config(config: Config) -> None:
    """Replace the Config from code (an upload, a lesson link); the widgets follow when frame() syncs them."""
    ss = st.session_state
    ss.config = config
    for name in EXPRESSIONS:  # a refused draft (see sync_widgets) gives way to the new expression
        ss.pop(f"w_{name}", None)


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
            format_func=activation_label,
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
            format_func=lambda k: k if k == "none" else activation_label(k),
            help="The article's block: this layer's output through two activations in parallel, combined",
        )


def _set_speed() -> None:
    st.session_state.speed = st.session_state.w_speed


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
