"""Loading an asv results directory into a :class:`~tensorscope.results.ResultSet` (see the package docstring)."""

from __future__ import annotations

import bisect
import json
import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from . import cache as _cache
from .files import BadFile, FileEntry, read_json_file, scan_tree
from .model import (
    DEFAULT_MAX_FILE_BYTES,
    DEFAULT_UNITS,
    MAX_PARAM_DIMENSIONS,
    RESULT_COLUMNS,
    STATUSES,
    Problem,
    ResultSet,
    benchmark_type,
    categorical,
    empty_results,
    plain_value,
    string_index,
)

# Columns the machines, envs and provenance tables may get from names in the files, all files together
# (each name is a column of every row: a few files could otherwise make a table of millions of cells).
MAX_INFO_COLUMNS = 1000
# The provenance table's own bound: tensorscope's suite records one op_costs field per timed
# (op, dtype, size) cell of its grid (842 in the 2026-12-07 grid), so its files name more than
# machines and envs do; a few thousand columns over one row per result file stays small.
MAX_PROVENANCE_COLUMNS = 4000
# param_<name> columns of the results table: each is a column of every row, so their number is
# bounded by cells (at least MAX_PARAM_DIMENSIONS, at most MAX_INFO_COLUMNS); the names with the
# most rows keep theirs, the rest stay readable in ``params``. Real sets name up to ~120.
MAX_PARAM_CELLS = 2**27


def load_results(
    results_dir: str | os.PathLike[str],
    *,
    cache_dir: str | os.PathLike[str] | None = None,
    repo: str | os.PathLike[str] | None = None,
    index_json: str | os.PathLike[str] | None = None,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    workers: int | None = None,
    follow_symlinks: bool = False,
) -> ResultSet:
    """Load an asv results directory into a :class:`ResultSet` (see the package docstring)."""
    results_dir = Path(results_dir)
    if not results_dir.is_dir():
        return _empty_set(results_dir, [Problem(str(results_dir), "no such results directory")])
    store = _cache.RawStore.open(cache_dir, results_dir) if cache_dir is not None else _cache.RawStore.memory()
    try:
        return _load(results_dir, store, repo, index_json, max_file_bytes, workers, follow_symlinks)
    except Exception:
        if store.root is None:
            raise  # not the cache: a bug, reported by the caller
        # something read back from the cache did not hold (forged, or written by a bug): it is
        # only a cache, so drop it and load from the files alone
        store.discard()
        return _load(results_dir, _cache.RawStore.memory(), repo, index_json, max_file_bytes, workers, follow_symlinks)


def _load(
    results_dir: Path,
    store: _cache.RawStore,
    repo: str | os.PathLike[str] | None,
    index_json: str | os.PathLike[str] | None,
    max_file_bytes: int,
    workers: int | None,
    follow_symlinks: bool,
) -> ResultSet:
    problems: list[Problem] = []
    if store.note:
        problems.append(Problem(*store.note, "warning"))
    tree = scan_tree(results_dir, max_bytes=max_file_bytes, digests=store.root is not None, follow_symlinks=follow_symlinks)
    problems += [Problem(e.rel, e.error or "", "error") for e in tree.skipped]

    benchmarks: dict[str, Any] = {}
    bench_entry = tree.benchmarks
    if bench_entry is None:
        problems.append(Problem("benchmarks.json", "missing: units and parameter names are guessed from the results", "warning"))
    else:
        try:
            if bench_entry.error:
                raise BadFile(bench_entry.error)
            data = read_json_file(bench_entry.path, max_file_bytes)
            if not isinstance(data, dict):
                raise BadFile(f"expected a JSON object, found {type(data).__name__}")
            benchmarks = {k: v for k, v in data.items() if isinstance(v, dict)}
        except BadFile as exc:
            problems.append(Problem("benchmarks.json", f"{exc}; units and parameter names are guessed from the results"))

    order_ref, order_source, order_key = _order_reference(repo, index_json, problems)

    fingerprint = ""
    if store.root is not None:
        fingerprint = _cache.fingerprint(
            tree.all_files(), extra=[order_key, str(max_file_bytes), str(follow_symlinks), *(str(p) for p in problems)]
        )
        cached = store.load_final(fingerprint)
        if cached is not None:
            return cached

    # Parse what changed, reuse the rest.
    raw_table, metas, file_problems = store.update(tree.results, max_file_bytes, workers)
    for rel, severity, message in file_problems:
        problems.append(Problem(rel, message, severity))

    machines = _machines_frame(tree.machines, metas, max_file_bytes, problems)
    provenance = _provenance_frame(tree.provenance, metas, max_file_bytes, problems)
    holder = [raw_table]  # _derive takes it: its columns are freed as they are used
    del raw_table
    rs = assemble(holder, metas, store.sigs, benchmarks, machines, provenance, order_ref, order_source, problems, results_dir)
    rs.stats = {"files": len(tree.results), "parsed": store.parsed_count, "rows": len(rs.results)}
    if store.root is not None:
        store.save_final(fingerprint, rs)
    return rs


