"""Entry point of the ``tensorscope`` console script.

Each subcommand lives in its own module exposing ``add_arguments(parser)`` and
``main(args) -> int``; they are imported only when chosen, so ``tensorscope --help``
stays fast and needs no optional framework.

Exit codes: 0 success (no regression found), 1 a regression was found (``report``,
``compare``, ``confirm``; ``bisect``: nothing to find) or, for ``push``, ``export`` and
``run``, something could not be done, 2 usage error, 3 internal error (a bug: the traceback
is printed), 130 interrupted, 141 the reader of our output went away (``... | head``);
``run`` and ``dashboard`` end with asv's and Streamlit's status. The table:
docs/reference/exit-codes.md.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import traceback
from collections.abc import Collection
from types import ModuleType

EXIT_INTERNAL_ERROR = 3
EXIT_BROKEN_PIPE = 128 + 13  # as a Unix tool killed by SIGPIPE

# name -> (module, one-line help)
SUBCOMMANDS = {
    "run": ("tensorscope.run", "run the asv suite on this machine, with provenance"),
    "report": ("tensorscope.report", "print detected regressions from an asv results directory"),
    "compare": ("tensorscope.remeasure.compare", "did B make a benchmark slower than A? interleaved A/B re-measurement"),
    "confirm": ("tensorscope.remeasure.confirm", "re-measure the regressions the history reports; mark confirmed/refuted"),
    "bisect": ("tensorscope.remeasure.bisect", "find the first commit where a benchmark got slower, A/B at each step"),
    "dashboard": ("tensorscope.serve", "serve the Streamlit dashboard on 127.0.0.1"),
    "ingest": ("tensorscope.store.cmd_ingest", "store an asv results tree in a results store (incrementally, by content)"),
    "export": ("tensorscope.store.cmd_export", "write a results store back as an asv results tree"),
    "triage": ("tensorscope.store.cmd_triage", "record and list decisions about detected changes in a results store"),
    "server": ("tensorscope.store.server", "serve a results store's upload API on 127.0.0.1"),
    "token": ("tensorscope.store.cmd_token", "create, revoke and list upload tokens of a results store"),
    "push": ("tensorscope.store.cmd_push", "send this machine's asv results to a store's upload API"),
}


def _parser(load: Collection[str]) -> tuple[argparse.ArgumentParser, dict[str, ModuleType]]:
    """The ``tensorscope`` parser, with the options of the subcommands in ``load`` (their modules imported)."""
    parser = argparse.ArgumentParser(prog="tensorscope", description="Benchmark tensor backends and analyse asv results.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    modules = {}
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        sub_parser = sub.add_parser(name, help=help_text, description=help_text)
        if name in load:
            module = importlib.import_module(module_name)
            module.add_arguments(sub_parser)
            modules[name] = module
    return parser, modules


def build_parser() -> argparse.ArgumentParser:
    """The whole parser, every subcommand's options included (the documentation's CLI reference is generated from it)."""
    return _parser(SUBCOMMANDS)[0]


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` and run the chosen subcommand; returns the exit code."""
    # only the chosen subcommand's module is imported, so `tensorscope --help` stays fast
    parser, modules = _parser((argv if argv is not None else sys.argv[1:])[:1])
    args = parser.parse_args(argv)
    try:
        return int(modules[args.command].main(args))
    except BrokenPipeError:
        # The reader closed the pipe (`tensorscope report | head`): stop quietly. Python would
        # otherwise report the failed flush of stdout at exit too, so point stdout at /dev/null.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except KeyboardInterrupt:
        return 130
    except Exception:
        # Never the code that means "regression found" (1) for a crash of ours.
        traceback.print_exc()
        print(
            f"tensorscope {args.command}: internal error (exit code {EXIT_INTERNAL_ERROR}); please report it with the traceback above",
            file=sys.stderr,
        )
        return EXIT_INTERNAL_ERROR


if __name__ == "__main__":
    sys.exit(main())
