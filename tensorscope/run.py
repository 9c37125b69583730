"""``tensorscope run``: run the asv suite on this machine, with provenance.

What it does, in order:

1. registers the machine with asv, its details filled in from :mod:`backends.provenance`
   (CPU model and SIMD flags, cores, memory, OS): it writes the entry into
   ``~/.asv-machine.json`` with asv's own ``MachineCollection`` (``asv machine --yes``
   drops a ``--machine`` equal to the host name, its default, and then fails with
   ``KeyError: 'machine'`` on a machine that has no such file yet);
2. runs ``asv run`` for the chosen profile (``TENSORSCOPE_PROFILE``), commits and
   SIMD settings, streaming asv's own output. The profile's cells are handed to asv as
   ``--bench`` patterns (``benchmarks.common.asv_patterns``), so cells outside the profile
   are not started (every profile has the same ``params``; plain asv starts those cells
   and the suite skips them). Every benchmarked (commit, environment) gets
   ``results/<machine>/provenance/<commit>-<env>.json`` (written by the suite);
3. with ``--push URL --token-file F`` (the token is read before anything runs), sends this
   machine's results that the server lacks to a store's upload API, as ``tensorscope push``
   does, also after asv failed part-way (what it saved is real);
4. returns asv's exit status (when asv succeeded and something was not pushed: 1).

Environments: by default asv builds one virtualenv per commit from the package
registry; the SIMD setting is asv's ``env_nobuild`` matrix variable
``TENSORSCOPE_SIMD`` (environment names end in ``-TENSORSCOPE_SIMDon`` / ``...off``),
applied at interpreter start by the hook ``asv.conf.json`` installs into each env.
``--existing`` (or ``--python PATH``) benchmarks an interpreter that already has
tensorscope installed (a machine without registry access, e.g. a GPU box); there is
no hook there, so each SIMD setting runs as its own ``asv run`` with a generated
configuration whose matrix holds that setting only, and ``off`` exports the variables
(``NPY_DISABLE_CPU_FEATURES`` computed by that interpreter) before asv starts.

``--threads N`` holds every backend to N threads (``TENSORSCOPE_THREADS``, see
:mod:`tensorscope.environment`): it runs a generated configuration whose ``env_nobuild`` matrix
also has ``TENSORSCOPE_THREADS=N``, so those results are environments of their own
(``...-TENSORSCOPE_THREADS1``) beside the default all-threads ones, in the same virtualenv.

Plain asv commands keep working (``asv run``, ``asv run --python=same``,
``asv publish``, ``asv compare``); this command only chooses their arguments.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import re
import shlex
import shutil
import socket
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tensorscope import environment

__all__ = [
    "SuiteError",
    "add_arguments",
    "asv_commands",
    "bench_patterns",
    "main",
    "profile_patterns",
    "register_machine",
    "single_setting_config",
]

#: the suite's profiles (benchmarks.common.PROFILES; a test holds the two equal)
PROFILES = ("quick", "full", "gpu")
SIMD_SETTINGS = ("on", "off")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``tensorscope run``."""
    parser.add_argument("range", nargs="?", default=None, help="commit or range, as asv takes it (default: HEAD only, 'HEAD^!')")
    parser.add_argument("--profile", choices=PROFILES, default="quick", help="which cells of the grid to run (default: quick)")
    parser.add_argument("--simd", choices=("on", "off", "both"), default="on", help="SIMD setting(s) to run (default: on)")
    parser.add_argument(
        "--threads",
        type=_thread_count,
        default="all",
        metavar="N",
        help="threads per backend: 'all' (default, each library's choice) or a number, e.g. 1 for steadier timings",
    )
    env = parser.add_mutually_exclusive_group()
    env.add_argument("--existing", action="store_true", help="benchmark this interpreter as installed, no env builds (asv --python=same)")
    env.add_argument("--python", default=None, help="benchmark this existing interpreter ('same': this one); implies --existing")
    parser.add_argument("--machine", default=None, help="asv machine name (default: this host's name)")
    parser.add_argument("--config", default="asv.conf.json", help="asv configuration file (default: ./asv.conf.json)")
    parser.add_argument("-b", "--bench", action="append", default=[], help="only benchmarks matching this regex (repeatable)")
    parser.add_argument("--dry-run", action="store_true", help="run, but do not save results (asv --dry-run)")
    parser.add_argument("--no-samples", action="store_true", help="do not store raw samples (the CV report needs them)")
    parser.add_argument("--print-command", action="store_true", help="print the asv commands and exit")
    parser.add_argument(
        "--push",
        default=None,
        metavar="URL",
        help="after the run, send this machine's results that the server lacks to a store's upload API (as tensorscope push)",
    )
    parser.add_argument("--token-file", type=Path, default=None, help="with --push: the file holding this runner's upload token")
    parser.add_argument("asv_args", nargs=argparse.REMAINDER, help="after '--': extra arguments for asv run")


