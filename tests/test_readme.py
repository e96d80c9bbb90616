"""The README is the first thing a newcomer reads: keep it, and the docs it points to, in step with
the code. (Its commands are checked in tests/test_docs_commands.py.)"""

import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from streamlit.testing.v1 import AppTest

from nnplay import losses, model, optim
from nnplay.config import FIELDS, PRESETS, Config, format_value
from nnplay.data import DATASETS
from nnplay.frames import schedule
from nnplay.train import Trainer

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
DOCS = {path.name: path.read_text() for path in sorted((ROOT / "docs").glob("*.md"))}
APP = str(ROOT / "app.py")


def test_every_config_field_and_registry_entry_is_documented():
    for name in FIELDS:
        assert f"`{name}`" in README, name
    for names in (DATASETS, model.ACTIVATIONS, losses.LOSSES, optim.AVAILABLE_OPTIMIZERS, PRESETS):
        for name in names:
            assert name in README, name


def test_the_settings_table_gives_each_fields_own_default():
    rows = [line.split("|")[1:3] for line in README.splitlines() if line.startswith("| `")]
    seen = set()
    for names, defaults in rows:
        names, defaults = re.findall(r"`(\w+)`", names), re.findall(r"`([^`]*)`", defaults)
        if len(defaults) == 1:
            defaults *= len(names)  # `l1`, `l2` share one
        for name, default in zip(names, defaults, strict=True):
            assert default == format_value(FIELDS[name].default), name
            seen.add(name)
    assert seen == set(FIELDS)


def test_the_two_setup_commands_are_what_ci_runs():
    blocks = re.findall(r"```sh\n(.*?)\n```", README, flags=re.S)
    assert blocks[0] == "pip install -r requirements.txt && streamlit run app.py"
    assert blocks[1] == "bash scripts/test.sh"
    assert "bash scripts/test.sh" in (ROOT / ".ci" / "run").read_text()
    assert "torch==2.13.0" in (ROOT / "requirements.txt").read_text()


def test_the_guide_comes_before_the_operators_and_the_internals_after():
    headings = re.findall(r"^## (.+)$", README, flags=re.M)
    order = [
        "Set-up (a fresh machine, Python 3.11)",
        "What you can do",
        "A teacher's quick start",
        "Installing on an ordinary machine, or a GPU",
        "Deploy on Streamlit Community Cloud",
        "Scale out: several processes behind nginx",
        "How it works inside",
    ]
    assert [h for h in headings if h in order] == order
    assert README.index("![The Playground page](docs/playground.png)") < README.index("## Set-up")
    assert (ROOT / "docs" / "playground.png").exists()


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_every_link_within_the_docs_leads_somewhere():
    texts = {"README.md": README, **{f"docs/{name}": text for name, text in DOCS.items()}}
    for source, text in texts.items():
        base = (ROOT / source).parent
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if target.startswith(("http://", "https://")):
                continue
            path, _, anchor = target.partition("#")
            file = (base / path).resolve() if path else ROOT / source
            assert file.exists(), f"{source}: {target}"
            if anchor:
                headings = re.findall(r"^#+ (.+)$", file.read_text(), flags=re.M)
                assert anchor in {_slug(h) for h in headings}, f"{source}: {target}"
    for name in ("architecture.md", "performance.md", "maintainers.md"):
        assert f"(docs/{name})" in README, name


def test_the_architecture_names_every_module():
    text = DOCS["architecture.md"]
    for folder in ("nnplay", "pages", "bench"):
        for path in sorted((ROOT / folder).glob("*.py")):
            if path.name != "__init__.py":
                assert path.name in text, f"docs/architecture.md does not name {folder}/{path.name}"


def test_no_line_holds_only_on_the_machine_that_built_it():
    for text in (README, *DOCS.values()):
        for phrase in ("this machine cannot", "these machines hold", "hold locally", "the local copy"):
            assert phrase not in text.lower(), phrase


# --- the teacher's quick start ---------------------------------------------------------------------

LINKS = re.findall(r"\]\((http://localhost:8501/\?[^)\s]+)\)", README)


def _query(link: str) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(urlsplit(link).query, keep_blank_values=True).items()}


def _lesson(n: int) -> Config:
    config, warnings = Config.from_query(_query(LINKS[n]), ignore=("autoplay", "hide", "speed"))
    assert warnings == []
    return config


