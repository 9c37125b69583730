"""Parsing one asv result file (results API version 2) into raw columns (:class:`RawColumns`).

The set-wide derivation (commit order, series keys, parameter labels) happens later, in
:mod:`tensorscope.results.load`, over the raw columns of every file.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa

from .files import BadFile, scalar_unsentinel, unsentinel
from .model import (
    KNOWN_ROW_COLUMNS,
    MAX_ABS_TIME_MS,
    MAX_BENCHMARKS_PER_FILE,
    MAX_META_ENTRIES,
    MAX_PARAM_DIMENSIONS,
    MAX_ROWS_BASE,
    ROW_BYTES,
    STAT_COLUMNS,
    STATUS_FAILED,
    STATUS_OK,
    STATUS_SKIPPED,
    benchmark_type,
)


class RawColumns:
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

    def mark(self) -> tuple[int, ...]:
        """The current length of every accumulator (see :meth:`rollback`)."""
        return (len(self.file_id), len(self.status), len(self.samples), *(len(v) for v in self.points.values()))

    def rollback(self, mark: tuple[int, ...]) -> None:
        """Drop everything appended since ``mark``: a file that fails half-way leaves no rows."""
        n = mark[0]
        for lst in (self.file_id, self.bench, self.version, self.sig, self.started_at, self.duration, self.count):
            del lst[n:]
        del self.status[mark[1] :]
        del self.samples[mark[2] :]
        for values, m in zip(self.points.values(), mark[3:], strict=True):
            del values[m:]

    def table(self) -> pa.Table:
        """The rows as an Arrow table. Empties the accumulators as it goes (at most one column is held twice)."""
        counts = np.asarray(self.count, dtype=np.int64)
        n = int(counts.sum())
        rep = lambda values, dtype: np.repeat(np.asarray(values, dtype=dtype), counts)  # noqa: E731 - tiny local helper
        combo = np.arange(n, dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts) if n else np.zeros(0, np.int64)
        cols: dict[str, Any] = {
            "file_id": pa.array(rep(self.file_id, np.int32)),
            "benchmark": _repeated_strings(self.bench, counts),
            "version": _repeated_strings(self.version, counts),
            "sig": pa.array(rep(self.sig, np.int32)),
            "combo": pa.array(combo.astype(np.int32)),
            "started_at": pa.array(rep(self.started_at, np.float64)),
            "duration": pa.array(rep(self.duration, np.float64)),
        }
        del combo
        for k in self.POINT_FLOATS:
            parts, self.points[k] = self.points[k], []
            cols[k] = pa.array(np.concatenate(parts) if parts else np.zeros(0))
            del parts
        cols["status"] = pa.array(np.concatenate(self.status).astype(np.int8) if self.status else np.zeros(0, np.int8))
        self.status = []
        cols["samples"] = pa.concat_arrays(self.samples) if self.samples else pa.array([], type=_SAMPLES_TYPE)
        self.samples = []
        return pa.table(cols)


def _repeated_strings(values: Sequence[str | None], counts: np.ndarray) -> pa.DictionaryArray:
    """One string (or null) per entry, repeated ``counts`` times, dictionary-encoded (no per-row objects)."""
    index: dict[str, int] = {}
    codes = np.array([-1 if v is None else index.setdefault(v, len(index)) for v in values], dtype=np.int32)
    rows = np.repeat(codes, counts)
    return pa.DictionaryArray.from_arrays(pa.array(rows, mask=rows < 0), pa.array(list(index), type=pa.string()))


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
        out = unsentinel(out if out.flags.writeable else out.copy())
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
        flat = unsentinel(flat.copy())
        arr = pa.ListArray.from_arrays(arr.offsets, pa.array(flat, type=pa.float64()), mask=arr.is_null())
    if len(arr) < n:
        arr = pa.concat_arrays([arr, pa.nulls(n - len(arr), type=_SAMPLES_TYPE)])
    return arr


def _quoted(name: str) -> str:
    """A name from the file quoted for a problem line, cut to a readable length."""
    return repr(name if len(name) <= 80 else name[:80] + "…")


def _time_ms(x: Any) -> float | None:
    """A time in ms since 1970 as a float; None when absent; ValueError when not a usable time."""
    if x is None:
        return None
    if isinstance(x, bool) or not isinstance(x, int | float):
        raise ValueError(f"is {type(x).__name__}, not a number of milliseconds since 1970")
    try:
        ms = float(x)
    except OverflowError:
        ms = math.inf
    if not abs(ms) <= MAX_ABS_TIME_MS:  # also NaN
        raise ValueError(f"{_short_number(x)} ms is not a time between the years 1677 and 2261")
    return ms


def _short_number(x: int | float) -> str:
    text = repr(x) if isinstance(x, float) else str(x)
    return text if len(text) <= 24 else f"{text[:12]}… ({len(text)} digits)"


def _flat_mapping(value: Any, what: str, notes: list[tuple[str, str]]) -> dict[str, Any]:
    """asv's ``params`` / ``env_vars`` / ``requirements``: names to plain values (strings, numbers,
    booleans, null). Anything nested and entries beyond MAX_META_ENTRIES are dropped with a note."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        notes.append(("warning", f"{what!r} is {type(value).__name__}, not an object: ignored"))
        return {}
    out: dict[str, Any] = {}
    dropped = 0
    for k, v in value.items():
        if len(out) >= MAX_META_ENTRIES or not (v is None or isinstance(v, str | int | float | bool)):
            dropped += 1
            continue
        # an integer beyond int64 becomes text: no column type downstream holds it
        out[k] = str(v) if isinstance(v, int) and not isinstance(v, bool) and not -(2**63) <= v < 2**63 else v
    if dropped:
        notes.append(("warning", f"{what!r}: {dropped} entries ignored (nested values, or more than {MAX_META_ENTRIES} entries)"))
    return out


