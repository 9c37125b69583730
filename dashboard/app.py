"""tensorscope dashboard entry point: ``streamlit run dashboard/app.py -- --results-dir DIR``.

Usually started by ``tensorscope dashboard [RESULTS_DIR]`` or ``tensorscope dashboard --store URL``
(see tensorscope/serve.py).
Page config, navigation, the shared sidebar (machines, environments, reload) and the
list of files that could not be read; then the chosen page runs.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

# `dashboard` and `tensorscope` are imported as installed packages (pip install -e .),
# whatever folder `streamlit run` puts on sys.path.
from dashboard import state
from dashboard.app_pages import _ui
from tensorscope.store import describe

PAGES_DIR = Path(__file__).resolve().parent / "app_pages"

# an emoji, not a :material/...: icon: for the latter the browser fetches the favicon from fonts.gstatic.com
st.set_page_config(page_title="tensorscope", page_icon="📈", layout="wide")

OVERVIEW = st.Page(PAGES_DIR / "overview.py", title="Overview", icon=":material/dashboard:", url_path="overview")


def _root() -> None:
    """The app's bare address: the Overview, at its own URL (Streamlit serves the default page at "/" only)."""
    st.switch_page(OVERVIEW, query_params=[(key, value) for key in st.query_params for value in st.query_params.get_all(key)])


# Every page has its own path, /overview included, so any page's URL can be shared and
# opened; the hidden default page at "/" only forwards to the Overview.
ROOT = st.Page(_root, title="tensorscope", default=True, visibility="hidden")
PAGES = [
    ROOT,
    OVERVIEW,
    st.Page(PAGES_DIR / "regressions.py", title="Regressions", icon=":material/trending_up:", url_path="regressions"),
    st.Page(PAGES_DIR / "speedups.py", title="Speedups over Python", icon=":material/bolt:", url_path="speedups"),
    st.Page(PAGES_DIR / "roofline.py", title="Roofline", icon=":material/roofing:", url_path="roofline"),
    st.Page(PAGES_DIR / "hardware.py", title="Hardware", icon=":material/memory:", url_path="hardware"),
    st.Page(PAGES_DIR / "explorer.py", title="Explorer", icon=":material/query_stats:", url_path="explorer"),
    st.Page(PAGES_DIR / "accuracy.py", title="Accuracy", icon=":material/target:", url_path="accuracy"),
]
page = st.navigation(PAGES)


def sidebar() -> None:
    """Shared filters (bound to the URL) and where the data comes from."""
    cfg = state.config()
    with st.sidebar:
        # inline code, not st.code: a code block makes every new browser fetch and compile
        # Streamlit's 1.5 MB syntax highlighter before anything below it renders
        if cfg.store is not None:
            st.caption(f"Results store: `{_ui.code(describe(cfg.store))}`")
        else:
            st.caption(f"Results directory: `{_ui.code(cfg.results_dir)}`")
        try:
            summary = state.summary()
        except Exception as exc:  # the data layer failing must not take the app down
            st.error(f"Could not read the results: {type(exc).__name__}: {_ui.md(exc)}")
            return
        _ui.multiselect("Machines", summary["machines"], _ui.MACHINE_KEY, where=st, help="Empty: every machine")
        _ui.multiselect(
            "Environments", summary["envs"], _ui.ENV_KEY, where=st, help="asv environments (Python, matrix variables such as SIMD on/off)"
        )
        st.caption(f"{summary['rows']:,} results · {len(summary['machines'])} machines · {len(summary['commits'])} commits")
        if st.button("Reload results", icon=":material/refresh:", help="Read the results again"):
            state.reload()
            st.rerun()


def problems() -> None:
    """Files that could not be read (and notes on files read in part): always shown, never fatal."""
    try:
        found = state.summary()["problems"]
    except Exception:
        return
    if not found:
        return
    errors = [p for p in found if p[2] == "error"]
    head = f"**{len(errors)} file(s) or entries could not be read and were skipped**" if errors else "**Notes on reading the results**"
    notes = len(found) - len(errors)
    if errors and notes:
        head += f" (and {notes} note(s))"
    ordered = errors + [p for p in found if p[2] != "error"]
    lines = "\n".join(f"- {_ui.md(path)}: {_ui.md(message)}" for path, message, _ in ordered[:10])
    more = f"\n\n…and {len(found) - 10} more (see the list below)." if len(found) > 10 else ""
    st.warning(f"{head}:\n\n{lines}{more}", icon=":material/warning:")
    if len(found) > 10:
        with st.expander(f"All {len(found)} problems"):
            _ui.table(pd.DataFrame(ordered, columns=["path", "message", "severity"]), "unreadable-files", key="problems")


if page.url_path == ROOT.url_path:
    page.run()  # forwards to the Overview before anything is drawn
sidebar()
problems()
page.run()
