"""What the sidebar's controls are: which Config field goes in which group and row, what each
field and value is called on screen, the steps of the rate sliders. The sidebar draws them
(pages/_sidebar.py); the About and Compare pages name fields and values the same way."""

from __future__ import annotations

from nnplay import data, expr, losses, model, optim
from nnplay.config import format_value

LR_STEPS = (1e-5, 1e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)
RATE_STEPS = (0.0, 1e-5, 1e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1, 0.3, 1.0)

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
        return ", ".join(" + ".join(map(activation_label, spec.split("+"))) for spec in value)
    if isinstance(value, bool):
        return "on" if value else "off"
    names = LABELS.get(name)
    if names is None:
        return format_value(value)
    return ", ".join(names.get(v, v) for v in value) if isinstance(value, tuple) else names.get(value, value)


def activation_label(name: str) -> str:
    return model.ACTIVATIONS[name][0] if name in model.ACTIVATIONS else "custom"
