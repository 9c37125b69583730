"""Drive asv: install two commits side by side and time one cell in one fresh process.

Works for any asv project (``asv.conf.json``); everything goes through asv's own API:
``asv.config.Config``, ``asv.environment.get_environments`` (the configured matrix),
``Environment.install_project`` (asv's build, its build cache and its install commands),
and asv's benchmark runner script (``asv.runner.BENCHMARK_RUN_SCRIPT``, which hands over to
``asv_runner``) for discovery, ``setup_cache`` and each measurement, as ``asv run`` does.

Two commits must be installed at the same time to interleave them, so a :class:`Project` has
two *slots*: slot 0 is the configured ``env_dir`` (the environment ``asv run`` uses, with its
build cache), slot 1 a second copy of it under ``<env_dir>-tensorscope`` (built once, then
kept: asv reinstalls only when the commit changes). A slot keeps whatever it installed, so a
bisection reinstalls one commit per step.

``python=PATH`` instead measures an existing interpreter (no package registry needed, e.g. a
GPU box): each commit's source tree is checked out (asv's ``repo.checkout``) and put first on
the path (``ASV_PYTHONPATH``), which suits projects that run from their source tree (pure
Python); nothing is built.

Each measurement is one new interpreter (never a fork of a process that has imported the
suite): :mod:`._child` applies the :class:`~.conditions.Controls`, then runs asv's runner
``run`` command for the one cell; the value is asv's (``asv_runner.statistics.compute_stats``,
the median of the process's samples). :meth:`Project.pair_function` schedules a pair's two
processes (:data:`MODES`: lockstep, sequential or duet).
"""

from __future__ import annotations

import concurrent.futures
import copy
import datetime as dt
import itertools
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .conditions import Controls, duet_cpus
from .model import Cell, Measurement

__all__ = ["CHILD", "MODES", "Project", "ProjectError", "Slot"]

#: How the two sides of a pair are scheduled (``compare --schedule``); the first is the default.
MODES = ("lockstep", "sequential", "duet")

CHILD = str(Path(__file__).with_name("_child.py"))


class ProjectError(Exception):
    """A usage problem with the asv project (no configuration, unknown commit, no such environment, ...)."""


class Slot:
    """One environment that holds one installed commit at a time."""

    def __init__(self, index: int, conf: Any, repo: Any, env: Any, source_dir: Path | None = None) -> None:
        self.index = index
        self.conf = conf
        self.repo = repo
        self.env = env
        self.source_dir = source_dir
        """existing-interpreter mode: where this slot's commit is checked out."""
        self.commit: str | None = None

    @property
    def env_name(self) -> str:
        return str(self.env.name)

    def install(self, commit: str) -> float:
        """Install ``commit`` (asv skips it when already installed); returns the seconds it took."""
        if commit == self.commit:
            return 0.0
        from asv import util

        t0 = time.perf_counter()
        self.commit = None
        try:
            if self.source_dir is not None:
                self.repo.checkout(str(self.source_dir), commit)
            else:
                self.env.create()
                self.env.install_project(self.conf, self.repo, commit)
        except (util.UserError, util.ProcessError) as exc:
            raise ProjectError(f"installing {commit[:8]} into {self.env_name} failed: {exc}") from exc
        self.commit = commit
        return time.perf_counter() - t0

    def variables(self) -> dict[str, str]:
        """Environment variables of a process in this slot (asv's matrix variables; the source tree in existing mode)."""
        out = {str(k): str(v) for k, v in self.env.env_vars.items()}
        if self.source_dir is not None:
            sub = getattr(self.conf, "repo_subdir", "") or ""
            out["ASV_PYTHONPATH"] = str(self.source_dir / sub)
            out["ASV_COMMIT"] = self.commit or ""
        return out

    def run(self, args: list[str], *, cwd: str, timeout: float | None, env: dict[str, str]) -> tuple[str, int]:
        """Run the slot's interpreter with ``args``; returns (output, exit status), never raises for a failure."""
        out, _err, code = self.env.run(
            args,
            cwd=cwd,
            env=env,
            timeout=timeout,
            valid_return_codes=None,
            return_stderr=True,
            redirect_stderr=True,
            dots=False,
            display_error=False,
        )
        return str(out), int(code)


