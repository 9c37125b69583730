#!/usr/bin/env bash
# Produce the benchmark results the "asv suite" issue asks to commit. Run it on a QUIET
# machine (nothing else running: the timings are the product), from a clean checkout
# of main, then commit results/.
#
#   1. quick profile, SIMD on, over the last N commits of main (default 10), or over the
#      commits listed in a file (--hashfile FILE: one hash per line);
#   2. quick profile, SIMD off, at HEAD (the ablation);
#   3. full profile, SIMD on, at HEAD.
#
# Order matters: asv keeps one results/benchmarks.json describing the last suite it
# discovered, and the quick grid is a subset of the full one, so the full run comes
# last. A later quick run at HEAD would replace HEAD's full results.
#
# Usage:
#   scripts/produce_results.sh [--machine NAME] [--commits N | --hashfile FILE] [--existing] [--only quick|full]
#                              [--threads all|N] [--at COMMIT]
#
#   --existing   benchmark this checkout's .venv instead of building one virtualenv per
#                commit (machines without registry access; quick then covers HEAD only)
#   --at         the commit of steps 2 and 3 (default HEAD, resolved once at the start, so
#                commits made while the script runs do not move it)
#   --threads    threads per backend (tensorscope run --threads). Default: 1 on machines
#                with 2 CPUs or fewer, 'all' elsewhere. Why: on 2 vCPUs torch's two-thread
#                pool stalls a cell for a scheduler slice per call (25-275x its usual time)
#                whenever a worker is descheduled; measured on the reference VM over 3 full
#                runs each of torch:cpu's 32 linalg cells: 1 stalled cell with 'all', none
#                with 1 (docs/validation/own-results.md, "torch's stalls on small machines"). Results at 1 thread go
#                to environments named ...-TENSORSCOPE_THREADS1.
#
# Estimated duration on the 2-core reference machine (quiet): environment builds
# ~5 min the first time (one install per commit after that: ~30 s each), quick at most
# 3 min per commit, full at most 20 min: about 1 h in all for 10 commits.
# The CV of the timings (target: median <= 3 % for full) is printed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

MACHINE="$(hostname)"
COMMITS=10
HASHFILE=""
EXISTING=()
ONLY=""
THREADS=""
AT=HEAD
while [ $# -gt 0 ]; do
    case "$1" in
        --machine) MACHINE="$2"; shift 2 ;;
        --commits) COMMITS="$2"; shift 2 ;;
        --hashfile) HASHFILE="$(realpath "$2")"; shift 2 ;;
        --existing) EXISTING=(--existing); shift ;;
        --only) ONLY="$2"; shift 2 ;;
        --threads) THREADS="$2"; shift 2 ;;
        --at) AT="$2"; shift 2 ;;
        *) echo "unknown option: $1" >&2; exit 2 ;;
    esac
done

if [ -z "$THREADS" ]; then
    if [ "$(nproc)" -le 2 ]; then
        THREADS=1
        echo "note: $(nproc) CPUs: every backend on 1 thread (torch's two-thread pool stalls here; --threads all to override)" >&2
    else
        THREADS=all
    fi
fi
if [ ${#EXISTING[@]} -eq 0 ]; then  # --existing benchmarks the installed code: no commit to pin
    AT="$(git rev-parse --verify "$AT^{commit}")" || { echo "--at: '$AT' is not a commit of this repository" >&2; exit 2; }
    echo "single-commit steps at $AT" >&2
fi
TS=(.venv/bin/tensorscope run --machine "$MACHINE" --threads "$THREADS")
if ! git diff --quiet HEAD -- backends benchmarks pyproject.toml asv.conf.json; then
    echo "warning: uncommitted changes in backends/, benchmarks/ or the configuration;" >&2
    echo "         asv benchmarks committed code with the working tree's suite." >&2
fi

stamp() { date -u +%H:%M:%S; }
# asv exits non-zero when any cell failed (an op missing at an old commit, a timeout):
# note it and go on to the next step rather than stopping the whole production.
STATUS=0
step() { "$@" || { rc=$?; STATUS=$rc; echo "[$(stamp)] warning: '$*' exited with status $rc; going on" >&2; }; }

if [ "$ONLY" != "full" ]; then
    echo "[$(stamp)] quick profile, SIMD on"
    if [ ${#EXISTING[@]} -gt 0 ]; then
        step "${TS[@]}" "${EXISTING[@]}" --profile quick --simd on
    else
        RANGE="HEAD~${COMMITS}..HEAD"
        [ -n "$HASHFILE" ] && RANGE="HASHFILE:$HASHFILE"
        step "${TS[@]}" --profile quick --simd on "$RANGE"
    fi
    echo "[$(stamp)] quick profile, SIMD off, at HEAD (the ablation)"
    if [ ${#EXISTING[@]} -gt 0 ]; then
        step "${TS[@]}" "${EXISTING[@]}" --profile quick --simd off
    else
        step "${TS[@]}" --profile quick --simd off "$AT^!"
    fi
fi

if [ "$ONLY" != "quick" ]; then
    echo "[$(stamp)] full profile at HEAD, SIMD on"
    if [ ${#EXISTING[@]} -gt 0 ]; then
        step "${TS[@]}" "${EXISTING[@]}" --profile full --simd on
    else
        step "${TS[@]}" --profile full --simd on "$AT^!"
    fi
fi

echo "[$(stamp)] done; coefficient of variation per profile:"
.venv/bin/python scripts/cv_report.py results --machine "$MACHINE" || true
echo "Check 'git status results/' and commit results/ (benchmarks.json, $MACHINE/)."
exit "$STATUS"
