"""Exact single-stage requantization for monotone integer functions (pure: no IR).

A GAP-8 layer is one PULP-NN call whose requantization is one stage per channel c,
`g_c(x) = clip((K[c]*x + L[c]) >> s, lo, hi)` in W-bit arithmetic (W = 32 or 64, one shift `s`
and one clip for the whole layer). Some imported layers compute a chain of such stages (e.g.
NEMO's `clip(k2 * clip(k1*acc + l1, a, b) >> 49)` whose product does not fit 64 bits).
`fit_single_stage` finds one stage equal to a given per-channel function `f_c` on EVERY integer
of the channel's reachable input range `[A, B]`, or reports that none exists with `s < W`.

Method. `f` is monotone (the caller guarantees it; `chain_direction` proves it for stage chains).
A non-increasing `f` is fitted as `h(y) = f(-y)` and the slope negated, so assume non-decreasing.
With values in `[lo, hi]`, `f(x) = lo + #{j in (lo, hi] : x >= t_j}` where the threshold
`t_j = min{x in [A, B] : f(x) >= j}` (`B + 1` when there is none). For `K >= 0` and no W-bit
overflow on `[A, B]`, `g(x) >= j  <=>  K*x + L >= j*2^s`, so `g == f` on `[A, B]` iff for every
j: `K*t_j + L >= j*2^s` when `t_j <= B`, and `K*(t_j - 1) + L <= j*2^s - 1` when `t_j > A`; the
no-overflow conditions `-2^(W-1) <= K*A + L`, `K*B + L <= 2^(W-1) - 1`, `|L|` and `K` fitting W
bits are of the same form. Every condition is `L >= p - K*q` ("lower line") or `L <= r - K*u`
("upper line"), so for fixed `s` the integer pairs `(K, L)` are those with
`max_lower(K) <= min_upper(K)`: only the vertices of the upper hull of the points `(q, p)` and
of the lower hull of the points `(u, r)` matter, and each (lower, upper) pair of vertices gives
`K*(q - u) >= p - r`, a bound on `K` alone. Their intersection is an integer interval; any `K` in
it with `L = max_lower(K)` is a solution. All of this is exact integer arithmetic.

The shift is shared by the layer: `s` is scanned from 0 upwards (W = 32 first, then 64) until
every channel has a solution. Threshold feasibility is monotone in `s` (a solution `(K, L)` at
`s` gives `(2K, 2L)` at `s + 1`), so the first `s` found is the smallest for that width.

Verification (`verify_at_points`): if `f` is monotone and `g` is monotone on `[A, B]` (true when
`K*A + L` and `K*B + L` do not overflow, since the stage is then linear-floor-clip), `g == f` on
`[A, B]` iff they agree on `S = {A, B} U {t_j, t_j - 1 : A < t_j <= B}`. Proof: `[A, B]` is the
union of the maximal intervals `[a, b]` on which `f` is constant; each `a` is `A` or a
threshold, each `b` is `B` or a threshold minus one, so `a, b` are in `S`; then
`g(a) = f(a) = f(b) = g(b)` and `g` monotone force `g` constant `= f` on `[a, b]`.
`verify_exhaustive` checks every integer (numpy, in chunks) for tests.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from dory_xdsl.semantics.reference import requantize

IntFunction = Callable[[np.ndarray], np.ndarray]
"""A vectorised integer function: int64 array in, integer array of the same shape out."""


def width_range(bits: int) -> tuple[int, int]:
    return -(1 << (bits - 1)), (1 << (bits - 1)) - 1


@dataclass(frozen=True)
class Stage:
    """One requantization stage `clip((k*x + lam) >> shift, lo, hi)` in `bits`-bit wrapping
    arithmetic, exactly as `qnn.requant` with one channel."""

    k: int
    lam: int
    shift: int
    lo: int
    hi: int
    bits: int = 64

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return requantize(np.asarray(x), np.array([self.k]), np.array([self.lam]), self.shift,
                          self.lo, self.hi, wide=self.bits == 64)

    def image(self, xlo: int, xhi: int) -> tuple[int, int, int] | None:
        """(direction, out_lo, out_hi) over the integers in [xlo, xhi], or None when `k*x + lam`
        may wrap there. direction is +1 (non-decreasing), -1 (non-increasing) or 0 (constant)."""
        wmin, wmax = width_range(self.bits)
        ends = [self.k * x + self.lam for x in (xlo, xhi)]
        if not (wmin <= xlo and xhi <= wmax and all(wmin <= v <= wmax for v in ends)):
            return None
        outs = [min(max(v >> self.shift, self.lo), self.hi) for v in ends]
        direction = 0 if outs[0] == outs[1] else (1 if self.k > 0 else -1)
        return direction, min(outs), max(outs)


def chain(stages: Sequence[Stage]) -> IntFunction:
    """The composition `stages[-1](...stages[0](x))`."""

    def apply(x: np.ndarray) -> np.ndarray:
        for stage in stages:
            x = stage(x)
        return x

    return apply


def chain_direction(stages: Sequence[Stage], xlo: int, xhi: int) -> int | None:
    """+1 / -1 / 0 when the chain is provably non-decreasing / non-increasing / constant on the
    integers of [xlo, xhi] (no stage wraps), None otherwise."""
    direction = 1
    for stage in stages:
        result = stage.image(xlo, xhi)
        if result is None:
            return None
        step, xlo, xhi = result
        direction *= step
    return direction


@dataclass(frozen=True)
class SingleStage:
    """`clip((k[c]*x + lam[c]) >> shift, lo, hi)` in `bits`-bit arithmetic, one entry per channel."""

    k: tuple[int, ...]
    lam: tuple[int, ...]
    shift: int
    lo: int
    hi: int
    bits: int

    def stage(self, channel: int) -> Stage:
        return Stage(self.k[channel], self.lam[channel], self.shift, self.lo, self.hi, self.bits)


def direction_of(f: IntFunction, xlo: int, xhi: int) -> int:
    """Direction of a function known to be monotone on [xlo, xhi], from its end values."""
    ends = f(np.array([xlo, xhi], dtype=np.int64))
    return int(np.sign(int(ends[1]) - int(ends[0])))


def thresholds(f: IntFunction, xlo: int, xhi: int, lo: int, hi: int) -> list[int]:
    """`t_j = min{x in [xlo, xhi] : f(x) >= j}` (xhi + 1 if none) for j = lo+1 .. hi, by a
    vectorised binary search; `f` must be non-decreasing on [xlo, xhi]."""
    levels = np.arange(lo + 1, hi + 1, dtype=np.int64)
    first = np.full(levels.shape, xlo, dtype=np.int64)
    last = np.full(levels.shape, xhi + 1, dtype=np.int64)
    while True:
        active = first < last
        if not active.any():
            return [int(v) for v in first]
        mid = (first[active] + last[active]) // 2
        reached = np.asarray(f(mid)) >= levels[active]
        last[active] = np.where(reached, mid, last[active])
        first[active] = np.where(reached, first[active], mid + 1)


def _upper_hull(points: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Vertices of the upper convex hull of points with distinct x, sorted by x."""
    hull: list[tuple[int, int]] = []
    for p in sorted(points):
        while len(hull) >= 2:
            (ox, oy), (ax, ay) = hull[-2], hull[-1]
            if (ax - ox) * (p[1] - oy) - (ay - oy) * (p[0] - ox) < 0:
                break
            hull.pop()
        hull.append(p)
    return hull


