"""Helper of ``scripts/gpu_run.sh``: the wheels the GPU machine needs, and packing what a run made.

The GPU machine (one NVIDIA H200, see docs/validation/gpu-h200.md) has Python 3.12 with torch, jax,
CuPy, numba, NumPy, SciPy, pandas, pyarrow and pytest, but no package registry and no
asv. What tensorscope's suite needs beyond that travels as wheels in ``.gpu-wheels/``.

Subcommands::

    python scripts/gpu_pack.py requirements              # the pinned wheels to fetch, one a line
    python scripts/gpu_pack.py check --wheels DIR        # every needed wheel there, once, installable on 3.12
    python scripts/gpu_pack.py show-provenance FILE      # GPU, driver, memory and CUDA versions from a probe
    python scripts/gpu_pack.py pack --logs DIR --results DIR --machine NAME --out DIR

``pack`` writes at most :data:`MAX_FILES` files of at most :data:`MAX_FILE_BYTES` each
into the output folder (the device tool brings back no more): ``summary.txt`` (each step's
outcome, the GPU, the test results, the result files), the provenance probe, the logs,
and ``results-<machine>.tar.gz`` (``results/<machine>/`` as asv wrote it, provenance
included, plus ``results/benchmarks.json``). It runs on the GPU machine, so it uses the
standard library only (``check`` also uses ``packaging``, present wherever pip is).
"""

from __future__ import annotations

import argparse
import io
import json
import math
import re
import sys
import tarfile
import zipfile
from collections import Counter, defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

#: Wheels the GPU machine lacks, pinned to the versions this project's .venv runs (one
#: version each: two of one name stop pip's install). asv imports importlib_metadata
#: (which needs lazy_importer), json5 and pympler; virtualenv (with distlib, platformdirs
#: and python-discovery) is asv's dependency although ``--python=same`` never builds an
#: environment; orjson speeds up reading result files.
WHEELS = {
    "asv": "0.6.6",
    "asv-runner": "0.3.2",
    "json5": "0.17.3",
    "importlib-metadata": "10.2.0",
    "lazy-importer": "0.1.0",
    "pympler": "1.1",
    "orjson": "3.13.0",
    "virtualenv": "21.15.13",
    "distlib": "0.4.4",
    "platformdirs": "4.14.9",
    "python-discovery": "1.9.7",
}

#: Wheels of the build backend, for pip's isolated build of tensorscope there (``pip install
#: -e .`` offline); not installed into the interpreter. Kept apart, in ``build/``.
BUILD_WHEELS = {"setuptools": "84.2.1"}

#: Distributions the GPU machine's image already has that the wheels above require (from
#: the workplace's list of that image's packages, read 2026-11-17). Their versions there
#: are not known here; only the names are checked.
ON_MACHINE = frozenset(
    {
        "build",
        "colorama",
        "filelock",
        "numpy",
        "packaging",
        "pandas",
        "pyarrow",
        "pyproject-hooks",
        "pytest",
        "pyyaml",
        "scipy",
        "tabulate",
        "threadpoolctl",
        "typing-extensions",
        "zipp",
    }
)

#: The GPU machine's interpreter and platform (Ubuntu 24.04: glibc 2.39).
TARGET_PYTHON = (3, 12)
TARGET_GLIBC = (2, 39)

#: What the device tool brings back from $OUT.
MAX_FILES = 8
MAX_FILE_BYTES = 16 * 2**20
#: Logs are cut to this (head and tail kept), leaving room under MAX_FILE_BYTES.
LOG_LIMIT_BYTES = 15 * 2**20
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]")

#: Files of the logs folder that come back on their own, in this order; the rest of
#: the folder goes into ``more-logs.tar.gz``.
PRIORITY = ("provenance.json", "targets.json", "setup.log", "probe.log", "tests.log", "bench.log")


def normalize(name: str) -> str:
    """A distribution name as PEP 503 compares them."""
    return re.sub(r"[-_.]+", "-", name).lower()


