"""TFLM's integer arithmetic reproduced exactly (`dory_xdsl.semantics.qdq_exact`): checked exhaustively
against TFLite's double rounding written with the scalar gemmlowp functions of `qdq_requant`."""

from __future__ import annotations

import numpy as np
import pytest

from dory_xdsl.semantics.qdq_exact import (
    AddScales,
    exact_add,
    exact_avgpool,
    exact_requant,
    tflite_add,
    tflite_avgpool,
    tflite_requant_function,
)
from dory_xdsl.semantics.qdq_requant import quantize_multiplier, tflite_multiply, tflite_multiply_array
from dory_xdsl.semantics.requant_fit import fit_single_stage, verify_exhaustive


def test_array_multiply_is_the_scalar_one():
    rng = np.random.default_rng(3)
    for real in (3e-5, 0.0071, 0.49, 0.93, 1.7):
        m, s = quantize_multiplier(real)
        acc = rng.integers(-(1 << 22), 1 << 22, 400)
        assert tflite_multiply_array(acc, m, s).tolist() == [tflite_multiply(int(a), m, s) for a in acc]


@pytest.mark.parametrize("real, offset, zp, lo", [(0.0031, -700, 0, 0), (0.00047, 1234, 5, 5), (0.21, 3, 128, 128)])
def test_clamped_requant_is_one_exact_stage(real, offset, zp, lo):
    pair = quantize_multiplier(real)
    span = (-60000, 60000)
    fit = exact_requant([pair], [offset], zp, lo, 255, [span])
    assert fit is not None
    f = tflite_requant_function(*pair, offset, zp, lo, 255)
    assert verify_exhaustive(f, fit.stage(0), *span)


def test_unclamped_requant_needs_the_positive_and_negative_halves():
    pair = quantize_multiplier(0.0013)
    span = (-90000, 90000)
    f = tflite_requant_function(*pair, 0, 128, 0, 255)
    assert fit_single_stage([f], [span], 0, 255) is None  # the sign-dependent second rounding
    pos = exact_requant([pair], [0], 0, 0, 127, [span])
    neg = exact_requant([pair], [0], 128, 0, 128, [span])
    assert pos is not None and neg is not None
    assert verify_exhaustive(f, lambda x: pos.stage(0)(x) + neg.stage(0)(x), *span)


def scalar_avgpool(total: int, count: int) -> int:
    """TFLM: `acc > 0 ? (acc + count/2) / count : (acc - count/2) / count` (C division)."""
    num = total + count // 2 if total > 0 else total - count // 2
    q = abs(num) // count
    return q if num >= 0 else -q


@pytest.mark.parametrize("count, offset, lo", [(64, 128, 0), (16, 128, 40), (9, 0, 0)])
def test_avgpool_is_tflm_on_every_sum(count, offset, lo):
    p = exact_avgpool(count, offset, lo, 255)
    assert p is not None and p.mul > 0 and p.add >= 0
    sums = np.arange(0, 255 * count + 1)
    expected = [min(max(scalar_avgpool(int(t) - offset * count, count) + offset, lo), 255) for t in sums]
    assert tflite_avgpool(sums, count, offset).clip(lo, 255).tolist() == expected
    assert np.clip((sums * p.mul // count + p.add) >> p.shift, lo, 255).tolist() == expected


def scalar_add(a: int, b: int, q: AddScales) -> int:
    twice = 2 * max(q.scale_a, q.scale_b)
    ma, sa = quantize_multiplier(q.scale_a / twice)
    mb, sb = quantize_multiplier(q.scale_b / twice)
    mo, so = quantize_multiplier(twice / ((1 << 20) * q.scale_out))
    total = tflite_multiply((a - q.zp_a) << 20, ma, sa) + tflite_multiply((b - q.zp_b) << 20, mb, sb)
    return min(max(tflite_multiply(total, mo, so) + q.zp_out, 0), 255)


@pytest.mark.parametrize("q", [AddScales(0.0432, 131, 0.1174, 120, 0.0602, 3),
                               AddScales(0.05, 128, 0.05, 128, 0.1, 128)])
def test_add_is_tflm_on_every_pair(q):
    a = np.arange(256)[:, None]
    b = np.arange(256)[None, :]
    table = tflite_add(a, b, q, 0, 255)
    for x, y in [(0, 0), (17, 250), (131, 120), (255, 3), (200, 201)]:
        assert table[x, y] == scalar_add(x, y, q)
    p = exact_add(q, (0, 255), (0, 255), 0, 255)
    assert p is not None
    ours = np.clip((a * p.mul_a + b * p.mul_b + p.add) >> p.shift, 0, 255)
    assert np.array_equal(ours, table)