def _accuracy(config: Config, **changes) -> dict[str, float]:
    return Trainer(config.replace(**changes)).run().evaluate()


WIDGET_KEYS = {"hidden": "w_layers", "csv": "csv_file"}  # the rest are w_<field>
KEEPS = [  # what each lesson's text says it leaves to change
    {"w_lr", "w_speed"},
    {"w_dataset", "w_features", "w_layers", "w_a0"},
    {"w_n_samples", "w_dropout", "w_l2", "w_patience"},
]


def test_the_three_lesson_links_are_there():
    assert len(LINKS) == 3


@pytest.mark.parametrize("n", range(3))
def test_a_lesson_link_opens_without_a_warning_and_hides_what_it_names(n):
    query = _query(LINKS[n])
    at = AppTest.from_file(APP, default_timeout=60)
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception
    assert [w.value for w in at.warning] == []
    assert at.session_state["config"] == _lesson(n)
    shown = {key for w in at.sidebar if (key := getattr(w, "key", None))}
    hidden = {WIDGET_KEYS.get(name, f"w_{name}") for name in query["hide"].split(",")}
    assert KEEPS[n] <= shown and not shown & hidden, (shown, hidden)
    assert at.session_state["running"] is (query.get("autoplay", "1") != "0")


def test_lesson_1_the_learning_rate():
    config = _lesson(0)
    assert _query(LINKS[0])["speed"] == "slow" and config.optimizer == "sgd" and config.epochs == 500
    assert 0.5 < _accuracy(config)["train_accuracy"] < 0.65  # "barely moved (about 58%)"
    assert _accuracy(config, lr=0.1)["train_accuracy"] > 0.97  # "99%"
    fast = Trainer(config.replace(lr=1.0)).run().history
    assert fast["train_accuracy"].ge(0.95).idxmax() < 60  # "in a few dozen epochs"
    losses = Trainer(config.replace(lr=10.0, epochs=10)).run().history["train_loss"]
    assert losses.iloc[0] < 0.75 and losses.max() > 6  # "from 0.7 to above 6 in the first epochs"


def test_lesson_2_depth_and_nonlinearity():
    config = _lesson(1)
    assert 0.4 < _accuracy(config)["train_accuracy"] < 0.6  # linear: chance
    assert _accuracy(config, activation=("tanh",))["train_accuracy"] > 0.97
    assert _accuracy(config, features=("x1", "x2", "x1x2"))["train_accuracy"] > 0.97
    spiral = config.replace(dataset="spiral", activation=("tanh",))
    assert 0.8 < _accuracy(spiral)["train_accuracy"] < 0.9  # "about 85%"
    assert _accuracy(spiral, hidden=(16, 16), activation=("tanh", "tanh"))["train_accuracy"] > 0.97


def test_lesson_3_overfitting():
    config = _lesson(2)
    trainer = Trainer(config).run()
    end, history = trainer.evaluate(), trainer.history
    # "Train accuracy reaches 100%": it does, then wavers a point or two as Adam goes on (where it
    # ends depends on the last bits of the arithmetic); test accuracy "near 64%".
    assert history["train_accuracy"].max() == 1.0 and end["train_accuracy"] >= 0.97
    assert 0.58 < end["test_accuracy"] < 0.7
    assert history["test_loss"].idxmin() < 10 and end["test_loss"] > 3  # lowest early, "about 4"
    l2 = _accuracy(config, l2=0.003)
    assert abs(l2["train_accuracy"] - 0.79) < 0.03 and abs(l2["test_accuracy"] - 0.77) < 0.03
    dropout = _accuracy(config, dropout=0.5)
    assert abs(dropout["test_accuracy"] - l2["test_accuracy"]) < 0.04  # "about the same"
    early = Trainer(config.replace(patience=100)).run()
    assert early.status == "early_stopped" and 95 <= early.epoch <= 120  # "near epoch 100"


def test_the_frame_counts_the_readme_gives():
    counts = {speed: len(schedule(1000, speed)) - 1 for speed in ("normal", "slow", "slow motion")}
    assert counts == {"normal": 35, "slow": 59, "slow motion": 1000}
    assert "35 frames at normal, 59 at slow and all 1 000 in slow motion" in README.replace("\n  ", " ")
