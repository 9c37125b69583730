"""Hostile asv results directories (issue 16), each a small valid tree plus one mutation, built in the test.

``base_tree(root)`` writes the valid tree: benchmarks.json, machine ``box`` with machine.json and
BASE_COMMITS runs of two benchmarks (a 2x2 time grid and a track), flat values (no regression),
BASE_ROWS rows in all. Each :class:`Case` adds one hostile thing to such a tree and says which
problem line must name which file, and how many rows beyond the base must survive.
``all_cases(root)`` puts every case into one directory (the "all cases" directory).

Nothing large is left on disk: files whose size is the point are sparse (``truncate``), and grids
of millions of combinations are a few bytes of JSON.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from asv_builder import RESULT_COLUMNS, ResultsTree, commit_date, commit_hash

BENCH = "bench_ops.Ops.time_op"
TRACK = "bench_ops.track_rate"
GRID = [["'numpy'", "'python'"], ["10", "1000"]]
BASE_COMMITS = 10
LAST = BASE_COMMITS - 1  # hostile files are runs of the newest commit: nothing becomes stale
BASE_ROWS = BASE_COMMITS * 5
ENV = "virtualenv-py3.11"
# Control characters a terminal acts on: OSC retitle, clear screen, carriage return, line feed, C1 CSI
# (NUL has its own case: file names cannot hold it)
ANSI = "\x1b]0;pwned\x07\x1b[2J\r\n\x9b31m"
URL_NAME = "bench_ops.time_see https://evil.example/x and www.evil.example or a@evil.example"
CSV_NAMES = ("-2+3+cmd|' /C calc'!A0", " =1+1", "@SUM(1)", "\t=1", "+1")


def base_tree(root: Path) -> ResultsTree:
    """The valid tree every case starts from (BASE_ROWS rows, no regression)."""
    tree = ResultsTree(root)
    tree.add_benchmark(BENCH, params=GRID, param_names=["backend", "size"])
    tree.add_benchmark(TRACK, unit="GB/s")
    tree.add_machine("box", cpu="Xeon", arch="x86_64")
    for i in range(BASE_COMMITS):
        values = base_values(i)
        rows = {BENCH: measured(values[BENCH], i, GRID), TRACK: measured(values[TRACK], i)}
        write(root / base_file(i), result_doc(i, rows))
    return tree


def base_values(i: int) -> dict[str, list[float]]:
    """What the base tree's run of commit ``i`` measured (the grid in itertools.product order)."""
    jitter = 1 + 0.001 * (i % 2)
    return {BENCH: [1e-6 * jitter, 2e-6, 3e-6, 4e-6 * jitter], TRACK: [5.0 * jitter]}


def base_file(i: int) -> str:
    """The base tree's result file of commit ``i``, relative to the results directory."""
    return f"box/{commit_hash(i)[:8]}-{ENV}.json"


def measured(values: list[float], commit: int, params: list[list[str]] | None = None) -> list[Any]:
    """A row as asv writes it for a run of ``commit``: values, 99% CI (+-1%), quartiles, 5 samples each."""
    return [
        values,
        params or [],
        "v1",
        commit_date(commit),  # started_at: the run time, here the commit's date
        0.1,
        [v * 0.99 for v in values],
        [v * 1.01 for v in values],
        [v * 0.9975 for v in values],
        [v * 1.0025 for v in values],
        [1] * len(values),
        [5] * len(values),
        [[v * (1 + k / 400) for k in (-2, -1, 0, 1, 2)] for v in values],
    ]


def result_doc(commit: int, results: dict[str, list[Any]], **fields: Any) -> dict[str, Any]:
    """An asv result document (API version 2) with raw ``results`` rows (in RESULT_COLUMNS order)."""
    doc = {
        "commit_hash": commit_hash(commit),
        "env_name": ENV,
        "date": commit_date(commit),
        "params": {"machine": "box", "python": "3.11"},
        "python": "3.11",
        "requirements": {},
        "env_vars": {},
        "result_columns": RESULT_COLUMNS,
        "results": results,
        "durations": {},
        "version": 2,
    }
    doc.update(fields)
    return doc


