"""asv results (API version 2) -> one tidy pandas table.  No Streamlit here.

Public API
==========

``load_results(results_dir, *, cache_dir=None, repo=None, index_json=None, max_file_bytes=...) -> ResultSet``
    Read ``benchmarks.json``, ``<machine>/machine.json``, ``<machine>/<commit>-<env>.json``
    and tensorscope's ``<machine>/provenance/<commit>-<env>.json`` of any asv project.
    Never fails on bad files: each one is reported in ``ResultSet.problems`` and skipped
    (a malformed benchmark entry skips that entry only). Never writes under
    ``results_dir``; never evaluates or unpickles anything read from it.

    ``cache_dir``: where the derived columnar cache lives (``None``: no cache;
    :func:`default_cache_dir` gives a per-user location). A repeat load parses only
    the files whose path, size or mtime changed.
    ``repo``: a git repository whose history orders the commits (``git rev-list``).
    ``index_json``: a published asv site's ``index.json`` (``revision_to_hash``) that
    orders the commits. Without either, commits are ordered by commit date.
    ``workers``: processes that parse result files (None: with 4 or more CPUs, all of them once
    there are 64 MiB to parse, else this process; 1: this process). Result files are parsed with orjson when it is
    installed (asv's bare NaN/Infinity handled), else with the standard library.

``ResultSet`` fields
    ``results``   (alias ``table``) the tidy table, one row per (machine, commit, env, benchmark, parameter combination),
                  sorted by ``series`` then ``commit_order``. Columns:

                  =================  =====================================================================
                  machine            category
                  commit             category, full hash
                  commit_date        datetime64[ns, UTC] (NaT when the file gives none)
                  commit_order       int64, 0 = oldest commit of the whole set
                  env                category, asv environment name
                  benchmark          category, e.g. ``bench_ops.TimeSuite.time_add``
                  type               category: time | track | memory | peakmemory (from benchmarks.json or the name)
                  params             category, human label ``backend='numpy', op='add'`` ('' when unparameterized)
                  param_<name>       category, one per parameter name, value as a plain string (quotes removed);
                                     missing for benchmarks without that parameter. Names unknown to
                                     benchmarks.json are ``param1``, ``param2``, ... (as asv's web UI does)
                  unit               category (``seconds``, ``bytes``, a track_ unit, ...)
                  value              float64, NaN unless status == 'ok'
                  ci_99_a, ci_99_b   float64, asv's 99% confidence interval of the value (NaN when absent)
                  q_25, q_75         float64, quartiles of the samples
                  number, repeat     float64 (NaN when absent)
                  samples            list of floats, or missing (pd.NA) when asv kept none (pandas ArrowDtype list column)
                  status             category: 'ok' | 'skipped' (asv wrote NaN) | 'failed' (asv wrote null)
                  version            category, the benchmark version hash of this row
                  current_version    bool, ``version`` equals benchmarks.json's (False when unknown there)
                  version_segment    int64, 0.. within a series; +1 at every version change
                  discontinuity      bool, True on the first row of a series after a version change
                  series             category, stable key ``machine|env|benchmark|params``
                  started_at         datetime64[ns, UTC]
                  duration           float64 seconds
                  file               category, result file path relative to results_dir
                  =================  =====================================================================

                  Analysis must treat ``(series, version_segment)`` as the unit of comparison:
                  old and new benchmark versions are never one series.
    ``machines``  one row per machine: ``machine``, machine.json fields (filled from result files'
                  ``params`` when machine.json only names the machine), ``provenance.*`` columns
                  (flattened, from the newest provenance file of that machine; absent when none).
    ``envs``      one row per (machine, env): ``python``, ``requirements`` (JSON text),
                  ``env_var.<NAME>`` columns from asv's ``env_vars``.
    ``commits``   one row per commit: ``commit``, ``commit_date``, ``commit_order``.
    ``provenance`` one row per provenance file: ``machine``, ``commit``, ``env`` and flattened fields.
    ``problems``  list of :class:`Problem` (``path``, ``message``, ``severity`` 'error' | 'warning').
    ``benchmarks`` parsed benchmarks.json (``{name: {...}}``; ``{}`` when absent or bad).
    ``order_source`` 'git' | 'index.json' | 'date'.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import stat
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

_orjson: Any
try:  # optional: about 10x faster parsing of large result files (see _loads_fast)
    import orjson as _orjson
except ImportError:  # pragma: no cover - exercised where orjson is not installed
    _orjson = None

__all__ = [
    "DEFAULT_MAX_FILE_BYTES",
    "RESULT_COLUMNS",
    "STATUSES",
    "Problem",
    "ResultSet",
    "benchmark_type",
    "default_cache_dir",
    "empty_results",
    "load_results",
    "param_columns",
    "plain_value",
]

DEFAULT_MAX_FILE_BYTES = 256 * 1024 * 1024
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
_STATS = (
    ("ci_99_a", "stats_ci_99_a"),
    ("ci_99_b", "stats_ci_99_b"),
    ("q_25", "stats_q_25"),
    ("q_75", "stats_q_75"),
    ("number", "stats_number"),
    ("repeat", "stats_repeat"),
)
_NUM_TYPES = frozenset({float, int, type(None)})
_STATUS_OK, _STATUS_SKIPPED, _STATUS_FAILED = 0, 1, 2


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


_DEFAULT_UNITS = {"time": "seconds", "peakmemory": "bytes", "memory": "bytes", "track": "unit", "unknown": "unit"}


def default_cache_dir(results_dir: str | os.PathLike[str]) -> Path:
    """A per-user cache location (``$XDG_CACHE_HOME/tensorscope`` or ``~/.cache/tensorscope``)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "tensorscope"


