"""``tensorscope run``: run the asv suite on this machine, with provenance.

What it does, in order:

1. registers the machine with asv (``asv machine --yes``) with its details filled in
   from :mod:`backends.provenance` (CPU model and SIMD flags, cores, memory, OS);
2. runs ``asv run`` for the chosen profile (``TENSORSCOPE_PROFILE``), commits and
   SIMD settings, streaming asv's own output; every benchmarked (commit, environment)
   gets ``results/<machine>/provenance/<commit>-<env>.json`` (written by the suite);
3. returns asv's exit status.

Environments: by default asv builds one virtualenv per commit from the package
registry; the SIMD setting is asv's ``env_nobuild`` matrix variable
``TENSORSCOPE_SIMD`` (environment names end in ``-TENSORSCOPE_SIMDon`` / ``...off``).
``--existing`` (or ``--python PATH``) benchmarks an interpreter that already has
tensorscope installed (a machine without registry access, e.g. a GPU box): asv then
ignores the matrix, so ``--simd off`` runs through a small wrapper interpreter,
``.asv/simd-off/<name>/bin/python``, that sets ``TENSORSCOPE_SIMD=off``; its path, and
so the asv environment name, says ``simd-off``.

Plain asv commands keep working (``asv run``, ``asv run --python=same``,
``asv publish``, ``asv compare``); this command only chooses their arguments.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

__all__ = ["add_arguments", "asv_command", "main"]

PROFILES = ("quick", "full")
SIMD_SETTINGS = ("on", "off")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``tensorscope run``."""
    parser.add_argument("range", nargs="?", default=None, help="commit or range, as asv takes it (default: HEAD only, 'HEAD^!')")
    parser.add_argument("--profile", choices=PROFILES, default="quick", help="benchmark grid (default: quick)")
    parser.add_argument("--simd", choices=("on", "off", "both"), default="on", help="SIMD setting(s) to run (default: on)")
    env = parser.add_mutually_exclusive_group()
    env.add_argument("--existing", action="store_true", help="benchmark this interpreter as installed, no env builds (asv --python=same)")
    env.add_argument("--python", default=None, help="benchmark this existing interpreter ('same': this one); implies --existing")
    parser.add_argument("--machine", default=None, help="asv machine name (default: this host's name)")
    parser.add_argument("--config", default="asv.conf.json", help="asv configuration file (default: ./asv.conf.json)")
    parser.add_argument("-b", "--bench", action="append", default=[], help="only benchmarks matching this regex (repeatable)")
    parser.add_argument("--dry-run", action="store_true", help="run, but do not save results (asv --dry-run)")
    parser.add_argument("--no-samples", action="store_true", help="do not store raw samples (the CV report needs them)")
    parser.add_argument("--print-command", action="store_true", help="print the asv commands and exit")
    parser.add_argument("asv_args", nargs=argparse.REMAINDER, help="after '--': extra arguments for asv run")


# ---------------------------------------------------------------------------
# machine registration


def machine_details(name: str | None = None) -> dict[str, str]:
    """asv machine fields, filled in from the provenance probe (no framework imported)."""
    from backends import provenance

    data = provenance.probe(with_backends=False)
    cpu = data.get("cpu") or {}
    simd = [f for f in cpu.get("flags") or [] if f.startswith(("avx", "sve", "neon", "asimd", "amx"))]
    model = cpu.get("model") or platform.processor() or "unknown"
    cpu_text = model + (f" ({' '.join(simd)})" if simd else "")
    total = (data.get("memory") or {}).get("total_bytes")
    return {
        "machine": name or socket.gethostname(),
        "os": f"{platform.system()} {platform.release()}",
        "arch": platform.machine(),
        "cpu": cpu_text,
        "num_cpu": str(cpu.get("logical_cores") or os.cpu_count() or ""),
        "ram": f"{total // 2**30}GB" if total else "",
    }


def machine_command(asv: list[str], config: str, details: dict[str, str]) -> list[str]:
    cmd = [*asv, "machine", "--yes", "--config", config]
    for key, value in details.items():
        if value:
            cmd += [f"--{key}", value]
    return cmd


# ---------------------------------------------------------------------------
# environments


