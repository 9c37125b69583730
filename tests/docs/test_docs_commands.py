"""The documentation's commands run, and its JSON reference matches what the commands print.

Every fenced block under a ``% doc-test: SANDBOX exit N`` comment in ``docs/**/*.md`` is run in a
sandbox: a ``bash`` block line by line (a trailing backslash joins lines), each command exiting N; a
``python`` block as one script, exiting N:

* ``results``: a directory holding ``results/``, a small asv results tree made here with one code
  regression in effect, one machine-wide environment shift, one unstable series, a runner group of
  three ephemeral machines and one unreadable file;
* ``toy-project``: a throwaway asv project (tests/remeasure/toy_project.py) whose tag ``v1`` and branch
  ``feature`` differ in the time of ``work(n)`` (twice as slow);
* ``checkout``: this repository, for commands that only read it (``--print-command``, ``--help``, reports
  on ``results/``); the derived-data cache goes to a temporary folder.

The tables of ``docs/reference/json-output.md`` (each under a ``% fields: NAME`` comment) must list
exactly the fields that ``report --format json`` (in effect and ``--all``) and ``compare --json`` write.
"""

from __future__ import annotations

import importlib.util
import json
import os
import random
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from asv_builder import ResultsTree, commit_date, commit_hash

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"
MARK = re.compile(r"^% doc-test: (?P<sandbox>[\w-]+) exit (?P<code>\d+)\s*$")
FIELDS = re.compile(r"^% fields: (?P<name>[\w.]+)\s*$")
CLASSES = ["bench_a.A.time_op", "bench_b.B.time_op", "bench_c.C.time_op", "bench_d.D.time_op"]


def doc_blocks() -> list[tuple[str, str, int, list[str]]]:
    """(page, sandbox, expected exit code, commands) of every marked block of the documentation."""
    found = []
    for page in sorted(DOCS.rglob("*.md")):
        if "_build" in page.parts:
            continue
        lines = page.read_text(encoding="utf-8").splitlines()
        for i, line in enumerate(lines):
            mark = MARK.match(line)
            if not mark:
                continue
            assert lines[i + 1].startswith("```"), f"{page}:{i + 1}: '% doc-test' must stand right above a fenced block"
            body = []
            for text in lines[i + 2 :]:
                if text.startswith("```"):
                    break
                body.append(text)
            if lines[i + 1].removeprefix("```").strip() == "python":
                script = "\n".join(body)  # one script: its lines build on each other
                commands = [f"python -c {shlex.quote(script)}"]
            else:
                commands = [c.strip() for c in "\n".join(body).replace("\\\n", " ").splitlines() if c.strip() and not c.startswith("#")]
            found.append((str(page.relative_to(DOCS)), mark["sandbox"], int(mark["code"]), commands))
    return found


BLOCKS = doc_blocks()


def _results_tree(root: Path) -> None:
    """A history of 16 daily runs on ``box``: bench_a's first cell 2x slower from commit 5 (in effect),
    bench_b's first cell switching between two levels (unstable), every series 1.3x from the run of
    commit 10 on (a machine-wide environment shift); plus three ephemeral runners of equal hardware
    (a runner group) and one file that is not JSON."""
    tree = ResultsTree(root)
    for name in CLASSES:
        tree.add_benchmark(name, params=[["'numpy'", "'python'"], ["100", "1000", "10000"]], param_names=["backend", "size"])
    tree.add_machine("box", cpu="Xeon", arch="x86_64")
    rng = random.Random(1)
    for i in range(16):
        results: dict[str, list[float | None] | None] = {}
        for k, name in enumerate(CLASSES):
            values: list[float | None] = []
            for j in range(6):
                value = 1e-3 * (1 + j) * (1.3 if i >= 10 else 1.0) * (1 + 0.004 * rng.gauss(0, 1))
                if k == 0 and j == 0 and i >= 5:
                    value *= 2.0
                if k == 1 and j == 0 and i % 3 == 0:
                    value *= 1.5
                values.append(value)
            results[name] = values
        tree.add_run("box", commit_hash(i), results, date=commit_date(i), started_at=commit_date(i) + 3_600_000)
    for n, runner in enumerate(("fv-az123-456", "fv-az234-567", "fv-az345-678")):
        tree.add_machine(runner, cpu="EPYC 7763", arch="x86_64", num_cpu="4", os="Linux", ram="16000000")
        for i in range(n * 5, n * 5 + 5):
            tree.add_run(runner, commit_hash(i), {CLASSES[2]: [1e-3 * (1 + j) * (1 + 0.004 * rng.gauss(0, 1)) for j in range(6)]},
                         date=commit_date(i), started_at=commit_date(i) + 7_200_000)  # fmt: skip
    (root / "box" / "0000000-broken.json").write_text("not json", encoding="utf-8")


