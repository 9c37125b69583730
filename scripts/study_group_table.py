"""Print the study group's table as Markdown: the seed's published speedups over pure Nx beside ours over pure Python.

    .venv/bin/python scripts/study_group_table.py [RESULTS_DIR] [--machine NAME ...]

RESULTS_DIR defaults to the repository's results/. The figures and wording come from
``tensorscope.analysis.study_group`` (the seed's figures are written there only); cells
that were not measured say so, with the reason, never a number.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("results_dir", nargs="?", default=str(REPO / "results"), help="an asv results directory (default: results/)")
    parser.add_argument("--machine", action="append", default=None, help="only this machine (repeatable)")
    args = parser.parse_args(argv)
    root = Path(args.results_dir)
    if not root.is_dir():
        print(f"error: no results directory at {root}: give an asv results directory (the folder holding benchmarks.json)", file=sys.stderr)
        return 2
    from tensorscope.analysis import study_group
    from tensorscope.results import load_results

    rs = load_results(root)
    study = study_group.study_group_table(rs.table, machines=args.machine)
    print(study_group.to_markdown(study, study_group.hardware_lines(study, rs.provenance, rs.machines)), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
