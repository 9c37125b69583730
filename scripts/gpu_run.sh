#!/usr/bin/env bash
# One command for a run of tensorscope on the GPU machine (docs/how-to/run-on-a-gpu.md).
#
#   bash scripts/gpu_run.sh --prepare   # here, with the registry: fetch the wheels, bundle HEAD, then --check
#   bash scripts/gpu_run.sh --check     # here: wheels, bundle and profile ready? prints the plan; exit 1 if not
#   bash scripts/gpu_run.sh             # there: the run; the files to bring back go to $OUT
#
# The run is a few steps, each under its own time limit inside one budget (GPU_BUDGET_S),
# so a step that fails or hangs leaves the others' logs and results packed:
#   setup  install the carried wheels and tensorscope (editable) into the interpreter's
#          environment (into $GPU_SITE if that is not writable) and make sure git and a
#          repository at HEAD exist (rebuilt from .gpu-wheels/repo.bundle when the tree
#          arrives without .git; asv names results by commit)
#   probe  nvidia-smi and the provenance probe: GPU model, driver, memory, CUDA versions
#   targets  issue 30's targets for numba:cuda, our own kernels (scripts/measure_gpu_targets.py):
#          element-wise and reductions at 1e8 vs the copy roof, softmax/layer_norm and
#          launch-to-result at 1e3 vs torch:cuda; then the same ops with numba's allocator
#   tests  the GPU tests and the conformance suite on numba:cuda, torch:cuda, jax:gpu and cupy (-m gpu)
#   bench  tensorscope run --existing --profile $GPU_PROFILE, CPU backends included, in
#          chunks: asv saves a run's results only when the run ends, so a chunk cut short
#          loses itself only
#   pack   at most 8 files into $OUT (summary.txt, provenance.json, the logs,
#          results-<machine>.tar.gz), packed again after every step so that even a run
#          killed from outside leaves the latest state there
# Without an NVIDIA GPU the GPU tests are skipped with a message, and the suite skips its
# GPU cells itself: the CPU part still runs and is packed.
#
# Settings (environment variables, default in brackets):
#   OUT               folder for the packed files [/tmp/tensorscope-gpu-out]
#   GPU_PROFILE       benchmark profile [gpu]
#   GPU_MACHINE       asv machine name of the results [nvidia-h200]
#   GPU_BUDGET_S      seconds for the whole run [470]
#   GPU_TEST_S        seconds at most for the GPU tests [150]
#   GPU_TARGETS_S     seconds at most for the targets step [150]
#   GPU_STEPS         steps to run, in order [setup probe targets tests bench]
#   GPU_BENCH_CHUNKS  asv --bench regexes, one per chunk, separated by spaces
#   GPU_TEST_WORKERS  pytest-xdist workers for the GPU tests [8]
#   GPU_TEST_SELECT   a pytest -k expression to run only some GPU tests (a rerun after a fix) [all]
#   GPU_PYTHON        interpreter of the run [python3]
#   GPU_SITE          fallback install folder of the wheels, first on PYTHONPATH [/tmp/tensorscope-gpu-site]
#   GPU_WHEELS        the carried folder [<repo>/.gpu-wheels]
#   GPU_PYVER         Python the wheels are for (--prepare, --check) [3.12]
#   HOST_PYTHON       interpreter of --prepare and --check [<repo>/.venv/bin/python, else python3]
set -u -o pipefail  # no -e: a failing step must not stop the ones after it

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SELF="$ROOT/scripts/gpu_run.sh"
PACKER="$ROOT/scripts/gpu_pack.py"