def assemble(
    holder: list[pa.Table],
    metas: Mapping[int, dict[str, Any]],
    sigs: Sequence[str],
    benchmarks: dict[str, Any],
    machines: pd.DataFrame,
    provenance: pd.DataFrame,
    order_ref: Mapping[str, int],
    order_source: str,
    problems: list[Problem],
    results_dir: Path,
) -> ResultSet:
    """A :class:`ResultSet` from parsed rows (taken out of ``holder``: the raw table of
    :class:`~tensorscope.results.parse.RawColumns`, ``file_id`` keying ``metas``), run metadata, the
    parameter grids ``sig`` indexes, benchmarks.json, and the machines and provenance tables
    (:func:`machines_frame`, :func:`provenance_frame`). The one way from parsed results to the tidy
    table: a results directory and a results store both come through here."""
    machines = _attach_provenance(machines, provenance)
    commits = _commits_frame(metas, order_ref)
    envs = _envs_frame(metas, problems)
    results = _derive(holder, metas, sigs, benchmarks, commits, problems)
    return ResultSet(
        results=results,
        machines=machines,
        envs=envs,
        commits=commits,
        provenance=provenance,
        problems=problems,
        benchmarks=benchmarks,
        results_dir=results_dir,
        order_source=order_source if order_ref else "date",
        stats={"rows": len(results)},
    )


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
                raise BadFile("no 'revision_to_hash' object")
            ranked = sorted((int(k), v) for k, v in r2h.items() if isinstance(v, str) and k.lstrip("-").isdigit() and len(k) < 20)
            ref = {h: i for i, (_, h) in enumerate(ranked)}
            return ref, "index.json", f"index:{len(ref)}:{ranked[-1][1] if ranked else ''}"
        except BadFile as exc:
            problems.append(Problem(str(index_json), f"{exc}; commits ordered by date", "warning"))
    return {}, "date", "date"


def _commits_frame(metas: Mapping[int, dict[str, Any]], ref: Mapping[str, int]) -> pd.DataFrame:
    dates: dict[str, float | None] = {}
    for m in metas.values():
        d = m.get("date")
        c = m["commit"]
        old = dates.get(c)
        if c not in dates or (d is not None and (old is None or d < old)):
            dates[c] = d
    commits = list(dates)
    date_ms = np.array([np.nan if dates[c] is None else dates[c] for c in commits], dtype=float)
    ranks = [ref.get(c) for c in commits]
    # known commits by date, with the newest rank up to each date: where an unknown commit goes
    known = sorted((float(date_ms[i]), r) for i, r in enumerate(ranks) if r is not None and date_ms[i] == date_ms[i])
    known_dates = [d for d, _ in known]
    best_rank = list(np.maximum.accumulate([r for _, r in known])) if known else []
    any_known = any(r is not None for r in ranks)
    keys = []
    for i, c in enumerate(commits):
        d = date_ms[i]
        r = ranks[i]
        if r is not None:
            keys.append((float(r), 0.0, d if d == d else 0.0, c))
        elif any_known:
            # place an unknown commit after the newest known commit not later than it
            k = bisect.bisect_right(known_dates, d) if d == d else 0
            base = float(best_rank[k - 1]) + 0.5 if k else -0.5
            keys.append((base, 1.0, d if d == d else 0.0, c))
        else:
            keys.append((0.0, 0.0, d if d == d else np.inf, c))
    order = sorted(range(len(commits)), key=lambda i: keys[i])
    return pd.DataFrame(
        {
            "commit": [commits[i] for i in order],
            "commit_date": pd.to_datetime(pd.Series([date_ms[i] for i in order], dtype=float), unit="ms", utc=True),
            "commit_order": np.arange(len(order), dtype=np.int64),
        }
    )


