"""Triage: what a person decided about a detected change, kept in the store beside the data, with its history.

A change is identified by what stays true of it when the analysis runs again on more data: its
kind (``step`` or ``environment``), the machine (or runner group) it was analysed on, the
environment, the benchmark and parameters (empty for an environment shift) and the first commit at
the new level (``commit_after``). Its id is a digest of those; :func:`change_id` computes it, and a
verdict recomputed after new data finds its decision again by that id.

States: untriaged (no decision yet), acknowledged, investigating, expected, wontfix, invalid (noise or
environment), fixed. Every change of state, note, link or person is kept in ``triage_history``.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from . import schema as s
from .engine import writing
from .schema import TRIAGE_STATES

UNTRIAGED = "untriaged"
# the states that still ask for a person's attention (report's exit code counts these)
OPEN_STATES = frozenset({UNTRIAGED})


@dataclass(frozen=True)
class Change:
    """What identifies a detected change across re-analyses."""

    kind: str  # step | environment
    machine: str
    env: str
    benchmark: str
    params: str
    commit: str

    @property
    def id(self) -> str:
        return change_id(self)


def change_id(change: Change) -> str:
    """The change's stable id (hex SHA-256 of its identifying fields)."""
    text = json.dumps([change.kind, change.machine, change.env, change.benchmark, change.params, change.commit])
    return hashlib.sha256(text.encode()).hexdigest()


def step_change(row: Mapping[Any, Any]) -> Change:
    """The :class:`Change` of a code step row of the analysis (report's regressions and improvements)."""
    return Change(
        "step", str(row["machine"]), str(row["env"]), str(row["benchmark"]), str(row.get("params") or ""), str(row["commit_after"])
    )


def shift_change(row: Mapping[Any, Any]) -> Change:
    """The :class:`Change` of an environment shift row of the analysis."""
    return Change("environment", str(row["machine"]), str(row["env"]), "", "", str(row["commit_after"]))


@dataclass(frozen=True)
class Decision:
    """A change's current triage."""

    id: str
    change: Change
    state: str
    note: str
    link: str
    who: str
    at_ms: float


def _who(who: str | None) -> str:
    if who:
        return who
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def set_state(
    engine: sa.Engine, change: Change, state: str, *, note: str | None = None, link: str | None = None, who: str | None = None
) -> Decision:
    """Record ``state`` (and a note, link, person) for ``change``; the previous decision goes to the history.

    A note or link not given is kept from the previous decision. ValueError for an unknown state.
    """
    if state not in TRIAGE_STATES:
        raise ValueError(f"unknown triage state {state!r}: one of {', '.join(TRIAGE_STATES)}")
    key = change.id
    now = time.time() * 1000.0
    person = _who(who)
    with writing(engine) as conn:
        if conn.dialect.name == "postgresql":
            # two people deciding about one change at once: one after the other, both in the history
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": key})
        row = conn.execute(sa.select(s.triage).where(s.triage.c.key == key)).one_or_none()
        values = {
            "state": state,
            "note": note if note is not None else (row.note if row is not None else ""),
            "link": link if link is not None else (row.link if row is not None else ""),
            "who": person,
            "at_ms": now,
        }
        if row is None:
            from sqlalchemy.dialects import postgresql, sqlite

            insert = (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(s.triage)
            conn.execute(
                insert.values(
                    key=key,
                    kind=change.kind,
                    machine=change.machine,
                    env=change.env,
                    benchmark=change.benchmark,
                    params=change.params,
                    commit=change.commit,
                    **values,
                ).on_conflict_do_update(index_elements=["key"], set_=values)
            )
        else:
            conn.execute(sa.update(s.triage).where(s.triage.c.id == row.id).values(**values))
        tid = conn.execute(sa.select(s.triage.c.id).where(s.triage.c.key == key)).scalar_one()
        conn.execute(sa.insert(s.triage_history).values(triage_id=tid, **values))
    return Decision(key, change, state, str(values["note"]), str(values["link"]), person, now)


def decisions(engine: sa.Engine, *, state: str | None = None) -> list[Decision]:
    """Every recorded decision (of one state), newest first."""
    q = sa.select(s.triage).order_by(s.triage.c.at_ms.desc())
    if state is not None:
        q = q.where(s.triage.c.state == state)
    with engine.connect() as conn:
        return [_decision(r) for r in conn.execute(q)]


def _decision(r: Any) -> Decision:
    return Decision(r.key, Change(r.kind, r.machine, r.env, r.benchmark, r.params, r.commit), r.state, r.note, r.link, r.who, r.at_ms)


def states(engine: sa.Engine, ids: Iterable[str]) -> dict[str, str]:
    """{change id: state} of the given changes (untriaged where nothing is recorded)."""
    wanted = list(dict.fromkeys(ids))
    out = dict.fromkeys(wanted, UNTRIAGED)
    with engine.connect() as conn:
        for i in range(0, len(wanted), 500):
            for key, state in conn.execute(sa.select(s.triage.c.key, s.triage.c.state).where(s.triage.c.key.in_(wanted[i : i + 500]))):
                out[key] = state
    return out


def find(engine: sa.Engine, prefix: str) -> list[Decision]:
    """Recorded decisions whose id starts with ``prefix``."""
    with engine.connect() as conn:
        return [_decision(r) for r in conn.execute(sa.select(s.triage).where(s.triage.c.key.startswith(prefix, autoescape=True)))]


def history(engine: sa.Engine, change_key: str) -> list[dict[str, Any]]:
    """Every decision recorded for a change, oldest first."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(s.triage_history)
            .join(s.triage, s.triage.c.id == s.triage_history.c.triage_id)
            .where(s.triage.c.key == change_key)
            .order_by(s.triage_history.c.id)
        )
        return [{"state": r.state, "note": r.note, "link": r.link, "who": r.who, "at_ms": r.at_ms} for r in rows]
