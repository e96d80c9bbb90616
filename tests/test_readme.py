"""The README is the first thing a newcomer reads: keep it in step with the code."""

import re
from pathlib import Path

from nnplay import losses, model, optim
from nnplay.config import FIELDS, PRESETS
from nnplay.data import DATASETS

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_every_config_field_and_registry_entry_is_documented():
    for name in FIELDS:
        assert f"`{name}`" in README, name
    for names in (DATASETS, model.ACTIVATIONS, losses.LOSSES, optim.AVAILABLE_OPTIMIZERS, PRESETS):
        for name in names:
            assert name in README, name


def test_the_two_setup_commands_are_what_ci_runs():
    blocks = re.findall(r"```sh\n(.*?)\n```", README, flags=re.S)
    assert blocks[0] == "pip install -r requirements.txt && streamlit run app.py"
    assert blocks[1] == "bash scripts/test.sh"
    assert "bash scripts/test.sh" in (ROOT / ".ci" / "run").read_text()
    assert "torch==2.13.0" in (ROOT / "requirements.txt").read_text()
