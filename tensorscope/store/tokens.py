"""Upload tokens: one per runner, limited to one machine, stored only as a SHA-256 digest, revocable."""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass

import sqlalchemy as sa

from . import schema as s

PREFIX = "tsk_"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Token:
    """A token's record (never the token itself)."""

    id: int
    machine: str
    note: str
    created_ms: float
    revoked_ms: float | None


def create(engine: sa.Engine, machine: str, note: str = "") -> tuple[Token, str]:
    """A new token for ``machine``: its record and the token, which is shown once and not kept."""
    if not machine or "/" in machine or "\x00" in machine:
        raise ValueError("a token is for one machine: give its name as in the results folder")
    token = PREFIX + secrets.token_urlsafe(32)
    now = time.time() * 1000.0
    with engine.begin() as conn:
        tid = conn.execute(
            sa.insert(s.tokens).values(digest=_digest(token), machine=machine, note=note, created_ms=now).returning(s.tokens.c.id)
        ).scalar_one()
    return Token(int(tid), machine, note, now, None), token


def revoke(engine: sa.Engine, token_id: int) -> bool:
    """Revoke a token (by id); False when there is no such token."""
    with engine.begin() as conn:
        done = conn.execute(
            sa.update(s.tokens).where(s.tokens.c.id == token_id, s.tokens.c.revoked_ms.is_(None)).values(revoked_ms=time.time() * 1000.0)
        ).rowcount
        exists = conn.execute(sa.select(s.tokens.c.id).where(s.tokens.c.id == token_id)).first() is not None
    return bool(done) or exists


def listing(engine: sa.Engine) -> list[Token]:
    """Every token's record, oldest first."""
    with engine.connect() as conn:
        return [
            Token(int(r.id), r.machine, r.note, r.created_ms, r.revoked_ms)
            for r in conn.execute(sa.select(s.tokens).order_by(s.tokens.c.id))
        ]


def authenticate(engine: sa.Engine, token: str) -> Token | None:
    """The record of a valid (known, not revoked) token; None otherwise."""
    if not token.startswith(PREFIX) or len(token) > 200:
        return None
    with engine.connect() as conn:
        r = conn.execute(sa.select(s.tokens).where(s.tokens.c.digest == _digest(token))).first()
    if r is None or r.revoked_ms is not None:
        return None
    return Token(int(r.id), r.machine, r.note, r.created_ms, r.revoked_ms)
