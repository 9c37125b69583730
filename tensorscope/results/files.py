"""Reading files under a results directory safely: size limits, regular files only, clear reasons.

Nothing here evaluates or unpickles anything; a file that cannot be used raises :class:`BadFile`
with a one-line reason meant for the user.
"""

from __future__ import annotations

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
try:  # optional: about 10x faster parsing of large result files (see _loads_fast)
    import orjson as _orjson
except ImportError:  # pragma: no cover - exercised where orjson is not installed
    _orjson = None


class BadFile(Exception):
    """A file that cannot be used; the message is shown to the user."""


def _read_bytes(path: Path, max_bytes: int, st: os.stat_result | None) -> bytes:
    """A regular, non-empty file's bytes within the size limit, or BadFile with a clear reason."""
    try:
        st = st or os.stat(path)
    except OSError as exc:
        raise BadFile(f"cannot read file: {exc.strerror or exc}") from None
    if not stat.S_ISREG(st.st_mode):
        raise BadFile("not a regular file")
    if st.st_size > max_bytes:
        raise BadFile(
            f"file is {st.st_size / 2**20:.1f} MiB, over the {max_bytes / 2**20:.0f} MiB limit (raise max_file_bytes to read it)"
        )
    if st.st_size == 0:
        raise BadFile("empty file")
    try:
        with open(path, "rb") as fh:
            raw = fh.read(max_bytes + 1)
    except OSError as exc:
        raise BadFile(f"cannot read file: {exc.strerror or exc}") from None
    if len(raw) > max_bytes:
        raise BadFile(f"file is over the {max_bytes / 2**20:.0f} MiB limit (raise max_file_bytes to read it)")
    if b"\x00" in raw[:65536]:
        raise BadFile("binary file (NUL bytes), not JSON text")
    return raw


def _loads_std(raw: bytes) -> Any:
    """The standard library's parse (NaN/Infinity allowed), with its precise error messages."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadFile(f"not UTF-8 text (invalid byte 0x{raw[exc.start]:02x} at offset {exc.start})") from None
    if not text.strip():
        raise BadFile("empty file")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        hint = " (truncated?)" if exc.pos >= len(text.rstrip()) - 1 else ""
        raise BadFile(f"not valid JSON{hint}: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise BadFile("JSON nested too deeply") from None


def read_json_file(path: Path, max_bytes: int = DEFAULT_MAX_FILE_BYTES, st: os.stat_result | None = None) -> Any:
    """Parse a JSON file (NaN/Infinity allowed, as asv writes them) or raise BadFile with a clear reason."""
    return _loads_std(_read_bytes(path, max_bytes, st))


# asv writes bare NaN, Infinity and -Infinity, which orjson (strict JSON) rejects. The fast path
# rewrites them as these sentinel numbers (negative subnormals: no benchmark reports one; a file
# that already holds such a number text, "e-32", takes the standard path) and maps them back
# after the numbers are converted to arrays (:func:`unsentinel`).
_SENTINELS = ((b"-Infinity", b"-1.5e-323", -math.inf), (b"Infinity", b"-1e-323", math.inf), (b"NaN", b"-5e-324", math.nan))
_SENTINEL_MARK = "e-32"
_SENTINEL_VALUES = tuple((float(text), value) for _, text, value in _SENTINELS)


def _loads_fast(raw: bytes) -> tuple[Any, bool] | None:
    """(document, sentinels used) parsed with orjson; None when the standard parser must decide."""
    if _orjson is None:
        return None
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
    if sentinels and isinstance(x, float):
        for sentinel, value in _SENTINEL_VALUES:
            if x == sentinel:
                return value
    return x


def read_result_json(path: Path, max_bytes: int = DEFAULT_MAX_FILE_BYTES, st: os.stat_result | None = None) -> tuple[Any, bool]:
    """(document, sentinels used) of a result file: orjson when installed and sure, else the standard parser."""
    raw = _read_bytes(path, max_bytes, st)
    fast = _loads_fast(raw)
    return fast if fast is not None else (_loads_std(raw), False)


@dataclass
class FileEntry:
    rel: str
    path: Path
    st: os.stat_result | None
    error: str | None = None

    @property
    def key(self) -> tuple[int, int] | None:
        return None if self.st is None else (self.st.st_size, self.st.st_mtime_ns)


def _stat(path: Path) -> tuple[os.stat_result | None, str | None]:
    try:
        return os.stat(path), None
    except OSError as exc:
        return None, f"cannot read file: {exc.strerror or exc}"


def scan_tree(results_dir: Path) -> tuple[FileEntry | None, list[FileEntry], list[FileEntry], list[FileEntry]]:
    """benchmarks.json, machine.json files, result files and provenance files under results_dir (one level per machine)."""
    bench = None
    machines: list[FileEntry] = []
    results: list[FileEntry] = []
    provs: list[FileEntry] = []
    bpath = results_dir / "benchmarks.json"
    if os.path.lexists(bpath):
        st, err = _stat(bpath)
        bench = FileEntry("benchmarks.json", bpath, st, err)
    try:
        top = sorted(os.scandir(results_dir), key=lambda e: e.name)
    except OSError:
        return bench, machines, results, provs
    for mdir in top:
        if mdir.name.startswith(".") or not _safe_is_dir(mdir):
            continue
        try:
            children = sorted(os.scandir(mdir.path), key=lambda e: e.name)
        except OSError:
            continue
        for child in children:
            rel = f"{mdir.name}/{child.name}"
            if child.name == "provenance" and _safe_is_dir(child):
                try:
                    pchildren = sorted(os.scandir(child.path), key=lambda e: e.name)
                except OSError:
                    continue
                for p in pchildren:
                    if p.name.endswith(".json"):
                        st, err = _stat(Path(p.path))
                        provs.append(FileEntry(f"{rel}/{p.name}", Path(p.path), st, err))
                continue
            if not child.name.endswith(".json") or child.name.startswith("."):
                continue
            st, err = _stat(Path(child.path))
            entry = FileEntry(rel, Path(child.path), st, err)
            (machines if child.name == "machine.json" else results).append(entry)
    return bench, machines, results, provs


def _safe_is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False
