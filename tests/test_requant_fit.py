"""`dory_xdsl.semantics.requant_fit`: single stages fitted to requant chains are exact on the whole range.

Fits are checked exhaustively over every integer of the range; `fit_channel` is compared with a
brute force over all slopes up to a bound (it must find a solution iff one exists there, with
the smallest slope); the threshold-point verifier is compared with the exhaustive one.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from dory_xdsl.semantics.requant_fit import (
    Stage,
    chain,
    chain_direction,
    fit_channel,
    fit_single_stage,
    thresholds,
    verify_at_points,
    verify_exhaustive,
)

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def two_stage_chains(draw, sign: int | None = None):
    """A monotone stage chain `acc -> stage1 (i32 result) -> stage2 (8-bit)` and its range."""
    a = draw(st.integers(-(10**5), 10**5))
    b = a + draw(st.integers(0, 1 << 16))
    k1 = draw(st.integers(1, 3000)) * (sign if sign is not None else draw(st.sampled_from([1, -1])))
    s1 = draw(st.integers(0, 12))
    lam1 = draw(st.integers(-(1 << 20), 1 << 20))
    ends = sorted(((k1 * a + lam1) >> s1, (k1 * b + lam1) >> s1))
    mid_lo = draw(st.integers(ends[0] - 100, ends[1]))
    mid_hi = draw(st.integers(mid_lo, ends[1] + 100))
    stage1 = Stage(k1, lam1, s1, mid_lo, mid_hi, draw(st.sampled_from([32, 64])))
    k2 = draw(st.integers(1, 1 << 20))
    s2 = draw(st.integers(0, 40))
    lam2 = draw(st.integers(-(1 << 30), 1 << 30))
    lo, hi = draw(st.sampled_from([(0, 255), (-128, 127), (0, 127)]))
    stage2 = Stage(k2, lam2, s2, lo, hi, 64)
    return [stage1, stage2], (a, b)


@FAST
@given(two_stage_chains())
@example(([Stage(735, 283, 9, 227, 490, 64), Stage(589672, -2538, 22, -128, 127, 64)], (79, 782)))
@example(([Stage(-127, -7853, 10, -6566, -818, 32), Stage(1205, 1205, 19, -128, 127, 64)], (2980, 68515)))
def test_fitted_stage_is_exact_on_the_whole_range(case):
    stages, (a, b) = case
    assert chain_direction(stages, a, b) is not None
    f = chain(stages)
    lo, hi = stages[-1].lo, stages[-1].hi
    fit = fit_single_stage([f], [(a, b)], lo, hi)
    if fit is None:  # double rounding can leave no single stage: certify it independently
        if chain_direction(stages, a, b) >= 0:
            t = thresholds(f, a, b, lo, hi)
        else:
            t = thresholds(lambda y: f(-y), -b, -a, lo, hi)
            a, b = -b, -a
        assert not all_pairs_feasible(t, lo, a, b, 30)
        return
    g = fit.stage(0)
    assert verify_exhaustive(f, g, a, b)
    assert verify_at_points(f, g, a, b)
    assert g.image(a, b) is not None  # no wrap in the chosen width


@FAST
@given(two_stage_chains(sign=-1))
def test_non_increasing_chains_get_a_negative_scale(case):
    stages, (a, b) = case
    f = chain(stages)
    fit = fit_single_stage([f], [(a, b)], stages[-1].lo, stages[-1].hi)
    if fit is not None:
        assert fit.k[0] <= 0
        assert verify_exhaustive(f, fit.stage(0), a, b)


def all_pairs_feasible(t: list[int], lo: int, a: int, b: int, shift: int) -> bool:
    """Whether some (K >= 0, L) gives the thresholds `t` (overflow ignored), from the bound on K
    of every (lower, upper) pair of threshold conditions, without the hull reduction. At
    shift 30 with these small ranges a solution would not overflow 64 bits, and feasibility
    is monotone in the shift, so False certifies that no shift up to 30 works."""
    lower = [(j << shift, x) for j, x in enumerate(t, lo + 1) if x <= b]
    upper = [((j << shift) - 1, x - 1) for j, x in enumerate(t, lo + 1) if x > a]
    kmin, kmax = 0, None
    for p, q in lower:
        for r, u in upper:
            if q > u:
                kmin = max(kmin, -((r - p) // (q - u)))
            elif q < u:
                bound = (p - r) // (q - u)
                kmax = bound if kmax is None else min(kmax, bound)
            elif p > r:
                return False
    return kmax is None or kmin <= kmax


def brute_force_min_k(t: list[int], lo: int, a: int, b: int, shift: int, kmax: int) -> int | None:
    """Smallest K in [0, kmax] for which some L gives the thresholds `t` (no overflow check:
    small values only), by evaluating the L bounds of every K."""
    levels = np.arange(lo + 1, lo + 1 + len(t), dtype=object)
    tt = np.array(t, dtype=object)
    for k in range(kmax + 1):
        lower = [int(j << shift) - k * int(x) for j, x in zip(levels, tt) if x <= b]
        upper = [int((j << shift) - 1) - k * (int(x) - 1) for j, x in zip(levels, tt) if x > a]
        if max(lower, default=-(1 << 62)) <= min(upper, default=1 << 62):
            return k
    return None


@st.composite
def monotone_steps(draw):
    """Thresholds of a random non-decreasing step function on [a, b] with values in [0, n]."""
    a = draw(st.integers(-50, 50))
    b = a + draw(st.integers(0, 40))
    n = draw(st.integers(1, 6))
    t = sorted(draw(st.lists(st.integers(a, b + 1), min_size=n, max_size=n)))
    return t, a, b


@settings(max_examples=150, deadline=None)
@given(monotone_steps(), st.integers(0, 6))
def test_fit_channel_matches_brute_force(case, shift):
    t, a, b = case
    kmax = (len(t) + 2) << shift
    found = fit_channel(t, 0, a, b, shift, 64)
    expected = brute_force_min_k(t, 0, a, b, shift, kmax)
    if expected is not None:
        assert found is not None and found[0] == expected
    elif found is not None:
        assert found[0] > kmax
    if found is not None:
        k, lam = found
        f = lambda x: np.searchsorted(np.array(t), x, side="right")  # noqa: E731
        g = Stage(k, lam, shift, 0, len(t), 64)
        assert verify_exhaustive(f, g, a, b)


@FAST
@given(two_stage_chains(sign=1), st.integers(-3, 3), st.integers(-3, 3))
def test_point_verifier_agrees_with_exhaustive(case, dk, dl):
    stages, (a, b) = case
    f = chain(stages)
    fit = fit_single_stage([f], [(a, b)], stages[-1].lo, stages[-1].hi)
    base = fit.stage(0) if fit is not None else stages[-1]
    g = Stage(base.k + dk, base.lam + dl, base.shift, base.lo, base.hi, base.bits)
    if g.image(a, b) is None:
        return
    assert verify_at_points(f, g, a, b) == verify_exhaustive(f, g, a, b)


def test_double_rounding_without_a_single_stage_is_reported():
    # floor(3*floor(x/2)/4) has thresholds 4, 6, 8, 12: slope > 2/5 (from 3 and 8) and < 2/5
    # (from 6 and 11): no line, whatever the shift.
    f = chain([Stage(1, 0, 1, 0, 127, 32), Stage(3, 0, 2, 0, 255, 32)])
    assert fit_single_stage([f], [(0, 255)], 0, 255) is None
    t = thresholds(f, 0, 255, 0, 255)
    assert t[:4] == [4, 6, 8, 12]
    assert all(fit_channel(t, 0, 0, 255, s, 64) is None for s in range(64))
    assert not all_pairs_feasible(t, 0, 0, 255, 63)


def test_32_bits_preferred_and_64_used_when_32_overflow():
    full = (-(2**31), 2**31 - 1)
    small = chain([Stage(1, 0, 20, 0, 255, 32)])
    fit = fit_single_stage([small], [full], 0, 255)
    assert fit is not None and (fit.k, fit.lam, fit.shift, fit.bits) == ((1,), (0,), 20, 32)
    # 3*x >> 21 on the whole int32 range needs K ~ 3*2^(s-21): K*x overflows 32 bits.
    big = chain([Stage(3, 0, 21, 0, 255, 64)])
    assert fit_single_stage([big], [full], 0, 255, widths=(32,)) is None
    fit = fit_single_stage([big], [full], 0, 255)
    assert fit is not None and fit.bits == 64 and fit.shift == 21
    assert verify_at_points(big, fit.stage(0), *full)


@settings(max_examples=20, deadline=None)
@given(st.lists(two_stage_chains(sign=1), min_size=2, max_size=4))
def test_layer_shift_is_the_largest_channel_minimum(cases):
    ranges = [r for _, r in cases]
    lo, hi = 0, 255
    funcs = [chain([*stages[:-1], Stage(stages[-1].k, stages[-1].lam, stages[-1].shift, lo, hi, 64)])
             for stages, _ in cases]
    fit = fit_single_stage(funcs, ranges, lo, hi, widths=(64,))
    minima = []
    for f, (a, b) in zip(funcs, ranges):
        t = thresholds(f, a, b, lo, hi)
        minima.append(next((s for s in range(64) if fit_channel(t, lo, a, b, s, 64)), None))
    if None in minima:
        assert fit is None
        return
    assert fit is not None and fit.shift == max(minima)
    for c, (f, (a, b)) in enumerate(zip(funcs, ranges)):
        assert verify_exhaustive(f, fit.stage(c), a, b)


def test_thresholds_of_a_known_function():
    f = lambda x: np.clip(np.asarray(x) // 10, 0, 3)  # noqa: E731
    assert thresholds(f, -5, 25, 0, 3) == [10, 20, 26]
    assert thresholds(f, 12, 25, 0, 3) == [12, 20, 26]


def test_chain_direction():
    assert chain_direction([Stage(2, 0, 0, 0, 255, 32)], 0, 100) == 1
    assert chain_direction([Stage(-2, 0, 0, -255, 255, 32)], 0, 100) == -1
    assert chain_direction([Stage(-2, 0, 0, -255, 255, 32), Stage(-1, 0, 0, -255, 255, 32)], 0, 100) == 1
    assert chain_direction([Stage(2, 0, 0, 0, 255, 32)], 200, 300) == 0  # saturated: constant
    assert chain_direction([Stage(1 << 20, 0, 0, 0, 255, 32)], 0, 1 << 12) is None  # wraps in 32 bits


@pytest.mark.parametrize("wrong", [(1, 0), (0, 1), (0, -1)])
def test_point_verifier_rejects_a_near_miss(wrong):
    f = chain([Stage(3, 0, 0, -1000, 1000, 32), Stage(1, 0, 2, 0, 255, 32)])
    exact = Stage(3, 0, 2, 0, 255, 32)
    assert verify_at_points(f, exact, 0, 255) and verify_exhaustive(f, exact, 0, 255)
    g = Stage(3 + wrong[0], wrong[1], 2, 0, 255, 32)
    assert not verify_at_points(f, g, 0, 255)
    assert not verify_exhaustive(f, g, 0, 255)
