"""Reading files under a results directory safely: size limits, regular files only, clear reasons.

Nothing here evaluates or unpickles anything; a file that cannot be used raises :class:`BadFile`
with a one-line reason meant for the user. What is refused, and why:

* anything but a regular file (FIFOs, devices, sockets: opened without blocking, checked with
  ``fstat`` on the open descriptor, so a file swapped for a FIFO after the scan cannot hang us);
* files over ``max_bytes``; empty files; binary files; text that is not UTF-8;
* JSON that does not parse, nests deeper than :data:`MAX_JSON_DEPTH`, holds an integer of more
  than 4300 digits (Python's limit) or a string with a lone UTF-16 surrogate (``"\\ud800"``: no
  text any later step can store), or repeats a key inside one object (JSON leaves the meaning of
  a repeated key open: asv and we could read different data from one file);
* symlinks (machine folders or files) that resolve outside the results directory, unless the
  caller asks to follow them (:func:`scan_tree`).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .model import DEFAULT_MAX_FILE_BYTES

_orjson: Any
try:  # optional: about 5x faster parsing of large result files (see _loads_fast)
    import orjson as _orjson
except ImportError:  # pragma: no cover - exercised where orjson is not installed
    _orjson = None

# Deeper JSON is refused (no asv or tensorscope file nests more than a handful of levels); it
# also keeps every later step (flattening, the cache's JSON) far from Python's recursion limit.
MAX_JSON_DEPTH = 64


class BadFile(Exception):
    """A file that cannot be used; the message is shown to the user."""


def _mib(n: float) -> str:
    return f"{n / 2**20:.1f} MiB" if n < 10 * 2**20 else f"{n / 2**20:.0f} MiB"


def _open_regular(path: Path, max_bytes: int) -> tuple[int, int]:
    """(descriptor, size) of a regular file within the size limit; BadFile otherwise (nothing left open)."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise BadFile(f"cannot read file: {exc.strerror or exc}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise BadFile("not a regular file")
        if st.st_size > max_bytes:
            raise BadFile(f"file is {_mib(st.st_size)}, over the {_mib(max_bytes)} limit (raise max_file_bytes to read it)")
        if st.st_size == 0:
            raise BadFile("empty file")
    except BaseException:
        os.close(fd)
        raise
    return fd, st.st_size