# ---------------------------------------------------------------------------
# wheels


def requirements(build: bool = False) -> list[str]:
    """``name==version`` for every wheel the GPU machine needs (``build``: the build backend's)."""
    return [f"{name}=={version}" for name, version in (BUILD_WHEELS if build else WHEELS).items()]


def _tag_fits(python_tag: str, abi_tag: str, platform_tag: str, target: tuple[int, int], glibc: tuple[int, int]) -> bool:
    """Whether a wheel's tags install on CPython ``target`` on x86-64 Linux with ``glibc``."""
    minor = target[1]

    def python_fits(tag: str) -> bool:
        match = re.fullmatch(r"(py|cp)3(\d*)", tag)
        if match is None:
            return False
        if not match[2]:  # py3
            return match[1] == "py"
        version = int(match[2])
        if match[1] == "py" or abi_tag == "abi3":  # py3N and cp3N-abi3 run on later Pythons
            return version <= minor
        return version == minor

    def platform_fits(tag: str) -> bool:
        if tag == "any":
            return True
        legacy = {"manylinux1_x86_64": (2, 5), "manylinux2010_x86_64": (2, 12), "manylinux2014_x86_64": (2, 17)}
        if tag in legacy:
            return legacy[tag] <= glibc
        match = re.fullmatch(r"manylinux_(\d+)_(\d+)_x86_64", tag)
        return match is not None and (int(match[1]), int(match[2])) <= glibc

    return (
        any(python_fits(t) for t in python_tag.split("."))
        and abi_tag in ("none", "abi3", f"cp3{minor}")
        and any(platform_fits(t) for t in platform_tag.split("."))
    )


def _wheel_parts(path: Path) -> tuple[str, str, str, str, str]:
    """(normalized name, version, python tag, abi tag, platform tag) of a wheel file name."""
    parts = path.name[: -len(".whl")].split("-")
    if len(parts) not in (5, 6):
        raise ValueError(f"{path.name}: not a wheel file name (name-version[-build]-python-abi-platform.whl)")
    return normalize(parts[0]), parts[1], parts[-3], parts[-2], parts[-1]


def _requires(path: Path) -> list[str]:
    """The Requires-Dist lines of a wheel's METADATA."""
    with zipfile.ZipFile(path) as archive:
        names = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        if not names:
            raise ValueError(f"{path.name}: no .dist-info/METADATA inside")
        text = archive.read(names[0]).decode("utf-8", "replace")
    return [line.partition(":")[2].strip() for line in text.splitlines() if line.startswith("Requires-Dist:")]


def check_wheels(folder: Path, target: tuple[int, int] = TARGET_PYTHON) -> list[str]:
    """Problems that would stop the wheels in ``folder`` from installing offline on the GPU machine.

    Checks that every wheel of :data:`WHEELS` is there (and of :data:`BUILD_WHEELS` in
    ``build/``), once, at its pinned version; that each wheel's tags fit CPython ``target``
    on x86-64 Linux; and that every requirement of every wheel (markers evaluated for
    ``target`` on Linux) is either carried beside it, at a version it accepts, or in
    :data:`ON_MACHINE`. Returns the problems (empty: ready).
    """
    if not folder.is_dir():
        return [f"{folder}: no such folder (run: bash scripts/gpu_run.sh --prepare)"]
    problems = _check_folder(folder, WHEELS, target)
    build = folder / "build"
    if not build.is_dir():
        problems.append(f"{build}: no such folder (the build backend's wheels; run: bash scripts/gpu_run.sh --prepare)")
    else:
        problems += _check_folder(build, BUILD_WHEELS, target)
    return problems


