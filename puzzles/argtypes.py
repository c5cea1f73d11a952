"""Argument types for every ``unmask`` command: numbers are checked where they are parsed.

Each factory returns a function for ``add_argument(type=...)``; a bad value raises
``argparse.ArgumentTypeError``, which the dispatcher prints as one line naming the flag
("unmask solve: error: argument --temperature: must be a finite number >= 0, got 'nan'").
"""

from __future__ import annotations

import argparse
import math

# The largest whole number a flag takes unless it says otherwise: counts, sizes and steps far
# beyond it cannot fit in memory or time here, and it stays inside every integer type the code
# hands it to (int64 tensors, numpy, C longs).
MAX_WHOLE = 10**9


def int_at_least(low: int, high: int = MAX_WHOLE):
    """Whole numbers in [``low``, ``high``] (digits only: "1e3" and "2.0" are refused)."""

    def parse(text: str) -> int:
        t = text.strip()
        if len(t) > 40 or not t.lstrip("+-").isdigit():
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}")
        value = int(t)
        if value < low:
            raise argparse.ArgumentTypeError(f"must be a whole number >= {low}, got {text!r}")
        if value > high:
            raise argparse.ArgumentTypeError(f"must be at most {high:,}, got {text!r}")
        return value

    parse.__name__ = f"int_at_least_{low}"
    return parse


def number(low: float = -math.inf, high: float = math.inf, *, low_open: bool = False,
           high_open: bool = False):  # fmt: skip
    """Finite floats in [low, high] (``low_open``/``high_open`` exclude the ends)."""
    lo, hi = ("(" if low_open else "["), (")" if high_open else "]")
    if math.isinf(low) and math.isinf(high):
        what = "a finite number"
    elif math.isinf(high):
        what = f"a finite number {'>' if low_open else '>='} {low:g}"
    elif math.isinf(low):
        what = f"a finite number {'<' if high_open else '<='} {high:g}"
    else:
        what = f"a number in {lo}{low:g}, {high:g}{hi}"

    def parse(text: str) -> float:
        if len(text) > 100:
            raise argparse.ArgumentTypeError(f"expected a number, got {text[:20]!r}...")
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        ok = math.isfinite(value) and (value > low if low_open else value >= low)
        ok = ok and (value < high if high_open else value <= high)
        if not ok:
            raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}")
        return value

    parse.__name__ = "number"
    return parse


nonneg_int = int_at_least(0)
positive_int = int_at_least(1)
seed_int = int_at_least(0, 2**63 - 1)  # seeds: any 63-bit number
nonneg_float = number(0.0)
positive_float = number(0.0, low_open=True)
fraction = number(0.0, 1.0)