# --------------------------------------------------------------------------------------
# Reading files safely
# --------------------------------------------------------------------------------------


class _BadFile(Exception):
    """A file that cannot be used; the message is shown to the user."""


def _read_bytes(path: Path, max_bytes: int, st: os.stat_result | None) -> bytes:
    """A regular, non-empty file's bytes within the size limit, or _BadFile with a clear reason."""
    try:
        st = st or os.stat(path)
    except OSError as exc:
        raise _BadFile(f"cannot read file: {exc.strerror or exc}") from None
    if not stat.S_ISREG(st.st_mode):
        raise _BadFile("not a regular file")
    if st.st_size > max_bytes:
        raise _BadFile(
            f"file is {st.st_size / 2**20:.1f} MiB, over the {max_bytes / 2**20:.0f} MiB limit (raise max_file_bytes to read it)"
        )
    if st.st_size == 0:
        raise _BadFile("empty file")
    try:
        with open(path, "rb") as fh:
            raw = fh.read(max_bytes + 1)
    except OSError as exc:
        raise _BadFile(f"cannot read file: {exc.strerror or exc}") from None
    if len(raw) > max_bytes:
        raise _BadFile(f"file is over the {max_bytes / 2**20:.0f} MiB limit (raise max_file_bytes to read it)")
    if b"\x00" in raw[:65536]:
        raise _BadFile("binary file (NUL bytes), not JSON text")
    return raw


def _loads_std(raw: bytes) -> Any:
    """The standard library's parse (NaN/Infinity allowed), with its precise error messages."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _BadFile(f"not UTF-8 text (invalid byte 0x{raw[exc.start]:02x} at offset {exc.start})") from None
    if not text.strip():
        raise _BadFile("empty file")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        hint = " (truncated?)" if exc.pos >= len(text.rstrip()) - 1 else ""
        raise _BadFile(f"not valid JSON{hint}: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise _BadFile("JSON nested too deeply") from None


def read_json_file(path: Path, max_bytes: int = DEFAULT_MAX_FILE_BYTES, st: os.stat_result | None = None) -> Any:
    """Parse a JSON file (NaN/Infinity allowed, as asv writes them) or raise _BadFile with a clear reason."""
    return _loads_std(_read_bytes(path, max_bytes, st))


# asv writes bare NaN, Infinity and -Infinity, which orjson (strict JSON) rejects. The fast path
# rewrites them as these sentinel numbers (negative subnormals: no benchmark reports one; a file
# that already holds such a number text, "e-32", takes the standard path) and maps them back
# after the numbers are converted to arrays (:func:`_unsentinel`).
_SENTINELS = ((b"-Infinity", b"-1.5e-323", -math.inf), (b"Infinity", b"-1e-323", math.inf), (b"NaN", b"-5e-324", math.nan))
_SENTINEL_MARK = "e-32"
_SENTINEL_VALUES = tuple((float(text), value) for _, text, value in _SENTINELS)


def _loads_fast(raw: bytes) -> tuple[Any, bool] | None:
    """(document, sentinels used) parsed with orjson; None when the standard parser must decide."""
    if _orjson is None:
        return None
    sentinels = b"NaN" in raw or b"Infinity" in raw
    if sentinels:
        if _SENTINEL_MARK.encode() in raw:
            return None
        for token, text, _ in _SENTINELS:
            if token in raw:
                raw = raw.replace(token, text)
    try:
        doc = _orjson.loads(raw)
    except _orjson.JSONDecodeError:
        return None  # bad JSON, or JSON only the standard parser accepts (lone surrogates, huge ints)
    if sentinels and _rewritten_text(doc):
        return None  # a string held "NaN"/"Infinity": it was rewritten too
    return doc, sentinels


def _rewritten_text(doc: Any) -> bool:
    """Whether a string the result parser uses holds a sentinel (see _loads_fast).

    Number lists (``result``, stats, ``samples``) are not walked: the parser converts them with
    Arrow, which rejects strings in them whatever their text.
    """
    stack: list[Any] = [doc]
    results = doc.get("results") if isinstance(doc, dict) else None
    if isinstance(results, dict):
        stack = [*doc.keys(), *(v for k, v in doc.items() if k != "results"), *results.keys()]
        for row in results.values():
            if not isinstance(row, list):
                stack.append(row)
                continue
            for x in row:
                if isinstance(x, list) and x:
                    first = x[0]
                    if first is None or isinstance(first, float | int):
                        continue
                    if isinstance(first, list) and (not first or first[0] is None or isinstance(first[0], float | int)):
                        continue
                stack.append(x)
    while stack:
        x = stack.pop()
        if isinstance(x, str):
            if _SENTINEL_MARK in x:
                return True
        elif isinstance(x, dict):
            stack.extend(x.keys())
            stack.extend(x.values())
        elif isinstance(x, list):
            stack.extend(x)
    return False


def _unsentinel(a: np.ndarray) -> np.ndarray:
    """Map the fast path's sentinel numbers back to NaN / +-Infinity (in place; returns ``a``)."""
    neg = a < 0
    if neg.any():
        for sentinel, value in _SENTINEL_VALUES:
            a[neg & (a == sentinel)] = value
    return a


def _scalar_unsentinel(x: Any, sentinels: bool) -> Any:
    if sentinels and isinstance(x, float):
        for sentinel, value in _SENTINEL_VALUES:
            if x == sentinel:
                return value
    return x


