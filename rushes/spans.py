"""Spans as people write them in rule and template files: ``15m``, ``12h``, ``7d``."""

from __future__ import annotations

UNITS = {"m": 60, "h": 3600, "d": 86400}


def seconds_of(span: str) -> int:
    """``15m``, ``12h``, ``7d`` in seconds (``ValueError`` in words otherwise: pydantic validators raise it)."""
    text = span.strip()
    if len(text) < 2 or text[-1] not in UNITS or not text[:-1].isdigit() or int(text[:-1]) < 1:
        raise ValueError(f"{span!r} is not a span such as 15m, 12h or 7d")
    return int(text[:-1]) * UNITS[text[-1]]
