"""One formatter for a value with its asv unit, used by the report, the charts and every page;
and :func:`printable`, text from result files made safe to print on a terminal."""

from __future__ import annotations

import math
import re

__all__ = ["format_value", "printable"]

# C0 controls (NUL, tab, LF, CR, ESC, ...), DEL, C1 controls (CSI 0x9b, OSC 0x9d, ...), Unicode line and
# paragraph separators, bidirectional overrides ("Trojan Source") and lone surrogates (unprintable)
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def printable(text: str) -> str:
    r"""``text`` with every character a terminal would act on written as an escape (``\x1b``, ``\u202e``);
    nothing else changes. Use it on every name from result files that goes to a terminal.

    >>> printable("bench\x1b[2J\r\n")
    'bench\\x1b[2J\\x0d\\x0a'
    """
    return _UNPRINTABLE.sub(lambda m: f"\\x{ord(m[0]):02x}" if ord(m[0]) < 0x100 else f"\\u{ord(m[0]):04x}", text)


_SECONDS = ((1e-9, "ns"), (1e-6, "us"), (1e-3, "ms"), (1.0, "s"))
_BYTES = ((1, "B"), (1024, "KiB"), (1024**2, "MiB"), (1024**3, "GiB"))


def format_value(value: float | None, unit: str = "") -> str:
    """A human figure in asv's units, three significant digits: seconds become ns/us/ms/s,
    bytes become B/KiB/MiB/GiB, any other unit is kept (``4 GFLOP/s``); ``n/a`` when not finite.

    >>> format_value(1.2e-3, "seconds"), format_value(3 * 1024**2, "bytes"), format_value(float("nan"))
    ('1.2 ms', '3 MiB', 'n/a')
    """
    if value is None or not math.isfinite(value):
        return "n/a"
    if unit == "seconds":
        for scale, suffix in _SECONDS:
            if abs(value) < scale * 1000 or suffix == "s":
                return f"{value / scale:.3g} {suffix}"
    if unit == "bytes":
        for scale, suffix in _BYTES:
            if abs(value) < scale * 1024 or suffix == "GiB":
                return f"{value / scale:.3g} {suffix}"
    return f"{value:.4g} {unit}".strip()
