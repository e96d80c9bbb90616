"""Every command the README and docs/ give is checked, so none can rot unnoticed.

A command is each line of a ```sh block, a line of any other fenced block that starts like a
command, and every inline code span that does. Each one must be in exactly one list below:

- RUN_HERE: run by this file as written, in a scratch folder (``python -m`` in this process, as
  ``python -m`` would run it: same module, same argv; a ``> FILE`` redirect writes the file);
- ELSEWHERE: run by another test or script, named with a line of it that shows it still does;
- NOT_RUN: cannot run in a test (a network download, root, a GPU), each with the check it gets.

A command in the docs that is in no list fails ``test_every_command_in_the_docs_is_checked``; an
entry no doc gives any more fails it too, so the lists stay the docs' own.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import runpy
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
STARTS = ("python ", "python3 ", "pip ", "streamlit ", "bash ", "sudo ", "apt-get ", "scripts/", "./")

RUN_HERE = {
    "python -m nnplay train --preset article",
    "python -m nnplay train --dataset spiral --hidden 16,16 --json",
    "python -m nnplay train --csv table.csv --target label",
    "python -m nnplay train --help",
    "python -m nnplay export --preset article > article.py",
    "python -m nnplay export",
    "python -m bench.boundary_encoding",
}
ELSEWHERE = {  # command: (the file that runs it, a line of that file that does)
    "pip install -r requirements.txt && streamlit run app.py": (
        "tests/test_docs_commands.py",
        "test_the_readmes_start_command_is_what_the_tests_run",
    ),
    "streamlit run app.py": ("tests/e2e/conftest.py", '[sys.executable, "-m", "streamlit", "run", "app.py"]'),
    "bash scripts/test.sh": (".ci/run", "bash scripts/test.sh"),
    # scripts/test.sh installs requirements-dev.txt, whose first line is -r requirements.txt
    "pip install -r requirements.txt": ("requirements-dev.txt", "-r requirements.txt"),
    "sudo apt-get install -y nginx": ("scripts/test.sh", "missing+=(nginx)"),
    "bash scripts/serve.sh": ("tests/e2e/test_nginx.py", '["bash", "scripts/serve.sh", "2", str(port)]'),
    "bash scripts/serve.sh 4 80": ("tests/e2e/test_nginx.py", '["bash", "scripts/serve.sh", "2", str(port)]'),
    "scripts/serve.sh": ("tests/e2e/test_nginx.py", '["bash", "scripts/serve.sh", "2", str(port)]'),
    "scripts/serve.sh 2": ("tests/e2e/test_nginx.py", '["bash", "scripts/serve.sh", "2", str(port)]'),
    # the full bench takes minutes: the suite runs its quick form, every equal-loss check included
    "python -m nnplay bench": ("tests/test_bench.py", 'main(["bench", "--quick", "--json"])'),
    "python -m bench.load --sessions 50": ("tests/test_load.py", 'load.parse_args(["--sessions", str(SESSIONS)'),
    # at 2 sessions, skipped where nginx is missing (scripts/test.sh installs it, so CI runs it)
    "python -m bench.load --sessions 200 --serve 2": ("tests/test_load.py", '["--sessions", "2", "--serve", "2",'),
    # the browser benches: their watchers run in the browser tests, on the same server fixture
    "python -m bench.frames": ("tests/e2e/test_frames_browser.py", "from bench.frames import watch"),
    "python -m bench.soak --runs 40": ("tests/e2e/test_frames_browser.py", "from bench.soak import Tab, wait_all"),
}
NOT_RUN = {  # command: why not, and the test below that checks what can be checked
    "pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu": (
        "downloads from PyTorch's index; test_the_cpu_torch_command_matches_the_pin_and_the_cloud_wheel"
    ),
    "bash scripts/cuda.sh": "needs a CUDA GPU; test_the_cuda_script_parses_and_names_real_tests",
    "bash scripts/cuda.sh [OUT]": "needs a CUDA GPU; test_the_cuda_script_parses_and_names_real_tests",
}


def commands(text: str) -> list[str]:
    """The commands a Markdown text gives, in order (comments after `#` dropped)."""
    found = []

    def block(match: re.Match) -> str:
        lang, body = match.group(1), match.group(2)
        for line in body.splitlines():
            line = re.sub(r"\s+#\s.*$", "", line).strip()
            if line and not line.startswith("#") and (lang in ("sh", "bash", "shell") or line.startswith(STARTS[:7])):
                found.append(line)
        return ""

    prose = re.sub(r"^```(\w*)\n(.*?)^```", block, text, flags=re.S | re.M)
    found += [span for span in re.findall(r"`([^`\n]+)`", prose) if span.startswith(STARTS)]
    return found


def documented() -> dict[str, list[str]]:
    where: dict[str, list[str]] = {}
    for doc in DOCS:
        for command in commands(doc.read_text()):
            where.setdefault(command, []).append(doc.relative_to(ROOT).as_posix())
    return where


def test_the_extractor_finds_blocks_spans_and_strips_comments():
    text = (
        "Run `python -m nnplay train --epochs 5` or `--json` (a flag, not a command).\n"
        "```sh\nbash x.sh    # a comment\n# a whole comment line\n\npip install y\n```\n"
        "```text\nsudo apt-get install -y z\nnot a command\n```\n"
        "```python\nprint(1)\n```\n"
    )
    assert commands(text) == [
        "bash x.sh",
        "pip install y",
        "sudo apt-get install -y z",
        "python -m nnplay train --epochs 5",
    ]


def test_every_command_in_the_docs_is_checked():
    where = documented()
    lists = [RUN_HERE, set(ELSEWHERE), set(NOT_RUN)]
    unchecked = {c: docs for c, docs in where.items() if not any(c in entries for entries in lists)}
    assert not unchecked, f"commands no test checks (add each to a list in {Path(__file__).name}): {unchecked}"
    stale = set().union(*lists) - set(where)
    assert not stale, f"listed here but in no doc any more: {stale}"
    assert len(RUN_HERE) + len(ELSEWHERE) + len(NOT_RUN) == len(set().union(*lists)), "a command in two lists"


@pytest.mark.parametrize("command", sorted(ELSEWHERE))
def test_what_runs_a_command_elsewhere_still_does(command):
    path, line = ELSEWHERE[command]
    assert line in (ROOT / path).read_text(), f"{path} no longer shows that it runs {command!r}"


def test_the_readmes_start_command_is_what_the_tests_run():
    """`pip install -r requirements.txt` is how the test command installs (through requirements-dev.txt),
    and `streamlit run app.py` is how the browser tests start the app, from the repository root."""
    from tests.e2e.conftest import APP_COMMAND

    install, start = next(c for c in ELSEWHERE if " && " in c).split(" && ")
    assert install in documented() and start in documented()
    assert (ROOT / "requirements-dev.txt").read_text().splitlines()[1] == "-r requirements.txt"
    assert "pip install --quiet --disable-pip-version-check -r requirements-dev.txt" in (
        (ROOT / "scripts" / "test.sh").read_text()
    )
    assert APP_COMMAND[0] == sys.executable and APP_COMMAND[1:] == ["-m", *shlex.split(start)]


def test_the_cpu_torch_command_matches_the_pin_and_the_cloud_wheel():
    """What the README says of it: the CPU wheel of the pinned release, from the index the Community
    Cloud file takes its wheel from, and pip counts it as the pinned release."""
    argv = shlex.split(next(c for c in NOT_RUN if c.startswith("pip install torch")))
    wanted = Requirement(argv[2])
    pins = [Requirement(line) for line in (ROOT / "requirements.txt").read_text().splitlines() if line[:1].isalpha()]
    pinned = next(r for r in pins if r.name == "torch")
    assert (wanted.name, wanted.specifier) == (pinned.name, pinned.specifier)
    cloud = (ROOT / "deploy" / "cloud" / "requirements.txt").read_text()
    version = next(iter(pinned.specifier)).version
    assert f"torch @ {argv[4]}/torch-{version}%2Bcpu-" in cloud
    assert pinned.specifier.contains(f"{version}+cpu")  # "pip then counts it as the pinned release"


def test_the_cuda_script_parses_and_names_real_tests():
    script = ROOT / "scripts" / "cuda.sh"
    subprocess.run(["bash", "-n", str(script)], check=True)
    named = re.findall(r"tests/\w+\.py", script.read_text())
    assert named and all((ROOT / name).exists() for name in named), named


def run_as_written(command: str, folder: Path) -> tuple[int, str]:
    """``python -m MODULE ARGS [> FILE]`` in ``folder``: the module run as ``__main__`` with that
    argv, in this process (a fresh interpreter would spend seconds importing torch each time)."""
    argv = shlex.split(command)
    target = None
    if ">" in argv:
        at = argv.index(">")
        argv, target = argv[:at], argv[at + 1]
    assert argv[:2] == ["python", "-m"], command
    out, code = io.StringIO(), 0
    saved = sys.argv
    sys.argv = [argv[2], *argv[3:]]
    try:
        with contextlib.chdir(folder), contextlib.redirect_stdout(out):
            runpy.run_module(argv[2], run_name="__main__", alter_sys=True)
    except SystemExit as stop:
        code = stop.code or 0
    finally:
        sys.argv = saved
    if target:
        (folder / target).write_text(out.getvalue())
    return code, out.getvalue()


@pytest.mark.parametrize("command", sorted(RUN_HERE))
def test_a_command_runs_as_written(command, tmp_path):
    # "a CSV table of your own": one with a `label` column
    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 2))
    pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "label": (x[:, 0] * x[:, 1] > 0).astype(int)}).to_csv(
        tmp_path / "table.csv", index=False
    )
    code, out = run_as_written(command, tmp_path)
    assert code == 0, out
    assert out.strip(), f"{command!r} printed nothing"
    if "--json" in command:
        assert json.loads(out)["status"] == "done"
    if "> article.py" in command:
        compile((tmp_path / "article.py").read_text(), "article.py", "exec")


def test_the_readmes_python_runs():
    """The README's Python block, run as it stands (it had drifted: `history.frame()` after history
    became a DataFrame)."""
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"^```python\n(.*?)^```", readme, flags=re.S | re.M)
    assert blocks
    for code in blocks:
        with contextlib.redirect_stdout(io.StringIO()) as out:
            exec(compile(code, "README.md", "exec"), {})
        assert "Network(" in out.getvalue()