def read_result_json(path: Path, max_bytes: int = DEFAULT_MAX_FILE_BYTES, st: os.stat_result | None = None) -> tuple[Any, bool]:
    """(document, sentinels used) of a result file: orjson when installed and sure, else the standard parser."""
    raw = _read_bytes(path, max_bytes, st)
    fast = _loads_fast(raw)
    return fast if fast is not None else (_loads_std(raw), False)


def _is_result_file_name(name: str) -> bool:
    return name.endswith(".json") and name != "machine.json" and not name.startswith(".")


@dataclass
class _Entry:
    rel: str
    path: Path
    st: os.stat_result | None
    error: str | None = None

    @property
    def key(self) -> tuple[int, int] | None:
        return None if self.st is None else (self.st.st_size, self.st.st_mtime_ns)


def _stat(path: Path) -> tuple[os.stat_result | None, str | None]:
    try:
        return os.stat(path), None
    except OSError as exc:
        return None, f"cannot read file: {exc.strerror or exc}"


def scan_tree(results_dir: Path) -> tuple[_Entry | None, list[_Entry], list[_Entry], list[_Entry]]:
    """benchmarks.json, machine.json files, result files and provenance files under results_dir (one level per machine)."""
    bench = None
    machines: list[_Entry] = []
    results: list[_Entry] = []
    provs: list[_Entry] = []
    bpath = results_dir / "benchmarks.json"
    if os.path.lexists(bpath):
        st, err = _stat(bpath)
        bench = _Entry("benchmarks.json", bpath, st, err)
    try:
        top = sorted(os.scandir(results_dir), key=lambda e: e.name)
    except OSError:
        return bench, machines, results, provs
    for mdir in top:
        if mdir.name.startswith(".") or not _safe_is_dir(mdir):
            continue
        try:
            children = sorted(os.scandir(mdir.path), key=lambda e: e.name)
        except OSError:
            continue
        for child in children:
            rel = f"{mdir.name}/{child.name}"
            if child.name == "provenance" and _safe_is_dir(child):
                try:
                    pchildren = sorted(os.scandir(child.path), key=lambda e: e.name)
                except OSError:
                    continue
                for p in pchildren:
                    if p.name.endswith(".json"):
                        st, err = _stat(Path(p.path))
                        provs.append(_Entry(f"{rel}/{p.name}", Path(p.path), st, err))
                continue
            if not child.name.endswith(".json") or child.name.startswith("."):
                continue
            st, err = _stat(Path(child.path))
            entry = _Entry(rel, Path(child.path), st, err)
            (machines if child.name == "machine.json" else results).append(entry)
    return bench, machines, results, provs


def _safe_is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


# --------------------------------------------------------------------------------------
# Parsing one result file into raw columns
# --------------------------------------------------------------------------------------


class _Raw:
    """Column accumulator for parsed result files (before the set-wide derivation)."""

    POINT_FLOATS = ("value", "ci_99_a", "ci_99_b", "q_25", "q_75", "number", "repeat")

    def __init__(self) -> None:
        self.file_id: list[int] = []
        self.bench: list[str] = []
        self.version: list[str | None] = []
        self.sig: list[int] = []
        self.started_at: list[float] = []
        self.duration: list[float] = []
        self.count: list[int] = []
        self.points: dict[str, list[np.ndarray]] = {k: [] for k in self.POINT_FLOATS}
        self.status: list[np.ndarray] = []
        self.samples: list[pa.Array] = []

    def table(self) -> pa.Table:
        counts = np.asarray(self.count, dtype=np.int64)
        n = int(counts.sum())
        rep = lambda values, dtype: np.repeat(np.asarray(values, dtype=dtype), counts)  # noqa: E731 - tiny local helper
        combo = np.arange(n, dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts) if n else np.zeros(0, np.int64)
        cols: dict[str, Any] = {
            "file_id": pa.array(rep(self.file_id, np.int32)),
            "benchmark": pa.array(np.repeat(np.asarray(self.bench, dtype=object), counts), type=pa.string()).dictionary_encode(),
            "version": pa.array(np.repeat(np.asarray(self.version, dtype=object), counts), type=pa.string()).dictionary_encode(),
            "sig": pa.array(rep(self.sig, np.int32)),
            "combo": pa.array(combo.astype(np.int32)),
            "started_at": pa.array(rep(self.started_at, np.float64)),
            "duration": pa.array(rep(self.duration, np.float64)),
        }
        for k in self.POINT_FLOATS:
            cols[k] = pa.array(np.concatenate(self.points[k]) if self.points[k] else np.zeros(0))
        cols["status"] = pa.array(np.concatenate(self.status).astype(np.int8) if self.status else np.zeros(0, np.int8))
        cols["samples"] = pa.concat_arrays(self.samples) if self.samples else pa.array([], type=_SAMPLES_TYPE)
        return pa.table(cols)


_SAMPLES_TYPE = pa.list_(pa.float64())


def _floats(values: Any, n: int, what: str, sentinels: bool = False) -> np.ndarray:
    """A stats column as n floats (None -> NaN; trimmed tails padded); raises ValueError on wrong types."""
    if values is None:
        return np.full(n, np.nan)
    if not isinstance(values, list):
        raise ValueError(f"{what} is {type(values).__name__}, expected a list")
    if len(values) > n:
        raise ValueError(f"{what} has {len(values)} values for {n} parameter combinations")
    out = np.full(n, np.nan)
    if values:
        out[: len(values)] = _numbers(values, what, sentinels)[0]
    return out


