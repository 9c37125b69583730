"""The results model: :class:`ResultSet`, :class:`Problem`, the tidy table's columns and small helpers.

The columns are documented in :mod:`tensorscope.results` (the package docstring).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

# Limits on what one file may cost (stated in the package docstring and docs/reference/input-limits.md). A file
# over a limit is reported and skipped; an entry over one is reported and its file read without it.
DEFAULT_MAX_FILE_BYTES = 256 * 1024 * 1024
# Rows (parameter combinations) one result file may expand to: MAX_ROWS_BASE plus one per
# ROW_BYTES bytes of the file. asv writes at least ~50 bytes per combination it measured (the
# real sets in ../shared: 54 or more); a failed benchmark ("result": null) writes none, so the
# base allows fully failed grids of that size, whatever the file's size.
MAX_ROWS_BASE = 100_000
ROW_BYTES = 32
# Benchmarks in one result file (each costs a fixed amount of Python work; real files: up to ~300).
MAX_BENCHMARKS_PER_FILE = 50_000
# Dimensions of one parameter grid (each becomes a param_<name> column; real grids: up to ~6).
MAX_PARAM_DIMENSIONS = 32
# Entries kept from a result file's ``params``, ``env_vars`` and ``requirements`` (each may become a column).
MAX_META_ENTRIES = 200
STATUSES = ("ok", "skipped", "failed")
RESULT_COLUMNS = (
    "machine",
    "commit",
    "commit_date",
    "commit_order",
    "env",
    "benchmark",
    "type",
    "params",
    "unit",
    "value",
    "ci_99_a",
    "ci_99_b",
    "q_25",
    "q_75",
    "number",
    "repeat",
    "samples",
    "status",
    "version",
    "current_version",
    "version_segment",
    "discontinuity",
    "series",
    "started_at",
    "duration",
    "file",
)
# asv's row columns we understand (results API version 2); others are reported and ignored.
KNOWN_ROW_COLUMNS = frozenset(
    {
        "result",
        "params",
        "version",
        "started_at",
        "duration",
        "stats_ci_99_a",
        "stats_ci_99_b",
        "stats_q_25",
        "stats_q_75",
        "stats_number",
        "stats_repeat",
        "samples",
        "profile",
    }
)
STAT_COLUMNS = (
    ("ci_99_a", "stats_ci_99_a"),
    ("ci_99_b", "stats_ci_99_b"),
    ("q_25", "stats_q_25"),
    ("q_75", "stats_q_75"),
    ("number", "stats_number"),
    ("repeat", "stats_repeat"),
)
STATUS_OK, STATUS_SKIPPED, STATUS_FAILED = 0, 1, 2
# Times (ms since 1970) pandas can hold as datetime64[ns]: years 1677-2262, with a margin.
MAX_ABS_TIME_MS = 9.2e15


def max_rows(file_bytes: int) -> int:
    """The most rows a result file of ``file_bytes`` bytes may expand to (see MAX_ROWS_BASE)."""
    return MAX_ROWS_BASE + file_bytes // ROW_BYTES


@dataclass(frozen=True)
class Problem:
    """One file (or one entry of a file) that could not be read as asv results."""

    path: str
    message: str
    severity: str = "error"

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


@dataclass
class ResultSet:
    """Everything :func:`load_results` read; see the module docstring for the columns."""

    results: pd.DataFrame
    machines: pd.DataFrame
    envs: pd.DataFrame
    commits: pd.DataFrame
    provenance: pd.DataFrame
    problems: list[Problem]
    benchmarks: dict[str, Any]
    results_dir: Path
    order_source: str = "date"
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def table(self) -> pd.DataFrame:
        """Alias of ``results`` (the tidy table)."""
        return self.results

    @property
    def param_names(self) -> list[str]:
        """Parameter names present as ``param_<name>`` columns."""
        return [c[len("param_") :] for c in param_columns(self.results)]

    def problems_frame(self) -> pd.DataFrame:
        """``problems`` as a DataFrame (path, message, severity)."""
        return pd.DataFrame([(p.path, p.message, p.severity) for p in self.problems], columns=["path", "message", "severity"])


def param_columns(df: pd.DataFrame) -> list[str]:
    """The ``param_<name>`` columns of a results table, in table order."""
    return [c for c in df.columns if isinstance(c, str) and c.startswith("param_")]


def plain_value(text: str) -> str:
    """asv's ``repr()`` of a parameter value as a plain string: ``"'numpy'"`` -> ``numpy``; others unchanged."""
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text


def benchmark_type(name: str) -> str:
    """asv's benchmark type guessed from the function name (used when benchmarks.json lacks it)."""
    func = name.rsplit(".", 1)[-1]
    if func.startswith(("time_", "timeraw_")):
        return "time"
    if func.startswith("peakmem_"):
        return "peakmemory"
    if func.startswith("mem_"):
        return "memory"
    if func.startswith("track_"):
        return "track"
    return "unknown"


DEFAULT_UNITS = {"time": "seconds", "peakmemory": "bytes", "memory": "bytes", "track": "unit", "unknown": "unit"}


def default_cache_dir(results_dir: str | os.PathLike[str]) -> Path:
    """A per-user cache location (``$XDG_CACHE_HOME/tensorscope`` or ``~/.cache/tensorscope``)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "tensorscope"


def string_index(values: pa.Array | pa.ChunkedArray) -> pd.Index:
    """An Arrow string array as a pandas string Index (no Python object per string)."""
    return pd.Index(pd.array(values.cast(pa.large_string()), dtype="str"))


def categorical(codes: np.ndarray, categories: pd.Index) -> pd.Categorical:
    """A Categorical of ``categories`` known to be distinct (Arrow dictionaries, unique names). pandas would
    check that again by hashing every category (10 s for 7M Arrow strings): its fast path is used where it has one."""
    fast = getattr(pd.CategoricalDtype, "_from_fastpath", None)
    dtype = fast(categories, False) if fast is not None else pd.CategoricalDtype(categories)
    return pd.Categorical.from_codes(codes, dtype=dtype)


def empty_results() -> pd.DataFrame:
    """An empty results table with the documented columns."""
    df = pd.DataFrame({c: pd.Series(dtype="object") for c in RESULT_COLUMNS})
    for c in ("value", "ci_99_a", "ci_99_b", "q_25", "q_75", "number", "repeat", "duration"):
        df[c] = df[c].astype("float64")
    df["commit_order"] = df["commit_order"].astype("int64")
    df["version_segment"] = df["version_segment"].astype("int64")
    df["discontinuity"] = df["discontinuity"].astype(bool)
    df["current_version"] = df["current_version"].astype(bool)
    df["commit_date"] = pd.to_datetime(df["commit_date"], utc=True)
    df["started_at"] = pd.to_datetime(df["started_at"], utc=True)
    return df
