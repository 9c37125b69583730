"""``tensorscope token``: upload tokens of a results store, one per runner, each limited to one machine.

tensorscope token create --machine NAME [--note TEXT]   # prints the token once; only its digest is stored
tensorscope token revoke ID
tensorscope token list
"""

from __future__ import annotations

import argparse
import sys
import time

from tensorscope.units import printable

from .cmd_ingest import add_store_argument


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the ``token`` subcommand's arguments."""
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    p_create = sub.add_parser("create", help="a new token for one machine (printed once)", description="a new token for one machine")
    p_create.add_argument("--machine", required=True, help="the machine (results folder name) the token may upload for")
    p_create.add_argument("--note", default="", help="what the token is for (e.g. the CI job)")
    add_store_argument(p_create)
    p_revoke = sub.add_parser("revoke", help="revoke a token by id", description="revoke a token by id")
    p_revoke.add_argument("id", type=int)
    add_store_argument(p_revoke)
    p_list = sub.add_parser("list", help="every token (never the token itself)", description="every token's id, machine and state")
    add_store_argument(p_list)


def main(args: argparse.Namespace) -> int:
    """Run the token action; 0, or 2 for a usage error."""
    from . import StoreError, open_store
    from .tokens import create, listing, revoke

    try:
        engine = open_store(args.store)
    except StoreError as exc:
        print(f"tensorscope token: {exc}", file=sys.stderr)
        return 2
    try:
        if args.action == "create":
            try:
                record, token = create(engine, args.machine, args.note)
            except ValueError as exc:
                print(f"tensorscope token: {exc}", file=sys.stderr)
                return 2
            print(f"token {record.id} for machine {printable(record.machine)} (shown once; keep it in your CI's secrets):", file=sys.stderr)
            print(token)
            return 0
        if args.action == "revoke":
            if not revoke(engine, args.id):
                print(f"tensorscope token: no token {args.id}", file=sys.stderr)
                return 2
            print(f"token {args.id} revoked")
            return 0
        for t in listing(engine):
            state = "revoked " + time.strftime("%Y-%m-%d", time.gmtime(t.revoked_ms / 1000)) if t.revoked_ms else "valid"
            print(f"{t.id:>4}  {printable(t.machine)}  {state}  {printable(t.note)}")
        return 0
    finally:
        engine.dispose()