def _numbers(values: list[Any], what: str, sentinels: bool) -> tuple[np.ndarray, np.ndarray]:
    """(floats with None -> NaN, None mask) of a JSON number list, converted in C by Arrow."""
    try:
        arr = pa.array(values, type=pa.float64())
    except (pa.ArrowException, TypeError, ValueError, OverflowError):
        raise ValueError(f"{what} holds non-numbers") from None
    out = arr.to_numpy(zero_copy_only=False)
    if sentinels and (out < 0).any():
        out = _unsentinel(out if out.flags.writeable else out.copy())
    mask = arr.is_null().to_numpy(zero_copy_only=False) if arr.null_count else np.zeros(len(out), dtype=bool)
    return out, mask


def _samples(values: Any, n: int, sentinels: bool) -> pa.Array:
    """The ``samples`` column as an Arrow list array of n entries (null where asv kept none)."""
    if values is None:
        return pa.nulls(n, type=_SAMPLES_TYPE)
    if not isinstance(values, list) or len(values) > n:
        raise ValueError("'samples' does not match the parameter combinations")
    try:
        arr = pa.array(values, type=_SAMPLES_TYPE)
    except (pa.ArrowException, TypeError, ValueError, OverflowError):
        raise ValueError("'samples' holds non-numbers") from None
    flat = arr.values.to_numpy(zero_copy_only=False) if sentinels else None
    if flat is not None and (flat < 0).any():
        flat = _unsentinel(flat.copy())
        arr = pa.ListArray.from_arrays(arr.offsets, pa.array(flat, type=pa.float64()), mask=arr.is_null())
    if len(arr) < n:
        arr = pa.concat_arrays([arr, pa.nulls(n - len(arr), type=_SAMPLES_TYPE)])
    return arr


def parse_result_file(
    data: Any, file_id: int, raw: _Raw, sigs: dict[str, int], sentinels: bool = False
) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """Append one result file's rows to ``raw``; returns (file meta, [(severity, message)]).

    Raises _BadFile when the file as a whole is unusable (nothing appended then).
    ``sentinels``: the document came from :func:`_loads_fast` with NaN/Infinity rewritten.
    """
    if not isinstance(data, dict):
        raise _BadFile(f"expected a JSON object, found {type(data).__name__}")
    version = data.get("version")
    if version == 1 or (version is None and "results" in data and "result_columns" not in data):
        raise _BadFile(
            "results format version 1 (written by asv older than 0.5); run `asv update` in that asv project to convert its results to version 2"
        )
    if version != 2:
        raise _BadFile(f"unsupported results format version {version!r} (tensorscope reads version 2)")
    columns = data.get("result_columns")
    results = data.get("results")
    commit = data.get("commit_hash")
    env = data.get("env_name")
    if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
        raise _BadFile("'result_columns' is missing or not a list of names")
    if not isinstance(results, dict):
        raise _BadFile("'results' is missing or not an object")
    if not isinstance(commit, str) or not commit:
        raise _BadFile("'commit_hash' is missing or not a string")
    if not isinstance(env, str):
        raise _BadFile("'env_name' is missing or not a string")
    if "result" not in columns:
        raise _BadFile("'result_columns' has no 'result' column")
    notes: list[tuple[str, str]] = []
    unknown = [c for c in columns if c not in KNOWN_ROW_COLUMNS]
    if unknown:
        notes.append(("warning", f"unknown result columns ignored: {', '.join(map(repr, unknown))}"))
    date = _scalar_unsentinel(data.get("date"), sentinels)
    meta: dict[str, Any] = {
        "commit": commit,
        "env": env,
        "date": float(date) if isinstance(date, int | float) and not isinstance(date, bool) else None,
        "params": data.get("params") if isinstance(data.get("params"), dict) else {},
        "python": data.get("python") if isinstance(data.get("python"), str) else None,
        "env_vars": data.get("env_vars") if isinstance(data.get("env_vars"), dict) else {},
        "requirements": data.get("requirements") if isinstance(data.get("requirements"), dict) else {},
    }
    idx = {c: i for i, c in enumerate(columns)}
    i_result, i_params, i_version = idx["result"], idx.get("params"), idx.get("version")
    i_started, i_duration, i_samples = idx.get("started_at"), idx.get("duration"), idx.get("samples")
    stat_idx = [(name, idx.get(col)) for name, col in _STATS]
    for bench, row in results.items():
        try:
            if not isinstance(row, list):
                raise ValueError(f"row is {type(row).__name__}, expected a list")
            if len(row) > len(columns):
                raise ValueError(f"row has {len(row)} values for {len(columns)} result columns")
            get = lambda i, row=row: row[i] if i is not None and i < len(row) else None  # noqa: E731 - trailing nulls are trimmed by asv
            params = get(i_params)
            if params is None:
                params = []
            if not isinstance(params, list) or not all(isinstance(p, list) and all(isinstance(v, str) for v in p) for p in params):
                raise ValueError("'params' is not a list of lists of strings")
            n = math.prod(len(p) for p in params) if params else 1
            result = get(i_result)
            if result is None:
                values = np.full(n, np.nan)
                status = np.full(n, _STATUS_FAILED, dtype=np.int8)
            else:
                if not isinstance(result, list):
                    raise ValueError(f"'result' is {type(result).__name__}, expected a list")
                if len(result) != n:
                    raise ValueError(f"{len(result)} result values for {n} parameter combinations {[len(p) for p in params]}")
                values, is_none = _numbers(result, "'result'", sentinels)
                status = np.where(is_none, _STATUS_FAILED, np.where(np.isnan(values), _STATUS_SKIPPED, _STATUS_OK)).astype(np.int8)
            stats = {name: _floats(get(i), n, name, sentinels) for name, i in stat_idx}
            sample_array = _samples(get(i_samples), n, sentinels)
            bversion = get(i_version)
            if bversion is not None and not isinstance(bversion, str):
                raise ValueError("'version' is not a string")
            started = _scalar_unsentinel(get(i_started), sentinels)
            duration = _scalar_unsentinel(get(i_duration), sentinels)
        except ValueError as exc:
            notes.append(("error", f"benchmark {bench!r} skipped: {exc}"))
            continue
        key = json.dumps(params)
        sig = sigs.setdefault(key, len(sigs))
        raw.file_id.append(file_id)
        raw.bench.append(str(bench))
        raw.version.append(bversion)
        raw.sig.append(sig)
        raw.started_at.append(float(started) if isinstance(started, int | float) and not isinstance(started, bool) else np.nan)
        raw.duration.append(float(duration) if isinstance(duration, int | float) and not isinstance(duration, bool) else np.nan)
        raw.count.append(n)
        values = np.where(status == _STATUS_OK, values, np.nan)
        raw.points["value"].append(values)
        for name, _ in _STATS:
            raw.points[name].append(stats[name])
        raw.status.append(status)
        raw.samples.append(sample_array)
    return meta, notes