class Project:
    """An asv project ready for A/B measurement (use as a context manager: it works from the configuration's folder)."""

    def __init__(
        self,
        config: str | os.PathLike[str] = "asv.conf.json",
        *,
        environment: str | None = None,
        python: str | None = None,
        controls: Controls | None = None,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        path = Path(config)
        if not path.is_file():
            raise ProjectError(f"no asv configuration at {path} (run from the project's root or pass --config)")
        self.config_path = path.resolve()
        self.root = self.config_path.parent
        self.environment_name = environment
        self.python = python
        self.controls = controls or Controls()
        self.extra_env = dict(extra_env or {})
        self._old_cwd: str | None = None
        self._tmp: str | None = None
        self._setup_caches: dict[tuple[int, str, str], str] = {}
        self.slots: list[Slot] = []
        self.conf: Any = None
        self.repo: Any = None
        self.benchmarks: dict[str, dict[str, Any]] = {}
        self._found: list[dict[str, Any]] | None = None

    # -- lifetime -----------------------------------------------------------------

    def __enter__(self) -> Project:
        from asv.config import Config
        from asv.repo import get_repo

        self._old_cwd = os.getcwd()
        # asv resolves the configuration's relative paths (and pyproject.toml) from the working directory
        os.chdir(self.root)
        try:
            self.conf = Config.load(str(self.config_path))
            self.repo = get_repo(self.conf)
            if self.repo is None:
                raise ProjectError(f"{self.config_path} names no repository ('repo')")
            self.repo.pull()
            self._tmp = tempfile.mkdtemp(prefix="tensorscope-remeasure-")
            self.slots = [self._make_slot(0), self._make_slot(1)]
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None
        self._setup_caches.clear()
        if self._old_cwd is not None:
            os.chdir(self._old_cwd)
            self._old_cwd = None

    def _make_slot(self, index: int) -> Slot:
        from asv import environment, util

        conf = self.conf
        if self.python is not None:
            envs = list(environment.get_environments(conf, [f"existing:{self.python}"], verbose=False))
            if not envs:
                raise ProjectError(f"cannot use the interpreter {self.python!r} (not found, or it does not run)")
            assert self._tmp is not None
            return Slot(index, conf, self.repo, envs[0], source_dir=Path(self._tmp) / f"source-{index}")
        if index == 1:
            conf = copy.copy(conf)
            conf.env_dir = f"{str(conf.env_dir).rstrip('/')}-tensorscope"
        try:
            envs = list(environment.get_environments(conf, None, verbose=False))
        except util.UserError as exc:
            raise ProjectError(str(exc)) from exc
        if not envs:
            raise ProjectError(f"{self.config_path}: its environment matrix yields no environment")
        if self.environment_name is None:
            return Slot(index, conf, self.repo, envs[0])
        for env in envs:
            if env.name == self.environment_name:
                return Slot(index, conf, self.repo, env)
        names = ", ".join(e.name for e in envs)
        raise ProjectError(f"no asv environment named {self.environment_name!r} in {self.config_path}; there are: {names}")

    # -- commits ----------------------------------------------------------------------

    def resolve(self, name: str) -> str:
        """Full hash of a commit name (branch, tag, hash prefix, ``HEAD~3``)."""
        from asv.repo import NoSuchNameError

        try:
            return str(self.repo.get_hash_from_name(name))
        except NoSuchNameError as exc:
            raise ProjectError(f"{name!r} is not a commit of {self.conf.repo}") from exc

    @property
    def repo_path(self) -> Path | None:
        """The local git repository (asv's mirror of a remote one); None for other version control."""
        path = getattr(self.repo, "_path", None)
        return Path(path) if path and getattr(self.repo, "dvcs", None) == "git" else None

    def subject(self, commit: str) -> str:
        """First line of the commit's message ('' when the repository is not git or cannot say)."""
        path = self.repo_path
        if path is None:
            return ""
        out = subprocess.run(["git", "-C", str(path), "log", "-1", "--format=%s", commit], capture_output=True, text=True, check=False)
        return out.stdout.strip() if out.returncode == 0 else ""

    def commit_date(self, commit: str) -> int:
        """asv's date of a commit (ms since the epoch)."""
        return int(self.repo.get_date(commit))

    def commits_between(self, good: str, bad: str) -> list[str]:
        """``good``, then every first-parent commit after it up to ``bad``, oldest first."""
        spec = self.repo.get_range_spec(good, bad)
        newer = list(self.repo.get_hashes_from_range(spec))
        if not newer:
            raise ProjectError(f"no commits between {good[:8]} and {bad[:8]}: is {bad[:8]} a descendant of {good[:8]}?")
        return [good, *reversed(newer)]

    @property
    def results_dir(self) -> Path:
        return (self.root / str(self.conf.results_dir)).resolve()

    @property
    def env_name(self) -> str:
        return self.slots[0].env_name

    def install(self, a: str, b: str) -> tuple[Slot, Slot, float]:
        """Slots holding ``a`` and ``b`` (reusing what a slot already holds); also the install seconds."""
        s0, s1 = self.slots
        if s0.commit == b or s1.commit == a:
            s0, s1 = s1, s0
        seconds = 0.0
        for slot, commit in ((s0, a), (s1, b)):
            if slot.commit != commit:
                print(f"tensorscope: installing {commit[:8]} into {slot.env_name} (slot {slot.index})", file=sys.stderr, flush=True)
            seconds += slot.install(commit)
        return s0, s1, seconds

    # -- benchmarks ---------------------------------------------------------------------

    def discover(self, slot: Slot, patterns: Sequence[str] = ()) -> list[Cell]:
        """The cells of the suite (the working tree's ``benchmark_dir``, as asv uses) matching ``patterns``.

        Patterns are asv's ``--bench`` regular expressions, matched against ``name`` and, for a
        parameterized benchmark, ``name(param, ...)``.
        """
        from asv.benchmarks import Benchmarks

        from tensorscope.analysis.regressions import DEFAULT_DIRECTION

        if self._found is None:
            self._found = self._discover(slot)
        found = self._found
        selected = Benchmarks(self.conf, found, regex=list(patterns) or None)
        self.benchmarks = {b["name"]: b for b in found}

        cells: list[Cell] = []
        for name in sorted(selected):
            bench = selected[name]
            unit, btype = str(bench.get("unit") or "seconds"), str(bench.get("type") or "time")
            better = DEFAULT_DIRECTION(name, unit, btype)
            if not bench["params"]:
                cells.append(Cell(name, unit=unit, type=btype, better=better))
                continue
            chosen = set(selected.benchmark_selection.get(name) or [])
            names = tuple(bench.get("param_names") or ())
            for index, combo in enumerate(itertools.product(*bench["params"])):
                if index in chosen:
                    cells.append(Cell(name, index, tuple(combo), names, unit, btype, better))
        return cells

    def _discover(self, slot: Slot) -> list[dict[str, Any]]:
        """asv's discovery of the suite in ``slot``'s environment (once per project: the suite is the working tree's)."""
        from asv.runner import BENCHMARK_RUN_SCRIPT

        assert self._tmp is not None
        out_dir = tempfile.mkdtemp(dir=self._tmp)
        result_file = os.path.join(out_dir, "benchmarks.json")
        out, code = slot.run(
            [BENCHMARK_RUN_SCRIPT, "discover", self.benchmark_dir, result_file],
            cwd=out_dir,
            timeout=600,
            env=self._variables(slot),
        )
        try:
            found = json.loads(Path(result_file).read_text())
        except (OSError, ValueError):
            raise ProjectError(f"importing the benchmark suite failed (exit status {code}):\n{out.strip()[-2000:]}") from None
        if not isinstance(found, list):
            raise ProjectError(f"asv's discovery wrote {type(found).__name__}, not a list of benchmarks")
        return found

    @property
    def benchmark_dir(self) -> str:
        return str((self.root / str(self.conf.benchmark_dir)).resolve())

    # -- measuring ----------------------------------------------------------------------

    def _variables(self, slot: Slot) -> dict[str, str]:
        env = dict(os.environ)
        env.update(slot.variables())
        env.update(self.controls.environment())
        env.update(self.extra_env)
        return env

    def _timeout(self, cell: Cell) -> float:
        bench = self.benchmarks.get(cell.benchmark, {})
        return float(bench.get("timeout") or self.conf.default_benchmark_timeout or 60)

    def _setup_cache(self, slot: Slot, cell: Cell) -> tuple[str | None, str]:
        """The folder holding the cell's ``setup_cache`` result for this slot's commit (made once); or the error."""
        from asv.runner import BENCHMARK_RUN_SCRIPT

        key = self.benchmarks.get(cell.benchmark, {}).get("setup_cache_key")
        if key is None:
            return None, ""
        cache_key = (slot.index, slot.commit or "", str(key))
        if cache_key in self._setup_caches:
            return self._setup_caches[cache_key], ""
        assert self._tmp is not None
        folder = tempfile.mkdtemp(prefix="setup-cache-", dir=self._tmp)
        timeout = float(self.benchmarks.get(cell.benchmark, {}).get("setup_cache_timeout") or self._timeout(cell))
        out, code = slot.run(
            [
                CHILD,
                json.dumps(self.controls.child_arguments()),
                BENCHMARK_RUN_SCRIPT,
                "setup_cache",
                self.benchmark_dir,
                cell.benchmark,
                "{}",
            ],
            cwd=folder,
            timeout=timeout,
            env=self._variables(slot),
        )
        if code != 0:
            return None, f"setup_cache failed (exit status {code}): {out.strip()[-1000:]}"
        self._setup_caches[cache_key] = folder
        return folder, ""

    def measure(self, slot: Slot, cell: Cell, cpus: tuple[int, ...] | None = None, lockstep: tuple[str, str] | None = None) -> Measurement:
        """Time ``cell`` once in a fresh process of ``slot``'s environment (``lockstep``: the broker's address and this side)."""
        from asv.runner import BENCHMARK_RUN_SCRIPT
        from asv_runner.statistics import compute_stats

        pinned = cpus if cpus is not None else self.controls.cpus
        cache_dir, problem = self._setup_cache(slot, cell)
        started = dt.datetime.now(dt.UTC)
        if problem:
            return Measurement("failed", started_at=started, output=problem, cpus=pinned)
        assert self._tmp is not None
        work = tempfile.mkdtemp(prefix="run-", dir=self._tmp)
        result_file = os.path.join(work, "result.json")
        child = self.controls.child_arguments(pinned)
        timeout = self._timeout(cell)
        if lockstep is not None:
            child.update(lockstep=lockstep[0], side=lockstep[1])
            timeout *= 2  # it waits while the other side runs
        args = [
            CHILD,
            json.dumps(child),
            BENCHMARK_RUN_SCRIPT,
            "run",
            self.benchmark_dir,
            cell.runner_name,
            "{}",
            "None",
            result_file,
        ]
        t0 = time.perf_counter()
        try:
            out, code = slot.run(args, cwd=cache_dir or work, timeout=timeout, env=self._variables(slot))
            seconds = time.perf_counter() - t0
            if code != 0:
                return Measurement("failed", started_at=started, seconds=seconds, cpus=pinned, output=f"exit status {code}\n{out}")
            try:
                data = json.loads(Path(result_file).read_text())
            except (OSError, ValueError) as exc:
                return Measurement("failed", started_at=started, seconds=seconds, cpus=pinned, output=f"unreadable result: {exc}\n{out}")
        finally:
            shutil.rmtree(work, ignore_errors=True)
        if isinstance(data, dict) and "samples" in data and "number" in data:
            samples = [float(x) for x in data["samples"]]
            value, _stats = compute_stats(samples, data["number"])
            number = int(data["number"]) if data["number"] is not None else None
            return Measurement("ok", float(value), samples, number, started, seconds, pinned, out)
        if data is None:
            return Measurement("failed", started_at=started, seconds=seconds, cpus=pinned, output=f"no result\n{out}")
        value = float(data)
        status = "skipped" if math.isnan(value) else "ok"
        return Measurement(status, value, None, None, started, seconds, pinned, out)

    def pair_function(self, slot_a: Slot, slot_b: Slot, *, mode: str = "lockstep") -> Any:
        """``pair(cell, order) -> (a, b)`` for a schedule (:data:`MODES`).

        ``lockstep``: A and B run at once but take turns, one sample each, on the same CPU
        (:mod:`.lockstep`); ``sequential``: one process after the other,
        in ``order``; ``duet``: both at once, pinned to two different cores.
        """
        if mode not in MODES:
            raise ValueError(f"unknown schedule {mode!r}; one of {', '.join(MODES)}")
        if mode == "sequential":

            def sequential(cell: Cell, order: str) -> tuple[Measurement, Measurement]:
                got = {side: self.measure(slot_a if side == "A" else slot_b, cell) for side in order}
                return got["A"], got["B"]

            return sequential

        if mode == "lockstep":
            allowed = self.controls.cpus or tuple(sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else ())
            cpus = list(allowed or (0,))
            rounds = itertools.count()

            def in_turns(cell: Cell, order: str) -> tuple[Measurement, Measurement]:
                from .lockstep import Broker

                self._setup_cache(slot_a, cell)
                self._setup_cache(slot_b, cell)
                # one CPU for both sides of a pair; successive pairs move through the CPUs
                cpu = cpus[next(rounds) % len(cpus)]
                with Broker(order, cpu, folder=self._tmp) as broker, concurrent.futures.ThreadPoolExecutor(2) as pool:
                    fa = pool.submit(self.measure, slot_a, cell, None, (broker.address, "A"))
                    fb = pool.submit(self.measure, slot_b, cell, None, (broker.address, "B"))
                    futures = {"A": fa, "B": fb}
                    broker.run(lambda side: futures[side].done())
                    a, b = fa.result(), fb.result()
                a.rounds = broker.rounds_of("A", a.samples)
                b.rounds = broker.rounds_of("B", b.samples)
                return a, b

            return in_turns

        first, second = duet_cpus()

        def together(cell: Cell, order: str) -> tuple[Measurement, Measurement]:
            # the order decides which side gets which core, so a faster core favours neither side
            cpu_a, cpu_b = (first, second) if order == "AB" else (second, first)
            # setup_cache runs before the pair starts, so the two timed processes overlap
            self._setup_cache(slot_a, cell)
            self._setup_cache(slot_b, cell)
            with concurrent.futures.ThreadPoolExecutor(2) as pool:
                fa = pool.submit(self.measure, slot_a, cell, (cpu_a,))
                fb = pool.submit(self.measure, slot_b, cell, (cpu_b,))
                return fa.result(), fb.result()

        return together