class _Columns:
    """Names that become columns of an info table (machines, envs, provenance), MAX_INFO_COLUMNS at most
    over all files; a file whose names go beyond is told so (as a warning: its other fields are kept)."""

    def __init__(self, problems: list[Problem], what: str, fixed: Sequence[str] = (), limit: int = MAX_INFO_COLUMNS) -> None:
        self.names: set[str] = set(fixed)
        self.limit = limit + len(self.names)
        self.bound = limit
        self.problems = problems
        self.what = what

    def keep(self, rel: str, row: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        dropped = 0
        for k, v in row.items():
            if k in self.names or len(self.names) < self.limit:
                self.names.add(k)
                out[k] = v
            else:
                dropped += 1
        if dropped:
            self.problems.append(
                Problem(rel, f"{dropped} {self.what} fields ignored: all files together may name {self.bound} at most", "warning")
            )
        return out


def _envs_frame(metas: Mapping[int, dict[str, Any]], problems: list[Problem]) -> pd.DataFrame:
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    commits: dict[tuple[str, str], set[str]] = {}
    for m in metas.values():
        k = (m["machine"], m["env"])
        prev = latest.get(k)
        if prev is None or (m.get("date") or 0) >= (prev.get("date") or 0):
            latest[k] = m
        commits.setdefault(k, set()).add(m["commit"])
    columns = _Columns(problems, "env_vars", ("machine", "env", "python", "requirements", "n_commits"))
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
        rows.append(columns.keep(m["rel"], row))
    if not rows:
        return pd.DataFrame({"machine": pd.Series(dtype="str"), "env": pd.Series(dtype="str")})
    return pd.DataFrame(rows)


def _flatten(obj: Any, prefix: str = "") -> dict[str, Any]:
    """Nested dicts -> dotted keys; lists -> text. (Recursive: files nest at most MAX_JSON_DEPTH levels.)"""
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
    if isinstance(v, int) and not isinstance(v, bool) and not -(2**63) <= v < 2**63:
        return str(v)  # no column type holds it
    return v


def read_json_object(e: FileEntry, max_bytes: int) -> dict[str, Any]:
    """A machine.json or provenance file's JSON object; BadFile with the reason."""
    if e.error:
        raise BadFile(e.error)
    data = read_json_file(e.path, max_bytes)
    if not isinstance(data, dict):
        raise BadFile(f"expected a JSON object, found {type(data).__name__}")
    return data


def _machines_frame(
    entries: Sequence[FileEntry], metas: Mapping[int, dict[str, Any]], max_bytes: int, problems: list[Problem]
) -> pd.DataFrame:
    docs: list[tuple[str, dict[str, Any]]] = []
    for e in entries:
        try:
            data = read_json_object(e, max_bytes)
        except BadFile as exc:
            problems.append(Problem(e.rel, str(exc), "warning"))
            data = {}
        docs.append((e.rel, data))
    return machines_frame(docs, metas, problems)


def machines_frame(
    docs: Sequence[tuple[str, dict[str, Any]]], metas: Mapping[int, dict[str, Any]], problems: list[Problem]
) -> pd.DataFrame:
    """The ``machines`` table from machine.json documents (``(path relative to results_dir, object)``) and run metadata."""
    info: dict[str, dict[str, Any]] = {}
    columns = _Columns(problems, "machine.json", ("machine", "machine_json_name"))
    for rel, data in docs:
        machine = rel.split("/", 1)[0]
        row = {k: json.dumps(v) if isinstance(v, dict | list) else _scalar(v) for k, v in data.items() if k not in ("machine", "version")}
        row["machine"] = machine
        if isinstance(data.get("machine"), str) and data["machine"] != machine:
            row["machine_json_name"] = data["machine"]
        info[machine] = columns.keep(rel, row)
    # name-only machine.json (or none): fill in from the result files' own params
    latest: dict[str, dict[str, Any]] = {}
    for m in metas.values():
        prev = latest.get(m["machine"])
        if prev is None or (m.get("date") or 0) >= (prev.get("date") or 0):
            latest[m["machine"]] = m
    for machine, m in latest.items():
        row = info.setdefault(machine, {"machine": machine})
        extra = {
            k: v
            for k, v in (m.get("params") or {}).items()
            if k not in ("machine", "python", "branch") and row.get(k) in (None, "") and isinstance(v, str | int | float)
        }
        row.update(columns.keep(m["rel"], extra))
    if not info:
        return pd.DataFrame({"machine": pd.Series(dtype="str")})
    frame = pd.DataFrame([info[k] for k in sorted(info)])
    return frame[["machine", *[c for c in frame.columns if c != "machine"]]]


def _provenance_frame(
    entries: Sequence[FileEntry], metas: Mapping[int, dict[str, Any]], max_bytes: int, problems: list[Problem]
) -> pd.DataFrame:
    """tensorscope's provenance files, joined to runs by machine, commit (prefix) and env name."""
    docs: list[tuple[str, dict[str, Any]]] = []
    for e in entries:
        try:
            docs.append((e.rel, read_json_object(e, max_bytes)))
        except BadFile as exc:
            problems.append(Problem(e.rel, str(exc), "warning"))
    return provenance_frame(docs, metas, problems)


def provenance_frame(
    docs: Sequence[tuple[str, dict[str, Any]]], metas: Mapping[int, dict[str, Any]], problems: list[Problem]
) -> pd.DataFrame:
    """The ``provenance`` table from provenance documents (``(path relative to results_dir, object)``) and run metadata."""
    runs: dict[str, list[tuple[str, str]]] = {}
    for m in metas.values():
        runs.setdefault(m["machine"], []).append((m["commit"], m["env"]))
    columns = _Columns(problems, "provenance", ("machine", "commit", "env"), MAX_PROVENANCE_COLUMNS)
    rows = []
    for rel, data in docs:
        machine = rel.split("/", 1)[0]
        name = rel.rsplit("/", 1)[-1]
        stem = name[: -len(".json")] if name.endswith(".json") else name
        prefix, _, env = stem.partition("-")
        commit = next((c for c, en in runs.get(machine, []) if c.startswith(prefix) and (not env or en == env)), prefix)
        row = {"machine": machine, "commit": commit, "env": env}
        for k, v in _flatten(data).items():
            if k not in row:
                row[k] = v
        rows.append(columns.keep(rel, row))
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


def _dictionary(column: pa.ChunkedArray) -> tuple[list[str], np.ndarray]:
    """(distinct names, int64 code per row; -1 for null) of a dictionary-encoded string column."""
    arr = column.unify_dictionaries().combine_chunks() if column.num_chunks > 1 else column.combine_chunks()
    names = [str(x) for x in arr.dictionary.to_pylist()]
    codes = arr.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    if len(set(names)) != len(names):  # not from our own writer: encode again
        arr = arr.cast(pa.string()).dictionary_encode()
        names = [str(x) for x in arr.dictionary.to_pylist()]
        codes = arr.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    return names, codes


def _sorted_categories(values: pa.Array, codes: np.ndarray) -> pd.Categorical:
    """A Categorical of ``values[codes]`` (-1: missing) whose categories are the distinct values in
    sorted order, as pandas makes them."""
    encoded = values.dictionary_encode()
    order = pc.array_sort_indices(encoded.dictionary).to_numpy()
    rank = np.empty(len(order) + 1, dtype=np.int64)
    rank[order] = np.arange(len(order))
    rank[-1] = -1
    local = np.append(encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64), len(order))  # codes == -1 -> the -1 rank
    return categorical(rank[local[codes]], string_index(encoded.dictionary.take(pa.array(order))))