def _check_folder(folder: Path, pinned: dict[str, str], target: tuple[int, int]) -> list[str]:
    from packaging.requirements import Requirement

    problems: list[str] = []
    carried: dict[str, str] = {}
    files: dict[str, list[str]] = defaultdict(list)
    for path in sorted(folder.glob("*.whl")):
        try:
            name, version, py, abi, plat = _wheel_parts(path)
        except ValueError as exc:
            problems.append(str(exc))
            continue
        files[name].append(path.name)
        carried[name] = version
        if not _tag_fits(py, abi, plat, target, TARGET_GLIBC):
            problems.append(f"{path.name}: does not install on CPython {target[0]}.{target[1]} x86-64 Linux (tags {py}-{abi}-{plat})")
    for name, names in files.items():
        if len(names) > 1:
            problems.append(f"{name}: {len(names)} wheels ({', '.join(names)}); keep one version")
    for name, version in pinned.items():
        have = carried.get(normalize(name))
        if have is None:
            problems.append(f"{name}=={version}: wheel missing (run: bash scripts/gpu_run.sh --prepare)")
        elif have != version:
            problems.append(f"{name}: wheel is version {have}, pinned {version} (run: bash scripts/gpu_run.sh --prepare)")
    environment = {
        "python_version": f"{target[0]}.{target[1]}",
        "python_full_version": f"{target[0]}.{target[1]}.0",
        "sys_platform": "linux",
        "platform_system": "Linux",
        "platform_machine": "x86_64",
        "os_name": "posix",
        "platform_python_implementation": "CPython",
        "implementation_name": "cpython",
        "extra": "",
    }
    for path in sorted(folder.glob("*.whl")):
        try:
            owner = _wheel_parts(path)[0]
            lines = _requires(path)
        except (ValueError, zipfile.BadZipFile) as exc:
            problems.append(f"{path.name}: cannot read its metadata ({exc})")
            continue
        for line in lines:
            req = Requirement(line)
            if req.marker is not None and not req.marker.evaluate(environment):
                continue  # an extra, or another Python or platform
            name = normalize(req.name)
            if name in carried:
                if req.specifier and not req.specifier.contains(carried[name], prereleases=True):
                    problems.append(f"{owner} needs {req}, carried {name} is {carried[name]}")
            elif name not in ON_MACHINE:
                problems.append(f"{owner} needs {req}: neither carried nor on the GPU machine (add it to WHEELS)")
    return problems


# ---------------------------------------------------------------------------
# provenance summary


def provenance_lines(data: dict[str, Any]) -> list[str]:
    """GPU model, driver, memory and CUDA versions (and the frameworks') from a provenance probe."""
    lines = []
    gpus = data.get("gpus") or []
    if not gpus:
        lines.append("GPUs: none found (nvidia-smi absent or found no GPU)")
    for i, gpu in enumerate(gpus):
        memory = gpu.get("memory_total_mib")
        lines.append(
            f"GPU {i}: {gpu.get('name')}, driver {gpu.get('driver_version')}, {memory} MiB, compute capability {gpu.get('compute_capability')}"
        )
    cpu = data.get("cpu") or {}
    lines.append(f"CPU: {cpu.get('model')}, {cpu.get('logical_cores')} logical cores")
    libraries = data.get("libraries") or {}
    present = [f"{name} {version}" for name, version in libraries.items() if version]
    lines.append(f"libraries: {', '.join(present) or 'none found'}")
    keys = (
        "device_name",
        "cuda_version",
        "cudnn_version",
        "cuda_runtime_version",
        "cuda_driver_version",
        "cupy_distribution",
        "platform",
        "memory_total_bytes",
        "tf32_matmul",
        "tf32_conv",
        "error",
    )
    for name, info in sorted((data.get("backends") or {}).items()):
        fields = [f"{k}={info[k]}" for k in keys if info.get(k) not in (None, "")]
        lines.append(f"backend {name}: {', '.join(fields) or 'described'}")
    for section, message in sorted((data.get("errors") or {}).items()):
        lines.append(f"probe error in {section}: {message}")
    return lines


# ---------------------------------------------------------------------------
# summary of a run


