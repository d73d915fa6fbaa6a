"""Integer arithmetic for turning an ONNX requantization chain into `clip((k*x + lambda) >> shift)`.

Pure functions on Python integers (no IR), used by the ONNX importer:

- `scaled_floor_by_mul_shift` finds `(m, s)` such that `floor(y*m / 2^s) == floor(g*y / d)` on
  the range that matters after clipping. NEMO graphs divide by `2^n - 1` as well as by powers of
  two, so exact division by any positive integer has to become a multiply and a shift.
- `requant_constants` chooses the constants, removes common powers of two, and picks 32-bit or
  64-bit arithmetic from the value range of `x`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

I32_MAX = 2**31 - 1
I64_MAX = 2**63 - 1


class RequantRangeError(ValueError):
    """The requantization cannot be computed exactly with the available integer widths."""


def is_power_of_two(value: int) -> bool:
    return value > 0 and value & (value - 1) == 0


def floor_div(n: int, d: int) -> int:
    return n // d


def trunc_div(n: int, d: int) -> int:
    q = abs(n) // abs(d)
    return q if (n >= 0) == (d > 0) else -q


def ceil_div(n: int, d: int) -> int:
    return -((-n) // d)


def scaled_floor_by_mul_shift(
    g: Sequence[int], ylo: Sequence[int], yhi: Sequence[int], d: int, lo: int, hi: int
) -> tuple[list[int], int]:
    """`(m, s)` with `clip(floor(y*m[c] / 2^s), lo, hi) == clip(floor(g[c]*y / d), lo, hi)` for
    every channel c and every integer y in [ylo[c], yhi[c]] (g[c] > 0, d > 0).

    `m[c] = ceil(g[c]*2^s / d)`, so `y*m/2^s = g*y/d + y*e/(d*2^s)` with `e = m*d - g*2^s` in
    [0, d): monotone in y, and exact for `0 <= y` when `y*e < 2^s` (for negative y only when
    e = 0, e.g. d a power of two). Exactness is only needed between the saturation points
    (the smallest y giving lo and the smallest giving hi + 1): monotonicity does the rest.
    NEMO graphs divide by `2^n - 1` as well as by powers of two, hence the general form.
    """
    if d <= 0 or any(v <= 0 for v in g):
        raise RequantRangeError(f"division by {d} with factors {list(g)} is not supported")
    regions = []
    for gc, yl, yh in zip(g, ylo, yhi):
        a = max(yl, ceil_div(lo * d, gc))
        b = min(yh, ceil_div((hi + 1) * d, gc))
        regions.append((gc, min(a, b), max(a, b)))
    for s in range(0, 63):
        m = [ceil_div(gc << s, d) for gc, _, _ in regions]
        ok = True
        for mc, (gc, first, last) in zip(m, regions):
            e = mc * d - (gc << s)
            if e and (first < 0 or last * e >= (1 << s)):
                ok = False
                break
        if ok:
            return m, s
    raise RequantRangeError(f"division by {d} cannot be made exact with a shift below 63")


@dataclass(frozen=True)
class RequantConstants:
    k: list[int]
    lam: list[int]
    shift: int
    bits: int  # 32 or 64: the width `k*x + lambda` is computed in


def requant_constants(
    k: Sequence[int], lam: Sequence[int], shift: int, xlo: Sequence[int], xhi: Sequence[int]
) -> RequantConstants:
    """Normalize `(k*x + lam) >> shift` (per channel, equal-length lists or length 1) and pick
    the arithmetic width from the range [xlo, xhi] of x (per channel, broadcast likewise)."""
    k, lam = list(k), list(lam)
    while shift > 0 and all(v % 2 == 0 for v in k + lam):
        k, lam, shift = [v // 2 for v in k], [v // 2 for v in lam], shift - 1
    n = max(len(k), len(lam), len(xlo), len(xhi))

    def at(seq: Sequence[int], i: int) -> int:
        return seq[i if len(seq) > 1 else 0]

    worst = 0
    for i in range(n):
        kk, ll = at(k, i), at(lam, i)
        worst = max(worst, abs(kk), abs(ll), abs(kk * at(xlo, i)) + abs(ll), abs(kk * at(xhi, i)) + abs(ll))
    if worst <= I32_MAX:
        bits = 32
    elif worst <= I64_MAX:
        bits = 64
    else:
        raise RequantRangeError(f"requantization needs more than 64 bits (|k*x + lambda| up to {worst})")
    return RequantConstants(k, lam, shift, bits)