def _arrow_text(index: pd.Index) -> pa.Array:
    """The strings of an Index as one Arrow array (zero-copy for pandas' Arrow-backed strings)."""
    if hasattr(index.array, "__arrow_array__"):
        arr = pa.array(index.array)
        return (arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr).cast(pa.large_string())
    return pa.array([str(x) for x in index], type=pa.large_string())


def _unique_names(names: pa.ChunkedArray, first_rows: np.ndarray, files: pd.Categorical, problems: list[Problem]) -> pa.Array:
    """Series names made unique: a name that an earlier series already has (user text holding the
    '|' separator: machine 'm|x' + env 'e' and machine 'm' + env 'x|e') gets ' #2', ' #3', ...
    and a warning names a file of each series."""
    if pc.count_distinct(names).as_py() == len(names):
        return names
    texts = names.to_pylist()
    taken = set(texts)
    seen: dict[str, int] = {}
    for i, text in enumerate(texts):
        if text not in seen:
            seen[text] = i
            continue
        k = 2
        while f"{text} #{k}" in taken:
            k += 1
        texts[i] = f"{text} #{k}"
        taken.add(texts[i])
        other = files[int(first_rows[seen[text]])]
        problems.append(
            Problem(
                str(files[int(first_rows[i])]), f"series {text!r} is also a different series of {other}: shown as {texts[i]!r}", "warning"
            )
        )
    return pa.chunked_array([pa.array(texts, type=pa.large_string())])