# ---------------------------------------------------------------------------
# machine registration


def _thread_count(value: str) -> str:
    """argparse type of ``--threads``: 'all' or a whole number >= 1, returned as text."""
    text = value.strip().lower()
    if text == "all" or (text.isdigit() and int(text) >= 1):
        return text
    raise argparse.ArgumentTypeError(f"must be 'all' or a whole number of threads >= 1, got {value!r}")


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


def register_machine(details: dict[str, str]) -> Path:
    """Store ``details`` as asv's entry for ``details["machine"]`` in ``~/.asv-machine.json``; returns the file.

    Through asv's own ``MachineCollection``, as ``asv machine`` would, but with every field
    given: ``asv machine --yes --machine NAME`` leaves out a value equal to asv's default,
    and NAME equal to the host name then fails (``KeyError: 'machine'``) where the file
    has no entry yet. Empty details fall back to asv's defaults. Other machines' entries
    are kept.
    """
    from asv.machine import Machine, MachineCollection

    values = {**Machine.get_defaults(), **{k: v for k, v in details.items() if v}}
    MachineCollection.save(values["machine"], values)
    return Path(MachineCollection.get_machine_file_path())


# ---------------------------------------------------------------------------
# environments


def single_setting_config(config: str, setting: str | list[str], threads: str = "all") -> Path:
    """A copy of ``config`` whose matrix runs ``TENSORSCOPE_SIMD=setting`` only (paths made absolute).

    ``setting`` may be a list of SIMD settings; ``threads`` other than ``all`` adds
    ``TENSORSCOPE_THREADS=threads`` to the matrix.
    """
    source = Path(config).resolve()
    conf: dict[str, Any] = json.loads(source.read_text())
    base = source.parent
    for key, default in (
        ("repo", "."),
        ("benchmark_dir", "benchmarks"),
        ("env_dir", "env"),
        ("results_dir", "results"),
        ("html_dir", "html"),
    ):
        conf[key] = str((base / conf.get(key, default)).resolve())
    for key in ("install_command", "uninstall_command", "build_command"):
        # the copy lives in .asv/: {conf_dir} must still name the original's folder
        if key in conf:
            conf[key] = [command.replace("{conf_dir}", str(base)) for command in conf[key]]
    matrix = conf.setdefault("matrix", {})
    settings = [setting] if isinstance(setting, str) else list(setting)
    nobuild = matrix.setdefault("env_nobuild", {})
    nobuild["TENSORSCOPE_SIMD"] = settings
    if threads != "all":
        nobuild["TENSORSCOPE_THREADS"] = [threads]
    else:
        nobuild.pop("TENSORSCOPE_THREADS", None)
    target = base / ".asv" / f"tensorscope-run-simd-{'-'.join(settings)}-threads-{threads}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(conf, indent=4) + "\n")
    return target


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


class SuiteError(ValueError):
    """The asv suite beside the configuration is not one whose profiles tensorscope can list."""


