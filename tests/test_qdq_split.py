"""`dory_xdsl.semantics.qdq_split`: TFLM's two-signed requantization as kernel-legal stages (every clip
[0, 255]), checked exhaustively against TFLite's scalar gemmlowp arithmetic (`qdq_requant`)."""

from __future__ import annotations

import numpy as np
import pytest

from dory_xdsl.semantics.qdq_exact import exact_requant, tflite_requant_function
from dory_xdsl.semantics.qdq_requant import quantize_multiplier, tflite_multiply
from dory_xdsl.semantics.qdq_split import KernelHalf, KernelSplit, clip8, kernel_split, mirrored
from dory_xdsl.semantics.requant_fit import SingleStage

X = np.arange(-(1 << 12), 1 << 12, dtype=np.int64)  # floor identities: every x over whole periods


@pytest.mark.parametrize("shift", [0, 1, 5, 9])
@pytest.mark.parametrize("m", [0, 1, 113, 254])
def test_mirrored_floor(shift, m):
    """floor((m*2^s - x + 2^s - 1) / 2^s) == m - floor(x / 2^s) for every x."""
    one = 1 << shift
    assert np.array_equal((m * one - X + one - 1) >> shift, m - (X >> shift))


@pytest.mark.parametrize("m", [1, 113, 132, 254])
def test_mirror_back_is_the_two_sided_clip(m):
    """clip8(m - clip8(m - g)) == clip(g, 0, m) for every g (m < 255), and the cases of the doc."""
    g = np.arange(-600, 600, dtype=np.int64)
    u = clip8(m - g)
    assert np.array_equal(clip8(m - u), np.clip(g, 0, m))
    assert clip8(m - clip8(m - np.array([m + 7])))[0] == m  # g > m -> u = 0 -> m
    assert clip8(m - clip8(m - np.array([-1])))[0] == 0  # g < 0 -> u > m -> 0


def test_saturating_add_of_the_parts():
    """y = clip8(P' + B) for P' = clip8(g) (no top clip) equals clip(zp + R, 0, 255)."""
    r = np.arange(-400, 400, dtype=np.int64)
    for zp in (1, 113, 132, 254):
        pos = clip8(r)
        neg = np.clip(zp + r, 0, zp)
        assert np.array_equal(clip8(pos + neg), clip8(zp + r))
        assert (pos + neg).max() <= 510  # pulp_nn_add's uint16 sum


def scalar_tflm(acc: int, m: int, s: int, offset: int, zp: int, hi: int) -> int:
    return min(max(tflite_multiply(acc + offset, m, s) + zp, 0), hi)


@pytest.mark.parametrize("reals, offsets, zp, hi, span", [
    ([0.0013], [0], 128, 255, 90000),
    ([0.0021, 0.00093, 0.0047], [-700, 1234, 5], 142, 255, 60000),
    ([0.0102, 0.0031], [17, -3], 132, 255, 40000),
    ([0.0013, 0.0029], [0, 40], 100, 200, 90000),  # a top clip below 255: both parts mirrored
])
def test_layer_is_tflm_on_every_accumulator(reals, offsets, zp, hi, span):
    pairs = [quantize_multiplier(r) for r in reals]
    ranges = [(-span, span)] * len(pairs)
    split = kernel_split(pairs, offsets, zp, hi, ranges)
    assert split is not None
    assert (split.pos.mirror is None) == (hi == 255) and split.neg.mirror == zp
    for half in (split.pos, split.neg):
        assert (half.stage.lo, half.stage.hi) == (0, 255)  # the kernels' clip
    acc = np.arange(-span, span + 1, dtype=np.int64)
    for c, ((m, s), off) in enumerate(zip(pairs, offsets)):
        expected = tflite_requant_function(m, s, off, zp, 0, hi)(acc)
        assert np.array_equal(split.channel(c)(acc), expected)
        for a in (-span, -1, 0, 1, 977, span):
            assert int(split.channel(c)(np.array([a]))[0]) == scalar_tflm(a, m, s, off, zp, hi)


def test_check_rejects_a_wrong_split():
    pair = quantize_multiplier(0.0013)
    ranges = [(-90000, 90000)]
    split = kernel_split([pair], [0], 128, 255, ranges)
    assert split is not None
    f = [tflite_requant_function(*pair, 0, 128, 0, 255)]
    assert split.check(f, ranges, 255)
    stage = split.neg.stage
    off_by_one = SingleStage(stage.k, (stage.lam[0] + (1 << stage.shift),), stage.shift, 0, 255, 64)
    assert not KernelSplit(split.pos, KernelHalf(off_by_one, 128)).check(f, ranges, 255)


def test_no_split_when_the_clip_keeps_one_sign():
    pair = quantize_multiplier(0.0013)
    assert kernel_split([pair], [0], 0, 255, [(-1000, 1000)]) is None  # zp = lo: a ReLU, one stage
    assert kernel_split([pair], [0], 255, 255, [(-1000, 1000)]) is None


def test_mirrored_stage_constants():
    fit = exact_requant([quantize_multiplier(0.0013)], [0], 128, 0, 128, [(-90000, 90000)])
    assert fit is not None
    mir = mirrored(fit, 128)
    one = 1 << fit.shift
    assert mir.k == (-fit.k[0],) and mir.lam == (128 * one - fit.lam[0] + one - 1,)
