"""``tensorscope export DIR``: write a results store back as an asv results tree (asv's own files).

Exit status: 0 when every file was written, 1 when some stored path was not a safe relative path
(not written; listed on stderr), 2 for usage errors.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tensorscope.units import printable

from .cmd_ingest import add_store_argument


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the ``export`` subcommand's arguments."""
    parser.add_argument("target_dir", type=Path, help="folder to write the asv results tree into (created if needed)")
    add_store_argument(parser)


def main(args: argparse.Namespace) -> int:
    """Export; returns 0, 1 (some paths refused) or 2 (usage error)."""
    from . import StoreError, export, open_store

    if args.target_dir.exists() and not args.target_dir.is_dir():
        print(f"tensorscope export: {args.target_dir} exists and is not a folder", file=sys.stderr)
        return 2
    try:
        engine = open_store(args.store)
    except StoreError as exc:
        print(f"tensorscope export: {exc}", file=sys.stderr)
        return 2
    report = export(engine, args.target_dir)
    engine.dispose()
    for path in report.refused:
        print(f"tensorscope export: not written (not a safe relative path): {printable(path)}", file=sys.stderr)
    print(f"wrote {report.files} files ({report.results:,} results) under {args.target_dir}")
    return 1 if report.refused else 0
