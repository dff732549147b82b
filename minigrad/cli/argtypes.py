"""argparse types shared by the commands: a bad value is one clear usage line and exit status 2,
before any work starts."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable


def _number(parse: Callable[[str], float], low: float, inclusive: bool, what: str) -> Callable[[str], float]:
    def check(text: str) -> float:
        try:
            value = parse(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if not math.isfinite(value) or value < low or (value == low and not inclusive):
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return value

    return check


positive_int = _number(int, 1, True, "an integer >= 1")
non_negative_int = _number(int, 0, True, "an integer >= 0")
positive_float = _number(float, 0.0, False, "a finite number > 0")
non_negative_float = _number(float, 0.0, True, "a finite number >= 0")