def _lines(t: Sequence[int], lo: int, xlo: int, xhi: int, shift: int, bits: int):
    """Lower lines `L >= p - K*q` as points (q, p), upper lines `L <= r - K*u` as (u, r)."""
    wmin, wmax = width_range(bits)
    lower = {xlo: wmin, 0: wmin}
    upper = {xhi: wmax, 0: wmax}
    for j, tj in enumerate(t, start=lo + 1):
        if tj <= xhi:
            lower[tj] = max(lower.get(tj, j << shift), j << shift)
        if tj > xlo:
            upper[tj - 1] = min(upper.get(tj - 1, (j << shift) - 1), (j << shift) - 1)
    return list(lower.items()), list(upper.items())


def fit_channel(t: Sequence[int], lo: int, xlo: int, xhi: int, shift: int, bits: int) -> tuple[int, int] | None:
    """Integers `(K, L)` with `0 <= K` such that `clip((K*x + L) >> shift, lo, ...)` has the
    thresholds `t` on [xlo, xhi] without `bits`-bit overflow (see the module doc), the smallest
    K and then the smallest L; None when there is none."""
    lower, upper = _lines(t, lo, xlo, xhi, shift, bits)
    kmin, kmax = 0, width_range(bits)[1]
    upper_vertices = _upper_hull([(u, -r) for u, r in upper])
    for q, p in _upper_hull(lower):
        for u, neg_r in upper_vertices:
            a, b = q - u, p + neg_r  # K*a >= b
            if a > 0:
                kmin = max(kmin, -(-b // a))
            elif a < 0:
                kmax = min(kmax, b // a)
            elif b > 0:
                return None
            if kmin > kmax:
                return None
    k = kmin
    lam = max(p - k * q for q, p in lower)
    assert lam <= min(r - k * u for u, r in upper)
    return k, lam


@dataclass(frozen=True)
class _Channel:
    sign: int  # +1: fit f on [xlo, xhi]; -1: fit f(-y) on [-xhi, -xlo]
    xlo: int
    xhi: int
    t: list[int]


def _normalised(f: IntFunction, xlo: int, xhi: int, lo: int, hi: int) -> _Channel:
    if direction_of(f, xlo, xhi) >= 0:
        return _Channel(1, xlo, xhi, thresholds(f, xlo, xhi, lo, hi))
    mirrored = lambda y: f(-np.asarray(y))  # noqa: E731
    return _Channel(-1, -xhi, -xlo, thresholds(mirrored, -xhi, -xlo, lo, hi))


def fit_single_stage(
    funcs: Sequence[IntFunction],
    ranges: Sequence[tuple[int, int]],
    lo: int,
    hi: int,
    widths: Sequence[int] = (32, 64),
) -> SingleStage | None:
    """One stage equal to `funcs[c]` on every integer of `ranges[c]` for every channel c, with
    the smallest shift for the first width in `widths` that has one; None when no width does.

    Each `funcs[c]` must be monotone on `ranges[c]` with values in [lo, hi] (see the module doc).
    """
    channels = [_normalised(f, a, b, lo, hi) for f, (a, b) in zip(funcs, ranges, strict=True)]
    order = list(range(len(channels)))
    for bits in widths:
        for shift in range(bits):
            fits: dict[int, tuple[int, int]] = {}
            for c in order:
                ch = channels[c]
                found = fit_channel(ch.t, lo, ch.xlo, ch.xhi, shift, bits)
                if found is None:
                    order.remove(c)
                    order.insert(0, c)  # try the hardest channel first at the next shift
                    break
                fits[c] = found
            else:
                k = tuple(channels[c].sign * fits[c][0] for c in range(len(channels)))
                lam = tuple(fits[c][1] for c in range(len(channels)))
                return SingleStage(k, lam, shift, lo, hi, bits)
    return None


def check_points(f: IntFunction, xlo: int, xhi: int, lo: int, hi: int) -> np.ndarray:
    """The points S of the module doc for a monotone `f` on [xlo, xhi]."""
    ch = _normalised(f, xlo, xhi, lo, hi)
    pts = {xlo, xhi}
    for v in ch.t:  # a threshold of the mirrored function at v is one of f at -v
        pts.update((ch.sign * v, ch.sign * (v - 1)))
    return np.array(sorted(p for p in pts if xlo <= p <= xhi), dtype=np.int64)


def verify_at_points(f: IntFunction, stage: Stage, xlo: int, xhi: int) -> bool:
    """Exact check that `stage == f` on every integer of [xlo, xhi], for a monotone `f` (proof
    in the module doc): `stage` must not wrap there, and both agree on the points S."""
    if stage.image(xlo, xhi) is None:
        return False
    pts = check_points(f, xlo, xhi, stage.lo, stage.hi)
    return bool(np.array_equal(np.asarray(f(pts)), np.asarray(stage(pts))))


def verify_exhaustive(f: IntFunction, g: IntFunction, xlo: int, xhi: int, chunk: int = 1 << 21) -> bool:
    """`f(x) == g(x)` for every integer x in [xlo, xhi], evaluated in numpy chunks."""
    for start in range(xlo, xhi + 1, chunk):
        x = np.arange(start, min(start + chunk, xhi + 1), dtype=np.int64)
        if not np.array_equal(np.asarray(f(x)), np.asarray(g(x))):
            return False
    return True
