"""On-disk cache of per-series verdicts, keyed by a hash of each series' data (Arrow IPC only, never pickle).

Detection is the slow part of the history analysis, and most series do not change between two
calls (a new run adds one point to each series it measured; nothing else moves). Each series' verdict
(:class:`~tensorscope.analysis.verdicts.series.SeriesVerdict`: its code and environment steps, its
levels when unstable) is therefore stored under a 128-bit hash of everything it was computed from:
the series' log values (with what environment shifts explain removed), CIs, commit and run ranks and raw-sample fingerprints, plus
the detector's settings and :data:`ALGORITHM` (bumped whenever the verdicts would change). An
unchanged series is never analysed again, by any process: every ``tensorscope report`` call and
every dashboard server using the same cache directory shares the store.

A whole analysis whose input did not change at all (a new dashboard server on the same results) is
read back as it was assembled: :class:`AnalysisStore` keeps the last few, keyed by
:func:`table_fingerprint` (a hash of the table's columns, the machines' facts and the settings),
one Feather (Arrow IPC) file per frame under ``<cache_dir>/verdicts/analysis-<fingerprint>/``.

Layout: ``<cache_dir>/verdicts/<settings hash>.arrow``, one Arrow IPC file, one row per series
(``h1``, ``h2`` the hash; ``used`` the day it was last written; the verdict's columns; ``steps`` a
list of structs). It is replaced atomically (write to a temporary file, then ``os.replace``), so
concurrent readers always see a whole file; two writers at once may lose one's new rows, which are
then simply computed again. At most :data:`MAX_SERIES` rows are kept, the least recently written
dropped first. A store that cannot be read is ignored (and rebuilt); one that cannot be written is
skipped silently.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.feather as feather
import pyarrow.ipc as ipc

__all__ = ["ALGORITHM", "MAX_SERIES", "STEP_TYPE", "AnalysisStore", "VerdictStore", "series_hashes", "table_fingerprint"]

# Bump when a verdict computed from the same inputs would differ: old entries are then ignored.
ALGORITHM = 7
MAX_SERIES = 2_000_000
STEP_TYPE = pa.struct(
    [
        ("env", pa.bool_()),
        ("before", pa.int32()),
        ("after", pa.int32()),
        ("cut", pa.int32()),
        ("value_before", pa.float64()),
        ("value_after", pa.float64()),
        ("pvalue", pa.float64()),
        ("n_before", pa.int32()),
        ("n_after", pa.int32()),
        ("flags", pa.int32()),
    ]
)
SCHEMA = pa.schema(
    [
        ("h1", pa.uint64()),
        ("h2", pa.uint64()),
        ("used", pa.int32()),
        ("noise", pa.float64()),
        ("bimodal_runs", pa.int32()),
        ("unstable", pa.bool_()),
        ("mode_low", pa.float64()),
        ("mode_high", pa.float64()),
        ("share_high", pa.float64()),
        ("switches", pa.int32()),
        ("steps", pa.list_(STEP_TYPE)),
    ]
)

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser, elementwise (uint64 arithmetic wraps, as intended)."""
    z = x + _GOLDEN
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


def _bits(x: np.ndarray) -> np.ndarray:
    x = np.where(np.isnan(x), np.nan, x)  # one NaN bit pattern
    return np.ascontiguousarray(x, dtype=np.float64).view(np.uint64)


def series_hashes(starts: np.ndarray, fields: list[np.ndarray], settings: str) -> tuple[np.ndarray, np.ndarray]:
    """Two 64-bit hashes per series of the per-point ``fields`` (float or int arrays, one value per point).

    ``starts[s]:starts[s + 1]`` are series s's points; a point's position within its series is part
    of the hash, so the same values in another order hash differently. ``settings`` seeds both.
    """
    n_points = int(starts[-1])
    n_series = len(starts) - 1
    if n_series == 0:
        return np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.uint64)
    seed = np.frombuffer(hashlib.blake2b(f"{ALGORITHM}|{settings}".encode(), digest_size=16).digest(), dtype=np.uint64)
    counts = np.diff(starts)
    pos = (np.arange(n_points) - np.repeat(starts[:-1], counts)).astype(np.uint64)
    lanes = []
    for lane in (0, 1):
        h = _mix(pos ^ seed[lane])
        for f in fields:
            v = _bits(f) if np.issubdtype(f.dtype, np.floating) else np.asarray(f).astype(np.int64).view(np.uint64)
            h = _mix(h ^ v ^ np.uint64(lane + 1))
        total = np.add.reduceat(h, starts[:-1]) if n_points else np.zeros(n_series, dtype=np.uint64)
        lanes.append(_mix(total ^ counts.astype(np.uint64) ^ seed[lane]))
    return lanes[0], lanes[1]


def settings_key(**settings: object) -> str:
    """A stable text form of the detector settings (part of every hash and of the store's name)."""
    return json.dumps(settings, sort_keys=True, default=str)


