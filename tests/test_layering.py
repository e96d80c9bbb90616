"""The engine stays free of the UI: nnplay/ never imports streamlit."""

import ast
import subprocess
import sys
from pathlib import Path

ENGINE = Path(__file__).resolve().parents[1] / "nnplay"


def test_no_module_of_nnplay_imports_streamlit():
    offenders = []
    for path in sorted(ENGINE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Call) and getattr(node.func, "id", "") == "__import__" and node.args:
                arg = node.args[0]
                names = [arg.value] if isinstance(arg, ast.Constant) and isinstance(arg.value, str) else []
            offenders += [f"{path.name}:{node.lineno} {n}" for n in names if n.split(".")[0] == "streamlit"]
    assert offenders == []
    assert len(list(ENGINE.rglob("*.py"))) >= 8


def test_importing_and_using_the_engine_loads_no_streamlit():
    code = (
        "import sys, nnplay, nnplay.__main__\n"
        "nnplay.Trainer(nnplay.Config(epochs=2, n_samples=50)).run()\n"
        "print(any(m == 'streamlit' or m.startswith('streamlit.') for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ENGINE.parent)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_tests_mirror_the_engine():
    tests = {p.name for p in Path(__file__).parent.glob("test_*.py")}
    for module in ("config", "data", "model", "losses", "optim", "train", "history", "charts"):
        assert f"test_{module}.py" in tests