def _read_steps(path: Path) -> list[dict[str, str]]:
    """Rows of the step table ``gpu_run.sh`` writes: name, status, seconds, log, detail (tab-separated)."""
    rows = []
    if path.is_file():
        for line in path.read_text(errors="replace").splitlines():
            name, status, seconds, log, detail = ([*line.split("\t"), "", "", "", "", ""])[:5]
            if name:
                rows.append({"name": name, "status": status, "seconds": seconds, "log": log, "detail": detail})
    return rows


def _backend_of(test_name: str) -> str:
    """The backend a conformance or GPU test ran on, from its parametrisation id."""
    match = re.search(r"\[([^\]]*)\]$", test_name)
    if not match:
        return "-"
    for part in re.split(r"[-\[\]]", match[1]):
        if part in ("torch:cuda", "jax:gpu", "cupy", "torch:cpu", "jax:cpu", "numpy", "numba", "python"):
            return part
    return "-"


def junit_lines(paths: Iterable[Path], max_listed: int = 60) -> list[str]:
    """Totals per backend, failed tests with their first message line, and skip reasons."""
    outcomes: dict[str, Counter[str]] = defaultdict(Counter)
    failed: list[str] = []
    skipped: Counter[str] = Counter()
    read_any = False
    for path in paths:
        try:
            root = ElementTree.parse(path).getroot()
        except (ElementTree.ParseError, OSError) as exc:
            failed.append(f"{path.name}: unreadable ({exc})")
            continue
        read_any = True
        for case in root.iter("testcase"):
            name = f"{case.get('classname', '')}::{case.get('name', '')}"
            backend = _backend_of(case.get("name", ""))
            problem = case.find("failure")
            if problem is None:
                problem = case.find("error")
            skip = case.find("skipped")
            if problem is not None:
                outcomes[backend]["failed"] += 1
                message = (problem.get("message") or problem.text or "").strip().splitlines()
                failed.append(f"{name}: {message[0][:300] if message else problem.tag}")
            elif skip is not None:
                outcomes[backend]["skipped"] += 1
                skipped[(skip.get("message") or "").strip()[:200]] += 1
            else:
                outcomes[backend]["passed"] += 1
    if not read_any:
        return ["no test report (the GPU tests did not run or did not finish)", *failed]
    lines = ["per backend: passed / failed / skipped"]
    for backend, counts in sorted(outcomes.items()):
        lines.append(f"  {backend}: {counts['passed']} / {counts['failed']} / {counts['skipped']}")
    if failed:
        lines.append(f"failed ({len(failed)}):")
        lines += [f"  {line}" for line in failed[:max_listed]]
        if len(failed) > max_listed:
            lines.append(f"  ... and {len(failed) - max_listed} more (tests.log)")
    if skipped:
        lines.append("skip reasons (count):")
        lines += [f"  {count} x {reason}" for reason, count in skipped.most_common(10)]
    return lines


def results_lines(machine_dir: Path) -> list[str]:
    """Each asv result file of the machine with its counts of measured, skipped and failed cells.

    asv stores a skipped cell (NotImplementedError in ``setup``) as NaN, and so too the cells
    a run's ``--bench`` patterns left out; a failed cell is null.
    """
    if not machine_dir.is_dir():
        return [f"{machine_dir}: no results"]
    lines = []
    for path in sorted(machine_dir.glob("*.json")):
        if path.name == "machine.json":
            continue
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            lines.append(f"{path.name}: unreadable ({exc})")
            continue
        counts: Counter[str] = Counter()
        for entry in (data.get("results") or {}).values():
            values = entry[0] if isinstance(entry, list) and entry else entry
            for value in values if isinstance(values, list) else [values]:
                if value is None:
                    counts["failed"] += 1
                elif isinstance(value, float) and math.isnan(value):
                    counts["skipped"] += 1
                else:
                    counts["measured"] += 1
        benchmarks = len(data.get("results") or {})
        lines.append(
            f"{path.name}: {benchmarks} benchmarks; cells {counts['measured']} measured, {counts['skipped']} skipped or not selected, {counts['failed']} failed"
        )
    provenance = sorted((machine_dir / "provenance").glob("*.json")) if (machine_dir / "provenance").is_dir() else []
    lines.append(f"provenance files: {len(provenance)}")
    return lines


