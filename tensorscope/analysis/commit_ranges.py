"""Detected changes grouped by commit range, across benchmarks and machines ("this range: 12 regressions on 3 machines").

Each code step says only that its cause lies in its commit range: after ``commit_before`` (the last
commit measured at the old level), up to and including ``commit_after`` (the first at the new level).
Machines that measured different commits give one culprit different ranges, so changes are grouped
by a commit that every range in the group contains, not by equal ranges: ordered by the end of their
range, each group takes every change whose range holds the first open range's end (a greedy
stabbing of the intervals ``(order_before, order_after]``, which uses the fewest groups). A group's
range is the intersection of its members' ranges, the narrowest one that can hold one shared culprit;
a change whose range holds two groups' commits joins the earlier one. Mozilla's Perfherder shows the
same summary per push range ("alert summaries").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

#: the columns of :func:`by_commit_range`'s answer
GROUP_COLUMNS = [
    "group",
    "commit_before",
    "commit_after",
    "order_before",
    "order_after",
    "changes",
    "regressions",
    "improvements",
    "machines",
    "benchmarks",
    "machine_names",
    "worst_factor",
    "members",
]


def _machines_of(row: pd.Series) -> list[str]:
    """The machines a change was measured on: a runner group's members, else its machine."""
    members = row.get("machines")
    if isinstance(members, str) and members.strip():
        return [m.strip() for m in members.split(",") if m.strip()]
    return [str(row["machine"])]


def assign_groups(changes: pd.DataFrame) -> np.ndarray:
    """The group number (0, 1, … in commit order) of each row of ``changes`` (columns ``order_before``,
    ``order_after``): rows whose ranges ``(order_before, order_after]`` all hold one commit share a number."""
    n = len(changes)
    out = np.full(n, -1, dtype=np.int64)
    if n == 0:
        return out
    before = changes["order_before"].to_numpy(dtype=float)
    after = changes["order_after"].to_numpy(dtype=float)
    order = np.lexsort((before, after))  # by the end of the range, then its start
    group = -1
    stab = -np.inf  # the commit the open group's ranges all hold (the first member's end)
    for i in order:
        if not before[i] < stab <= after[i]:  # this range does not hold the open group's commit
            group += 1
            stab = after[i]
        out[i] = group
    return out


def by_commit_range(changes: pd.DataFrame) -> pd.DataFrame:
    """One row per commit range that holds a shared culprit of ``changes`` (code steps with the analysis'
    columns ``machine``, ``benchmark``, ``kind``, ``factor``, ``commit_before``/``commit_after``,
    ``order_before``/``order_after``; ``machines`` for runner groups), newest range first.

    ``members`` lists each group's row positions in ``changes``; ``worst_factor`` is its largest slowdown
    (``factor`` of its regressions; NaN where it holds only improvements).
    """
    if changes.empty:
        return pd.DataFrame(columns=GROUP_COLUMNS)
    frame = changes.reset_index(drop=True)
    groups = assign_groups(frame)
    rows = []
    for g in np.unique(groups):
        at = np.flatnonzero(groups == g)
        part = frame.iloc[at]
        # the intersection: the latest start, the earliest end
        start = int(part.index[int(np.argmax(part["order_before"].to_numpy(dtype=float)))])
        end = int(part.index[int(np.argmin(part["order_after"].to_numpy(dtype=float)))])
        regression = (part["kind"].astype(str) == "regression").to_numpy()
        names = sorted({m for _, r in part.iterrows() for m in _machines_of(r)})
        factors = part["factor"].to_numpy(dtype=float)[regression]
        rows.append(
            {
                "group": int(g),
                "commit_before": str(frame.at[start, "commit_before"]),
                "commit_after": str(frame.at[end, "commit_after"]),
                "order_before": float(frame["order_before"].to_numpy(dtype=float)[start]),
                "order_after": float(frame["order_after"].to_numpy(dtype=float)[end]),
                "changes": len(part),
                "regressions": int(regression.sum()),
                "improvements": int((~regression).sum()),
                "machines": len(names),
                "benchmarks": int(part["benchmark"].astype(str).nunique()),
                "machine_names": ", ".join(names),
                "worst_factor": float(factors.max()) if len(factors) else float("nan"),
                "members": at.tolist(),
            }
        )
    out = pd.DataFrame(rows, columns=GROUP_COLUMNS)
    return out.sort_values(["order_after", "order_before"], ascending=False, kind="stable").reset_index(drop=True)


def summary_line(group: Mapping[str, Any] | pd.Series) -> str:
    """``"abcdef12..0123abcd: 12 regressions, 1 improvement on 3 machines (5 benchmarks)"``."""
    parts = []
    for n, word in ((int(group["regressions"]), "regression"), (int(group["improvements"]), "improvement")):
        if n:
            parts.append(f"{n} {word}{'' if n == 1 else 's'}")
    machines, benchmarks = int(group["machines"]), int(group["benchmarks"])
    return (
        f"{str(group['commit_before'])[:8]}..{str(group['commit_after'])[:8]}: {', '.join(parts)} on {machines} "
        f"machine{'' if machines == 1 else 's'} ({benchmarks} benchmark{'' if benchmarks == 1 else 's'})"
    )
