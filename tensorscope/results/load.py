"""Loading an asv results directory into a :class:`~tensorscope.results.ResultSet` (see the package docstring)."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from . import cache as _cache
from .files import BadFile, FileEntry, read_json_file, scan_tree
from .model import (
    DEFAULT_UNITS,
    DEFAULT_MAX_FILE_BYTES,
    RESULT_COLUMNS,
    STATUSES,
    Problem,
    ResultSet,
    benchmark_type,
    empty_results,
    param_columns,
    plain_value,
)


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
                raise BadFile(f"expected a JSON object, found {type(data).__name__}")
            benchmarks = {k: v for k, v in data.items() if isinstance(v, dict)}
        except BadFile as exc:
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
            ranked = sorted((int(k), v) for k, v in r2h.items() if isinstance(v, str) and str(k).lstrip("-").isdigit())
            ref = {h: i for i, (_, h) in enumerate(ranked)}
            return ref, "index.json", f"index:{len(ref)}:{ranked[-1][1] if ranked else ''}"
        except BadFile as exc:
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
    entries: Sequence[FileEntry], metas: Mapping[int, dict[str, Any]], max_bytes: int, problems: list[Problem]
) -> pd.DataFrame:
    info: dict[str, dict[str, Any]] = {}
    for e in entries:
        machine = e.rel.split("/", 1)[0]
        try:
            if e.error:
                raise BadFile(e.error)
            data = read_json_file(e.path, max_bytes, e.st)
            if not isinstance(data, dict):
                raise BadFile(f"expected a JSON object, found {type(data).__name__}")
        except BadFile as exc:
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
    entries: Sequence[FileEntry], metas: Mapping[int, dict[str, Any]], max_bytes: int, problems: list[Problem]
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
                raise BadFile(e.error)
            data = read_json_file(e.path, max_bytes, e.st)
            if not isinstance(data, dict):
                raise BadFile(f"expected a JSON object, found {type(data).__name__}")
        except BadFile as exc:
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
        unit_of.append(unit if isinstance(unit, str) else DEFAULT_UNITS.get(btype, "unit"))
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