def simd_wrapper(python: str, root: Path) -> Path:
    """An interpreter path that runs ``python`` with ``TENSORSCOPE_SIMD=off`` (created if needed)."""
    real = shutil.which(python) or python
    real = os.path.abspath(real)
    label = Path(real).parent.parent.name or "python"
    wrapper = root / ".asv" / "simd-off" / label / "bin" / "python"
    wrapper.parent.mkdir(parents=True, exist_ok=True)
    text = f'#!/bin/sh\n# tensorscope: {real} with SIMD switched off (asv names the environment after this path)\nTENSORSCOPE_SIMD=off exec {shlex.quote(real)} "$@"\n'
    if not wrapper.exists() or wrapper.read_text() != text:
        wrapper.write_text(text)
        wrapper.chmod(0o755)
    return wrapper


def matrix_environments(config: str, settings: tuple[str, ...]) -> list[str]:
    """asv environment names of the configured matrix with ``TENSORSCOPE_SIMD`` in ``settings``."""
    from asv import environment
    from asv.config import Config

    conf = Config.load(config)
    names = []
    for env in environment.get_environments(conf, None, verbose=False):
        if env.env_vars.get("TENSORSCOPE_SIMD", "on") in settings:
            names.append(env.name)
    return names


def _settings(simd: str) -> tuple[str, ...]:
    return SIMD_SETTINGS if simd == "both" else (simd,)


def asv_command(args: argparse.Namespace, asv: list[str], root: Path) -> list[str]:
    """The ``asv run`` command line for these options."""
    cmd = [*asv, "run", "--config", args.config, "--machine", args.machine, "--show-stderr"]
    if not args.no_samples:
        cmd.append("--record-samples")
    if args.dry_run:
        cmd.append("--dry-run")
    for pattern in args.bench:
        cmd += ["--bench", pattern]
    settings = _settings(args.simd)
    python = _existing_python(args)
    if python:
        for setting in settings:
            exe = str(simd_wrapper(python, root)) if setting == "off" else python
            cmd += ["-E", f"existing:{exe}"]
    else:
        envs = matrix_environments(args.config, settings)
        if not envs:
            raise SystemExit(f"no asv environment in {args.config} has TENSORSCOPE_SIMD in {settings}")
        for name in envs:
            cmd += ["-E", name]
    extra = [a for a in args.asv_args if a != "--"]
    cmd += extra
    if args.range:
        cmd.append(args.range)
    elif not python:
        cmd.append("HEAD^!")
    return cmd


def _existing_python(args: argparse.Namespace) -> str | None:
    if args.python == "same" or (args.existing and not args.python):
        return sys.executable
    return args.python


def _asv_executable() -> list[str]:
    exe = Path(sys.executable).with_name("asv")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "asv"]


def _results_dir(config: str) -> Path:
    conf: dict[str, Any] = json.loads(Path(config).read_text())
    return (Path(config).resolve().parent / conf.get("results_dir", "results")).resolve()


def main(args: argparse.Namespace) -> int:
    """Register the machine, then run asv for the profile; returns asv's exit status."""
    config = Path(args.config)
    if not config.is_file():
        print(f"tensorscope run: no asv configuration at {config} (run it from the repository root)", file=sys.stderr)
        return 2
    root = config.resolve().parent
    args.machine = args.machine or socket.gethostname()
    asv = _asv_executable()
    if _existing_python(args) and args.range and ".." in args.range:
        print("tensorscope run: an existing interpreter benchmarks the installed code only; give no commit range", file=sys.stderr)
        return 2
    register = machine_command(asv, str(config), machine_details(args.machine))
    run = asv_command(args, asv, root)
    env = dict(os.environ)
    env["TENSORSCOPE_PROFILE"] = args.profile
    env["TENSORSCOPE_SIMD"] = "on"  # the matrix or the simd-off wrapper overrides it per environment
    env["TENSORSCOPE_PROVENANCE_DIR"] = str(_results_dir(str(config)) / args.machine / "provenance")
    if args.print_command:
        print(shlex.join(register))
        print(f"TENSORSCOPE_PROFILE={args.profile} TENSORSCOPE_PROVENANCE_DIR={env['TENSORSCOPE_PROVENANCE_DIR']} {shlex.join(run)}")
        return 0
    print(f"tensorscope run: registering machine {args.machine!r}", flush=True)
    done = subprocess.run(register, cwd=root, env=env)
    if done.returncode:
        return done.returncode
    print(f"tensorscope run: profile {args.profile}, SIMD {args.simd}: {shlex.join(run)}", flush=True)
    return subprocess.run(run, cwd=root, env=env).returncode