def good_row(value: float = 7.0) -> list[Any]:
    """A one-combination row that always survives (one row in the table)."""
    return [[value], [], "v1", commit_date(LAST), 0.1]


def write(path: Path, content: str | bytes | dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, dict):
        content = json.dumps(content, allow_nan=True)
    path.write_bytes(content.encode("utf-8", "surrogatepass") if isinstance(content, str) else content)
    return path


@dataclass(frozen=True)
class Case:
    """One hostile mutation: ``build(root)`` adds it; ``path`` (relative to root) must be named by a
    problem line containing ``fragment`` (``path`` None: no problem, the names are only shown);
    ``extra_rows`` rows beyond the base survive; ``regression``: the case holds a regression in effect
    (the base holds none), so ``tensorscope report`` must exit 1, else 0."""

    name: str
    build: Callable[[Path], None]
    path: str | None
    fragment: str = ""
    extra_rows: int = 0
    regression: bool = False


def _file(name: str, doc: dict[str, Any] | str | bytes) -> Callable[[Path], None]:
    def build(root: Path) -> None:
        write(root / "box" / name, doc)

    return build


def _date_text(text: str, commit: int = LAST) -> str:
    """A good file of ``commit`` whose date is written as ``text``."""
    return json.dumps(_with_good({}, commit=commit)).replace(f'"date": {commit_date(commit)}', f'"date": {text}')


def _grid(dims: int, length: int) -> list[list[str]]:
    return [[str(k) for k in range(length)] for _ in range(dims)]


def _with_good(bad: dict[str, list[Any]], commit: int = LAST) -> dict[str, Any]:
    """A file of a new commit with one good benchmark (survives) and ``bad`` entries."""
    return result_doc(commit, {"bench_ops.extra.time_ok": good_row(), **bad})


def _deep_requirements(root: Path) -> None:
    # written as text: json.dumps itself refuses this depth
    text = json.dumps({**_with_good({}, commit=LAST), "requirements": {"numpy": "DEEP"}})
    write(root / "box" / "deep0001-env.json", text.replace('"DEEP"', "[" * 1000 + "]" * 1000))


def _symlink(rel: str, target: str | Callable[[Path], str]) -> Callable[[Path], None]:
    def build(root: Path) -> None:
        link = root / rel
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(target(root) if callable(target) else target)

    return build


def _outside_machine(root: Path) -> str:
    """A folder beside the results directory holding a valid machine's results (must not be read)."""
    other = root.parent / f"{root.name}-outside"
    tree = ResultsTree(other)
    tree.add_run("stranger", commit_hash(20), {"bench_ops.extra.time_ok": [9.0]}, date=commit_date(20))
    return str(other / "stranger")


def _outside_file(root: Path) -> str:
    path = root.parent / f"{root.name}-secret.json"
    write(path, result_doc(LAST, {"bench_ops.extra.time_ok": good_row(99.0)}))
    return str(path)


def _fifo(root: Path) -> None:
    os.mkfifo(root / "box" / "fifo0001-env.json")


def _sparse(root: Path) -> None:
    with open(root / "box" / "huge0001-env.json", "wb") as fh:
        fh.write(b"{")
        fh.truncate(300 * 2**20)  # sparse: no blocks written


def _many_benchmarks(root: Path) -> None:
    rows = ",".join(f'"b{i}.time_x":[[1.0]]' for i in range(50_001))
    cols = json.dumps(RESULT_COLUMNS)
    text = (
        f'{{"commit_hash":"{commit_hash(LAST)}","env_name":"{ENV}","date":{commit_date(LAST)},'
        f'"result_columns":{cols},"results":{{{rows}}},"version":2}}'
    )
    write(root / "box" / "many0001-env.json", text)