def _tail(path: Path, lines: int = 30) -> list[str]:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return []
    return text.splitlines()[-lines:]


def targets_lines(path: Path) -> list[str]:
    """One line per target of ``measure_gpu_targets.py``'s JSON, and the copy roof it used."""
    if not path.is_file():
        return [f"no {path.name} (the targets step did not run: targets.log)"]
    try:
        data = json.loads(path.read_text())
    except ValueError as exc:
        return [f"{path.name} unreadable: {exc}"]
    roof = data.get("copy", {}).get("best")
    lines = [f"copy roof {roof / 1e12:.3f} TB/s (bytes read + written)" if roof else "no copy roof measured"]
    for t in data.get("targets", []):
        verdict = {True: "MET", False: "missed", None: "n/a"}[t.get("met")]
        value = "-" if t.get("value") is None else f"{t['value']:.3f}"
        bound = f"{'>=' if t.get('better') == 'higher' else '<='} {t.get('bound')}"
        lines.append(f"{verdict:<6} {t.get('target')}: {value} ({bound})")
    return lines


def summary_text(logs: Path, results: Path, machine: str) -> str:
    """The run's ``summary.txt``."""
    out: list[str] = []
    header = logs / "header.txt"
    if header.is_file():
        out += header.read_text(errors="replace").splitlines()
    out.append("")
    out.append("== steps")
    steps = _read_steps(logs / "steps.tsv")
    width = max([len(s["name"]) for s in steps] or [4])
    for step in steps:
        out.append(f"{step['name']:<{width}}  {step['status']:<9} {step['seconds']:>5} s  {step['detail']}")
    provenance = logs / "provenance.json"
    out.append("")
    out.append("== provenance probe")
    if provenance.is_file():
        try:
            out += provenance_lines(json.loads(provenance.read_text()))
        except ValueError as exc:
            out.append(f"provenance.json unreadable: {exc}")
    else:
        out.append("no provenance.json (the probe did not run or failed: probe.log)")
    out.append("")
    out.append("== issue 30 targets (numba:cuda; scripts/measure_gpu_targets.py)")
    out += targets_lines(logs / "targets.json")
    out.append("")
    out.append("== GPU tests and conformance (numba:cuda, torch:cuda, jax:gpu, cupy)")
    out += junit_lines(sorted(logs.glob("*junit*.xml")))
    out.append("")
    out.append(f"== results/{machine}")
    out += results_lines(results / machine)
    for step in steps:
        if step["status"] not in ("ok", "skipped"):
            log = logs / step["log"]
            if step["log"] and log.is_file():
                out.append("")
                out.append(f"== last lines of {log.name} ({step['name']}: {step['status']})")
                out += _tail(log)
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------
# packing


def _safe(name: str) -> str:
    return _SAFE_NAME.sub("_", name) or "unnamed"


def _copy_limited(source: Path, target: Path, limit: int = LOG_LIMIT_BYTES) -> None:
    """Copy ``source``; above ``limit`` bytes keep its first and last part with a note between."""
    size = source.stat().st_size
    if size <= limit:
        target.write_bytes(source.read_bytes())
        return
    head = limit // 16
    with source.open("rb") as f:
        first = f.read(head)
        f.seek(size - (limit - head - 200))
        last = f.read()
    note = f"\n\n[... {size - len(first) - len(last)} bytes cut by gpu_pack.py to stay under the device's 16 MiB per file ...]\n\n"
    target.write_bytes(first + note.encode() + last)


def _tar(target: Path, members: list[tuple[Path, str]]) -> None:
    with tarfile.open(target, "w:gz", compresslevel=9) as tar:
        for path, arcname in members:
            tar.add(path, arcname=arcname)


