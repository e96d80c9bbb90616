import argparse
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nnplay import model
from nnplay.config import ARTICLE, FIELDS, PRESET_TITLES, PRESETS, Config, ConfigError, describe, format_value

from .strategies import configs

REQUIRED = {
    "dataset",
    "n_samples",
    "noise",
    "test_fraction",
    "seed",
    "features",
    "hidden",
    "activation",
    "dropout",
    "init",
    "loss",
    "optimizer",
    "lr",
    "momentum",
    "batch_size",
    "epochs",
    "l1",
    "l2",
    "schedule",
    "device",
}


def test_every_required_knob_is_a_field_with_help():
    assert set(FIELDS) >= REQUIRED
    for f in FIELDS.values():
        assert f.metadata["help"], f.name


def test_defaults_and_presets_are_valid_and_hashable():
    for config in (Config(), *PRESETS.values()):
        assert hash(config) == hash(Config.from_dict(config.to_dict()))


def test_article_preset_is_the_articles_experiment():
    assert (ARTICLE.dataset, ARTICLE.n_samples, ARTICLE.seed, ARTICLE.hidden) == (
        "make_classification",
        100,
        0,  # the default seed draws the article's random_state=101 data
        (8, 4),
    )
    assert (ARTICLE.loss, ARTICLE.optimizer, ARTICLE.lr, ARTICLE.batch_size) == ("bce", "sgd", 0.1, 0)


def test_each_preset_is_described_from_its_settings():
    assert set(PRESET_TITLES) == set(PRESETS)
    assert describe(ARTICLE) == (
        "The article's 5 features, 100 samples, no test set · 5-8-4-1 ReLU · Binary cross-entropy · "
        "SGD, learning rate 0.1 · 1000 epochs"
    )
    assert "5-8-4-1 ReLU + tanh, ReLU" in describe(PRESETS["article_mixed"])
    regression = describe(PRESETS["article_regression"])
    assert "500 samples, 20% held out · 20-8-4-1 ReLU · Mean squared error" in regression
    assert "Spiral, 200 samples" in describe(Config(dataset="spiral", n_samples=200))
    changed = describe(Config(hidden=(), loss="custom", loss_expr="mean(abs(y_pred - y))", lr=0.5))
    assert "· 2-1 ·" in changed and "custom loss mean(abs(y_pred - y))" in changed and "learning rate 0.5" in changed


@pytest.mark.parametrize(
    "changes, field, words",
    [
        ({"lr": 0.0}, "lr", "outside the allowed range"),
        ({"lr": float("nan")}, "lr", "finite"),
        ({"n_samples": 5}, "n_samples", "10 to 100000"),
        ({"n_samples": 100_001}, "n_samples", "10 to 100000"),
        ({"hidden": (8,) * 9}, "hidden", "0 to 8 items"),
        ({"hidden": (0,)}, "hidden", "outside"),
        ({"hidden": (257,)}, "hidden", "outside"),
        ({"activation": ("nope",)}, "activation", "unknown activation"),
        ({"activation": ("relu+tanh+gelu",)}, "activation", "two joined by '+'"),
        ({"activation": ("relu", "tanh", "elu")}, "activation", "one per hidden layer"),
        ({"dataset": "mnist"}, "dataset", "not one of"),
        ({"optimizer": "sparse_adam"}, "optimizer", "sparse gradients"),
        ({"loss": "bce", "dataset": "sine"}, "loss", "does not fit regression"),
        ({"loss": "cross_entropy", "dataset": "plane"}, "loss", "does not fit regression"),
        ({"loss": "bce", "dataset": "blobs"}, "loss", "try cross_entropy"),
        ({"nesterov": True}, "nesterov", "momentum > 0"),
        ({"features": ()}, "features", "1 to 9 items"),
        ({"features": ("x1", "x1")}, "features", "once"),
        ({"epochs": "10"}, "epochs", "expected int"),
        ({"seed": True}, "seed", "expected int"),
        ({"batch_size": -1}, "batch_size", "outside"),
    ],
)
def test_validation_names_the_field_and_the_rule(changes, field, words):
    with pytest.raises(ConfigError) as err:
        Config(**changes)
    assert err.value.field == field
    assert words in str(err.value)
    assert str(err.value).startswith(f"{field}:")


def test_values_are_normalised():
    c = Config(hidden=[16, 8], lr=1, activation=["relu", "tanh"])
    assert c.hidden == (16, 8) and c.lr == 1.0 and isinstance(c.lr, float) and c.activation == ("relu", "tanh")


@pytest.mark.parametrize(
    "changes, expected",
    [
        ({"activation": "relu"}, {"activation": ("relu",)}),
        ({"hidden": "8,4", "activation": "relu+tanh, relu"}, {"hidden": (8, 4), "activation": ("relu+tanh", "relu")}),
        ({"hidden": " 16 "}, {"hidden": (16,)}),
        ({"hidden": ""}, {"hidden": ()}),
        ({"features": "x1,x2,x1x2"}, {"features": ("x1", "x2", "x1x2")}),
    ],
)
def test_list_fields_take_the_url_and_command_line_spelling(changes, expected):
    config = Config(**changes)
    assert {name: getattr(config, name) for name in expected} == expected
    assert config == Config.from_query(changes)[0]  # the URL reads it the same


@pytest.mark.parametrize(
    "changes, words",
    [({"hidden": "8,x"}, "expected a number, not 'x'"), ({"activation": "relu,nope"}, "unknown activation")],
)
def test_a_bad_list_spelling_names_the_field(changes, words):
    with pytest.raises(ConfigError) as err:
        Config(**changes)
    assert err.value.field == next(iter(changes)) and words in str(err.value)


