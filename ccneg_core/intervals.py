"""The Wilson score interval: one definition for review precision and the report's plots.

A proportion measured on a few dozen judged rows or scored samples needs an interval that stays
inside [0, 1] and is not degenerate at 0 or n successes, which the normal approximation is not.
"""

from __future__ import annotations

import math

#: the two-sided 95% normal quantile
Z95 = 1.959963984540054


def wilson_interval(ok: int, n: int, z: float = Z95) -> tuple[float, float] | None:
    """The Wilson score interval for ``ok`` successes in ``n`` trials (``None`` when n = 0)."""
    if n <= 0:
        return None
    p = ok / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    # at 0 or n successes an end is exactly 0 or 1 (the float formula leaves ~1e-17)
    low = 0.0 if ok == 0 else max(0.0, centre - half)
    high = 1.0 if ok == n else min(1.0, centre + half)
    return low, high
