"""One formatter for a value with its asv unit, used by the report, the charts and every page."""

from __future__ import annotations

import math

__all__ = ["format_value"]

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
