"""``tensorscope triage``: record and list what people decided about detected changes (in a results store).

    tensorscope triage set ID STATE [--note TEXT] [--link URL] [--who NAME]
    tensorscope triage list [--state STATE] [--format table|json]
    tensorscope triage history ID

``ID`` is a change's id as ``report --store`` prints it (a prefix of 6 or more characters is enough).
A change nobody decided about yet is found by running the analysis on the store (cached), so any
regression, improvement or environment shift ``report --store`` lists can be triaged.
States: untriaged, acknowledged, investigating, expected, wontfix, invalid, fixed.

Exit status: 0 done, 2 usage error (unknown or ambiguous id, unknown state, a store that cannot be opened).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import sqlalchemy as sa

from tensorscope.units import printable

from .cmd_ingest import add_store_argument
from .schema import TRIAGE_STATES
from .triage import Change, decisions, find, history, set_state, shift_change, step_change

MIN_ID = 6


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the ``triage`` subcommand's arguments."""
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    p_set = sub.add_parser("set", help="record a decision about a change", description="record a decision about a change")
    p_set.add_argument("id", help="the change's id (as report --store prints it; a prefix of 6+ characters)")
    p_set.add_argument("state", choices=TRIAGE_STATES, help="the new state")
    p_set.add_argument("--note", default=None, help="why (kept from the previous decision when not given)")
    p_set.add_argument("--link", default=None, help="an issue or pull request (kept from the previous decision when not given)")
    p_set.add_argument("--who", default=None, help="who decided (default: your user name)")
    add_store_argument(p_set)
    p_list = sub.add_parser("list", help="list recorded decisions", description="list recorded decisions, newest first")
    p_list.add_argument("--state", choices=TRIAGE_STATES, default=None, help="only this state")
    p_list.add_argument("--format", choices=("table", "json"), default="table")
    add_store_argument(p_list)
    p_hist = sub.add_parser("history", help="every decision about one change", description="every decision about one change, oldest first")
    p_hist.add_argument("id", help="the change's id (or a prefix of 6+ characters)")
    add_store_argument(p_hist)


def _when(ms: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.gmtime(ms / 1000.0))


def analysed_changes(engine: sa.Engine) -> list[Change]:
    """Every change the analysis of the store finds (code steps and environment shifts), as triage Changes."""
    from tensorscope.analysis import regressions as reg
    from tensorscope.results import default_cache_dir

    from . import load_store

    cache = default_cache_dir(Path("."))
    rs = load_store(engine, cache_dir=cache)
    verdicts = reg.analyse(rs, cache_dir=cache)
    out = [step_change(r) for r in verdicts.steps.to_dict("records")]
    out += [shift_change(r) for r in verdicts.environment_shifts.to_dict("records")]
    return out


def _resolve(engine: sa.Engine, prefix: str) -> Change:
    """The Change an id prefix names; ValueError when none or several."""
    if len(prefix) < MIN_ID:
        raise ValueError(f"give at least {MIN_ID} characters of the change's id")
    found = {d.id: d.change for d in find(engine, prefix.lower())}
    if not found:
        found = {c.id: c for c in analysed_changes(engine) if c.id.startswith(prefix.lower())}
    if not found:
        raise ValueError(f"no change has an id starting with {prefix!r}: `tensorscope report --store URL` lists the changes with their ids")
    if len(found) > 1:
        raise ValueError(f"{len(found)} changes have ids starting with {prefix!r}: give more characters")
    return next(iter(found.values()))


def main(args: argparse.Namespace) -> int:
    """Run the triage action; returns 0 or 2."""
    from . import StoreError, open_store

    try:
        engine = open_store(args.store)
    except StoreError as exc:
        print(f"tensorscope triage: {exc}", file=sys.stderr)
        return 2
    try:
        if args.action == "set":
            try:
                change = _resolve(engine, args.id)
            except ValueError as exc:
                print(f"tensorscope triage: {exc}", file=sys.stderr)
                return 2
            d = set_state(engine, change, args.state, note=args.note, link=args.link, who=args.who)
            print(
                f"{d.id[:12]} {d.state}: {printable(d.change.benchmark or 'environment shift')} on {printable(d.change.machine)} at {d.change.commit[:8]}"
            )
            return 0
        if args.action == "history":
            try:
                change = _resolve(engine, args.id)
            except ValueError as exc:
                print(f"tensorscope triage: {exc}", file=sys.stderr)
                return 2
            for h in history(engine, change.id):
                note = f"  {printable(h['note'])}" if h["note"] else ""
                link = f"  {printable(h['link'])}" if h["link"] else ""
                print(f"{_when(h['at_ms'])}  {h['state']:<13} {printable(h['who'])}{note}{link}")
            return 0
        rows = decisions(engine, state=args.state)
        if args.format == "json":
            doc = [
                {"id": d.id, **d.change.__dict__, "state": d.state, "note": d.note, "link": d.link, "who": d.who, "at_ms": d.at_ms}
                for d in rows
            ]
            print(json.dumps(doc, indent=2))
            return 0
        if not rows:
            print("no triage decisions recorded")
        for d in rows:
            what = d.change.benchmark + (f"({d.change.params})" if d.change.params else "") if d.change.benchmark else "environment shift"
            print(
                f"{d.id[:12]}  {d.state:<13} {_when(d.at_ms)}  {printable(d.who)}  {printable(what)} [{printable(d.change.env)}] "
                f"on {printable(d.change.machine)} at {d.change.commit[:8]}" + (f"  {printable(d.link)}" if d.link else "")
            )
        return 0
    finally:
        engine.dispose()
