"""Hypothesis strategies that draw valid Configs from the Config's own field rules."""

from hypothesis import strategies as st

from nnplay import losses, model, optim
from nnplay.config import FIELDS, TYPES, Config, ConfigError
from nnplay.data import DATASETS, FEATURES

_SIMPLE = {
    "dataset",
    "features",
    "hidden",
    "activation",
    "nesterov",
    "loss",
    "optimizer",
    "loss_expr",
    "activation_expr",
}
LOSS_EXPRESSIONS = ("mean((y_pred - y)**4)", "mean(abs(y_pred - y)**3)", "mean(log(cosh(y_pred - y)))")
ACTIVATION_EXPRESSIONS = ("x * sigmoid(x)", "sin(x) + 0.1*x", "where(x > 0, x, 0.01*x)")


def _field(name):
    meta, t = FIELDS[name].metadata, TYPES[name]
    if meta["choices"] is not None:
        return st.sampled_from(meta["choices"])
    if t is bool:
        return st.booleans()
    if t is int:
        return st.integers(meta["lo"], meta["hi"])
    return st.floats(meta["lo"], meta["hi"], allow_nan=False, allow_infinity=False)


activation_names = st.sampled_from((*model.ACTIVATIONS, model.CUSTOM))
activation_specs = st.one_of(activation_names, st.tuples(activation_names, activation_names).map("+".join))


@st.composite
def configs(draw) -> Config:
    kw = {name: draw(_field(name)) for name in FIELDS if name not in _SIMPLE}
    kw["dataset"] = draw(st.sampled_from((*DATASETS, "csv")))
    kw["features"] = tuple(draw(st.lists(st.sampled_from(tuple(FEATURES)), min_size=1, max_size=9, unique=True)))
    hidden = tuple(draw(st.lists(st.integers(1, 256), max_size=8)))
    kw["hidden"] = hidden
    n_acts = draw(st.sampled_from((1, len(hidden)) if hidden else (1,)))
    kw["activation"] = tuple(draw(st.lists(activation_specs, min_size=n_acts, max_size=n_acts)))
    kw["optimizer"] = draw(st.sampled_from(optim.AVAILABLE_OPTIMIZERS))
    kw["nesterov"] = draw(st.booleans()) and kw["optimizer"] == "sgd" and kw["momentum"] > 0
    if kw["optimizer"] == "rprop":
        kw["schedule"] = "none"
    task = DATASETS[kw["dataset"]].task if kw["dataset"] in DATASETS else None
    fitting = [
        k for k in losses.LOSS_CHOICES if task is None or k not in losses.LOSSES or task in losses.LOSSES[k].tasks
    ]
    kw["loss"] = draw(st.sampled_from(fitting))
    kw["loss_expr"] = draw(st.sampled_from(LOSS_EXPRESSIONS))
    kw["activation_expr"] = draw(st.sampled_from(ACTIVATION_EXPRESSIONS))
    try:
        return Config(**kw)
    except ConfigError as exc:  # pragma: no cover - a strategy bug, shown plainly
        raise AssertionError(f"strategy drew an invalid Config: {exc}") from exc