def _expand_params(
    bench_codes: np.ndarray,
    sig: np.ndarray,
    combo: np.ndarray,
    bench_names: Sequence[str],
    sigs: Sequence[str],
    benchmarks: Mapping[str, Any],
) -> tuple[pd.Categorical, dict[str, pd.Categorical], int]:
    """The ``params`` label and the ``param_<name>`` columns of every row, and how many names got no column.

    Linear in the rows: each (benchmark, parameter grid) pair maps its rows' combination
    numbers to one index per grid dimension (itertools.product order: the last fastest) and
    builds the label of each distinct combination once, in Arrow.
    """
    n = len(bench_codes)
    pair_codes, pairs = pd.factorize(bench_codes * max(len(sigs), 1) + sig)
    order = np.argsort(pair_codes, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(np.bincount(pair_codes, minlength=len(pairs)))])
    # benchmarks that share a grid and its parameter names share their labels: group them
    groups: dict[tuple[int, tuple[str, ...]], list[np.ndarray]] = {}
    grids: dict[int, list[list[str]]] = {}
    for p, key in enumerate(pairs.tolist()):
        b, s = divmod(int(key), max(len(sigs), 1))
        grid = grids.setdefault(s, json.loads(sigs[s]))
        names = (benchmarks.get(bench_names[b]) or {}).get("param_names")
        if not (
            isinstance(names, list) and len(names) == len(grid) and all(isinstance(x, str) for x in names) and len(set(names)) == len(names)
        ):
            names = [f"param{j + 1}" for j in range(len(grid))]
        groups.setdefault((s, tuple(names)), []).append(order[bounds[p] : bounds[p + 1]])
    # "keys": the distinct (grid, names, combination) triples; labels and values are built once per key
    label_parts: list[pa.Array] = []
    key_of_row = np.empty(n, dtype=np.int64)
    n_keys = 0
    value_parts: dict[str, list[tuple[int, np.ndarray]]] = {}  # param name -> [(first key, code per key)]
    value_index: dict[str, dict[str, int]] = {}  # param name -> {plain value: code}
    for (s, names), pieces in groups.items():
        grid = grids[s]
        rows = pieces[0] if len(pieces) == 1 else np.concatenate(pieces)
        uniq, inverse = np.unique(combo[rows], return_inverse=True)
        key_of_row[rows] = n_keys + inverse
        if not grid:
            label_parts.append(pa.array([""] * len(uniq), type=pa.string()))
            n_keys += len(uniq)
            continue
        at = np.unravel_index(uniq, [len(g) for g in grid])
        parts = []
        for d, (name, values) in enumerate(zip(names, grid, strict=True)):
            index = value_index.setdefault(name, {})
            codes = np.array([index.setdefault(plain_value(v), len(index)) for v in values], dtype=np.int64)
            value_parts.setdefault(name, []).append((n_keys, codes[at[d]]))
            parts.append(pa.array([f"{name}={v}" for v in values], type=pa.string()).take(pa.array(at[d])))
        label_parts.append(parts[0] if len(parts) == 1 else pc.binary_join_element_wise(*parts, ", "))
        n_keys += len(uniq)
    labels = pa.concat_arrays(label_parts) if label_parts else pa.array([], type=pa.string())
    params = _sorted_categories(labels, key_of_row)
    keep = _param_columns_kept(value_parts, key_of_row, n)
    columns = {}
    for name, spans in value_parts.items():
        if name not in keep:
            continue
        per_key = np.full(n_keys, -1, dtype=np.int64)  # -1: a key of a benchmark without this parameter
        for first, codes in spans:
            per_key[first : first + len(codes)] = codes
        columns[name] = _sorted_categories(pa.array(list(value_index[name]), type=pa.string()), per_key[key_of_row])
    return params, columns, len(value_parts) - len(keep)


