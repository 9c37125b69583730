"""``tensorscope push [RESULTS_DIR] --to URL --token-file F``: send a machine's asv results to a store's upload API.

Sends only what the server does not have yet (it lists the content digests it holds), so a push
that was interrupted resumes where it stopped. A failed connection or a server error (5xx) is
retried with backoff. Exit status: 0 when everything was delivered (or was there already), 1 when
something could not be (each listed on stderr, with the server's one-line reason), 2 for usage errors.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from tensorscope.units import printable


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the ``push`` subcommand's arguments."""
    parser.add_argument("results_dir", nargs="?", type=Path, default=Path("results"), help="asv results directory (default: ./results)")
    parser.add_argument("--to", required=True, metavar="URL", help="the server, e.g. http://bench.internal:8765")
    parser.add_argument("--token-file", required=True, type=Path, help="file holding this runner's token")
    parser.add_argument("--machine", default=None, help="the machine folder to push (default: the only one in RESULTS_DIR)")
    parser.add_argument("--retries", type=int, default=6, help="tries per file on connection or server errors (default 6)")


class _Client:
    def __init__(self, base: str, token: str, retries: int) -> None:
        self.base = base.rstrip("/")
        self.token = token
        self.retries = max(1, retries)

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
        """(status, JSON answer); retries connection failures and 5xx with exponential backoff."""
        data = None if body is None else json.dumps(body).encode()
        delay = 0.5
        last = ""
        for attempt in range(self.retries):
            request = urllib.request.Request(self.base + path, data=data, method=method)
            request.add_header("Authorization", f"Bearer {self.token}")
            if data is not None:
                request.add_header("Content-Type", "application/json")
            try:
                with urllib.request.urlopen(request, timeout=300) as response:
                    return response.status, json.loads(response.read() or b"{}")
            except urllib.error.HTTPError as exc:
                answer = exc.read()
                if exc.code < 500:
                    try:
                        return exc.code, json.loads(answer or b"{}")
                    except ValueError:
                        return exc.code, {"error": answer[:200].decode(errors="replace")}
                last = f"server error {exc.code}"
            except (urllib.error.URLError, OSError, ValueError) as exc:
                last = str(getattr(exc, "reason", exc))
            if attempt + 1 < self.retries:
                time.sleep(delay)
                delay = min(delay * 2, 30.0)
        return 0, {"error": f"not delivered after {self.retries} tries: {last}"}


def read_token(path: Path) -> str:
    """The token in ``path`` (surrounding white space dropped); ValueError with a one-line reason when it cannot be read."""
    try:
        token = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ValueError(f"cannot read the token file {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ValueError(f"the token file {path} is not text: it should hold the token `tensorscope token create` printed") from None
    if not token:
        raise ValueError(f"the token file {path} is empty: put the token `tensorscope token create` printed in it")
    return token


def main(args: argparse.Namespace) -> int:
    """Push; returns 0 (all delivered), 1 (something was not) or 2 (usage error)."""
    try:
        token = read_token(args.token_file)
    except ValueError as exc:
        print(f"tensorscope push: {exc}", file=sys.stderr)
        return 2
    root: Path = args.results_dir
    if not root.is_dir():
        print(f"tensorscope push: no results directory at {printable(str(root))}", file=sys.stderr)
        return 2
    machines = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    machine = args.machine or (machines[0] if len(machines) == 1 else None)
    if machine is None or not (root / machine).is_dir():
        print(
            f"tensorscope push: say which machine folder to push with --machine (found: {printable(', '.join(machines)) or 'none'})",
            file=sys.stderr,
        )
        return 2
    return push(root, machine, args.to, token, retries=args.retries)


def push(root: Path, machine: str, to: str, token: str, *, retries: int = 6, prog: str = "tensorscope push") -> int:
    """Send the files of ``root/machine`` that the server at ``to`` does not hold yet; returns 0 (all
    delivered or there already) or 1 (something was not: each listed on stderr with the server's reason)."""
    client = _Client(to, token, retries)
    status, answer = client.call("GET", "/api/v1/uploads")
    if status != 200:
        print(f"{prog}: {to}: {printable(str(answer.get('error') or answer))}", file=sys.stderr)
        return 1
    known: dict[str, str] = answer.get("uploads", {})
    machine_json = root / machine / "machine.json"
    benchmarks_json = root / "benchmarks.json"
    extra = {
        "machine_json": base64.b64encode(machine_json.read_bytes()).decode() if machine_json.is_file() else None,
        "benchmarks_json": base64.b64encode(benchmarks_json.read_bytes()).decode() if benchmarks_json.is_file() else None,
    }
    files = sorted(p for p in (root / machine).glob("*.json") if p.name != "machine.json" and not p.name.startswith("."))
    sent = skipped = 0
    failed: list[str] = []
    for path in files:
        content = path.read_bytes()
        if known.get(path.name) == hashlib.sha256(content).hexdigest():
            skipped += 1
            continue
        body = {"file_name": path.name, "result": base64.b64encode(content).decode(), "machine": machine, **extra}
        status, answer = client.call("POST", "/api/v1/uploads", body)
        if status in (200, 201):
            sent += 1
            extra = {**extra, "benchmarks_json": None}  # sent once per push; the server keeps the newest
        else:
            failed.append(f"{path.name}: {status or 'no answer'} {answer.get('error') or answer.get('message')}")
    for line in failed:
        print(f"{prog}: not delivered: {printable(line)}", file=sys.stderr)
    print(f"pushed {sent} files of {printable(machine)}, {skipped} already there, {len(failed)} not delivered")
    return 1 if failed else 0