def _toy_project(root: Path) -> None:
    spec = importlib.util.spec_from_file_location("toy_project", REPO / "tests" / "remeasure" / "toy_project.py")
    assert spec and spec.loader
    toy = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(toy)
    commits = toy.make_toy_project(root, [0.002] * 3 + [0.004] * 3)
    subprocess.run(["git", "-C", str(root), "tag", "v1", commits[2]], check=True)
    subprocess.run(["git", "-C", str(root), "branch", "feature", commits[3]], check=True)


@pytest.fixture(scope="module")
def sandboxes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    results = tmp_path_factory.mktemp("results-sandbox")
    _results_tree(results / "results")
    toy = tmp_path_factory.mktemp("toy") / "project"
    _toy_project(toy)
    return {"results": results, "toy-project": toy, "checkout": REPO}


READ_ONLY = {"checkout"}


def _run(command: str, cwd: Path, cache: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``command`` as a user types it, with this interpreter's environment first on PATH."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TENSORSCOPE_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["XDG_CACHE_HOME"] = str(cache or cwd / ".cache")  # the derived cache stays in the sandbox
    return subprocess.run(["bash", "-c", command], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_the_documentation_marks_commands_to_run() -> None:
    sandboxes = {sandbox for _, sandbox, _, _ in BLOCKS}
    assert {"results", "toy-project", "checkout"} <= sandboxes, BLOCKS
    assert all(commands for *_, commands in BLOCKS)


def _pages() -> dict[str, list[tuple[str, int, list[str]]]]:
    """page -> its blocks in page order: (sandbox, exit code, commands)."""
    pages: dict[str, list[tuple[str, int, list[str]]]] = {}
    for page, sandbox, code, commands in BLOCKS:
        pages.setdefault(page, []).append((sandbox, code, commands))
    return pages


PAGES = _pages()


# One test per page, its blocks in page order: they build on each other (ingest, then report from the
# store), so a block alone, or on another pytest-xdist worker's sandbox, would not say what the page says.
@pytest.mark.slow
@pytest.mark.parametrize("page", list(PAGES))
def test_documented_command_runs(page: str, sandboxes: dict[str, Path], tmp_path: Path) -> None:
    for sandbox, code, commands in PAGES[page]:
        for command in commands:
            done = _run(command, sandboxes[sandbox], tmp_path / "cache" if sandbox in READ_ONLY else None)
            assert done.returncode == code, (
                f"{page}: `{command}` exited {done.returncode}, the page says {code}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
            )
            if not command.startswith("python -c "):  # a script's lines are expressions, shown, not printed
                assert done.stdout.strip(), f"{page}: `{command}` printed nothing"
            assert "Traceback" not in done.stderr, done.stderr


def documented_fields() -> dict[str, set[str]]:
    """``% fields: NAME`` -> the field names of the table below it (`a`, `b` in one cell are two fields)."""
    lines = (DOCS / "reference" / "json-output.md").read_text(encoding="utf-8").splitlines()
    tables: dict[str, set[str]] = {}
    for i, line in enumerate(lines):
        mark = FIELDS.match(line)
        if not mark:
            continue
        names: set[str] = set()
        for row in lines[i + 3 :]:  # past the header and its rule
            if not row.startswith("|"):
                break
            names |= set(re.findall(r"`([a-z_]+)`", row.split("|")[1]))
        tables[mark["name"]] = names
    return tables


def _keys(rows: list[dict[str, Any]]) -> set[str]:
    return set().union(*(row.keys() for row in rows)) if rows else set()


@pytest.mark.slow
def test_report_json_fields_are_the_documented_ones(sandboxes: dict[str, Path]) -> None:
    documented = documented_fields()
    docs = []
    for extra in ("", " --all"):
        done = _run(f"tensorscope report results --format json{extra}", sandboxes["results"])
        assert done.returncode == 1, done.stderr  # the regression in effect
        docs.append(json.loads(done.stdout))
    effect, history = docs
    # the tree holds every kind of row, so no documented field can hide behind an empty list
    for key in ("regressions", "environment_shifts", "unstable", "runner_groups", "problems"):
        assert effect[key], f"the sandbox's report has no {key}"
    assert set(effect) == set(history) == documented["report"]
    assert _keys(effect["regressions"]) | _keys(history["regressions"]) == documented["report.regressions"]
    assert _keys(effect["environment_shifts"]) == documented["report.environment_shifts"]
    assert _keys(effect["unstable"]) == documented["report.unstable"]
    assert _keys(effect["runner_groups"]) == documented["report.runner_groups"]
    assert _keys(effect["problems"]) == documented["report.problems"]


@pytest.mark.slow
def test_compare_outputs_match_the_page(sandboxes: dict[str, Path]) -> None:
    """The gate-pull-requests page's toy comparison (run by test_documented_command_runs, or here) wrote
    the Markdown the page shows and the JSON that json-output.md documents."""
    toy = sandboxes["toy-project"]
    if not (toy / "compare.json").exists():
        # the gate page's block (other pages run their own toy-project blocks, e.g. bisect)
        [(_, _, _, commands)] = [b for b in BLOCKS if b[1] == "toy-project" and b[0] == "how-to/gate-pull-requests.md"]
        for command in commands:
            _run(command, toy)
    page = (DOCS / "how-to" / "gate-pull-requests.md").read_text(encoding="utf-8")
    markdown = (toy / "compare.md").read_text(encoding="utf-8")
    shown = page.split("````markdown\n", 1)[1].split("````", 1)[0]
    # the same headline, verdicts and table layout (times and conditions differ from run to run)
    assert markdown.splitlines()[0] == shown.splitlines()[0] == "### tensorscope compare: a slowdown beyond the threshold"
    for line in shown.splitlines():
        if line.startswith("| ") and "`bench_toy" in line:
            verdict, cell = line.split("|")[1].strip(), line.split("|")[2].strip()
            assert any(
                row.split("|")[1].strip() == verdict and row.split("|")[2].strip() == cell
                for row in markdown.splitlines()
                if row.startswith("| ")
            )
    documented = documented_fields()
    doc = json.loads((toy / "compare.json").read_text(encoding="utf-8"))
    assert set(doc) == documented["compare"]
    assert set(doc["a"]) == set(doc["b"]) == documented["compare.a"]
    assert _keys(doc["cells"]) == documented["compare.cells"]
    assert _keys([look for cell in doc["cells"] for look in cell["looks"]]) == documented["compare.cells.looks"]
    assert set(doc["summary"]) == {"slower", "faster", "undecided", "failed", "skipped", "same"}


def test_readme_stays_short_and_its_links_resolve() -> None:
    """The README is not part of the Sphinx build, so its links are checked here: each relative link
    names a file of the checkout (the docs pages, the screenshot)."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 200
    links = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", readme)
    local = [link for link in links if "://" not in link]
    assert local, "the README links into the docs"
    missing = [link for link in local if not (REPO / link).exists()]
    assert not missing, missing
