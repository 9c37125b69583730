"""Widgets shared by the pages: URL-bound filters, downloadable tables, safe text.

Every filter and selection is a widget bound to a query parameter
(``bind="query-params"``), so the URL of any view reproduces it. Names from result
files never reach Markdown unescaped: :func:`md` escapes them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any, Literal

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dashboard import state

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|<>~$&:=])")
_MD_LINE_START = re.compile(r"^(\s*[0-9]*)([-+>.)])")
# GitHub-flavoured Markdown also links bare "www.x", "https://x" and "a@b.c" - after escapes are
# resolved, so escaping cannot stop it. An invisible WORD JOINER (U+2060) after "www", the ":" of
# "://" and "@" breaks those patterns and shows the name as it is.
_AUTOLINK = re.compile(r"(?i)www(?=\.)|:(?=//)|@")
# A spreadsheet runs a cell as a formula when it starts with one of these (OWASP, CSV injection),
# also after leading white space; tab and carriage return count at the very start.
_FORMULA_START = ("=", "+", "-", "@")

# Shared sidebar filters (query parameter names).
MACHINE_KEY = "machine"
ENV_KEY = "env"


def md(text: object) -> str:
    """``text`` escaped for Markdown: shown literally, never as a link, tag or formatting."""
    flat = " ".join(str(text).split())  # no line breaks: nothing can start a block
    flat = _AUTOLINK.sub(lambda m: m[0] + "\u2060", flat)
    return _MD_LINE_START.sub(lambda m: m.group(1) + "\\" + m.group(2), _MD_SPECIAL.sub(r"\\\1", flat))


def code(text: object) -> str:
    """The inside of an inline code span showing ``text`` literally: use as f"`{code(x)}`".

    Markdown acts on nothing inside a code span but a backtick, so backticks in ``text``
    get a longer fence around them (CommonMark's rule) and line breaks become spaces.
    """
    flat = " ".join(str(text).split())
    if "`" not in flat:
        return flat
    longest = max(len(run) for run in re.findall(r"`+", flat))
    fence = "`" * longest  # plus the caller's own backtick: one longer than any run inside
    return f"{fence} {flat} {fence}"


def select(
    label: str,
    options: Sequence[Any],
    key: str,
    *,
    default: Any = None,
    where: Any = None,
    help: str | None = None,  # noqa: A002 - Streamlit's own argument name
    format_func: Callable[[Any], str] = str,
) -> Any:
    """A selectbox bound to query parameter ``key``; ``default`` (or the first option) when absent."""
    options = list(options)
    if not options:
        return None
    index = options.index(default) if default in options else 0
    container = where if where is not None else st
    _drop_invalid(key, [format_func(o) for o in options])
    return container.selectbox(label, options, index=index, key=key, bind="query-params", help=help, format_func=format_func)


def multiselect(
    label: str,
    options: Sequence[Any],
    key: str,
    *,
    default: Sequence[Any] = (),
    where: Any = None,
    help: str | None = None,  # noqa: A002 - Streamlit's own argument name
    placeholder: str = "all",
) -> list[Any]:
    """A multiselect bound to query parameter ``key`` (an empty choice means "all")."""
    options = list(options)
    container = where if where is not None else st
    _drop_invalid(key, [str(o) for o in options], multi=True)
    chosen = container.multiselect(
        label,
        options,
        default=[d for d in default if d in options],
        key=key,
        bind="query-params",
        help=help,
        placeholder=placeholder,
    )
    return list(chosen)


def toggle(label: str, key: str, *, default: bool = False, where: Any = None, help: str | None = None) -> bool:  # noqa: A002
    """A toggle bound to query parameter ``key``."""
    container = where if where is not None else st
    return bool(container.toggle(label, value=default, key=key, bind="query-params", help=help))


def _drop_invalid(key: str, valid: list[str], *, multi: bool = False) -> None:
    """Forget a remembered value that is no longer an option (the data changed under it)."""
    if key not in st.session_state:
        return
    current = st.session_state[key]
    if multi:
        if isinstance(current, list) and any(str(v) not in valid for v in current):
            st.session_state[key] = [v for v in current if str(v) in valid]
    elif current is not None and str(current) not in valid:
        del st.session_state[key]


def shared_filters() -> tuple[list[str], list[str]]:
    """The sidebar's machine and environment choices (empty = all)."""
    machines = st.session_state.get(MACHINE_KEY) or []
    envs = st.session_state.get(ENV_KEY) or []
    return list(machines), list(envs)


# A table shows at most this many rows (the CSV download always has them all): sending
# a million rows to the browser on every rerun would make each filter change slow.
MAX_TABLE_ROWS = 5000


def table(frame: pd.DataFrame, name: str, *, key: str, height: int | Literal["auto"] = "auto", **kwargs: Any) -> Any:
    """A dataframe with a "Download CSV" button under it; returns the dataframe's selection state."""
    shown = frame.reset_index(drop=True)
    if len(shown) > MAX_TABLE_ROWS:
        st.caption(f"Showing the first {MAX_TABLE_ROWS:,} of {len(shown):,} rows; the CSV has them all.")
    out = st.dataframe(shown.head(MAX_TABLE_ROWS), height=height, hide_index=True, key=f"{key}_table", **kwargs)
    download(shown, name, key=f"{key}_csv")
    return out


def download(frame: pd.DataFrame, name: str, *, key: str) -> None:
    """A "Download <name> as CSV" button; the CSV is made only when it is clicked."""
    st.download_button(
        f"Download {name} as CSV",
        data=lambda: to_csv(frame),
        file_name=f"tensorscope-{re.sub(r'[^A-Za-z0-9_.-]+', '-', name)}.csv",
        mime="text/csv",
        key=key,
        on_click="ignore",
    )


def to_csv(frame: pd.DataFrame) -> bytes:
    """CSV bytes of ``frame``; list cells (raw samples) become space-separated numbers."""
    out = frame.copy()
    for column in out.columns:
        dtype = out[column].dtype
        if pd.api.types.is_object_dtype(dtype) or isinstance(dtype, pd.CategoricalDtype | pd.StringDtype) or str(dtype).startswith("list"):
            out[column] = out[column].astype("object").map(_cell)
    # CRLF (RFC 4180): a field holding a bare CR is then quoted as well, so it cannot split a row
    return out.to_csv(index=False, lineterminator="\r\n").encode("utf-8")


def _cell(value: Any) -> Any:
    if isinstance(value, list | tuple):
        value = " ".join(str(v) for v in value)
    elif hasattr(value, "tolist") and not isinstance(value, str):
        listed = value.tolist()
        value = " ".join(str(v) for v in listed) if isinstance(listed, list) else listed
    if isinstance(value, str) and (value[:1] in ("\t", "\r") or value.lstrip()[:1] in _FORMULA_START):
        return "'" + value  # shown as text: a spreadsheet must not run a name from the results as a formula
    return value


def chart(fig: go.Figure, *, key: str) -> None:
    """A plotly chart filling the width; ``key`` keeps it stable across reruns."""
    st.plotly_chart(fig, key=key, width="stretch", config={"displaylogo": False})


def no_data(message: str) -> None:
    """Say why a page has nothing to show (never an exception)."""
    st.info(message, icon=":material/info:")


def require_results() -> bool:
    """False (after saying why) when there is nothing loaded to show."""
    summary = state.summary()
    if summary["rows"] == 0:
        no_data(
            f"No benchmark results were read from the {md(state.source_label())} (start the dashboard with another results directory "
            "or store: tensorscope dashboard RESULTS_DIR, or tensorscope dashboard --store URL)."
        )
        return False
    return True


def filtered(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` restricted to the sidebar's machines and environments."""
    machines, envs = shared_filters()
    if machines and "machine" in frame.columns:
        frame = frame[frame["machine"].astype(str).isin(machines)]
    if envs and "env" in frame.columns:
        frame = frame[frame["env"].astype(str).isin(envs)]
    return frame


def short(commit: object) -> str:
    """The 8-character form of a commit hash."""
    return str(commit)[:8]


def busiest_machine(options: Sequence[str]) -> str | None:
    """Of ``options``, the machine with the most results (the natural default)."""
    per_machine = state.summary()["per_machine"]
    if len(per_machine):
        for machine in per_machine.sort_values("results", ascending=False)["machine"].astype(str):
            if machine in options:
                return machine
    return options[0] if options else None