class VerdictStore:
    """The verdicts of one detector setting under ``cache_dir`` (``None``: a store that keeps nothing)."""

    def __init__(self, cache_dir: Path | None, settings: str) -> None:
        self.settings = settings
        name = hashlib.blake2b(f"{ALGORITHM}|{settings}".encode(), digest_size=8).hexdigest()
        self.path = None if cache_dir is None else Path(cache_dir) / "verdicts" / f"{name}.arrow"
        self.table = SCHEMA.empty_table()
        if self.path is not None and self.path.is_file():
            with contextlib.suppress(Exception):  # unreadable or foreign: start afresh
                with pa.memory_map(str(self.path)) as source:
                    table = ipc.open_file(source).read_all()
                if table.schema.equals(SCHEMA):
                    self.table = table
        self._h1 = self.table.column("h1").to_numpy()
        self._h2 = self.table.column("h2").to_numpy()

    def lookup(self, h1: np.ndarray, h2: np.ndarray) -> np.ndarray:
        """Row of the store holding each hash, or -1."""
        if len(self._h1) == 0 or len(h1) == 0:
            return np.full(len(h1), -1, dtype=np.int64)
        order = np.argsort(self._h1, kind="stable")
        sorted_h1 = self._h1[order]
        i = np.clip(np.searchsorted(sorted_h1, h1), 0, len(sorted_h1) - 1)
        row = order[i]
        hit = (sorted_h1[i] == h1) & (self._h2[row] == h2)
        return np.where(hit, row, -1).astype(np.int64)

    def rows(self, rows: np.ndarray) -> pa.Table:
        """The stored verdicts at ``rows`` (from :meth:`lookup`)."""
        return self.table.take(pa.array(rows, type=pa.int64()))

    def save(self, new: pa.Table) -> None:
        """Add ``new`` verdicts (schema :data:`SCHEMA`) and write the store, if it has a place on disk."""
        if self.path is None or new.num_rows == 0:
            return
        today = int(time.time() // 86400)
        new = new.set_column(new.schema.get_field_index("used"), "used", pa.array(np.full(new.num_rows, today, dtype=np.int32)))
        old = self.table
        if old.num_rows:
            keep = ~np.isin(old.column("h1").to_numpy(), new.column("h1").to_numpy())
            old = old.filter(pa.array(keep))
        table = pa.concat_tables([old, new]) if old.num_rows else new
        if table.num_rows > MAX_SERIES:
            newest = np.argsort(-table.column("used").to_numpy(), kind="stable")[:MAX_SERIES]
            table = table.take(pa.array(np.sort(newest)))
        with contextlib.suppress(OSError):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".verdicts-", suffix=".tmp")
            try:
                with os.fdopen(fd, "wb") as sink, ipc.new_file(sink, SCHEMA) as writer:
                    writer.write_table(table)
                os.replace(tmp, self.path)
            finally:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
        self.table = table
        self._h1 = table.column("h1").to_numpy()
        self._h2 = table.column("h2").to_numpy()


# whole analyses kept (each a few frames; the per-series store above is what makes a changed tree fast)
MAX_ANALYSES = 4


def table_fingerprint(table: pd.DataFrame, machines: pd.DataFrame | None, settings: str) -> str:
    """A hash of everything an analysis of ``table`` reads: its columns (categories by code), the machines' facts, the settings."""
    h = hashlib.blake2b(f"{ALGORITHM}|{settings}|{len(table)}".encode(), digest_size=16)
    for name in sorted(map(str, table.columns)):
        col = table[name]
        h.update(f"|{name}:{col.dtype}".encode())
        if isinstance(col.dtype, pd.CategoricalDtype):
            h.update(np.ascontiguousarray(col.cat.codes.to_numpy()).tobytes())
            h.update("\x00".join(map(str, col.cat.categories)).encode())
        elif isinstance(col.dtype, pd.ArrowDtype) and pa.types.is_list(col.dtype.pyarrow_dtype):
            # lists (raw samples) by their values and lengths: buffers may hold bytes no value owns
            arr = pa.chunked_array(col.array.__arrow_array__())
            h.update(pc.fill_null(pc.list_value_length(arr), -1).to_numpy().tobytes())
            h.update(pc.list_flatten(arr).to_numpy(zero_copy_only=False).tobytes())
        elif pd.api.types.is_datetime64_any_dtype(col.dtype):
            h.update(np.ascontiguousarray(pd.DatetimeIndex(col).as_unit("ns").asi8).tobytes())
        elif pd.api.types.is_numeric_dtype(col.dtype) or pd.api.types.is_bool_dtype(col.dtype):
            h.update(np.ascontiguousarray(col.to_numpy()).tobytes())
        else:  # anything else by its text
            h.update(pd.util.hash_pandas_object(col.astype(str), index=False).to_numpy().tobytes())
    if machines is not None and not machines.empty:
        h.update(pd.util.hash_pandas_object(machines.astype(str), index=False).to_numpy().tobytes())
    return h.hexdigest()


class AnalysisStore:
    """Whole analyses by :func:`table_fingerprint` under ``cache_dir`` (``None``: keeps nothing)."""

    def __init__(self, cache_dir: Path | None) -> None:
        self.root = None if cache_dir is None else Path(cache_dir) / "verdicts"

    def load(self, fingerprint: str, names: list[str]) -> dict[str, pd.DataFrame] | None:
        """The frames saved under ``fingerprint``, or None (missing, partial or unreadable)."""
        if self.root is None:
            return None
        folder = self.root / f"analysis-{fingerprint}"
        try:
            frames = {n: feather.read_feather(folder / f"{n}.arrow") for n in names}
            os.utime(folder)  # recently used
        except Exception:  # any unreadable entry is a miss, recomputed and rewritten
            return None
        return frames

    def save(self, fingerprint: str, frames: dict[str, Any]) -> None:
        """Write ``frames`` under ``fingerprint`` (atomically: a folder renamed into place) and drop the oldest beyond MAX_ANALYSES."""
        if self.root is None:
            return
        with contextlib.suppress(Exception):
            self.root.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(dir=self.root, prefix=".analysis-"))
            try:
                for name, frame in frames.items():
                    feather.write_feather(frame.reset_index(drop=True), str(tmp / f"{name}.arrow"))
                os.replace(tmp, self.root / f"analysis-{fingerprint}")
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
            kept = sorted(self.root.glob("analysis-*"), key=lambda p: p.stat().st_mtime, reverse=True)
            for old in kept[MAX_ANALYSES:]:
                shutil.rmtree(old, ignore_errors=True)
