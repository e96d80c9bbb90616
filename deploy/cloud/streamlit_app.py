"""Streamlit Community Cloud's entry point: the app itself, installed from this folder's
requirements.txt (CPU-only torch). Community Cloud runs `streamlit run` from the repository root,
so `.streamlit/config.toml` there applies as it does locally."""

import runpy
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # nnplay and pages import from the repository root
runpy.run_path(str(ROOT / "app.py"), run_name="__main__")
