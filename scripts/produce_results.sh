#!/usr/bin/env bash
# Produce the benchmark results the "asv suite" issue asks to commit. Run it on a QUIET
# machine (nothing else running: the timings are the product), from a clean checkout
# of main, then commit results/.
#
#   1. quick profile, SIMD on, over the last N commits of main (default 10);
#   2. full profile at HEAD, SIMD on and SIMD off (the ablation), in one asv run.
#
# Order matters: asv keeps one results/benchmarks.json describing the last suite it
# discovered, and the quick grid is a subset of the full one, so the full run comes
# last. A later quick run at HEAD would replace HEAD's full results.
#
# Usage:
#   scripts/produce_results.sh [--machine NAME] [--commits N] [--existing] [--only quick|full]
#
#   --existing   benchmark this checkout's .venv instead of building one virtualenv per
#                commit (machines without registry access; quick then covers HEAD only)
#
# Estimated duration on the 2-core reference machine (quiet): environment builds
# ~5 min the first time (one per commit after that: ~30 s each), quick ~3 min per
# commit, full ~20 min per SIMD setting: about 1 h 20 min in all for 10 commits.
# The CV of the timings (target: median <= 3 % for full) is printed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

MACHINE="$(hostname)"
COMMITS=10
EXISTING=()
ONLY=""
while [ $# -gt 0 ]; do
    case "$1" in
        --machine) MACHINE="$2"; shift 2 ;;
        --commits) COMMITS="$2"; shift 2 ;;
        --existing) EXISTING=(--existing); shift ;;
        --only) ONLY="$2"; shift 2 ;;
        *) echo "unknown option: $1" >&2; exit 2 ;;
    esac
done

TS=(.venv/bin/tensorscope run --machine "$MACHINE")
if ! git diff --quiet HEAD -- backends benchmarks pyproject.toml asv.conf.json; then
    echo "warning: uncommitted changes in backends/, benchmarks/ or the configuration;" >&2
    echo "         asv benchmarks committed code with the working tree's suite." >&2
fi

stamp() { date -u +%H:%M:%S; }

if [ "$ONLY" != "full" ]; then
    echo "[$(stamp)] quick profile, SIMD on"
    if [ ${#EXISTING[@]} -gt 0 ]; then
        "${TS[@]}" "${EXISTING[@]}" --profile quick --simd on
    else
        "${TS[@]}" --profile quick --simd on "HEAD~${COMMITS}..HEAD"
    fi
fi

if [ "$ONLY" != "quick" ]; then
    echo "[$(stamp)] full profile at HEAD, SIMD on and off"
    if [ ${#EXISTING[@]} -gt 0 ]; then
        "${TS[@]}" "${EXISTING[@]}" --profile full --simd both
    else
        "${TS[@]}" --profile full --simd both "HEAD^!"
    fi
fi

echo "[$(stamp)] done; coefficient of variation per profile:"
.venv/bin/python scripts/cv_report.py results --machine "$MACHINE" || true
echo "Check 'git status results/' and commit results/ (benchmarks.json, $MACHINE/)."