def parse_result_file(
    data: Any, file_id: int, raw: RawColumns, sigs: dict[str, int], sentinels: bool = False, file_bytes: int = 0
) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """Append one result file's rows to ``raw``; returns (file meta, [(severity, message)]).

    Raises BadFile when the file as a whole is unusable (nothing appended then).
    ``sentinels``: the document came from :func:`_loads_fast` with NaN/Infinity rewritten.
    ``file_bytes``: the file's size, which sets how many rows it may expand to
    (:func:`~tensorscope.results.model.max_rows`); a benchmark whose grid would exceed that is skipped.
    """
    if not isinstance(data, dict):
        raise BadFile(f"expected a JSON object, found {type(data).__name__}")
    version = data.get("version")
    if version == 1 or (version is None and "results" in data and "result_columns" not in data):
        raise BadFile(
            "results format version 1 (written by asv older than 0.5); run `asv update` in that asv project to convert its results to version 2"
        )
    if version != 2:
        raise BadFile(f"unsupported results format version {_quoted(str(version))} (tensorscope reads version 2)")
    columns = data.get("result_columns")
    results = data.get("results")
    commit = data.get("commit_hash")
    env = data.get("env_name")
    if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
        raise BadFile("'result_columns' is missing or not a list of names")
    if not isinstance(results, dict):
        raise BadFile("'results' is missing or not an object")
    if not isinstance(commit, str) or not commit:
        raise BadFile("'commit_hash' is missing or not a string")
    if not isinstance(env, str):
        raise BadFile("'env_name' is missing or not a string")
    if "result" not in columns:
        raise BadFile("'result_columns' has no 'result' column")
    if len(results) > MAX_BENCHMARKS_PER_FILE:
        raise BadFile(f"{len(results):,} benchmarks, over the limit of {MAX_BENCHMARKS_PER_FILE:,} per file")
    try:
        date = _time_ms(scalar_unsentinel(data.get("date"), sentinels))
    except ValueError as exc:
        raise BadFile(f"'date' {exc}") from None
    notes: list[tuple[str, str]] = []
    unknown = [c for c in columns if c not in KNOWN_ROW_COLUMNS]
    if unknown:
        notes.append(("warning", f"unknown result columns ignored: {', '.join(_quoted(c) for c in unknown[:10])}"))
    meta: dict[str, Any] = {
        "commit": commit,
        "env": env,
        "date": date,
        "params": _flat_mapping(data.get("params"), "params", notes),
        "python": data.get("python") if isinstance(data.get("python"), str) else None,
        "env_vars": _flat_mapping(data.get("env_vars"), "env_vars", notes),
        "requirements": _flat_mapping(data.get("requirements"), "requirements", notes),
        "durations": _durations(data.get("durations"), sentinels),
    }
    idx = {c: i for i, c in enumerate(columns)}
    i_result, i_params, i_version = idx["result"], idx.get("params"), idx.get("version")
    i_started, i_duration, i_samples = idx.get("started_at"), idx.get("duration"), idx.get("samples")
    stat_idx = [(name, idx.get(col)) for name, col in STAT_COLUMNS]
    row_limit = MAX_ROWS_BASE + file_bytes // ROW_BYTES
    rows = 0
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
            if len(params) > MAX_PARAM_DIMENSIONS:
                raise ValueError(f"parameter grid of {len(params)} dimensions, over the limit of {MAX_PARAM_DIMENSIONS}")
            # checked before anything is allocated: a 1 KB file may declare 10^8 combinations
            n = math.prod(len(p) for p in params) if params else 1
            if rows + n > row_limit:
                raise ValueError(
                    f"parameter grid of {n:,} combinations would take this file over {row_limit:,} rows, the limit for a file of "
                    f"{file_bytes:,} bytes ({MAX_ROWS_BASE:,} plus one per {ROW_BYTES} bytes)"
                )
            result = get(i_result)
            if result is None:
                values = np.full(n, np.nan)
                status = np.full(n, STATUS_FAILED, dtype=np.int8)
            else:
                if not isinstance(result, list):
                    raise ValueError(f"'result' is {type(result).__name__}, expected a list")
                if len(result) != n:
                    raise ValueError(f"{len(result)} result values for {n} parameter combinations {[len(p) for p in params]}")
                values, is_none = _numbers(result, "'result'", sentinels)
                status = np.where(is_none, STATUS_FAILED, np.where(np.isnan(values), STATUS_SKIPPED, STATUS_OK)).astype(np.int8)
            stats = {name: _floats(get(i), n, name, sentinels) for name, i in stat_idx}
            sample_array = _samples(get(i_samples), n, sentinels)
            bversion = get(i_version)
            if bversion is not None and not isinstance(bversion, str):
                raise ValueError("'version' is not a string")
            try:
                started = _time_ms(scalar_unsentinel(get(i_started), sentinels))
            except ValueError as exc:
                raise ValueError(f"'started_at' {exc}") from None
            duration = _seconds(scalar_unsentinel(get(i_duration), sentinels))
        except ValueError as exc:
            notes.append(("error", f"benchmark {_quoted(str(bench))} skipped: {exc}"))
            continue
        if benchmark_type(bench) == "time":
            impossible = (status == STATUS_OK) & (values <= 0)
            if impossible.any():
                status = np.where(impossible, STATUS_FAILED, status).astype(np.int8)
                notes.append(
                    (
                        "error",
                        f"benchmark {_quoted(str(bench))}: {int(impossible.sum())} of {n} timings are zero or negative "
                        "(impossible for a time): counted as failed",
                    )
                )
        rows += n
        key = json.dumps(params)
        sig = sigs.setdefault(key, len(sigs))
        raw.file_id.append(file_id)
        raw.bench.append(str(bench))
        raw.version.append(bversion)
        raw.sig.append(sig)
        raw.started_at.append(np.nan if started is None else started)
        raw.duration.append(duration)
        raw.count.append(n)
        values = np.where(status == STATUS_OK, values, np.nan)
        raw.points["value"].append(values)
        for name, _ in STAT_COLUMNS:
            raw.points[name].append(stats[name])
        raw.status.append(status)
        raw.samples.append(sample_array)
    return meta, notes


# asv's ``durations`` (build and setup_cache times, seconds) kept per file: at most this many
MAX_DURATIONS = 10_000


def _durations(value: Any, sentinels: bool) -> dict[str, float]:
    """asv's ``durations`` object: names to finite seconds (kept so that a store can write the file back);
    anything else is left out silently: no analysis reads it."""
    if not isinstance(value, dict):
        return {}
    out: dict[str, float] = {}
    for k, v in value.items():
        if len(out) >= MAX_DURATIONS:
            break
        seconds = _seconds(scalar_unsentinel(v, sentinels))
        if seconds == seconds:
            out[str(k)] = seconds
    return out


def _seconds(x: Any) -> float:
    """asv's ``duration`` (seconds) as a float; NaN when absent or not a finite number."""
    if isinstance(x, bool) or not isinstance(x, int | float):
        return math.nan
    try:
        value = float(x)
    except OverflowError:
        return math.nan
    return value if math.isfinite(value) else math.nan