@functools.cache
def profile_patterns(config: str, profile: str) -> tuple[str, ...]:
    """asv ``--bench`` patterns of ``profile``'s cells, from the suite next to ``config``.

    Asks the suite itself (``benchmarks.common.asv_patterns``) in a child interpreter run
    in the suite's parent folder, with no framework preloaded.
    """
    conf: dict[str, Any] = json.loads(Path(config).read_text())
    suite = (Path(config).resolve().parent / conf.get("benchmark_dir", "benchmarks")).resolve()
    code = (
        "import importlib, json, sys; "
        "common = importlib.import_module(sys.argv[1] + '.common'); "
        "print(json.dumps(common.asv_patterns(sys.argv[2])))"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("TENSORSCOPE_SIMD", "TENSORSCOPE_THREADS", "TENSORSCOPE_PROFILE")}
    env["TENSORSCOPE_PRELOAD"] = "0"
    out = subprocess.run([sys.executable, "-c", code, suite.name, profile], cwd=suite.parent, env=env, capture_output=True, text=True)
    if out.returncode:
        raise SuiteError(f"the suite in {suite} cannot list the {profile!r} profile's cells:\n{out.stderr.strip()[-2000:]}")
    return tuple(json.loads(out.stdout.strip().splitlines()[-1]))


def bench_patterns(config: str, profile: str, user: Sequence[str]) -> list[str]:
    """The profile's patterns, each also requiring one of the user's ``-b`` patterns (asv ORs its ``--bench`` options)."""
    patterns = list(profile_patterns(config, profile))
    if not user:
        return patterns
    wanted = "|".join(f"(?:{u})" for u in user)
    return [f"^(?=.*(?:{wanted})){p.removeprefix('^')}" for p in patterns]


def asv_commands(args: argparse.Namespace, asv: list[str]) -> list[tuple[list[str], dict[str, str]]]:
    """The ``asv run`` command lines for these options, each with the variables it needs."""
    return _preload_torch_at_one_thread(_asv_commands(args, asv), args.threads)


#: ``--bench`` patterns of peak-memory benchmarks (asv names ``<module>.<Class>.peakmem_<name>``)
_PEAKMEM = re.compile(r"\\\.peakmem_")


def _preload_torch_at_one_thread(runs: list[tuple[list[str], dict[str, str]]], threads: str) -> list[tuple[list[str], dict[str, str]]]:
    """At ``--threads 1``, each run becomes two: every cell but peak memory with torch preloaded, then peak memory.

    Why: asv forks each cell from one server process, and the suite leaves torch out of that
    server (``TENSORSCOPE_PRELOAD``) because forked two-thread torch pools stalled; so every
    torch cell imports torch itself, 1.2-3.4 s on the 2-vCPU reference VM, about 13 of the full
    profile's 33 minutes there. At one thread no stall was seen, preloaded or not
    (docs/validation/own-results.md, "torch's stalls"), so the timed cells get torch preloaded
    (``TENSORSCOPE_PRELOAD=all``). Peak memory is the whole process's, preloaded modules
    included: those cells keep the default preload, so their series stay comparable. asv
    merges the two runs into one result file per (commit, environment). A
    ``TENSORSCOPE_PRELOAD`` set by the caller wins (one run, as asked).
    """
    if threads != "1" or "TENSORSCOPE_PRELOAD" in os.environ:
        return runs
    split = []
    for cmd, variables in runs:
        where = [i for i, a in enumerate(cmd) if a == "--bench"]
        patterns = [cmd[i + 1] for i in where]
        rest = [a for i, a in enumerate(cmd) if i not in where and i - 1 not in where]
        memory = [p for p in patterns if _PEAKMEM.search(p)]
        timed = [p for p in patterns if not _PEAKMEM.search(p)]
        if timed:
            split.append(([*rest, *(a for p in timed for a in ("--bench", p))], {**variables, "TENSORSCOPE_PRELOAD": "all"}))
        if memory:
            split.append(([*rest, *(a for p in memory for a in ("--bench", p))], dict(variables)))
    return split


