"""Parsing one asv result file (results API version 2) into raw columns (:class:`RawColumns`).

The set-wide derivation (commit order, series keys, parameter labels) happens later, in
:mod:`tensorscope.results.load`, over the raw columns of every file.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pyarrow as pa

from .files import BadFile, scalar_unsentinel, unsentinel
from .model import STAT_COLUMNS, STATUS_FAILED, STATUS_OK, STATUS_SKIPPED, KNOWN_ROW_COLUMNS


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


def parse_result_file(
    data: Any, file_id: int, raw: RawColumns, sigs: dict[str, int], sentinels: bool = False
) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """Append one result file's rows to ``raw``; returns (file meta, [(severity, message)]).

    Raises BadFile when the file as a whole is unusable (nothing appended then).
    ``sentinels``: the document came from :func:`_loads_fast` with NaN/Infinity rewritten.
    """
    if not isinstance(data, dict):
        raise BadFile(f"expected a JSON object, found {type(data).__name__}")
    version = data.get("version")
    if version == 1 or (version is None and "results" in data and "result_columns" not in data):
        raise BadFile(
            "results format version 1 (written by asv older than 0.5); run `asv update` in that asv project to convert its results to version 2"
        )
    if version != 2:
        raise BadFile(f"unsupported results format version {version!r} (tensorscope reads version 2)")
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
    notes: list[tuple[str, str]] = []
    unknown = [c for c in columns if c not in KNOWN_ROW_COLUMNS]
    if unknown:
        notes.append(("warning", f"unknown result columns ignored: {', '.join(map(repr, unknown))}"))
    date = scalar_unsentinel(data.get("date"), sentinels)
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
    stat_idx = [(name, idx.get(col)) for name, col in STAT_COLUMNS]
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
            started = scalar_unsentinel(get(i_started), sentinels)
            duration = scalar_unsentinel(get(i_duration), sentinels)
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
        values = np.where(status == STATUS_OK, values, np.nan)
        raw.points["value"].append(values)
        for name, _ in STAT_COLUMNS:
            raw.points[name].append(stats[name])
        raw.status.append(status)
        raw.samples.append(sample_array)
    return meta, notes