# --------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------


def load_results(
    results_dir: str | os.PathLike[str],
    *,
    cache_dir: str | os.PathLike[str] | None = None,
    repo: str | os.PathLike[str] | None = None,
    index_json: str | os.PathLike[str] | None = None,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    workers: int | None = None,
) -> ResultSet:
    """Load an asv results directory into a :class:`ResultSet` (see the module docstring)."""
    from . import cache as _cache  # local: cache imports this module

    results_dir = Path(results_dir)
    problems: list[Problem] = []
    if not results_dir.is_dir():
        problems.append(Problem(str(results_dir), "no such results directory"))
        return _empty_set(results_dir, problems)
    bench_entry, machine_entries, result_entries, prov_entries = scan_tree(results_dir)

    benchmarks: dict[str, Any] = {}
    if bench_entry is None:
        problems.append(Problem("benchmarks.json", "missing: units and parameter names are guessed from the results", "warning"))
    else:
        try:
            data = read_json_file(bench_entry.path, max_file_bytes, bench_entry.st)
            if not isinstance(data, dict):
                raise _BadFile(f"expected a JSON object, found {type(data).__name__}")
            benchmarks = {k: v for k, v in data.items() if isinstance(v, dict)}
        except _BadFile as exc:
            problems.append(Problem("benchmarks.json", f"{exc}; units and parameter names are guessed from the results"))

    order_ref, order_source, order_key = _order_reference(repo, index_json, problems)

    store = _cache.RawStore.open(cache_dir, results_dir) if cache_dir is not None else _cache.RawStore.memory()
    fingerprint = _cache.fingerprint(
        [bench_entry, *machine_entries, *result_entries, *prov_entries],
        extra=[order_key, str(max_file_bytes)],
    )
    cached = store.load_final(fingerprint)
    if cached is not None:
        return cached

    # Parse what changed, reuse the rest.
    raw_table, metas, file_problems = store.update(result_entries, max_file_bytes, workers)
    for rel, severity, message in file_problems:
        problems.append(Problem(rel, message, severity))

    machines = _machines_frame(machine_entries, metas, max_file_bytes, problems)
    provenance = _provenance_frame(prov_entries, metas, max_file_bytes, problems)
    machines = _attach_provenance(machines, provenance)
    commits = _commits_frame(metas, order_ref)
    envs = _envs_frame(metas)
    results = _derive(raw_table, metas, store.sigs, benchmarks, commits)
    rs = ResultSet(
        results=results,
        machines=machines,
        envs=envs,
        commits=commits,
        provenance=provenance,
        problems=problems,
        benchmarks=benchmarks,
        results_dir=results_dir,
        order_source=order_source if order_ref else "date",
        stats={"files": len(result_entries), "parsed": store.parsed_count, "rows": len(results)},
    )
    store.save_final(fingerprint, rs)
    return rs


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


def _empty_set(results_dir: Path, problems: list[Problem]) -> ResultSet:
    return ResultSet(
        results=empty_results(),
        machines=pd.DataFrame({"machine": pd.Series(dtype="str")}),
        envs=pd.DataFrame({"machine": pd.Series(dtype="str"), "env": pd.Series(dtype="str")}),
        commits=pd.DataFrame(
            {
                "commit": pd.Series(dtype="str"),
                "commit_date": pd.Series(dtype="datetime64[ns, UTC]"),
                "commit_order": pd.Series(dtype="int64"),
            }
        ),
        provenance=pd.DataFrame({"machine": pd.Series(dtype="str"), "commit": pd.Series(dtype="str"), "env": pd.Series(dtype="str")}),
        problems=problems,
        benchmarks={},
        results_dir=results_dir,
    )