export OUT=${OUT:-/tmp/tensorscope-gpu-out}
export GPU_PROFILE=${GPU_PROFILE:-gpu}
export GPU_MACHINE=${GPU_MACHINE:-nvidia-h200}
export GPU_BUDGET_S=${GPU_BUDGET_S:-470}
export GPU_TEST_S=${GPU_TEST_S:-150}
export GPU_TARGETS_S=${GPU_TARGETS_S:-150}
export GPU_STEPS=${GPU_STEPS-setup probe targets tests bench}
# Most telling first: the roofs and the memory-bound groups (about 125 s on the H200), then
# matmul (about 123 s), fft, and last fused (over 156 s there, cause not found) with the rest (the gpu profile times none of the rest; a chunk without cells would
# cost a discovery). Each chunk is saved when it ends, so one cut short loses only itself.
export GPU_BENCH_CHUNKS=${GPU_BENCH_CHUNKS-"bench_(calibration|unary|binary|reduction) bench_linalg bench_fft bench_(fused|creation|selection|shape|ordering|window)"}
export GPU_TEST_WORKERS=${GPU_TEST_WORKERS:-8}
export GPU_PYTHON=${GPU_PYTHON:-python3}
export GPU_SITE=${GPU_SITE:-/tmp/tensorscope-gpu-site}
export GPU_WHEELS=${GPU_WHEELS:-$ROOT/.gpu-wheels}
export GPU_PYVER=${GPU_PYVER:-3.12}
if [ -z "${HOST_PYTHON:-}" ]; then
    if [ -x "$ROOT/.venv/bin/python" ]; then HOST_PYTHON="$ROOT/.venv/bin/python"; else HOST_PYTHON=python3; fi
fi
PACK_RESERVE_S=20   # kept back from every step for the final pack
MAX_TREE_BYTES=$((64 * 1024 * 1024))   # what the device tool carries, wheels included

say() { printf 'gpu_run: %s\n' "$*"; }

usage() { sed -n '2,/^set -u/p' "$SELF" | sed '$d; s/^# \{0,1\}//'; }

# ---------------------------------------------------------------------------------------
# here: --prepare and --check

tree_bytes() {
    # what the device tool sends: tracked files and untracked ones git does not ignore
    (cd "$ROOT" && git ls-files -z --cached --others --exclude-standard | xargs -0 -r stat -c %s 2>/dev/null) |
        awk '{ s += $1 } END { print s + 0 }'
}

print_plan() {
    local chunks
    read -ra chunks <<<"$GPU_BENCH_CHUNKS"
    say "plan: steps '$GPU_STEPS' within ${GPU_BUDGET_S} s; machine '$GPU_MACHINE', profile '$GPU_PROFILE'"
    say "  setup: install $(find "$GPU_WHEELS" -maxdepth 1 -name '*.whl' 2>/dev/null | wc -l) wheels from $GPU_WHEELS and tensorscope (editable) into $GPU_PYTHON's environment; git repository at HEAD"
    say "  probe: nvidia-smi; python -m backends.provenance"
    say "  targets: python scripts/measure_gpu_targets.py (numba:cuda vs torch:cuda and the copy roof; at most ${GPU_TARGETS_S} s); skipped without a GPU"
    say "  tests: BENCH_BACKENDS=numba:cuda,torch:cuda,jax:gpu,cupy pytest -m gpu${GPU_TEST_SELECT:+ -k '$GPU_TEST_SELECT'} (at most ${GPU_TEST_S} s, ${GPU_TEST_WORKERS} workers); skipped without a GPU"
    say "  bench: tensorscope run --existing --profile $GPU_PROFILE --machine $GPU_MACHINE, ${#chunks[@]} chunks: ${chunks[*]}"
    say "  pack:  at most 8 files into \$OUT ($OUT)"
}

