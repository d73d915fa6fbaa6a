"""The scale -> integer requantization math of the QDQ importer (`dory_xdsl.semantics.qdq_requant`) and
the fixed-point softmax (`dory_xdsl.semantics.qdq_softmax`), without IR: against TFLite's double-rounding
arithmetic written independently here, exact rationals, and real softmax."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dory_xdsl.semantics.qdq_requant import (
    add_requant,
    avgpool_requant,
    quantize_multiplier,
    quantize_real,
    rounding_divide_by_pot,
    srdhm,
    tflite_multiply,
    tflite_requant,
    tflite_single_rounding,
)
from dory_xdsl.semantics.qdq_softmax import SoftmaxTail, exp_on_negative_values, softmax_int8


def folded(fold, c: int, acc: int) -> int:
    return (fold.k[c] * acc + fold.lam[c]) >> fold.shift


@pytest.mark.parametrize("real", [1e-9, 0.000123, 0.0226, 0.5, 0.75, 1.0, 1.9999999, 3.5, 1234.5])
def test_quantize_multiplier_is_a_q31_mantissa(real):
    m, shift = quantize_multiplier(real)
    assert (1 << 30) <= m < (1 << 31)
    assert abs(m * 2.0 ** (shift - 31) - real) <= real * 2.0**-31


def test_srdhm_and_rounding_divide_match_their_definitions():
    for a, b in [(5, 1 << 30), (-5, 1 << 30), (3, (1 << 30) + 1), (-(1 << 31), -(1 << 31)), (123456, 987654321)]:
        expected = math.floor(Fraction(a * b + (1 << 30), 1 << 31)) if (a, b) != (-(1 << 31),) * 2 else (1 << 31) - 1
        assert srdhm(a, b) == expected
    for x in range(-40, 41):
        e = 3
        exact = Fraction(x, 1 << e)
        away = math.floor(abs(exact) + Fraction(1, 2)) * (1 if x >= 0 else -1)
        assert rounding_divide_by_pot(x, e) == away


@settings(max_examples=200, deadline=None)
@given(st.floats(1e-6, 4.0), st.integers(-(1 << 20), 1 << 20), st.integers(-300, 300), st.integers(-128, 127))
def test_folded_requant_is_tflite_except_negative_ties(real, acc, offset, zp):
    m, s = quantize_multiplier(real)
    fold = tflite_requant([m], [s], [offset], zp, [1 << 21])
    ours = folded(fold, 0, acc)
    y = srdhm(acc + offset, m)
    tflite = tflite_multiply(acc + offset, m, s) + zp
    if s >= 0 or y >= 0:
        assert ours == tflite
    else:
        e = -s
        tie = (y + (1 << (e - 1))) % (1 << e) == 0
        assert ours == tflite + (1 if tie else 0)


def test_folded_requant_per_channel_shares_one_shift_exactly():
    reals = [0.0031, 0.2, 0.00071, 1.5]
    pairs = [quantize_multiplier(r) for r in reals]
    offsets = [-7, 0, 13, 2]
    fold = tflite_requant([m for m, _ in pairs], [s for _, s in pairs], offsets, -5, [5000] * 4)
    for c, (m, s) in enumerate(pairs):
        for acc in range(-3000, 3001, 7):
            expected = tflite_multiply(acc + offsets[c], m, s) - 5
            if acc + offsets[c] >= 0 or s > 0:
                assert folded(fold, c, acc) == expected


def test_folded_requant_keeps_64_bits_with_dead_channels():
    pairs = [quantize_multiplier(r) for r in (0.01, 3e-9)]
    fold = tflite_requant([m for m, _ in pairs], [s for _, s in pairs], [0, 0], 0, [1 << 30] * 2)
    assert all(abs(k) * (1 << 30) + abs(lam) < 1 << 63 for k, lam in zip(fold.k, fold.lam))
    for acc in (-(1 << 30), -12345, 0, 999, 1 << 29):
        assert folded(fold, 0, acc) == tflite_multiply(acc, *pairs[0]) or acc < 0
        assert abs(folded(fold, 1, acc) - tflite_multiply(acc, *pairs[1])) <= 1


def test_single_rounding_reference_is_one_floor():
    m, s = quantize_multiplier(0.0123)
    for acc in range(-5000, 5000, 37):
        assert tflite_single_rounding(acc, m, s) == math.floor(Fraction(acc * m, 1 << (31 - s)) + Fraction(1, 2))


def test_quantize_real_rounds_half_away_in_float32():
    assert quantize_real(6.0, 0.0235294122248888, -128) == 127
    assert quantize_real(0.0, 0.1, -128) == -128
    assert quantize_real(-0.25, 0.5, 0) == -1  # -0.5 rounds away from zero


@settings(max_examples=60, deadline=None)
@given(st.floats(0.005, 0.5), st.integers(0, 255), st.floats(0.005, 0.5), st.integers(0, 255),
       st.floats(0.01, 0.6), st.integers(0, 255))
def test_add_requant_is_the_rounded_real_sum(sa, za, sb, zb, so, zo):
    p = add_requant(sa, za, sb, zb, so, zo)
    assert p.shift >= 12
    assert abs(p.mul_a * 255 + p.add) + p.mul_b * 255 < 1 << 31
    for a in range(0, 256, 15):
        for b in range(0, 256, 17):
            real = zo + (sa * (a - za) + sb * (b - zb)) / so
            ours = (a * p.mul_a + b * p.mul_b + p.add) >> p.shift
            if abs(real - math.floor(real) - 0.5) > 1e-3:
                assert ours == math.floor(real + 0.5)


def test_avgpool_requant_equal_scales_rounds_the_mean_half_up():
    p = avgpool_requant(0.1, 3, 0.1, 3)
    for total in range(0, 64 * 255, 97):
        assert (total * p.mul // 64 + p.add) >> p.shift == math.floor(Fraction(total, 64) + Fraction(1, 2))
    q = avgpool_requant(0.2, 10, 0.1, 0)
    for total in range(0, 16 * 255, 53):
        real = 2 * (total / 16 - 10)
        if abs(real - math.floor(real) - 0.5) > 1e-3:
            assert (total * q.mul // 16 + q.add) >> q.shift == math.floor(real + 0.5)


def test_fixed_point_exp_is_accurate():
    for real in (0.0, -0.1, -0.25, -1.0, -3.3, -10.0, -31.0):
        raw = round(real * (1 << 26))
        assert abs(exp_on_negative_values(raw) / 2**31 - math.exp(real)) < 2e-8 + 1e-6 * math.exp(real)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(-128, 127), min_size=2, max_size=12), st.floats(0.01, 0.5))
def test_softmax_int8_is_within_one_lsb_of_the_real_softmax(logits, scale):
    scale = float(np.float32(scale))
    out = softmax_int8(np.array([logits], dtype=np.int8), SoftmaxTail(scale))
    x = np.array(logits, dtype=np.float64) * scale
    probs = np.exp(x - x.max()) / np.exp(x - x.max()).sum()
    expected = np.clip(np.round(probs * 256) - 128, -128, 127)
    assert np.abs(out[0].astype(np.int64) - expected).max() <= 1


def test_avgpool_requant_keeps_pulp_nn_avgpool_arithmetic_in_32_bits():
    """A large window and a scale ratio above 1 need fewer fraction bits; the result stays within
    the kernel's unsigned 32-bit range and rounds like the real-valued formula."""
    count, ratio_in, ratio_out = 49, 0.3, 0.1
    p = avgpool_requant(ratio_in, 0, ratio_out, 2, count)
    assert p.mul > 0 and p.add >= 0
    assert 255 * count * p.mul < 1 << 32 and 255 * p.mul + p.add < 1 << 31
    for total in range(0, count * 255 + 1, 7):
        real = 2 + 3 * total / count
        if abs(real - math.floor(real) - 0.5) > 1e-2:
            assert (total * p.mul // count + p.add) >> p.shift == math.floor(real + 0.5)