def read_bytes(path: Path, max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> bytes:
    """A regular, non-empty file's bytes within the size limit, or BadFile with a clear reason."""
    fd, _ = _open_regular(path, max_bytes)
    try:
        with os.fdopen(fd, "rb", closefd=True) as fh:
            raw = fh.read(max_bytes + 1)
    except OSError as exc:
        raise BadFile(f"cannot read file: {exc.strerror or exc}") from None
    if len(raw) > max_bytes:  # grew since fstat
        raise BadFile(f"file is over the {_mib(max_bytes)} limit (raise max_file_bytes to read it)")
    if not raw:
        raise BadFile("empty file")
    if b"\x00" in raw[:65536]:
        raise BadFile("binary file (NUL bytes), not JSON text")
    return raw


def digest_bytes(raw: bytes) -> str:
    """The content key of a file's bytes (what the cache ties its entries to)."""
    return hashlib.sha256(raw).hexdigest()


def file_digest(path: Path, max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> str:
    """:func:`digest_bytes` of a file, read in 1 MiB chunks (BadFile as :func:`read_bytes`)."""
    fd, _ = _open_regular(path, max_bytes)
    h = hashlib.sha256()
    total = 0
    try:
        with os.fdopen(fd, "rb", closefd=True) as fh:
            while chunk := fh.read(2**20):
                total += len(chunk)
                if total > max_bytes:
                    raise BadFile(f"file is over the {_mib(max_bytes)} limit (raise max_file_bytes to read it)")
                h.update(chunk)
    except OSError as exc:
        raise BadFile(f"cannot read file: {exc.strerror or exc}") from None
    return h.hexdigest()


def _name(key: str) -> str:
    """A key quoted for a problem line, cut to a readable length."""
    return repr(key if len(key) <= 80 else key[:80] + "…")


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``object_pairs_hook`` that refuses a key repeated inside one object."""
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for k, _ in pairs:
            if k in seen:
                raise BadFile(f"key {_name(k)} appears twice in one JSON object (which one counts is undefined)")
            seen.add(k)
    return out


def _loads_std(raw: bytes) -> Any:
    """The standard library's parse (NaN/Infinity allowed), with its precise error messages."""
    try:
        text = raw.decode("utf-8-sig")  # a BOM is not an error
    except UnicodeDecodeError as exc:
        raise BadFile(f"not UTF-8 text (invalid byte 0x{raw[exc.start]:02x} at offset {exc.start})") from None
    if not text.strip():
        raise BadFile("empty file")
    try:
        doc = json.loads(text, object_pairs_hook=_unique_pairs)
    except json.JSONDecodeError as exc:
        hint = " (truncated?)" if exc.pos >= len(text.rstrip()) - 1 else ""
        raise BadFile(f"not valid JSON{hint}: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise BadFile(f"JSON nested more than {MAX_JSON_DEPTH} levels deep") from None
    except ValueError as exc:  # e.g. "Exceeds the limit (4300 digits) for integer string conversion"
        raise BadFile(f"not usable JSON: {str(exc).split(';')[0][:200]}") from None
    if b"\\ud" in raw or b"\\uD" in raw:
        _check_surrogates(doc)
    return doc


def _check_surrogates(doc: Any) -> None:
    """BadFile when a string holds a lone UTF-16 surrogate (JSON's ``\\ud800``): not text any later step can store."""
    stack = [doc]
    while stack:
        x = stack.pop()
        if isinstance(x, str):
            try:
                x.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise BadFile(f"a string holds a lone UTF-16 surrogate (\\u{ord(x[exc.start]):04x}): not valid Unicode text") from None
        elif isinstance(x, dict):
            stack.extend(x.keys())
            stack.extend(x.values())
        elif isinstance(x, list):
            stack.extend(x)


def check_depth(doc: Any, limit: int = MAX_JSON_DEPTH) -> None:
    """BadFile when ``doc`` nests containers deeper than ``limit`` (iterative: no recursion)."""
    stack: list[tuple[Any, int]] = [(doc, 1)]
    while stack:
        x, depth = stack.pop()
        if depth > limit:
            raise BadFile(f"JSON nested more than {limit} levels deep")
        if isinstance(x, dict):
            stack.extend((v, depth + 1) for v in x.values() if isinstance(v, dict | list))
        elif isinstance(x, list):
            stack.extend((v, depth + 1) for v in x if isinstance(v, dict | list))


def read_json_file(path: Path, max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> Any:
    """Parse a JSON file (NaN/Infinity allowed, as asv writes them) or raise BadFile with a clear reason."""
    doc = _loads_std(read_bytes(path, max_bytes))
    check_depth(doc)
    return doc


# asv writes bare NaN, Infinity and -Infinity, which orjson (strict JSON) rejects. The fast path
# rewrites them as these sentinel numbers (negative subnormals: no benchmark reports one; a file
# that already holds such a number text, "e-32", takes the standard path) and maps them back
# after the numbers are converted to arrays (:func:`unsentinel`).
_SENTINELS = ((b"-Infinity", b"-1.5e-323", -math.inf), (b"Infinity", b"-1e-323", math.inf), (b"NaN", b"-5e-324", math.nan))
_SENTINEL_MARK = "e-32"
_SENTINEL_VALUES = tuple((float(text), value) for _, text, value in _SENTINELS)
# a colon written as a JSON escape inside a string: the duplicate-key count below cannot see it
_ESCAPED_COLONS = (b"\\u003a", b"\\u003A")


def _loads_fast(raw: bytes) -> tuple[Any, bool] | None:
    """(document, sentinels used) parsed with orjson; None when the standard parser must decide.

    orjson keeps the last of repeated keys silently. A repeated key is caught without walking
    the document: every colon outside strings separates one key from its value, so the colons
    of the file and of orjson's re-serialization (one per *distinct* key, plus the same colons
    inside strings) match exactly when no object repeats a key.
    """
    if _orjson is None:
        return None
    if any(e in raw for e in _ESCAPED_COLONS):
        return None
    colons = raw.count(b":")
    sentinels = b"NaN" in raw or b"Infinity" in raw
    if sentinels:
        if _SENTINEL_MARK.encode() in raw:
            return None
        for token, text, _ in _SENTINELS:
            if token in raw:
                raw = raw.replace(token, text)
    try:
        doc = _orjson.loads(raw)
    except _orjson.JSONDecodeError:
        return None  # bad JSON, or JSON only the standard parser accepts (lone surrogates, huge ints)
    del raw
    try:
        if _orjson.dumps(doc).count(b":") != colons:
            return None  # a repeated key: the standard parser names it
    except _orjson.JSONEncodeError:
        return None  # nested deeper than orjson writes (254): the standard parser decides
    if sentinels and _rewritten_text(doc):
        return None  # a string held "NaN"/"Infinity": it was rewritten too
    return doc, sentinels


def _rewritten_text(doc: Any) -> bool:
    """Whether a string the result parser uses holds a sentinel (see _loads_fast).

    Number lists (``result``, stats, ``samples``) are not walked: the parser converts them with
    Arrow, which rejects strings in them whatever their text.
    """
    stack: list[Any] = [doc]
    results = doc.get("results") if isinstance(doc, dict) else None
    if isinstance(results, dict):
        stack = [*doc.keys(), *(v for k, v in doc.items() if k != "results"), *results.keys()]
        for row in results.values():
            if not isinstance(row, list):
                stack.append(row)
                continue
            for x in row:
                if isinstance(x, list) and x:
                    first = x[0]
                    if first is None or isinstance(first, float | int):
                        continue
                    if isinstance(first, list) and (not first or first[0] is None or isinstance(first[0], float | int)):
                        continue
                stack.append(x)
    while stack:
        x = stack.pop()
        if isinstance(x, str):
            if _SENTINEL_MARK in x:
                return True
        elif isinstance(x, dict):
            stack.extend(x.keys())
            stack.extend(x.values())
        elif isinstance(x, list):
            stack.extend(x)
    return False


def unsentinel(a: np.ndarray) -> np.ndarray:
    """Map the fast path's sentinel numbers back to NaN / +-Infinity (in place; returns ``a``)."""
    neg = a < 0
    if neg.any():
        for sentinel, value in _SENTINEL_VALUES:
            a[neg & (a == sentinel)] = value
    return a


def scalar_unsentinel(x: Any, sentinels: bool) -> Any:
    """One number of a fast-path document back to NaN / +-Infinity where it is a sentinel."""
    if sentinels and isinstance(x, float):
        for sentinel, value in _SENTINEL_VALUES:
            if x == sentinel:
                return value
    return x


def parse_result_bytes(raw: bytes) -> tuple[Any, bool]:
    """(document, sentinels used) of a result file's bytes: orjson when installed and sure, else the standard parser.

    The depth limit applies to everything but the rows of ``results``: the parser converts
    those with Arrow, which refuses any nesting beyond their shape, and nothing walks them.
    """
    fast = _loads_fast(raw)
    doc, sentinels = fast if fast is not None else (_loads_std(raw), False)
    if isinstance(doc, dict):
        check_depth({k: v for k, v in doc.items() if k != "results"})
    return doc, sentinels


def read_result_json(path: Path, max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> tuple[Any, bool, str]:
    """(document, sentinels used, content digest) of a result file; BadFile with the reason."""
    raw = read_bytes(path, max_bytes)
    doc, sentinels = parse_result_bytes(raw)
    return doc, sentinels, digest_bytes(raw)


# --------------------------------------------------------------------------------------
# The tree


@dataclass
class FileEntry:
    """One file of the tree: its path relative to results_dir, where it is, and why it cannot be read (if so)."""

    rel: str
    path: Path
    size: int = 0
    digest: str | None = None
    error: str | None = None


@dataclass
class Tree:
    """What :func:`scan_tree` found."""

    benchmarks: FileEntry | None
    machines: list[FileEntry]
    results: list[FileEntry]
    provenance: list[FileEntry]
    skipped: list[FileEntry]  # folders not entered (symlinks out of the tree), with the reason

    def all_files(self) -> list[FileEntry]:
        return [*([self.benchmarks] if self.benchmarks else []), *self.machines, *self.results, *self.provenance, *self.skipped]


def display_name(name: str) -> str:
    """A file or folder name as text: bytes that are not UTF-8 (held as surrogates by os) shown as ``\\xff``."""
    try:
        name.encode("utf-8")
        return name
    except UnicodeEncodeError:
        return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _inside(target: str, root: str) -> bool:
    return target != root and os.path.commonpath([target, root]) == root


def scan_tree(results_dir: Path, *, max_bytes: int = DEFAULT_MAX_FILE_BYTES, digests: bool = False, follow_symlinks: bool = False) -> Tree:
    """benchmarks.json, machine.json files, result files and provenance files under results_dir (one level per machine).

    A machine folder, provenance folder or file that is a symlink resolving outside
    ``results_dir`` is not read (an entry in ``skipped`` or an ``error``), unless
    ``follow_symlinks``. ``digests``: also compute each readable file's content digest.
    """
    root = os.path.realpath(results_dir)
    tree = Tree(None, [], [], [], [])

    def escape(path: str) -> str | None:
        """Why the symlink at ``path`` is not followed (None: it stays inside the tree, or we follow)."""
        if follow_symlinks or not os.path.islink(path):
            return None
        target = os.path.realpath(path)
        if _inside(target, root):
            return None
        return (
            f"symlink to {display_name(target)}, outside the results directory: not read (load_results(..., follow_symlinks=True) reads it)"
        )

    def entry(rel: str, path: str) -> FileEntry:
        e = FileEntry(display_name(rel), Path(path), error=escape(path))
        if e.error is None:
            try:
                e.size = os.stat(path).st_size
                if digests:
                    e.digest = file_digest(Path(path), max_bytes)
            except OSError as exc:
                e.error = f"cannot read file: {exc.strerror or exc}"
            except BadFile as exc:
                e.error = str(exc)
        return e

    def listing(path: str) -> list[os.DirEntry[str]]:
        try:
            with os.scandir(path) as it:
                return sorted(it, key=lambda d: d.name)
        except OSError:
            return []

    bpath = os.path.join(root, "benchmarks.json")
    if os.path.lexists(bpath):
        tree.benchmarks = entry("benchmarks.json", bpath)
    for mdir in listing(root):
        if mdir.name.startswith(".") or not _safe_is_dir(mdir):
            continue
        why = escape(mdir.path)
        if why is not None:
            tree.skipped.append(FileEntry(display_name(mdir.name), Path(mdir.path), error=why))
            continue
        for child in listing(mdir.path):
            rel = f"{mdir.name}/{child.name}"
            if child.name == "provenance" and _safe_is_dir(child):
                why = escape(child.path)
                if why is not None:
                    tree.skipped.append(FileEntry(display_name(rel), Path(child.path), error=why))
                    continue
                for p in listing(child.path):
                    if p.name.endswith(".json") and not p.name.startswith("."):
                        tree.provenance.append(entry(f"{rel}/{p.name}", p.path))
                continue
            if not child.name.endswith(".json") or child.name.startswith("."):
                continue
            e = entry(rel, child.path)
            (tree.machines if child.name == "machine.json" else tree.results).append(e)
    return tree


def _safe_is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False
