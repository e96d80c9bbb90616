"""The Community Cloud deployment: its entry point runs the app, its requirements install CPU-only torch
with the same pins as the project's, and the server config matches the engine's limits."""

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from streamlit.testing.v1 import AppTest

from nnplay import data

ROOT = Path(__file__).resolve().parents[1]
CLOUD = ROOT / "deploy" / "cloud"


def _requirements(path: Path) -> dict[str, Requirement]:
    lines = [line.strip() for line in path.read_text().splitlines()]
    reqs = [Requirement(line) for line in lines if line and not line.startswith(("#", "-"))]
    return {r.name: r for r in reqs}


def test_cloud_requirements_pin_what_the_project_pins_with_a_cpu_only_torch():
    local = _requirements(ROOT / "requirements.txt")
    cloud = _requirements(CLOUD / "requirements.txt")
    assert set(cloud) == set(local)
    for name in local:
        if name != "torch":
            assert cloud[name].specifier == local[name].specifier, name
    torch = cloud["torch"]
    assert torch.url and torch.url.startswith("https://download.pytorch.org/whl/cpu/")
    # the wheel of the release the project pins, built for CPU, for the Python the README names
    wheel = torch.url.rsplit("/", 1)[1].replace("%2B", "+")
    version = next(iter(local["torch"].specifier)).version
    assert re.fullmatch(rf"torch-{re.escape(version)}\+cpu-cp311-cp311-manylinux_2_28_x86_64\.whl", wheel), wheel
    assert "Python 3.11" in (ROOT / "README.md").read_text()
    # no index option: it would send every package's lookup to PyTorch's index
    options = [line for line in (CLOUD / "requirements.txt").read_text().splitlines() if line.startswith("-")]
    assert options == []


def test_cloud_entry_point_runs_the_app():
    at = AppTest.from_file(str(CLOUD / "streamlit_app.py"), default_timeout=60)
    at.query_params["epochs"] = "20"
    at.run()
    assert not at.exception
    assert at.get_by_key("boundary") is not None
    assert len(at.get("vega_lite_chart")) >= 2


def test_server_config_suits_torch_and_the_csv_limit():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["fileWatcherType"] == "none"
    assert config["server"]["maxUploadSize"] * 1024 * 1024 == data.MAX_CSV_BYTES
    assert config["browser"]["gatherUsageStats"] is False


def test_the_server_never_sends_a_message_as_a_reference_to_the_browsers_copy(monkeypatch):
    """A reference to a copy the browser had already dropped killed the page ("Cached ForwardMsg
    MISS"): with the project's config, Streamlit marks no message cacheable, however large."""
    from streamlit import config
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
    from streamlit.runtime.forward_msg_cache import populate_hash_if_needed

    monkeypatch.chdir(ROOT)  # Streamlit reads .streamlit/config.toml from the working directory
    config.get_config_options(force_reparse=True)
    try:
        msg = ForwardMsg()
        msg.delta.new_element.markdown.body = "x" * 5_000_000  # far above Streamlit's default 10 kB
        populate_hash_if_needed(msg)
        assert msg.hash and not msg.metadata.cacheable
    finally:
        monkeypatch.undo()
        config.get_config_options(force_reparse=True)


def test_viewers_keep_the_menu_with_its_theme_switch():
    """The README's dark mode is the ⋮ menu's Dark: "viewer" keeps that menu (without the developer
    items); "minimal" removed it (tests/e2e/test_theme_browser.py clicks it)."""
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["client"]["toolbarMode"] == "viewer"