check() {
    local ok=1 head bundled wheels_bytes tree total
    cd "$ROOT" || return 1
    "$HOST_PYTHON" "$PACKER" check --wheels "$GPU_WHEELS" --python-version "$GPU_PYVER" || ok=0
    head=$(git rev-parse HEAD 2>/dev/null)
    bundled=$(cat "$GPU_WHEELS/COMMIT" 2>/dev/null)
    if [ ! -s "$GPU_WHEELS/repo.bundle" ]; then
        say "missing $GPU_WHEELS/repo.bundle (the repository at HEAD, for a tree that arrives without .git): run --prepare"
        ok=0
    elif [ -n "$head" ] && [ "$bundled" != "$head" ]; then
        say "stale bundle: it holds ${bundled:-?}, HEAD is $head: run --prepare again"
        ok=0
    fi
    [ -s "$GPU_WHEELS/git.gz" ] || say "note: no $GPU_WHEELS/git.gz (git for a machine without one); --prepare adds it on x86-64"
    if ! TENSORSCOPE_PROFILE="$GPU_PROFILE" TENSORSCOPE_PRELOAD=0 TENSORSCOPE_PROVENANCE=0 \
        "$HOST_PYTHON" -c "import benchmarks.common as c; print('gpu_run: suite profile', c.PROFILE.name, 'found')"; then
        say "the suite has no profile '$GPU_PROFILE' (benchmarks/common.py): set GPU_PROFILE"
        ok=0
    fi
    if ! "$HOST_PYTHON" -m tensorscope.cli run --existing --profile "$GPU_PROFILE" --machine "$GPU_MACHINE" --print-command >/dev/null; then
        say "tensorscope run refuses --profile $GPU_PROFILE (see above): set GPU_PROFILE"
        ok=0
    fi
    local module chunk chunks covered
    read -ra chunks <<<"$GPU_BENCH_CHUNKS"
    for module in benchmarks/bench_*.py; do
        module=$(basename "$module" .py) covered=0
        for chunk in "${chunks[@]}"; do [[ $module =~ $chunk ]] && covered=1; done
        ((covered)) || say "warning: no chunk of GPU_BENCH_CHUNKS runs $module"
    done
    if [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then
        say "warning: tracked files differ from HEAD; results are named after HEAD $head: commit first"
    fi
    tree=$(tree_bytes)
    wheels_bytes=$(du -sb "$GPU_WHEELS" 2>/dev/null | cut -f1)
    total=$((tree + ${wheels_bytes:-0}))
    say "sizes: working tree $((tree / 1024)) KiB + $GPU_WHEELS $((${wheels_bytes:-0} / 1024)) KiB = $((total / 1024)) KiB of the device's $((MAX_TREE_BYTES / 1024)) KiB"
    if ((total > MAX_TREE_BYTES)); then
        say "too big for the device tool: make the tree or the wheels smaller"
        ok=0
    fi
    print_plan
    if ((ok)); then
        say "ready: call the device tool with command 'bash scripts/gpu_run.sh', carry [\".gpu-wheels\"], timeout_s 560"
        return 0
    fi
    say "not ready (see above)"
    return 1
}

prepare() {
    local fresh reqs build git_bin
    cd "$ROOT" || return 1
    fresh=$(mktemp -d)
    mapfile -t reqs < <("$HOST_PYTHON" "$PACKER" requirements)
    mapfile -t build < <("$HOST_PYTHON" "$PACKER" requirements --build)
    say "fetching wheels for CPython $GPU_PYVER x86-64 Linux: ${reqs[*]}; to build tensorscope there: ${build[*]}"
    if ! "$HOST_PYTHON" -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
        --python-version "$GPU_PYVER" --implementation cp --platform manylinux_2_28_x86_64 \
        --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d "$fresh" "${reqs[@]}" ||
        ! "$HOST_PYTHON" -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
            --python-version "$GPU_PYVER" --implementation cp -d "$fresh/build" "${build[@]}"; then
        rm -rf "$fresh"
        say "pip download failed (above); $GPU_WHEELS left as it was"
        return 1
    fi
    mkdir -p "$GPU_WHEELS/build"
    # one version of each: a stale one would stop the install there
    rm -f "$GPU_WHEELS"/*.whl "$GPU_WHEELS"/build/*.whl
    mv "$fresh"/*.whl "$GPU_WHEELS"/ && mv "$fresh"/build/*.whl "$GPU_WHEELS"/build/ && rm -rf "$fresh"
    git bundle create "$GPU_WHEELS/repo.bundle" HEAD 2>/dev/null && git rev-parse HEAD >"$GPU_WHEELS/COMMIT"
    say "bundled HEAD $(cat "$GPU_WHEELS/COMMIT") into $GPU_WHEELS/repo.bundle"
    # git for a GPU machine without one: this x86-64 glibc build needs only libc, zlib and
    # libpcre2-8 there (Ubuntu 24.04 has all three); used only when that machine has no git
    git_bin=$(command -v git)
    if [ "$(uname -m)" = x86_64 ] && [ -n "$git_bin" ]; then
        gzip -9 -c "$git_bin" >"$GPU_WHEELS/git.gz"
        say "carried git fallback: $(git --version) (needs: $(ldd "$git_bin" | awk '/=>/ {printf "%s ", $1}'))"
    fi
    check
}

# ---------------------------------------------------------------------------------------
# there: the steps (each run as 'bash gpu_run.sh --step NAME' under timeout)

step_install() {
    local pip=("$GPU_PYTHON" -m pip install --no-index --no-deps --no-compile --no-cache-dir --disable-pip-version-check)
    cd "$ROOT" || return 1
    # Into the interpreter's own environment (the machine is bare each time): the suite
    # writes its provenance from an isolated interpreter (python -I), which sees only
    # site-packages, so tensorscope and asv must be installed there to be described.
    # tensorscope is built offline in pip's isolated build environment from the carried
    # setuptools (the image's may predate the license format of pyproject.toml)
    if "${pip[@]}" "$GPU_WHEELS"/*.whl && "${pip[@]}" --find-links "$GPU_WHEELS/build" -e "$ROOT"; then
        say "installed the wheels and tensorscope (editable) into $("$GPU_PYTHON" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
    else
        say "cannot install into $GPU_PYTHON's environment (above): the wheels go to $GPU_SITE, on PYTHONPATH;" \
            "the suite's own provenance files will then lack tensorscope's backends and asv's version"
        rm -rf "$GPU_SITE"
        "${pip[@]}" --target "$GPU_SITE" "$GPU_WHEELS"/*.whl || return
    fi
    "$GPU_PYTHON" - <<'EOF' || return
import importlib.metadata as md
import sys

print(f"python {sys.version.split()[0]} at {sys.executable}")
for name in ("tensorscope", "asv", "asv_runner", "orjson", "json5", "numpy", "scipy", "pandas", "pyarrow", "numba", "torch",
             "jax", "jaxlib", "jax-cuda13-plugin", "jax-cuda12-plugin", "cupy-cuda13x", "cupy-cuda12x",
             "pytest", "pytest-xdist", "pytest-timeout", "hypothesis"):
    try:
        print(f"  {name} {md.version(name)}")
    except md.PackageNotFoundError:
        print(f"  {name} -")
import asv, asv_runner, orjson  # noqa: E401,F401  the run needs these importable
EOF
    say "the image's packages (pip freeze):"
    "$GPU_PYTHON" -m pip list --disable-pip-version-check --format=freeze 2>&1
}

# files_are COMMIT: whether every file of COMMIT is in the working tree with that content
files_are() {
    local index rc
    index=$(mktemp) || return 1
    GIT_INDEX_FILE=$index git read-tree "$1" && GIT_INDEX_FILE=$index git update-index -q --refresh >/dev/null
    GIT_INDEX_FILE=$index git diff-files --quiet
    rc=$?
    rm -f "$index"
    return $rc
}

step_git() {
    local expected old
    cd "$ROOT" || return 1
    if [ "$(git rev-parse --show-toplevel 2>/dev/null)" = "$ROOT" ] && git rev-parse -q --verify HEAD >/dev/null; then
        say "git repository present: HEAD $(git rev-parse HEAD)"
    else
        if [ ! -s "$GPU_WHEELS/repo.bundle" ]; then
            say "no usable .git and no $GPU_WHEELS/repo.bundle: asv cannot name the commit (run --prepare before sending)"
            return 1
        fi
        [ -e .git ] && mv .git ".git.unusable.$$"
        git init -q . && git fetch -q "$GPU_WHEELS/repo.bundle" HEAD &&
            git update-ref refs/heads/main FETCH_HEAD && git symbolic-ref HEAD refs/heads/main && git reset -q || return 1
        say "repository rebuilt from $GPU_WHEELS/repo.bundle: HEAD $(git rev-parse HEAD)"
    fi
    expected=$(cat "$GPU_WHEELS/COMMIT" 2>/dev/null)
    old=$(git rev-parse HEAD)
    if [ -n "$expected" ] && [ "$expected" != "$old" ]; then
        # Seen on the H200: the .git that arrived was an older one than the files beside it,
        # so asv named results after a commit whose code did not run. Where the files are
        # exactly what --prepare bundled, move HEAD there, keeping them (a mixed reset). Only
        # then: in a developer's checkout that has moved on (the tests run this step there)
        # HEAD stays where it is.
        if [ -s "$GPU_WHEELS/repo.bundle" ] && git fetch -q "$GPU_WHEELS/repo.bundle" HEAD &&
            [ "$(git rev-parse FETCH_HEAD)" = "$expected" ] && files_are "$expected" && git reset -q "$expected"; then
            say "HEAD was $old, not the commit --prepare bundled: moved to $expected (results are named after it)"
        else
            say "warning: HEAD is not the commit --prepare bundled ($expected), and the files are not that commit's: HEAD left as it is"
        fi
    fi
    say "files differing from HEAD (results are named after HEAD):"
    git --no-optional-locks status --short | head -n 30
}

step_probe() {
    if command -v nvidia-smi >/dev/null; then
        timeout 30 nvidia-smi
        timeout 30 nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,clocks.max.mem,power.limit --format=csv
    else
        say "nvidia-smi not found: no NVIDIA GPU here"
    fi
    # no preallocation: jax would otherwise take 75% of the GPU in this process
    XLA_PYTHON_CLIENT_PREALLOCATE=false "$GPU_PYTHON" -m backends.provenance --output "$LOGS/provenance.json" || return
    "$GPU_PYTHON" "$PACKER" show-provenance "$LOGS/provenance.json"
}

step_tests() {
    local extra=()
    cd "$ROOT" || return 1
    [ -n "${GPU_TEST_SELECT:-}" ] && extra+=(-k "$GPU_TEST_SELECT")
    if ((GPU_TEST_WORKERS > 1)) && "$GPU_PYTHON" -c "import xdist" 2>/dev/null; then
        extra+=(-n "$GPU_TEST_WORKERS")
    fi
    if "$GPU_PYTHON" -c "import pytest_timeout" 2>/dev/null; then
        extra+=(--timeout 120)
        # ends the session itself before the step's limit, so the report is still written
        if "$GPU_PYTHON" -m pytest --help 2>/dev/null | grep -q -- '--session-timeout'; then
            local limit=${GPU_STEP_LIMIT:-$GPU_TEST_S}
            extra+=(--session-timeout "$((limit > 40 ? limit - 25 : limit))")
        fi
    fi
    # -v: each outcome is in the log as it happens, even if the step is stopped
    BENCH_BACKENDS=numba:cuda,torch:cuda,jax:gpu,cupy XLA_PYTHON_CLIENT_PREALLOCATE=false \
        "$GPU_PYTHON" -m pytest -m gpu tests/backends/test_gpu.py tests/backends/test_conformance.py \
        -v -rfEs -p no:cacheprovider --junitxml="$LOGS/tests-junit.xml" "${extra[@]}"
}

step_targets() {
    cd "$ROOT" || return 1
    # the JSON is rewritten after every cell: a step stopped at its limit keeps what it measured
    XLA_PYTHON_CLIENT_PREALLOCATE=false "$GPU_PYTHON" scripts/measure_gpu_targets.py --output "$LOGS/targets.json" || return
    # the same allocating ops with numba's own cuMemAlloc per output instead of CuPy's pool
    TENSORSCOPE_NUMBA_CUDA_ALLOC=numba XLA_PYTHON_CLIENT_PREALLOCATE=false "$GPU_PYTHON" scripts/measure_gpu_targets.py \
        --ops add,exp,sum,softmax --output "$LOGS/targets-numba-alloc.json"
}

# ---------------------------------------------------------------------------------------
# there: the run

record() {  # name status seconds log detail
    printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" >>"$LOGS/steps.tsv"
}

pack_now() {
    timeout 60 "$GPU_PYTHON" "$PACKER" pack --logs "$LOGS" --results "$ROOT/results" --machine "$GPU_MACHINE" --out "$OUT" >/dev/null ||
        say "packing into $OUT failed (exit status $?)"
}

# run_step NAME LOG LIMIT COMMAND...: COMMAND under timeout, output appended to LOG, outcome recorded
run_step() {
    local name=$1 log=$2 limit=$3 left start rc status detail
    shift 3
    left=$((DEADLINE - $(date +%s) - PACK_RESERVE_S))
    if ((left < 15)); then
        record "$name" skipped 0 "$log" "no time left in the ${GPU_BUDGET_S} s budget"
        say "step $name skipped: no time left in the ${GPU_BUDGET_S} s budget"
        return 0
    fi
    ((limit > left)) && limit=$left
    say "step $name (at most $limit s, log $log)"
    printf '\n== %s (at most %s s): %s\n' "$name" "$limit" "$*" >>"$LOGS/$log"
    start=$(date +%s)
    GPU_STEP_LIMIT=$limit timeout --kill-after=10 "$limit" "$@" >>"$LOGS/$log" 2>&1 </dev/null
    rc=$?
    case $rc in
        0) status=ok detail="" ;;
        124 | 137) status=timed-out detail="stopped at its $limit s limit" ;;
        *) status=failed detail="exit status $rc" ;;
    esac
    record "$name" "$status" "$(($(date +%s) - start))" "$log" "$detail"
    say "step $name: $status${detail:+ ($detail)} after $(($(date +%s) - start)) s; last lines of $log:"
    tail -n 6 "$LOGS/$log" | cut -c1-200 | sed 's/^/    /'
    pack_now
    return 0
}

ensure_git() {
    command -v git >/dev/null && return 0
    if [ -s "$GPU_WHEELS/git.gz" ]; then
        mkdir -p /tmp/tensorscope-gpu-bin && gunzip -c "$GPU_WHEELS/git.gz" >/tmp/tensorscope-gpu-bin/git &&
            chmod +x /tmp/tensorscope-gpu-bin/git && export PATH="/tmp/tensorscope-gpu-bin:$PATH"
        # git runs its helpers (index-pack for the bundle) from its exec path: itself here
        export GIT_EXEC_PATH=/tmp/tensorscope-gpu-bin
        if git --version >/dev/null 2>&1; then
            say "no git here: using the carried one ($(git --version))"
            return 0
        fi
    fi
    say "no git here and the carried one does not run: asv cannot run (setup.log)"
    return 1
}

gpu_present() {
    command -v nvidia-smi >/dev/null && timeout 20 nvidia-smi -L 2>/dev/null | grep -q '^GPU'
}

on_exit() {
    local status=$?
    trap - EXIT
    # the exit status says whether every step that ran went through
    if ((status == 0)) && cut -f2 "$LOGS/steps.tsv" 2>/dev/null | grep -qvE '^(ok|skipped)$'; then
        status=1
    fi
    pack_now
    if [ ! -f "$OUT/summary.txt" ]; then  # the packer itself failed: bring back the raw logs
        cat "$LOGS/header.txt" "$LOGS/steps.tsv" >"$OUT/summary.txt" 2>/dev/null
        for log in setup.log probe.log tests.log bench.log; do
            [ -f "$LOGS/$log" ] && tail -c 15000000 "$LOGS/$log" >"$OUT/$log"
        done
    fi
    say "done in $(($(date +%s) - START)) s; $(find "$OUT" -maxdepth 1 -type f | wc -l) files in $OUT"
    [ -f "$OUT/summary.txt" ] && tail -c 9000 "$OUT/summary.txt"
    exit "$status"
}

run() {
    local steps chunks i have_gpu=0
    START=$(date +%s)
    DEADLINE=$((START + GPU_BUDGET_S))
    LOGS=$(mktemp -d "${TMPDIR:-/tmp}/tensorscope-gpu-logs.XXXXXX")
    export LOGS
    mkdir -p "$OUT"
    trap on_exit EXIT
    trap 'say "interrupted"; exit 130' INT TERM
    cd "$ROOT" || exit 1
    # for the fallback install into $GPU_SITE (harmless otherwise): the wheels, then this
    # checkout; asv passes ASV_PYTHONPATH on to the benchmark processes (it drops PYTHONPATH)
    export PYTHONPATH="$GPU_SITE:$ROOT${PYTHONPATH:+:$PYTHONPATH}"
    export ASV_PYTHONPATH="$PYTHONPATH"
    export PYTHONUNBUFFERED=1
    # the copied tree may belong to another user than the one running git here
    export GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=safe.directory GIT_CONFIG_VALUE_0='*'
    gpu_present && have_gpu=1
    {
        echo "tensorscope GPU run, started $(date -u '+%Y-%m-%d %H:%M:%S') UTC"
        echo "host $(hostname), $(uname -srm), $(nproc) cores; python: $(command -v "$GPU_PYTHON")"
        echo "asv machine '$GPU_MACHINE', profile '$GPU_PROFILE', budget $GPU_BUDGET_S s, steps: $GPU_STEPS"
        echo "bench chunks: $GPU_BENCH_CHUNKS"
        if ((have_gpu)); then nvidia-smi -L 2>&1 | head -n 4; else echo "no NVIDIA GPU: GPU tests skipped, GPU cells skipped by the suite"; fi
    } >"$LOGS/header.txt"
    cat "$LOGS/header.txt"
    print_plan
    ((have_gpu)) || say "no NVIDIA GPU here (nvidia-smi -L lists none): the GPU tests are skipped and the suite skips its GPU cells; the CPU part runs"
    read -ra steps <<<"$GPU_STEPS"
    read -ra chunks <<<"$GPU_BENCH_CHUNKS"
    for step in "${steps[@]}"; do
        case $step in
            setup)
                run_step install setup.log 120 bash "$SELF" --step install
                if ensure_git >>"$LOGS/setup.log" 2>&1; then
                    run_step git setup.log 60 bash "$SELF" --step git
                else
                    record git failed 0 setup.log "no git: asv cannot run"
                fi
                echo "commit: $(git -C "$ROOT" rev-parse HEAD 2>/dev/null || echo unknown)" >>"$LOGS/header.txt"
                ;;
            probe) run_step probe probe.log 120 bash "$SELF" --step probe ;;
            targets)
                if ((have_gpu)); then
                    run_step targets targets.log "$GPU_TARGETS_S" bash "$SELF" --step targets
                else
                    record targets skipped 0 targets.log "no NVIDIA GPU here"
                    say "step targets skipped: no NVIDIA GPU here"
                fi
                ;;
            tests)
                if ((have_gpu)); then
                    run_step tests tests.log "$GPU_TEST_S" bash "$SELF" --step tests
                else
                    record tests skipped 0 tests.log "no NVIDIA GPU here"
                    say "step tests skipped: no NVIDIA GPU here"
                fi
                ;;
            bench)
                i=0
                for chunk in "${chunks[@]}"; do
                    i=$((i + 1))
                    run_step "bench-$i" bench.log "$GPU_BUDGET_S" "$GPU_PYTHON" -m tensorscope.cli run --existing \
                        --profile "$GPU_PROFILE" --machine "$GPU_MACHINE" -b "$chunk"
                done
                ;;
            *) say "unknown step '$step' in GPU_STEPS (steps: setup probe targets tests bench)" ;;
        esac
    done
}

main() {
    case "${1:-}" in
        --prepare) prepare ;;
        --check) check ;;
        --step)
            case "${2:-}" in
                install) step_install ;;
                git) step_git ;;
                probe) step_probe ;;
                targets) step_targets ;;
                tests) step_tests ;;
                *) say "unknown step '${2:-}'" && return 2 ;;
            esac
            ;;
        -h | --help) usage ;;
        "") run ;;
        *) say "unknown option '$1'" && usage && return 2 ;;
    esac
}

# sourced (the tests call run_step and friends): define only
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    main "$@"
fi