def _duplicate_key(root: Path) -> None:
    text = json.dumps(_with_good({}, commit=LAST))
    # the same key twice in one object: JSON leaves open which one counts
    text = text.replace('"commit_hash":', f'"commit_hash": "{commit_hash(14)}", "commit_hash":', 1)
    write(root / "box" / "dupkey01-env.json", text)


def _collide(root: Path) -> None:
    # series keys once were "machine|env|benchmark|params": these two would be the same key
    write(root / "m|x" / "aaaa0001-e.json", result_doc(LAST, {"bench_ops.extra.time_ok": good_row()}, env_name="e"))
    write(root / "m" / "aaaa0002-x|e.json", result_doc(LAST, {"bench_ops.extra.time_ok": good_row()}, env_name="x|e"))


STEP_COMMITS = BASE_COMMITS


def _stepping(root: Path, machine: str, bench: str, env: str) -> None:
    """STEP_COMMITS runs of ``bench`` (0.3% noise) that double half-way: a regression in effect."""
    spec = root / "benchmarks.json"  # declared current there, as asv does: only then is a series live
    specs = json.loads(spec.read_text(encoding="utf-8"))
    specs[bench] = {"name": bench, "params": [], "param_names": [], "type": "time", "unit": "seconds", "version": "v1"}
    write(spec, specs)
    for i in range(STEP_COMMITS):
        value = 1e-3 * (2.0 if i >= STEP_COMMITS // 2 else 1.0) * (1 + 0.003 * math.sin(i))
        write(root / machine / f"{commit_hash(i)[:8]}-{i}.json", result_doc(i, {bench: measured([value], i)}, env_name=env))


def _ansi(root: Path) -> None:
    _stepping(root, f"box{ANSI}", f"bench_{ANSI}.time_x", f"env{ANSI}")
    write(root / f"box{ANSI}" / f"bad{ANSI}.json", "not json")  # a problem line naming it


def _nul(root: Path) -> None:
    _stepping(root, "nul", "bench_nul\x00.time_x", "env\x00nul")


def _url(root: Path) -> None:
    _stepping(root, "box", URL_NAME, f"{ENV}-url")  # its own files: the base runs stay as they are


def _csv(root: Path) -> None:
    write(root / "box" / "csv00001-env.json", result_doc(LAST, {f"bench_csv.time_{i}": good_row() for i in range(len(CSV_NAMES))}))
    write(root / "box" / "csv00002-env.json", result_doc(LAST, {name: good_row() for name in CSV_NAMES}))


def _bad_bytes_folder(root: Path) -> None:
    # a machine folder whose name is not UTF-8: shown with the byte escaped, its runs read
    folder = os.fsdecode(os.fsencode(root) + b"/box\xff")
    write(Path(folder) / "byte0001-env.json", result_doc(LAST, {"bench_ops.extra.time_ok": good_row()}))


def _wide_machine(root: Path) -> None:
    write(root / "wide" / "machine.json", {"machine": "wide", "version": 1, **{f"k{i}": i for i in range(5000)}})


CASES: list[Case] = [
    Case(
        "grid_2_22_null",
        _file("grid0001-env.json", _with_good({"bench_ops.big.time_x": [None, _grid(22, 2), "v1"]})),
        "box/grid0001-env.json",
        "4,194,304 combinations would take this file over",
        extra_rows=1,
    ),
    Case(
        "grid_1e8_null",
        _file("grid0002-env.json", _with_good({"bench_ops.big.time_x": [None, _grid(4, 100), "v1"]}, commit=LAST)),
        "box/grid0002-env.json",
        "100,000,000 combinations",
        extra_rows=1,
    ),
    Case(
        "grid_33_dimensions",
        _file("grid0003-env.json", _with_good({"bench_ops.big.time_x": [[1.0], _grid(33, 1), "v1"]}, commit=LAST)),
        "box/grid0003-env.json",
        "33 dimensions",
        extra_rows=1,
    ),
    Case("huge_sparse_file", _sparse, "box/huge0001-env.json", "over the 256 MiB limit"),
    Case("too_many_benchmarks", _many_benchmarks, "box/many0001-env.json", "50,001 benchmarks"),
    Case("date_infinite", _file("date0001-env.json", _date_text("Infinity")), "box/date0001-env.json", "'date' inf ms"),
    Case("date_out_of_range", _file("date0002-env.json", _date_text("1e300")), "box/date0002-env.json", "not a time between the years"),
    Case("date_1e400", _file("date0003-env.json", _date_text("1e400")), "box/date0003-env.json", "'date'"),
    Case(
        "started_at_out_of_range",
        _file("date0004-env.json", _with_good({"bench_ops.bad.time_x": [[1.0], [], "v1", 10**20, 0.1]}, commit=LAST)),
        "box/date0004-env.json",
        "'started_at'",
        extra_rows=1,
    ),
    Case("int_5001_digits", _file("int00001-env.json", _date_text("1" + "0" * 5000)), "box/int00001-env.json", "4300 digits"),
    Case("deep_requirements", _deep_requirements, "box/deep0001-env.json", "nested more than 64 levels"),
    Case("deep_100k", _file("deep0002-env.json", "[" * 100_000 + "]" * 100_000), "box/deep0002-env.json", "nested"),
    Case("series_key_collision", _collide, None, extra_rows=2),
    Case("symlink_machine_parent", _symlink("evil_up", ".."), "evil_up", "outside the results directory"),
    Case("symlink_machine_root", _symlink("evil_root", "/"), "evil_root", "outside the results directory"),
    Case("symlink_machine_outside", _symlink("evil_out", _outside_machine), "evil_out", "outside the results directory"),
    Case("symlink_machine_loop_to_self", _symlink("evil_self", "."), "evil_self", "outside the results directory"),
    Case(
        "symlink_file_outside", _symlink("box/link0001-env.json", _outside_file), "box/link0001-env.json", "outside the results directory"
    ),
    Case("symlink_file_dev_zero", _symlink("box/zero0001-env.json", "/dev/zero"), "box/zero0001-env.json", "outside the results directory"),
    Case("symlink_file_passwd", _symlink("box/pass0001-env.json", "/etc/passwd"), "box/pass0001-env.json", "outside the results directory"),
    Case("fifo", _fifo, "box/fifo0001-env.json", "not a regular file"),
    Case("control_characters_in_names", _ansi, f"box{ANSI}/bad{ANSI}.json", "not valid JSON", STEP_COMMITS, regression=True),
    Case("nul_in_names", _nul, None, extra_rows=STEP_COMMITS, regression=True),
    Case("url_in_name", _url, None, extra_rows=STEP_COMMITS, regression=True),
    Case("csv_formula_names", _csv, None, extra_rows=2 * len(CSV_NAMES)),
    Case(
        "zero_and_negative_times",
        _file(
            "neg00001-env.json",
            _with_good({"bench_ops.neg.time_x": [[0.0, -1.0, 1e-6], [["1", "2", "3"]], "v1", commit_date(LAST)]}, commit=LAST),
        ),
        "box/neg00001-env.json",
        "2 of 3 timings are zero or negative",
        extra_rows=1 + 3,
    ),
    Case("duplicate_key", _duplicate_key, "box/dupkey01-env.json", "appears twice"),
    Case(
        "lone_surrogate",
        _file("surr0001-env.json", json.dumps(_with_good({"bench_\ud800.time_x": good_row()}))),
        "box/surr0001-env.json",
        "lone UTF-16 surrogate",
    ),
    Case("non_utf8_folder_name", _bad_bytes_folder, None, extra_rows=1),
    Case("wide_machine_json", _wide_machine, "wide/machine.json", "fields ignored"),
]
CASE_NAMES = [c.name for c in CASES]


def all_cases(root: Path) -> ResultsTree:
    """The base tree with every case in it (one directory)."""
    tree = base_tree(root)
    for case in CASES:
        case.build(root)
    return tree