def _asv_commands(args: argparse.Namespace, asv: list[str]) -> list[tuple[list[str], dict[str, str]]]:
    patterns = bench_patterns(args.config, args.profile, args.bench)

    def base(config: str, runner: list[str] = asv) -> list[str]:
        cmd = [*runner, "run", "--config", config, "--machine", args.machine, "--show-stderr"]
        if not args.no_samples:
            cmd.append("--record-samples")
        if args.dry_run:
            cmd.append("--dry-run")
        for pattern in patterns:
            cmd += ["--bench", pattern]
        return cmd

    extra = [a for a in args.asv_args if a != "--"]
    settings = _settings(args.simd)
    python = _existing_python(args)
    if python:
        runs = []
        # asv applies the matrix to an existing interpreter only as '--python=same', so
        # that interpreter runs asv itself; results are saved under --set-commit-hash
        commit = _commit_hash(args.config, args.range or "HEAD")
        for setting in settings:
            config = str(single_setting_config(args.config, setting, args.threads))
            cmd = [*base(config, [python, "-m", "asv"]), "--python=same", "--set-commit-hash", commit, *extra]
            variables = {
                "TENSORSCOPE_SIMD": setting,
                "TENSORSCOPE_COMMIT": commit,
                "TENSORSCOPE_ENV_NAME": _existing_env_name(python, config),
            }
            if setting == "off":
                off = environment.simd_off_variables(python)
                variables.update({k: v for k, v in off.items() if k not in os.environ})
            if args.threads != "all":
                # no startup hook in an existing interpreter: export the thread variables
                variables["TENSORSCOPE_THREADS"] = args.threads
                variables.update(environment.thread_variables(int(args.threads)))
            runs.append((cmd, variables))
        return runs
    config = args.config if args.threads == "all" else str(single_setting_config(args.config, list(settings), args.threads))
    envs = matrix_environments(config, settings)
    if not envs:
        raise SystemExit(f"no asv environment in {args.config} has TENSORSCOPE_SIMD in {settings}")
    cmd = base(config)
    for name in envs:
        cmd += ["-E", name]
    cmd += [*extra, args.range or "HEAD^!"]
    return [(cmd, {})]


def _existing_env_name(python: str, config: str) -> str:
    """asv's name for ``python`` run as '--python=same' under ``config`` (asv sets no ASV_ENV_NAME there)."""
    code = (
        "import sys; from asv.config import Config; from asv import environment; "
        "print([e.name for e in environment.get_environments(Config.load(sys.argv[1]), [':same'], verbose=False)][0])"
    )
    out = subprocess.run([python, "-c", code, config], capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"tensorscope run: {python} cannot run asv: {out.stderr.strip()[-500:]}")
    return out.stdout.strip().splitlines()[-1]


def _commit_hash(config: str, rev: str) -> str:
    conf: dict[str, Any] = json.loads(Path(config).read_text())
    repo = (Path(config).resolve().parent / conf.get("repo", ".")).resolve()
    out = subprocess.run(["git", "-C", str(repo), "rev-parse", "--verify", f"{rev}^{{commit}}"], capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"tensorscope run: {rev!r} is not a commit of {repo}: {out.stderr.strip()}")
    return out.stdout.strip()


def _existing_python(args: argparse.Namespace) -> str | None:
    if args.python == "same" or (args.existing and not args.python):
        return sys.executable
    return os.path.abspath(shutil.which(args.python) or args.python) if args.python else None


def _asv_executable() -> list[str]:
    exe = Path(sys.executable).with_name("asv")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "asv"]


def _results_dir(config: str) -> Path:
    conf: dict[str, Any] = json.loads(Path(config).read_text())
    return (Path(config).resolve().parent / conf.get("results_dir", "results")).resolve()


_OWN_OPTIONS = frozenset(
    {
        "--profile",
        "--simd",
        "--threads",
        "--existing",
        "--python",
        "--machine",
        "--config",
        "-b",
        "--bench",
        "--dry-run",
        "--no-samples",
        "--print-command",
        "--push",
        "--token-file",
    }
)


