"""What every page starts with (frame): the session's Config read once from the URL and kept in
step with it, the session's Trainer for that Config, and the notices a run has to say."""

from __future__ import annotations

import threading

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

from nnplay import data
from nnplay.config import FIELDS, Config
from nnplay.frames import DEFAULT_SPEED, SPEEDS
from nnplay.text import literal
from nnplay.train import Trainer
from pages._controls import HIDEABLE
from pages._limits import LIMITS
from pages._sidebar import sidebar, sync_widgets

COMPARE_PARAMS = tuple(f"b_{name}" for name in FIELDS)  # the Compare page's B: b_lr=0.1 ...
APP_PARAMS = ("autoplay", "hide", "page", "speed", *COMPARE_PARAMS)  # URL keys that belong to the app, not the Config


def frame(page_params: dict[str, str] | None = None, *, sidebar_last: bool = False) -> None:
    """What every page starts with: the session, the sidebar, the URL (plus the page's own
    ``page_params``, e.g. Compare's ``b_`` keys; leaving the page drops them). With
    ``sidebar_last`` the page draws the sidebar itself, after its main content: the browser paints
    what it receives first, and the sidebar's forty controls took it most of a second."""
    init_session()
    # The widgets are drawn by each page, so Streamlit scopes their state to the page; putting the
    # Config's values back before drawing keeps every page's sidebar true to the session.
    sync_widgets(st.session_state.config)
    if not sidebar_last:
        sidebar()
    write_url(page_params)


def init_session() -> None:
    """Read the URL once per session into the Config; later runs keep the session's own."""
    ss = st.session_state
    if "config" in ss:
        return
    if PagesManager.uses_pages_directory:
        # A fresh server takes a folder named pages/ beside the entry point for the old multipage
        # scheme until some run reaches st.navigation: a first visit straight to /inside ran this
        # page alone (raw file names for navigation, no page config). Running app.py instead puts
        # the visit through st.navigation, which also turns the old scheme off for the server.
        # Only on a session's first run (every page starts here): a rerun would drop a button's
        # click, and AppTest, which brings the old scheme back before every run, runs pages alone on purpose.
        PagesManager.uses_pages_directory = False
        st.rerun()
    query = st.query_params.to_dict()
    config, warnings = Config.from_query(query, ignore=APP_PARAMS)
    for problem in LIMITS.check(config):  # past this server's limits: the default, and say so
        default = FIELDS[problem.field].default
        config = config.replace(**{problem.field: default})
        warnings.append(f"{problem}; using the default {default!r}")
    ss.config = config
    ss.url_warnings = warnings
    ss.hide = read_hide(query.get("hide", ""), warnings)
    autoplay = query.get("autoplay", "1")
    if autoplay not in ("0", "1"):
        warnings.append(f"autoplay: expected 0 or 1, not {autoplay!r}; playing")
    ss.running = autoplay != "0"
    ss.trainer = None
    ss.trainer_error = None
    ss.table = None
    ss.notice = None
    ss.speed = query.get("speed", DEFAULT_SPEED)
    if ss.speed not in SPEEDS:
        warnings.append(f"speed: expected one of {', '.join(SPEEDS)}, not {ss.speed!r}; using {DEFAULT_SPEED!r}")
        ss.speed = DEFAULT_SPEED
    ss.config_error = None
    ss.lock = threading.Lock()  # one training step at a time: a tick may still run when a button is pressed


def read_hide(text: str, warnings: list[str]) -> frozenset[str]:
    """The controls ``hide=`` names; a name that is not one is left out, with a warning naming it."""
    names = {h.strip() for h in text.split(",") if h.strip()}
    unknown = sorted(names - set(HIDEABLE))
    if unknown:
        shown = ", ".join(repr(n if len(n) <= 40 else n[:40] + "…") for n in unknown[:8])
        more = f" and {len(unknown) - 8} more" if len(unknown) > 8 else ""
        warnings.append(f"hide: no control is called {shown}{more}; the names are: {', '.join(HIDEABLE)}")
    return frozenset(names & set(HIDEABLE))


def write_url(page_params: dict[str, str] | None = None) -> None:
    ss = st.session_state
    wanted = ss.config.to_query()
    if ss.hide:
        wanted["hide"] = ",".join(sorted(ss.hide))
    if ss.speed != DEFAULT_SPEED:
        wanted["speed"] = ss.speed
    wanted.update(page_params or {})
    if st.query_params.to_dict() != wanted:
        st.query_params.from_dict(wanted)


def current_trainer() -> Trainer | None:
    """The session's Trainer for its Config: kept when only live fields changed (the learning rate,
    the budget...), rebuilt (and said so) when the data or the architecture changed."""
    ss = st.session_state
    config, trainer = ss.config, ss.trainer
    if trainer is not None and trainer.config == config:
        return trainer
    if trainer is not None and trainer.apply(config):
        return trainer
    try:
        ss.trainer = Trainer(config, ss.table)
        ss.trainer_error = None
        if trainer is not None:
            ss.notice = "Data or architecture changed: the network was rebuilt and training starts over."
    except (ValueError, data.DataError) as exc:
        ss.trainer, ss.trainer_error = None, str(exc)
        if config.dataset == data.CSV and ss.table is None:
            ss.trainer_error = "this link asks for an uploaded CSV: upload one under More data options in the sidebar"
    return ss.trainer


def notices() -> None:
    ss = st.session_state
    warnings = ss.get("url_warnings", [])
    # Shown once (the URL is corrected now), but in the run that draws the whole page: a new tab's
    # first run, the boundary alone, is replaced 0.6 s later.
    if not ss.get("rest_pending"):
        ss.url_warnings = []
    for w in warnings[:8]:
        st.warning(literal(f"Link setting ignored — {w}"), icon="⚠️")
    if len(warnings) > 8:
        st.warning(f"… and {len(warnings) - 8} more link settings ignored.")
    if ss.get("csv_error"):
        st.error(literal(f"CSV not used — {ss.csv_error}"))
    if ss.get("notice"):
        st.info(literal(ss.notice))
        if not ss.get("rest_pending"):
            ss.notice = None
    if ss.get("trainer_error"):
        st.error(literal(f"This experiment cannot run — {ss.trainer_error}"))