def max_param_columns(n_rows: int) -> int:
    """How many ``param_<name>`` columns a table of ``n_rows`` rows may have (see MAX_PARAM_CELLS)."""
    return max(MAX_PARAM_DIMENSIONS, min(MAX_INFO_COLUMNS, MAX_PARAM_CELLS // max(n_rows, 1)))


def _param_columns_kept(value_parts: Mapping[str, list[tuple[int, np.ndarray]]], key_of_row: np.ndarray, n_rows: int) -> set[str]:
    """The parameter names that get a column: all, or those with the most rows when there are too many."""
    limit = max_param_columns(n_rows)
    if len(value_parts) <= limit:
        return set(value_parts)
    rows_per_key = np.bincount(key_of_row, minlength=int(key_of_row.max(initial=-1)) + 1)
    used = {name: sum(int(rows_per_key[first : first + len(codes)].sum()) for first, codes in spans) for name, spans in value_parts.items()}
    return set(sorted(used, key=lambda name: (-used[name], name))[:limit])


def _derive(
    holder: list[pa.Table],
    metas: Mapping[int, dict[str, Any]],
    sigs: Sequence[str],
    benchmarks: Mapping[str, Any],
    commits: pd.DataFrame,
    problems: list[Problem],
) -> pd.DataFrame:
    """Set-wide columns: commit order, parameter labels, units, series, version segments (all vectorized: linear in the rows).

    Takes the raw table out of ``holder`` and drops each raw column once it is used, so that
    peak memory stays close to that of the finished table.
    """
    raw = holder.pop()
    if raw.num_rows == 0:
        return empty_results()
    fids = np.array(sorted(metas), dtype=np.int64)
    pos = np.searchsorted(fids, raw.column("file_id").to_numpy())
    fm = [metas[int(f)] for f in fids]
    commit_rank = dict(zip(commits["commit"], commits["commit_order"], strict=True))

    def per_file(values: list[Any], pos: np.ndarray) -> pd.Categorical:
        cat = pd.Categorical(values)
        return pd.Categorical.from_codes(cat.codes[pos], categories=cat.categories)

    machine = per_file([m["machine"] for m in fm], pos)
    env = per_file([m["env"] for m in fm], pos)
    commit = per_file([m["commit"] for m in fm], pos)
    files = per_file([m["rel"] for m in fm], pos)
    date_ms = np.array([np.nan if m.get("date") is None else m["date"] for m in fm], dtype=float)[pos]
    order = np.array([commit_rank[m["commit"]] for m in fm], dtype=np.int64)[pos]
    del pos

    bench_names, bench_codes = _dictionary(raw.column("benchmark"))
    params_cat, param_values, dropped_params = _expand_params(
        bench_codes, raw.column("sig").to_numpy().astype(np.int64), raw.column("combo").to_numpy(), bench_names, sigs, benchmarks
    )
    if dropped_params:
        problems.append(
            Problem(
                "benchmarks.json",
                f"{len(param_values) + dropped_params} parameter names: only the {len(param_values)} with the most rows"
                " get a param_<name> column (the others stay in the params label)",
                "warning",
            )
        )
    vnames, vcodes = _dictionary(raw.column("version"))
    raw = raw.drop_columns(["file_id", "benchmark", "sig", "combo", "version"])

    # type and unit: per benchmark, then per row
    type_of: list[str] = []
    unit_of: list[str] = []
    for name in bench_names:
        spec = benchmarks.get(name) or {}
        spec_type = spec.get("type")
        btype = spec_type if isinstance(spec_type, str) else benchmark_type(name)
        unit = spec.get("unit")
        type_of.append(btype)
        unit_of.append(unit if isinstance(unit, str) else DEFAULT_UNITS.get(btype, "unit"))

    # current_version: per (benchmark, version) pair, then broadcast (no per-row Python work)
    current_versions = [(benchmarks.get(name) or {}).get("version") for name in bench_names]
    upairs, pinv = np.unique(bench_codes * (len(vnames) + 1) + (vcodes + 1), return_inverse=True)
    is_current = np.array(
        [
            v > 0 and current_versions[int(b)] == vnames[int(v) - 1]
            for b, v in zip(upairs // (len(vnames) + 1), upairs % (len(vnames) + 1), strict=True)
        ],
        dtype=bool,
    )
    current = is_current[pinv]
    del upairs, pinv

    # series: one code per distinct (machine, env, benchmark, params), in order of first appearance
    # (factorized in two steps so that no product of category counts can overflow int64), named
    # "machine|env|benchmark|params"; a name two series share is made unique (_unique_names)
    k1 = pd.factorize(np.asarray(machine.codes, dtype=np.int64) * len(env.categories) + env.codes)[0]
    k2_codes, k2_uniq = pd.factorize(bench_codes * len(params_cat.categories) + params_cat.codes)
    scodes, suniq = pd.factorize(k1.astype(np.int64) * (len(k2_uniq) + 1) + k2_codes)
    del k1, k2_codes, k2_uniq
    first = np.zeros(len(suniq), dtype=np.int64)
    first[scodes[::-1]] = np.arange(len(scodes))[::-1]  # a row of each series
    parts = [
        (_arrow_text(machine.categories), machine.codes),
        (_arrow_text(env.categories), env.codes),
        (_arrow_text(pd.Index(bench_names)), bench_codes),
        (_arrow_text(params_cat.categories), params_cat.codes),
    ]
    bar = pa.scalar("|", pa.large_string())
    snames = pa.chunked_array(  # in chunks: the four parts of every name are never all held at once
        [
            pc.binary_join_element_wise(*(text.take(pa.array(np.asarray(codes)[first[i : i + 2**20]])) for text, codes in parts), bar)
            for i in range(0, len(first), 2**20)
        ],
        type=pa.large_string(),
    )
    if any("|" in name for name in (*machine.categories, *env.categories, *bench_names)):
        snames = _unique_names(snames, first, files, problems)  # only then can two series share a name
    del parts, first, suniq

    # contiguous series in commit order: every column is built in that order (no copy of the frame)
    sort_idx = np.lexsort((order, scodes))
    s = scodes[sort_idx]
    del scodes

    def from_codes(codes: np.ndarray, names: Sequence[str], sort_idx: np.ndarray) -> pd.Categorical:
        """Categorical of ``names[codes]`` in table order, categories sorted as pandas makes them."""
        return _sorted_categories(pa.array(list(names), type=pa.string()), codes[sort_idx])

    cols: dict[str, Any] = {
        "machine": machine.take(sort_idx),
        "commit": commit.take(sort_idx),
        "commit_date": pd.to_datetime(date_ms[sort_idx], unit="ms", utc=True),
        "commit_order": order[sort_idx],
        "env": env.take(sort_idx),
        "benchmark": pd.Categorical.from_codes(bench_codes[sort_idx], categories=pd.Index(bench_names)),
        "type": from_codes(bench_codes, type_of, sort_idx),
        "params": params_cat.take(sort_idx),
    }
    del machine, commit, date_ms, order, env, params_cat
    for name in list(param_values):
        cols[f"param_{name}"] = param_values.pop(name).take(sort_idx)
    cols["unit"] = from_codes(bench_codes, unit_of, sort_idx)
    del bench_codes
    for col in ("value", "ci_99_a", "ci_99_b", "q_25", "q_75", "number", "repeat"):
        cols[col] = raw.column(col).to_numpy()[sort_idx]
        raw = raw.drop_columns([col])
    cols["samples"] = pd.arrays.ArrowExtensionArray(raw.column("samples").take(pa.array(sort_idx)).cast(pa.list_(pa.float64())))
    cols["status"] = pd.Categorical.from_codes(raw.column("status").to_numpy()[sort_idx], categories=pd.Index(list(STATUSES)))
    v = vcodes[sort_idx]
    cols["version"] = pd.Categorical.from_codes(v, categories=pd.Index(vnames))
    cols["current_version"] = current[sort_idx]
    cols["series"] = categorical(s, string_index(snames))
    cols["started_at"] = pd.to_datetime(raw.column("started_at").to_numpy()[sort_idx], unit="ms", utc=True)
    cols["duration"] = raw.column("duration").to_numpy()[sort_idx]
    cols["file"] = files.take(sort_idx)
    del raw, vcodes, current, snames, files, sort_idx

    # version segments: +1 at every version change within a series
    same_series = np.r_[False, s[1:] == s[:-1]]
    disc = same_series & np.r_[False, v[1:] != v[:-1]] & np.r_[False, v[:-1] >= 0] & (v >= 0)
    cs = np.cumsum(disc)
    base = np.maximum.accumulate(np.where(~same_series, cs, 0))
    cols["version_segment"] = (cs - base).astype(np.int64)
    cols["discontinuity"] = disc
    del same_series, cs, base, s, v
    names = [c for c in RESULT_COLUMNS if c in cols]
    pcols = [c for c in cols if c.startswith("param_")]
    names = names[: names.index("params") + 1] + pcols + names[names.index("params") + 1 :]
    return pd.DataFrame({c: cols.pop(c) for c in names}, copy=False)