def test_zero_hidden_layers_is_logistic_regression():
    assert Config(hidden=()).to_query() == {"hidden": ""}
    assert Config.from_query({"hidden": ""})[0].hidden == ()


@settings(max_examples=150, deadline=None)
@given(configs())
def test_query_round_trip(config):
    query = config.to_query()
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in query.items())
    back, warnings = Config.from_query(query)
    assert warnings == [] and back == config
    assert Config.from_query(config.to_query(full=True)) == (config, [])


@settings(max_examples=150, deadline=None)
@given(configs())
def test_json_round_trip(config):
    text = config.to_json()
    assert Config.from_json(text) == config
    assert json.loads(text)["hidden"] == list(config.hidden)


@settings(max_examples=100, deadline=None)
@given(configs())
def test_cli_round_trip(config):
    parser = argparse.ArgumentParser()
    Config.add_arguments(parser)
    assert Config.from_args(parser.parse_args(config.to_argv()), parser) == config


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from([*FIELDS, "zzz", ""]) | st.text(max_size=8),
        st.text(max_size=30) | st.lists(st.text(max_size=5), max_size=2),
        max_size=12,
    )
)
def test_from_query_never_raises(query):
    config, warnings = Config.from_query(query)
    assert isinstance(config, Config)
    assert all(isinstance(w, str) for w in warnings)


def test_bad_query_values_fall_back_with_one_warning_each():
    hostile = {
        "lr": "inf",
        "n_samples": "-5",
        "hidden": ",".join(["8"] * 10_000),
        "epochs": "1e99",
        "seed": "x",
        "dataset": "../../etc/passwd",
        "activation": "relu;import os",
        "dropout": "NaN",
        "noise": "0.2",
        "unknown": "1",
        "device": "cuda:0",
        "features": "",
        "nesterov": "maybe",
        "momentum": "٣",
    }
    config, warnings = Config.from_query(hostile)
    assert config == Config(noise=0.2)
    assert len(warnings) == len(hostile) - 1  # every key but noise
    assert any("unknown setting 'unknown'" in w for w in warnings)
    assert any(w.startswith("hidden:") and "value longer than" in w for w in warnings)


def test_clash_between_fields_resets_the_later_rule_with_a_warning():
    config, warnings = Config.from_query(
        {"dataset": "blobs", "loss": "bce", "hidden": "4,4,4", "activation": "relu,tanh"}
    )
    assert (config.dataset, config.loss, config.hidden, config.activation) == ("blobs", "auto", (4, 4, 4), ("tanh",))
    assert len(warnings) == 2 and warnings[0].startswith(("loss", "activation"))


def test_query_lists_take_the_last_value_and_ignored_keys_are_silent():
    config, warnings = Config.from_query({"lr": ["0.5", "0.2"], "autoplay": "0"}, ignore=("autoplay",))
    assert config.lr == 0.2 and warnings == []


def test_to_query_only_carries_changes():
    assert Config().to_query() == {}
    assert Config(lr=0.5, hidden=(3,), activation=("relu+tanh",)).to_query() == {
        "lr": "0.5",
        "hidden": "3",
        "activation": "relu+tanh",
    }


def test_strict_dict_rejects_unknown_keys_and_bad_json():
    with pytest.raises(ConfigError, match="unknown setting"):
        Config.from_dict({"bogus": 1})
    with pytest.raises(ConfigError, match="not valid JSON"):
        Config.from_json("{")
    with pytest.raises(ConfigError, match="JSON object"):
        Config.from_json("[1]")


def test_every_registry_entry_is_a_choice():
    for name in [*model.ACTIVATIONS, f"{next(iter(model.ACTIVATIONS))}+tanh"]:
        config = Config(activation=(name,))
        assert Config.from_query(config.to_query()) == (config, []), name  # through a shared link
    with pytest.raises(ConfigError, match="unknown activation 'nope'"):
        Config(activation=("nope",))
    for mix in model.MIXES:
        config = Config(activation=("relu+tanh",), mix=mix)
        assert Config.from_query(config.to_query()) == (config, []), mix


def test_rprop_refuses_a_schedule_it_would_ignore():
    with pytest.raises(ConfigError, match="Rprop adapts its own step sizes") as err:
        Config(optimizer="rprop", schedule="cosine")
    assert err.value.field == "schedule"


def test_from_json_only_raises_config_errors():
    for text in ("[" * 100_000, '{"seed": ' + "9" * 5000 + "}", "nan", '"x"'):
        with pytest.raises(ConfigError):
            Config.from_json(text)


def test_format_value():
    assert [format_value(v) for v in (True, 0.1, (8, 4), ("a", "b"), 3)] == ["1", "0.1", "8,4", "a,b", "3"]


def test_custom_expressions_are_checked_where_they_are_used():
    with pytest.raises(ConfigError) as err:
        Config(loss="custom", loss_expr="__import__('os')")
    assert err.value.field == "loss_expr"
    with pytest.raises(ConfigError) as err:
        Config(activation=("relu+custom",), activation_expr="mean(x)")
    assert err.value.field == "activation_expr" and "element by element" in str(err.value)
    assert Config(loss_expr="nonsense(").loss == "auto"  # unused, so not in the way


def test_a_hostile_expression_in_the_url_falls_back_with_a_warning():
    config, warnings = Config.from_query({"loss": "custom", "loss_expr": "open('/etc/passwd')", "dataset": "sine"})
    assert config.loss == "custom" and config.loss_expr == Config().loss_expr
    assert len(warnings) == 1 and warnings[0].startswith("loss_expr:")
