"""asv results (API version 2) -> one tidy pandas table.  No Streamlit here.

Modules: :mod:`.files` (reading files safely), :mod:`.parse` (one result file -> raw columns),
:mod:`.cache` (the derived columnar cache), :mod:`.load` (the whole directory -> :class:`ResultSet`),
:mod:`.model` (the model and its columns).

Public API
==========

``load_results(results_dir, *, cache_dir=None, repo=None, index_json=None, max_file_bytes=..., follow_symlinks=False) -> ResultSet``
    Read ``benchmarks.json``, ``<machine>/machine.json``, ``<machine>/<commit>-<env>.json``
    and tensorscope's ``<machine>/provenance/<commit>-<env>.json`` of any asv project.
    Never fails on bad files: each one is reported in ``ResultSet.problems`` and skipped
    (a malformed benchmark entry skips that entry only); whatever goes wrong inside one
    file stays a problem of that file. Never writes under ``results_dir``; never evaluates
    or unpickles anything read from it. Machine folders and files that are symlinks resolving
    outside ``results_dir`` are not read unless ``follow_symlinks``.

    Limits (:mod:`.model`; each reported naming the file when hit): a file of at most
    ``max_file_bytes`` (default 256 MiB); a result file expands to at most 100,000 rows plus one
    per 32 bytes of it (a benchmark whose parameter grid would go beyond is skipped: a fully
    failed grid costs nothing but its rows); at most 50,000 benchmarks per file and 32 grid
    dimensions; JSON nested at most 64 levels outside the result rows; no repeated key in one
    object; dates and ``started_at`` within the years 1677-2261. Memory: parsing one file takes
    up to about ten times its size; the finished table about 200 bytes per row (a valid 250 MB
    file of 7.0M rows: 2.2 GB peak, 13 s on two busy vCPUs).

    ``cache_dir``: where the derived columnar cache lives (``None``: no cache;
    :func:`default_cache_dir` gives a per-user location). A repeat load parses only
    the files whose content (SHA-256 of the bytes) changed; a cache that is not what this
    version writes is rebuilt, one other users may write to is not used (:mod:`.cache`).
    ``repo``: a git repository whose history orders the commits (``git rev-list``).
    ``index_json``: a published asv site's ``index.json`` (``revision_to_hash``) that
    orders the commits. Without either, commits are ordered by commit date.
    ``workers``: processes that parse result files (None: with 4 or more CPUs, all of them once
    there are 64 MiB to parse, else this process; 1: this process). Result files are parsed with orjson when it is
    installed (asv's bare NaN/Infinity handled), else with the standard library.

``ResultSet`` fields
    ``results``   (alias ``table``) the tidy table, one row per (machine, commit, env, benchmark, parameter combination),
                  sorted by ``series`` then ``commit_order``. Columns:

                  =================  =====================================================================
                  machine            category
                  commit             category, full hash
                  commit_date        datetime64[ns, UTC] (NaT when the file gives none)
                  commit_order       int64, 0 = oldest commit of the whole set
                  env                category, asv environment name
                  benchmark          category, e.g. ``bench_ops.TimeSuite.time_add``
                  type               category: time | track | memory | peakmemory (from benchmarks.json or the name)
                  params             category, human label ``backend='numpy', op='add'`` ('' when unparameterized)
                  param_<name>       category, one per parameter name, value as a plain string (quotes removed);
                                     missing for benchmarks without that parameter. Names unknown to
                                     benchmarks.json are ``param1``, ``param2``, ... (as asv's web UI does)
                  unit               category (``seconds``, ``bytes``, a track_ unit, ...)
                  value              float64, NaN unless status == 'ok'
                  ci_99_a, ci_99_b   float64, asv's 99% confidence interval of the value (NaN when absent)
                  q_25, q_75         float64, quartiles of the samples
                  number, repeat     float64 (NaN when absent)
                  samples            list of floats, or missing (pd.NA) when asv kept none (pandas ArrowDtype list column)
                  status             category: 'ok' | 'skipped' (asv wrote NaN) | 'failed' (asv wrote null)
                  version            category, the benchmark version hash of this row
                  current_version    bool, ``version`` equals benchmarks.json's (False when unknown there)
                  version_segment    int64, 0.. within a series; +1 at every version change
                  discontinuity      bool, True on the first row of a series after a version change
                  series             category, stable key ``machine|env|benchmark|params`` (distinct: when
                                     names holding '|' would make two alike, the later gets `` #2``)
                  started_at         datetime64[ns, UTC]
                  duration           float64 seconds
                  file               category, result file path relative to results_dir
                  =================  =====================================================================

                  Analysis must treat ``(series, version_segment)`` as the unit of comparison:
                  old and new benchmark versions are never one series.
    ``machines``  one row per machine: ``machine``, machine.json fields (filled from result files'
                  ``params`` when machine.json only names the machine), ``provenance.*`` columns
                  (flattened, from the newest provenance file of that machine; absent when none).
    ``envs``      one row per (machine, env): ``python``, ``requirements`` (JSON text),
                  ``env_var.<NAME>`` columns from asv's ``env_vars``.
    ``commits``   one row per commit: ``commit``, ``commit_date``, ``commit_order``.
    ``provenance`` one row per provenance file: ``machine``, ``commit``, ``env`` and flattened fields.
    ``problems``  list of :class:`Problem` (``path``, ``message``, ``severity`` 'error' | 'warning').
    ``benchmarks`` parsed benchmarks.json (``{name: {...}}``; ``{}`` when absent or bad).
    ``order_source`` 'git' | 'index.json' | 'date'.
"""

from .files import BadFile, read_json_file, read_result_json
from .load import load_results
from .model import (
    DEFAULT_MAX_FILE_BYTES,
    RESULT_COLUMNS,
    STATUSES,
    Problem,
    ResultSet,
    benchmark_type,
    default_cache_dir,
    empty_results,
    param_columns,
    plain_value,
)

__all__ = [
    "DEFAULT_MAX_FILE_BYTES",
    "RESULT_COLUMNS",
    "STATUSES",
    "BadFile",
    "Problem",
    "ResultSet",
    "benchmark_type",
    "default_cache_dir",
    "empty_results",
    "load_results",
    "param_columns",
    "plain_value",
    "read_json_file",
    "read_result_json",
]
