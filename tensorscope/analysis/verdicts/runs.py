"""Run time as an axis, and runner groups.

**When a point was run.** asv records ``started_at`` per benchmark row (the tidy table's
``started_at``); where it is missing the commit date stands in, and where both are missing the
commit order. A **run** is the rows of one result file started in one sitting: rows of one file more
than :data:`SESSION_GAP` apart (a partial re-run months later) are separate runs. Runs are ordered by
their first row's time (then commit order).

**Runner groups.** CI services hand out short-lived machines whose names change from job to job
(``fv-az123-456``, ``runner-8f3a2c91``): each name holds a handful of results, too few to see a step.
Machines may be joined into one group for detection:

* ``"auto"`` (default): only *clearly ephemeral* names: at least :data:`MIN_EPHEMERAL` machines whose
  names are equal once every run of 3 or more digits and every 6+ character hex token holding a digit
  is replaced by ``#`` (so ``cpu00-...``/``cpu01-...`` are never joined), and whose
  machine.json hardware fields (cpu, arch, num_cpu, os, ram) are equal;
* ``"hardware"``: every set of 2 or more machines with equal, non-empty hardware fields, whatever
  their names;
* ``"none"``: no groups.

A group is named after the shared name pattern (``fv-az#-#``; with its cpu when one pattern spans
several kinds of hardware), or, when names differ, its first member and how many more (``box-a+3``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np
import pandas as pd

__all__ = ["GROUP_MODES", "HARDWARE_FIELDS", "MIN_EPHEMERAL", "SESSION_GAP", "ephemeral_pattern", "runner_groups", "seconds"]

SESSION_GAP = 3600.0  # seconds between two rows of one file that make them two runs
HARDWARE_FIELDS = ("cpu", "arch", "num_cpu", "os", "ram")
MIN_EPHEMERAL = 3
GROUP_MODES = ("auto", "hardware", "none")


def seconds(column: pd.Series) -> np.ndarray:
    """A datetime column as float seconds since the epoch (NaN for NaT), whatever its unit or time zone."""
    if not pd.api.types.is_datetime64_any_dtype(column.dtype):
        column = pd.to_datetime(column, utc=True, errors="coerce")
    index = pd.DatetimeIndex(column)
    out = index.as_unit("ns").asi8.astype(float) / 1e9
    out[np.asarray(index.isna())] = np.nan
    return out


def ephemeral_pattern(name: str) -> str:
    """``name`` with its run-specific tokens (3+ digit runs, 6+ char hex ids) replaced by ``#``."""
    return re.sub(r"\d{3,}", "#", re.sub(r"(?i)(?<![0-9a-z])(?=[0-9a-z]*\d)[0-9a-f]{6,}(?![0-9a-z])", "#", name))


def _hardware_key(row: pd.Series) -> tuple[str, ...] | None:
    values = []
    for f in HARDWARE_FIELDS:
        v = row.get(f)
        if v is None or (isinstance(v, float) and v != v) or str(v).strip() == "":
            return None
        values.append(str(v).strip())
    return tuple(values)


def runner_groups(machines: pd.DataFrame | None, names: Iterable[str], mode: str = "auto") -> dict[str, tuple[str, list[str]]]:
    """``{machine: (group name, members)}`` for the machines joined into groups (others are absent).

    ``machines``: :attr:`ResultSet.machines` (machine.json fields); ``names``: the machines in the
    table; ``mode``: see the module docstring.
    """
    if mode not in GROUP_MODES:
        raise ValueError(f"group_machines must be one of {', '.join(GROUP_MODES)}, not {mode!r}")
    if mode == "none" or machines is None or machines.empty or "machine" not in machines.columns:
        return {}
    present = set(map(str, names))
    info = machines[machines["machine"].astype(str).isin(present)]
    buckets: dict[tuple[object, ...], list[str]] = {}
    for _, row in info.iterrows():
        hw = _hardware_key(row)
        if hw is None:
            continue
        name = str(row["machine"])
        key: tuple[object, ...] = (hw, ephemeral_pattern(name)) if mode == "auto" else (hw,)
        if mode == "auto" and "#" not in key[1]:  # type: ignore[operator]
            continue
        buckets.setdefault(key, []).append(name)
    named: list[tuple[str, tuple[object, ...], list[str]]] = []
    for key, members in buckets.items():
        if len(members) < (MIN_EPHEMERAL if mode == "auto" else 2):
            continue
        members = sorted(members)
        patterns = {ephemeral_pattern(m) for m in members}
        shared = next(iter(patterns)) if len(patterns) == 1 else ""
        named.append((shared if "#" in shared else f"{members[0]}+{len(members) - 1}", key, members))
    taken = [n for n, _, _ in named]
    out: dict[str, tuple[str, list[str]]] = {}
    for name, key, members in named:
        if taken.count(name) > 1:  # one name pattern on different hardware: say which
            name = f"{name} ({key[0][0]})"  # type: ignore[index]
        for m in members:
            out[m] = (name, members)
    return out