def _order_reference(repo: Any, index_json: Any, problems: list[Problem]) -> tuple[dict[str, int], str, str]:
    """{full hash: rank (0 = oldest)} from git or a published index.json; plus its source and a cache key."""
    if repo is not None:
        try:
            out = subprocess.run(
                ["git", "-C", str(repo), "rev-list", "--topo-order", "--reverse", "--all"],
                capture_output=True,
                text=True,
                timeout=60,
                check=True,
            ).stdout.split()
            return {h: i for i, h in enumerate(out)}, "git", "git:" + (out[-1] if out else "") + f":{len(out)}"
        except (OSError, subprocess.SubprocessError) as exc:
            problems.append(Problem(str(repo), f"cannot read git history ({exc}); commits ordered by date", "warning"))
    if index_json is not None:
        try:
            data = read_json_file(Path(index_json))
            r2h = data.get("revision_to_hash") if isinstance(data, dict) else None
            if not isinstance(r2h, dict):
                raise _BadFile("no 'revision_to_hash' object")
            ranked = sorted((int(k), v) for k, v in r2h.items() if isinstance(v, str) and str(k).lstrip("-").isdigit())
            ref = {h: i for i, (_, h) in enumerate(ranked)}
            return ref, "index.json", f"index:{len(ref)}:{ranked[-1][1] if ranked else ''}"
        except _BadFile as exc:
            problems.append(Problem(str(index_json), f"{exc}; commits ordered by date", "warning"))
    return {}, "date", "date"


def _commits_frame(metas: Mapping[int, dict[str, Any]], ref: Mapping[str, int]) -> pd.DataFrame:
    dates: dict[str, float] = {}
    for m in metas.values():
        d = m.get("date")
        c = m["commit"]
        if c not in dates or (d is not None and (dates[c] is None or d < dates[c])):
            dates[c] = d  # type: ignore[assignment]
    commits = list(dates)
    date_ms = np.array([np.nan if dates[c] is None else dates[c] for c in commits], dtype=float)

    def full(c: str) -> int | None:
        if c in ref:
            return ref[c]
        return None

    ranks = [full(c) for c in commits]
    known: list[tuple[int, float]] = [(r, date_ms[i]) for i, r in enumerate(ranks) if r is not None]
    keys = []
    for i, c in enumerate(commits):
        d = date_ms[i]
        if ranks[i] is not None:
            keys.append((float(ranks[i]), 0.0, d if d == d else 0.0, c))  # type: ignore[arg-type]
        elif known:
            # place an unknown commit after the newest known commit not later than it
            before = [r for r, kd in known if kd == kd and d == d and kd <= d]
            base = max(before) + 0.5 if before else -0.5
            keys.append((float(base), 1.0, d if d == d else 0.0, c))
        else:
            keys.append((0.0, 0.0, d if d == d else np.inf, c))
    order = sorted(range(len(commits)), key=lambda i: keys[i])
    frame = pd.DataFrame(
        {
            "commit": [commits[i] for i in order],
            "commit_date": pd.to_datetime(pd.Series([date_ms[i] for i in order], dtype=float), unit="ms", utc=True),
            "commit_order": np.arange(len(order), dtype=np.int64),
        }
    )
    return frame


def _envs_frame(metas: Mapping[int, dict[str, Any]]) -> pd.DataFrame:
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    commits: dict[tuple[str, str], set[str]] = {}
    for m in metas.values():
        k = (m["machine"], m["env"])
        prev = latest.get(k)
        if prev is None or (m.get("date") or 0) >= (prev.get("date") or 0):
            latest[k] = m
        commits.setdefault(k, set()).add(m["commit"])
    rows = []
    for (machine, env), m in sorted(latest.items()):
        row: dict[str, Any] = {
            "machine": machine,
            "env": env,
            "python": m.get("python"),
            "requirements": json.dumps(m.get("requirements") or {}, sort_keys=True),
        }
        for name, value in (m.get("env_vars") or {}).items():
            row[f"env_var.{name}"] = None if value is None else str(value)
        row["n_commits"] = len(commits[(machine, env)])
        rows.append(row)
    if not rows:
        return pd.DataFrame({"machine": pd.Series(dtype="str"), "env": pd.Series(dtype="str")})
    return pd.DataFrame(rows)


def _flatten(obj: Any, prefix: str = "") -> dict[str, Any]:
    """Nested dicts -> dotted keys; lists -> text."""
    out: dict[str, Any] = {}
    if isinstance(obj, dict):
        for k, v in obj.items():
            key = f"{prefix}.{k}" if prefix else str(k)
            if isinstance(v, dict) and v:
                out.update(_flatten(v, key))
            else:
                out[key] = _scalar(v)
    else:
        out[prefix or "value"] = _scalar(obj)
    return out


def _scalar(v: Any) -> Any:
    if isinstance(v, dict | list):
        return (
            json.dumps(v, sort_keys=True)
            if any(isinstance(x, dict | list) for x in (v.values() if isinstance(v, dict) else v)) or isinstance(v, dict)
            else ", ".join(map(str, v))
        )
    return v


def _machines_frame(
    entries: Sequence[_Entry], metas: Mapping[int, dict[str, Any]], max_bytes: int, problems: list[Problem]
) -> pd.DataFrame:
    info: dict[str, dict[str, Any]] = {}
    for e in entries:
        machine = e.rel.split("/", 1)[0]
        try:
            if e.error:
                raise _BadFile(e.error)
            data = read_json_file(e.path, max_bytes, e.st)
            if not isinstance(data, dict):
                raise _BadFile(f"expected a JSON object, found {type(data).__name__}")
        except _BadFile as exc:
            problems.append(Problem(e.rel, str(exc), "warning"))
            data = {}
        row = {
            k: (v if isinstance(v, str | int | float | bool) or v is None else json.dumps(v))
            for k, v in data.items()
            if k not in ("machine", "version")
        }
        row["machine"] = machine
        if isinstance(data.get("machine"), str) and data["machine"] != machine:
            row["machine_json_name"] = data["machine"]
        info[machine] = row
    # name-only machine.json (or none): fill in from the result files' own params
    latest: dict[str, dict[str, Any]] = {}
    for m in metas.values():
        prev = latest.get(m["machine"])
        if prev is None or (m.get("date") or 0) >= (prev.get("date") or 0):
            latest[m["machine"]] = m
    for machine, m in latest.items():
        row = info.setdefault(machine, {"machine": machine})
        for k, v in (m.get("params") or {}).items():
            if k not in ("machine", "python", "branch") and row.get(k) in (None, "") and isinstance(v, str | int | float):
                row[k] = v
    if not info:
        return pd.DataFrame({"machine": pd.Series(dtype="str")})
    frame = pd.DataFrame([info[k] for k in sorted(info)])
    return frame[["machine", *[c for c in frame.columns if c != "machine"]]]


