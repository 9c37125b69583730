"""``tensorscope ingest DIR``: store an asv results tree in a results store (incrementally, by content).

Exit status: 0 when the tree was read (files the reader refused are listed on stderr and recorded
with their problems, as ``report`` lists them), 2 for usage errors (no such folder, a store that
cannot be opened).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tensorscope.units import printable


def add_store_argument(parser: argparse.ArgumentParser) -> None:
    """``--store URL``, shared by every command that reads or writes a store."""
    parser.add_argument(
        "--store",
        default=None,
        metavar="URL",
        help="results store: postgresql://user@host/db, sqlite:///path or a file path "
        "(default: $TENSORSCOPE_STORE, else the embedded store in your data folder)",
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the ``ingest`` subcommand's arguments."""
    parser.add_argument("results_dir", type=Path, help="asv results directory (benchmarks.json, <machine>/machine.json, result files)")
    add_store_argument(parser)
    parser.add_argument("--repo", type=Path, default=None, help="git repository ordering the commits (default: by commit date)")
    parser.add_argument("--index-json", type=Path, default=None, help="a published asv site's index.json ordering the commits")
    parser.add_argument("--quiet", action="store_true", help="no progress bar and no summary")


def main(args: argparse.Namespace) -> int:
    """Ingest; returns 0, or 2 for a usage error."""
    from tensorscope.results.load import _order_reference
    from tensorscope.results.model import Problem

    from . import StoreError, describe, ingest, open_store, store_url

    if not args.results_dir.is_dir():
        print(f"tensorscope ingest: no results directory at {args.results_dir}", file=sys.stderr)
        return 2
    try:
        engine = open_store(args.store)
    except StoreError as exc:
        print(f"tensorscope ingest: {exc}", file=sys.stderr)
        return 2
    problems: list[Problem] = []
    order, order_source, _ = _order_reference(args.repo, args.index_json, problems)
    for p in problems:
        print(f"tensorscope ingest: {printable(str(p))}", file=sys.stderr)
    report = ingest(engine, args.results_dir, progress=None if args.quiet else sys.stderr, order=order or None, order_source=order_source)
    engine.dispose()
    for path, severity, message in report.problems:
        if severity == "error":
            print(f"tensorscope ingest: skipped {printable(path)}: {printable(message)}", file=sys.stderr)
    if not args.quiet:
        rate = report.results / report.seconds if report.seconds > 0 else 0.0
        print(
            f"{describe(store_url(args.store))}: stored {report.stored} files ({report.results:,} results, {rate:,.0f}/s), "
            f"skipped {report.skipped} already stored, refused {report.refused}"
        )
    return 0