def pack(logs: Path, results: Path, machine: str, out: Path) -> list[Path]:
    """Write the run's files into ``out`` (at most MAX_FILES, each under MAX_FILE_BYTES); returns them."""
    out.mkdir(parents=True, exist_ok=True)
    for old in out.iterdir():  # a re-pack replaces the previous one
        if old.is_file():
            old.unlink()
    written: list[Path] = []
    summary = out / "summary.txt"
    summary.write_text(summary_text(logs, results, machine))
    written.append(summary)
    members = []
    machine_dir = results / machine
    if machine_dir.is_dir():
        members.append((machine_dir, f"results/{machine}"))
        if (results / "benchmarks.json").is_file():
            members.append((results / "benchmarks.json", "results/benchmarks.json"))
    if members:
        archive = out / f"results-{_safe(machine)}.tar.gz"
        _tar(archive, members)
        written.append(archive)
    candidates = [logs / name for name in PRIORITY if (logs / name).is_file()]
    candidates += sorted(p for p in logs.iterdir() if p.is_file() and p not in candidates and p.name not in ("steps.tsv", "header.txt"))
    room = MAX_FILES - len(written)
    alone, rest = (candidates[:room], []) if len(candidates) <= room else (candidates[: room - 1], candidates[room - 1 :])
    for path in alone:
        target = out / _safe(path.name)
        _copy_limited(path, target)
        written.append(target)
    if rest:
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=9) as tar:
            for path in rest:
                tar.add(path, arcname=path.name)
        target = out / "more-logs.tar.gz"
        target.write_bytes(buffer.getvalue())
        written.append(target)
    too_big = [p for p in written if p.stat().st_size > MAX_FILE_BYTES]
    if too_big:
        with summary.open("a") as f:
            f.write(f"\nWARNING: over the device's 16 MiB per file, will not come back: {', '.join(p.name for p in too_big)}\n")
    return written


# ---------------------------------------------------------------------------
# command line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="gpu_pack.py", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    reqs = sub.add_parser("requirements", help="print the pinned wheels the GPU machine needs")
    reqs.add_argument("--build", action="store_true", help="the build backend's wheels instead")
    check = sub.add_parser("check", help="check a wheels folder")
    check.add_argument("--wheels", type=Path, required=True)
    check.add_argument("--python-version", default="3.12", help="target interpreter (default 3.12)")
    show = sub.add_parser("show-provenance", help="print the GPU part of a provenance probe")
    show.add_argument("file", type=Path)
    pk = sub.add_parser("pack", help="pack a run's logs and results for the trip back")
    pk.add_argument("--logs", type=Path, required=True)
    pk.add_argument("--results", type=Path, required=True)
    pk.add_argument("--machine", required=True)
    pk.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    if args.command == "requirements":
        print("\n".join(requirements(args.build)))
        return 0
    if args.command == "check":
        major, _, minor = args.python_version.partition(".")
        if not (major.isdigit() and minor.isdigit()):
            parser.error(f"--python-version must look like 3.12, got {args.python_version!r}")
        problems = check_wheels(args.wheels, (int(major), int(minor)))
        for problem in problems:
            print(f"gpu_pack.py check: {problem}", file=sys.stderr)
        if not problems:
            total = sum(p.stat().st_size for p in args.wheels.rglob("*") if p.is_file())
            count = len(list(args.wheels.rglob("*.whl")))
            print(f"gpu_pack.py check: {count} wheels ready in {args.wheels} ({total / 2**20:.1f} MiB in the folder)")
        return 1 if problems else 0
    if args.command == "show-provenance":
        try:
            data = json.loads(args.file.read_text())
        except (OSError, ValueError) as exc:
            print(f"gpu_pack.py: cannot read {args.file}: {exc}", file=sys.stderr)
            return 1
        print("\n".join(provenance_lines(data)))
        return 0
    if not args.logs.is_dir():
        parser.error(f"--logs {args.logs}: no such folder")
    written = pack(args.logs, args.results, args.machine, args.out)
    print(f"gpu_pack.py: {len(written)} files in {args.out}: {', '.join(p.name for p in written)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