def _provenance_frame(
    entries: Sequence[_Entry], metas: Mapping[int, dict[str, Any]], max_bytes: int, problems: list[Problem]
) -> pd.DataFrame:
    """tensorscope's provenance files, joined to runs by machine, commit (prefix) and env name."""
    runs: dict[str, list[tuple[str, str]]] = {}
    for m in metas.values():
        runs.setdefault(m["machine"], []).append((m["commit"], m["env"]))
    rows = []
    for e in entries:
        machine = e.rel.split("/", 1)[0]
        stem = e.path.name[: -len(".json")]
        prefix, _, env = stem.partition("-")
        commit = next((c for c, en in runs.get(machine, []) if c.startswith(prefix) and (not env or en == env)), prefix)
        try:
            if e.error:
                raise _BadFile(e.error)
            data = read_json_file(e.path, max_bytes, e.st)
            if not isinstance(data, dict):
                raise _BadFile(f"expected a JSON object, found {type(data).__name__}")
        except _BadFile as exc:
            problems.append(Problem(e.rel, str(exc), "warning"))
            continue
        row = {"machine": machine, "commit": commit, "env": env}
        for k, v in _flatten(data).items():
            if k not in row:
                row[k] = v
        rows.append(row)
    if not rows:
        return pd.DataFrame({"machine": pd.Series(dtype="str"), "commit": pd.Series(dtype="str"), "env": pd.Series(dtype="str")})
    return pd.DataFrame(rows)


def _attach_provenance(machines: pd.DataFrame, provenance: pd.DataFrame) -> pd.DataFrame:
    if provenance.empty or machines.empty:
        return machines
    newest = provenance.groupby("machine", sort=False).tail(1).set_index("machine")
    newest = newest.drop(columns=[c for c in ("commit", "env") if c in newest.columns])
    newest.columns = [f"provenance.{c}" for c in newest.columns]
    return machines.merge(newest, left_on="machine", right_index=True, how="left")


def _labels(params: list[list[str]], names: Sequence[str]) -> list[tuple[str, tuple[str, ...]]]:
    """(label, plain values) for every combination, in asv's itertools.product order."""
    out = []
    for combo in itertools.product(*params):
        label = ", ".join(f"{n}={v}" for n, v in zip(names, combo, strict=True))
        out.append((label, tuple(plain_value(v) for v in combo)))
    return out