def main(args: argparse.Namespace) -> int:
    """Register the machine, then run asv for the profile; returns asv's exit status."""
    config = Path(args.config)
    if not config.is_file():
        print(f"tensorscope run: no asv configuration at {config} (run it from the repository root)", file=sys.stderr)
        return 2
    root = config.resolve().parent
    args.machine = args.machine or socket.gethostname()
    asv = _asv_executable()
    ours = [a for a in args.asv_args if a.split("=")[0] in _OWN_OPTIONS]
    if ours:
        # argparse hands everything after the range to asv; an option of ours there
        # would silently reach asv instead.
        print(
            f"tensorscope run: {ours[0]!r} after the commit range would go to asv: put tensorscope options "
            "before the range, and extra asv arguments after '--'",
            file=sys.stderr,
        )
        return 2
    if _existing_python(args) and args.range and ".." in args.range:
        print("tensorscope run: an existing interpreter benchmarks the installed code only; give no commit range", file=sys.stderr)
        return 2
    token = None
    if getattr(args, "push", None) is not None or getattr(args, "token_file", None) is not None:
        # checked before the run: a bad token file must not wait for the end of a half-hour run
        if args.push is None or args.token_file is None:
            print("tensorscope run: --push URL and --token-file FILE go together", file=sys.stderr)
            return 2
        from tensorscope.store.cmd_push import read_token

        try:
            token = read_token(args.token_file)
        except ValueError as exc:
            print(f"tensorscope run: {exc}", file=sys.stderr)
            return 2
    details = machine_details(args.machine)
    env = dict(os.environ)
    env["TENSORSCOPE_PROFILE"] = args.profile
    env["TENSORSCOPE_PROVENANCE_DIR"] = str(_results_dir(str(config)) / args.machine / "provenance")
    env.pop("TENSORSCOPE_SIMD", None)  # the matrix sets it per environment
    env.pop("TENSORSCOPE_THREADS", None)
    try:
        runs = asv_commands(args, asv)
    except SuiteError as exc:
        raise SystemExit(f"tensorscope run: {exc}") from None
    if args.print_command:
        print(f"# registers machine {args.machine!r} in ~/.asv-machine.json (asv's MachineCollection): {json.dumps(details)}")
        for cmd, variables in runs:
            assignments = {
                "TENSORSCOPE_PROFILE": args.profile,
                "TENSORSCOPE_PROVENANCE_DIR": env["TENSORSCOPE_PROVENANCE_DIR"],
                **variables,
            }
            print(" ".join(f"{k}={shlex.quote(v)}" for k, v in assignments.items()), shlex.join(cmd))
        if token is not None:
            push = ["tensorscope", "push", str(_results_dir(str(config))), "--machine", args.machine, "--to", args.push]
            print(shlex.join([*push, "--token-file", str(args.token_file)]))
        return 0
    print(f"tensorscope run: registering machine {args.machine!r}", flush=True)
    try:
        register_machine(details)
    except Exception as exc:  # an unreadable or unwritable ~/.asv-machine.json (OSError, asv's UserError)
        print(
            f"tensorscope run: could not register machine {args.machine!r} in ~/.asv-machine.json: {exc}. "
            "Fix or move that file, or run with another HOME.",
            file=sys.stderr,
        )
        return 1
    status = 0
    for cmd, variables in runs:
        print(f"tensorscope run: profile {args.profile}: {shlex.join(cmd)}", flush=True)
        status = subprocess.run(cmd, cwd=root, env={**env, **variables}).returncode or status
    if token is not None and args.dry_run:
        print("tensorscope run: --dry-run saved no results: nothing pushed", flush=True)
    elif token is not None:
        status = _push_after_run(args, _results_dir(str(config)), token, status)
    return status


def _push_after_run(args: argparse.Namespace, results: Path, token: str, status: int) -> int:
    """``run --push``: send the machine's results (also after a failed asv run: what it saved is real);
    returns asv's status when it failed, else the push's (0, or 1 when something was not delivered)."""
    from tensorscope.store.cmd_push import push

    if not (results / args.machine).is_dir():
        print(f"tensorscope run: no results of {args.machine!r} under {results}: nothing to push", file=sys.stderr)
        return status or 1
    print(f"tensorscope run: pushing {results / args.machine} to {args.push}", flush=True)
    pushed = push(results, args.machine, args.push, token, prog="tensorscope run --push")  # also after asv failed
    return status or pushed
