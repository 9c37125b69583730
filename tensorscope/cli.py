"""Entry point of the ``tensorscope`` console script.

Each subcommand lives in its own module exposing ``add_arguments(parser)`` and
``main(args) -> int``; they are imported only when chosen, so ``tensorscope --help``
stays fast and needs no optional framework.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# name -> (module, one-line help)
SUBCOMMANDS = {
    "run": ("tensorscope.run", "run the asv suite on this machine, with provenance"),
    "report": ("tensorscope.report", "print detected regressions from an asv results directory"),
    "dashboard": ("tensorscope.serve", "serve the Streamlit dashboard on 127.0.0.1"),
}


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` and run the chosen subcommand; returns the exit code."""
    parser = argparse.ArgumentParser(prog="tensorscope", description="Benchmark tensor backends and analyse asv results.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    modules = {}
    chosen = (argv if argv is not None else sys.argv[1:])[:1]
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        sub_parser = sub.add_parser(name, help=help_text, description=help_text)
        if chosen == [name]:
            module = importlib.import_module(module_name)
            module.add_arguments(sub_parser)
            modules[name] = module
    args = parser.parse_args(argv)
    return int(modules[args.command].main(args))


if __name__ == "__main__":
    sys.exit(main())