def _derive(
    raw: pa.Table, metas: Mapping[int, dict[str, Any]], sigs: Sequence[str], benchmarks: Mapping[str, Any], commits: pd.DataFrame
) -> pd.DataFrame:
    """Set-wide columns: commit order, parameter labels, units, series, version segments."""
    if raw.num_rows == 0:
        return empty_results()
    file_ids = raw.column("file_id").to_numpy()
    fids = np.array(sorted(metas), dtype=np.int64)
    pos = np.searchsorted(fids, file_ids)
    fm = [metas[int(f)] for f in fids]
    commit_rank = dict(zip(commits["commit"], commits["commit_order"], strict=True))

    def per_file(values: list[Any]) -> pd.Categorical:
        cat = pd.Categorical(values)
        return pd.Categorical.from_codes(cat.codes[pos], categories=cat.categories)

    machine = per_file([m["machine"] for m in fm])
    env = per_file([m["env"] for m in fm])
    commit = per_file([m["commit"] for m in fm])
    files = per_file([m["rel"] for m in fm])
    date_ms = np.array([np.nan if m.get("date") is None else m["date"] for m in fm], dtype=float)[pos]
    order = np.array([commit_rank[m["commit"]] for m in fm], dtype=np.int64)[pos]

    bench_col = raw.column("benchmark").combine_chunks()
    bench_names = [str(x) for x in bench_col.dictionary.to_pylist()]
    bench_codes = bench_col.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    sig = raw.column("sig").to_numpy().astype(np.int64)
    combo = raw.column("combo").to_numpy().astype(np.int64)
    key = (bench_codes << 42) | (sig << 21) | combo
    ukeys, inverse = np.unique(key, return_inverse=True)

    labels: list[str] = []
    unit_of: list[str] = []
    type_of: list[str] = []
    param_values: dict[str, list[str | None]] = {}
    cache: dict[tuple[int, int], list[tuple[str, tuple[str, ...]]]] = {}
    names_of: dict[tuple[int, int], list[str]] = {}
    for i, k in enumerate(ukeys.tolist()):
        b, s, c = k >> 42, (k >> 21) & ((1 << 21) - 1), k & ((1 << 21) - 1)
        name = bench_names[b]
        spec = benchmarks.get(name) or {}
        if (b, s) not in cache:
            params = json.loads(sigs[s])
            names = spec.get("param_names")
            if not (isinstance(names, list) and len(names) == len(params) and all(isinstance(x, str) for x in names)):
                names = [f"param{j + 1}" for j in range(len(params))]
            cache[(b, s)] = _labels(params, names)
            names_of[(b, s)] = names
        label, plain = cache[(b, s)][c]
        labels.append(label)
        spec_type = spec.get("type")
        btype: str = spec_type if isinstance(spec_type, str) else benchmark_type(name)
        type_of.append(btype)
        unit = spec.get("unit")
        unit_of.append(unit if isinstance(unit, str) else _DEFAULT_UNITS.get(btype, "unit"))
        for n, v in zip(names_of[(b, s)], plain, strict=True):
            param_values.setdefault(n, [None] * len(ukeys))[i] = v
    for vals in param_values.values():
        if len(vals) < len(ukeys):
            vals.extend([None] * (len(ukeys) - len(vals)))

    def per_key(values: list[Any]) -> pd.Categorical:
        cat = pd.Categorical(values)
        return pd.Categorical.from_codes(cat.codes[inverse], categories=cat.categories)

    bench = pd.Categorical.from_codes(bench_codes, categories=pd.Index(bench_names)) if bench_names else pd.Categorical([])
    version_col = raw.column("version").combine_chunks()
    vnames = [str(x) for x in version_col.dictionary.to_pylist()]
    vcodes = version_col.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    version = pd.Categorical.from_codes(vcodes, categories=pd.Index(vnames))
    # current_version: per (benchmark, version) pair, then broadcast (no per-row Python work)
    current_versions = [(benchmarks.get(name) or {}).get("version") for name in bench_names]
    pair = bench_codes * (len(vnames) + 1) + (vcodes + 1)
    upairs, pinv = np.unique(pair, return_inverse=True)
    is_current = np.array(
        [
            v > 0 and current_versions[int(b)] == vnames[int(v) - 1]
            for b, v in zip(upairs // (len(vnames) + 1), upairs % (len(vnames) + 1), strict=True)
        ],
        dtype=bool,
    )
    current = is_current[pinv] if len(vcodes) else np.zeros(0, bool)

    params_cat = per_key(labels)
    frame = pd.DataFrame(
        {
            "machine": machine,
            "commit": commit,
            "commit_date": pd.to_datetime(date_ms, unit="ms", utc=True),
            "commit_order": order,
            "env": env,
            "benchmark": bench,
            "type": per_key(type_of),
            "params": params_cat,
        }
    )
    for n, vals in param_values.items():
        frame[f"param_{n}"] = per_key(vals)
    frame["unit"] = per_key(unit_of)
    for col in ("value", "ci_99_a", "ci_99_b", "q_25", "q_75", "number", "repeat"):
        frame[col] = raw.column(col).to_numpy()
    frame["samples"] = pd.Series(pd.arrays.ArrowExtensionArray(raw.column("samples").cast(pa.list_(pa.float64()))))
    frame["status"] = pd.Categorical.from_codes(raw.column("status").to_numpy().astype(np.int64), categories=pd.Index(list(STATUSES)))
    frame["version"] = version
    frame["current_version"] = current

    # series key: machine|env|benchmark|params
    # one int64 per (machine, env, benchmark, params) code tuple: factorizing it is a hash of ints
    sizes = [len(machine.categories), len(env.categories), max(len(bench_names), 1), len(params_cat.categories)]
    skey = np.zeros(len(bench_codes), dtype=np.int64)
    for codes, size in zip([machine.codes, env.codes, bench_codes, params_cat.codes], sizes, strict=True):
        skey = skey * size + np.asarray(codes, dtype=np.int64)
    scodes, suniq_keys = pd.factorize(skey)
    mcats, ecats, pcats = list(machine.categories), list(env.categories), list(params_cat.categories)
    snames = []
    for k in suniq_keys.tolist():
        k, p = divmod(k, sizes[3])
        k, b = divmod(k, sizes[2])
        m, e = divmod(k, sizes[1])
        snames.append(f"{mcats[m]}|{ecats[e]}|{bench_names[b]}|{pcats[p]}")
    frame["series"] = pd.Categorical.from_codes(scodes, categories=pd.Index(snames)) if snames else pd.Categorical([])
    frame["started_at"] = pd.to_datetime(raw.column("started_at").to_numpy(), unit="ms", utc=True)
    frame["duration"] = raw.column("duration").to_numpy()
    frame["file"] = files

    # contiguous series in commit order, then version segments
    sort_idx = np.lexsort((order, np.asarray(scodes)))
    frame = frame.iloc[sort_idx].reset_index(drop=True)
    s = frame["series"].cat.codes.to_numpy()
    v = frame["version"].cat.codes.to_numpy()
    same_series = np.r_[False, s[1:] == s[:-1]]
    disc = same_series & np.r_[False, v[1:] != v[:-1]] & np.r_[False, v[:-1] >= 0] & (v >= 0)
    cs = np.cumsum(disc)
    start = ~same_series
    base = np.maximum.accumulate(np.where(start, cs, 0))
    frame["version_segment"] = (cs - base).astype(np.int64)
    frame["discontinuity"] = disc
    cols = [c for c in RESULT_COLUMNS if c in frame.columns]
    pcols = param_columns(frame)
    cols = cols[: cols.index("params") + 1] + pcols + cols[cols.index("params") + 1 :]
    return frame[cols]


def iter_series(df: pd.DataFrame, *, by_version: bool = True) -> Iterable[tuple[Any, pd.DataFrame]]:
    """Yield ``(key, rows)`` per series (and version segment unless ``by_version`` is False), rows in commit order."""
    keys = ["series", "version_segment"] if by_version else ["series"]
    yield from df.groupby(keys, sort=False, observed=True)
