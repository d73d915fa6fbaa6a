"""TFLite Micro's integer requantizations reproduced exactly by single kernel stages (no IR).

TFLM rounds twice (`qdq_requant` module doc), which `clip((k*acc + lambda) >> shift)` with the
folded constants of `qdq_requant.tflite_requant` misses by one LSB on the negative ties of the
second rounding. But TFLM's requantization `f_c(acc) = clip(MultiplyByQuantizedMultiplier(acc +
offset_c, M_c, shift_c) + zp, lo, hi)` is non-decreasing in `acc` (both roundings are), so on
the reachable accumulator range it is a step function with at most `hi - lo` thresholds per
channel, and `requant_fit.fit_single_stage` finds one stage with exactly those thresholds (or
proves that none exists with a shift below 64). The same holds for an 8-bit rescale
(`Requantize`-like `QuantizeLinear` of a dequantized tensor).

Average pooling: TFLM rounds the signed window sum half away from zero
(`(sum +- count/2) / count`, C division), a monotone function of the window sum of the
unsigned values; `exact_avgpool` fits `qnn.avgpool`'s `clip((sum*mul // count + add) >> shift)`
to it over every reachable sum (checked exhaustively: at most `255*count + 1` sums).

Element-wise add: TFLM computes `F(g_a(a) + g_b(b))` (each input rescaled to 20 fraction bits
with its own double rounding, then a third requantization). `exact_add` searches `qnn.add`
parameters of the linear form `clip((a*mul_a + b*mul_b + add) >> shift)` (32-bit) equal to it on
every pair of reachable inputs: for fixed multipliers and shift the admissible `add` values are
an interval computed exactly from the full table; multipliers are tried around the real ratios.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from dory_xdsl.semantics.qdq_requant import AddParams, PoolParams, quantize_multiplier, tflite_multiply_array
from dory_xdsl.semantics.requant_fit import IntFunction, SingleStage, fit_single_stage, verify_at_points


def tflite_requant_function(multiplier: int, shift: int, offset: int, zero_point: int, lo: int, hi: int) -> IntFunction:
    """`acc -> clip(MultiplyByQuantizedMultiplier(acc + offset, M, shift) + zp, lo, hi)` (TFLM)."""

    def f(acc: np.ndarray) -> np.ndarray:
        acc = np.asarray(acc, dtype=np.int64)
        return np.clip(tflite_multiply_array(acc + offset, multiplier, shift) + zero_point, lo, hi)

    return f


def exact_requant(pairs: Sequence[tuple[int, int]], offsets: Sequence[int], zero_point: int, lo: int, hi: int,
                  ranges: Sequence[tuple[int, int]]) -> SingleStage | None:
    """One stage equal to TFLM's requantization of every channel c (Q31 multiplier and shift
    `pairs[c]`, accumulator offset `offsets[c]`) on every integer accumulator of `ranges[c]`,
    verified exactly (`requant_fit.verify_at_points`); None when no stage fits 64 bits."""
    funcs = [tflite_requant_function(m, s, off, zero_point, lo, hi) for (m, s), off in zip(pairs, offsets, strict=True)]
    fit = fit_single_stage(funcs, ranges, lo, hi)
    if fit is None:
        return None
    # A constant channel (a dead one, K = 0) gets the smallest lambda, -2^63: use its value.
    lam = [int(f(np.array([a]))[0]) << fit.shift if k == 0 else lam
           for f, (a, _), k, lam in zip(funcs, ranges, fit.k, fit.lam)]
    fit = dataclasses.replace(fit, lam=tuple(lam))
    for c, (f, (a, b)) in enumerate(zip(funcs, ranges)):
        if not verify_at_points(f, fit.stage(c), a, b):
            raise AssertionError(f"requant fit of channel {c} is not exact")  # a bug in requant_fit
    return fit


def tflite_avgpool(sums: np.ndarray, count: int, offset: int) -> np.ndarray:
    """TFLM's int8 average of a window whose unsigned values (int8 + `offset`) sum to `sums`,
    back in the unsigned domain: signed sum rounded half away from zero, C division."""
    signed = np.asarray(sums, dtype=np.int64) - offset * count
    half = count // 2
    rounded = np.where(signed > 0, (signed + half) // count, -((-signed + half) // count))
    return rounded + offset


def exact_avgpool(count: int, offset: int, lo: int, hi: int, max_shift: int = 24) -> PoolParams | None:
    """`qnn.avgpool` parameters (mul, add >= 0, as `pulp_nn_avgpool` needs, 32-bit unsigned
    arithmetic for 8-bit inputs) equal to `tflite_avgpool` clipped to [lo, hi] on every window
    sum in [0, 255*count]; None when no shift up to `max_shift` has one."""
    sums = np.arange(0, 255 * count + 1, dtype=np.int64)
    target = np.clip(tflite_avgpool(sums, count, offset), lo, hi)
    for shift in range(max_shift + 1):
        centre = (count << shift) // count
        for mul in range(max(1, centre - 2), centre + 3):
            if 255 * count * mul >= 1 << 32:
                continue
            base = sums * mul // count
            # clip((base + add) >> shift) == target: add in [target << shift, ...) unless clipped
            low = np.where(target > lo, (target << shift) - base, np.iinfo(np.int64).min)
            high = np.where(target < hi, ((target + 1) << shift) - 1 - base, np.iinfo(np.int64).max)
            add = max(int(low.max()), 0)
            if add <= int(high.min()) and 255 * mul + add < 1 << 31:
                return PoolParams(mul, add, shift)
    return None


@dataclass(frozen=True)
class AddScales:
    """The quantization of a TFLite int8 add, zero points in the unsigned IR domain."""

    scale_a: float
    zp_a: int
    scale_b: float
    zp_b: int
    scale_out: float
    zp_out: int


def tflite_add(a: np.ndarray, b: np.ndarray, q: AddScales, lo: int, hi: int) -> np.ndarray:
    """TFLM's int8 `Add` (reference kernel, `left_shift` 20) on inputs in any common domain
    (the zero points in the same domain), clipped to [lo, hi]."""
    twice_max = 2 * max(float(q.scale_a), float(q.scale_b))
    ma, sa = quantize_multiplier(float(q.scale_a) / twice_max)
    mb, sb = quantize_multiplier(float(q.scale_b) / twice_max)
    mo, so = quantize_multiplier(twice_max / ((1 << 20) * float(q.scale_out)))
    ga = tflite_multiply_array((np.asarray(a, dtype=np.int64) - q.zp_a) << 20, ma, sa)
    gb = tflite_multiply_array((np.asarray(b, dtype=np.int64) - q.zp_b) << 20, mb, sb)
    return np.clip(tflite_multiply_array(ga + gb, mo, so) + q.zp_out, lo, hi)


def exact_add(q: AddScales, a_range: tuple[int, int], b_range: tuple[int, int], lo: int, hi: int,
              radius: int = 3) -> AddParams | None:
    """`qnn.add` parameters `clip((a*mul_a + b*mul_b + add) >> shift, lo, hi)` (32-bit, no
    wrap, positive multipliers) equal to `tflite_add` on every pair of `a_range` x `b_range`;
    None when none is found (multipliers within `radius` of the rounded real ratios)."""
    a = np.arange(a_range[0], a_range[1] + 1, dtype=np.int64)[:, None]
    b = np.arange(b_range[0], b_range[1] + 1, dtype=np.int64)[None, :]
    target = tflite_add(a, b, q, lo, hi).reshape(-1)
    a, b = np.broadcast_arrays(a, b)
    a, b = a.reshape(-1), b.reshape(-1)
    ra, rb = float(q.scale_a) / float(q.scale_out), float(q.scale_b) / float(q.scale_out)
    i64 = np.iinfo(np.int64)
    best = None
    for shift in range(30, -1, -1):
        ca, cb = round(ra * (1 << shift)), round(rb * (1 << shift))
        if (ca + cb + 2 * radius) * 256 >= 1 << 31:
            continue
        for mul_a in range(max(1, ca - radius), ca + radius + 1):
            for mul_b in range(max(1, cb - radius), cb + radius + 1):
                base = a * mul_a + b * mul_b
                low = np.where(target > lo, (target << shift) - base, i64.min).max()
                high = np.where(target < hi, ((target + 1) << shift) - 1 - base, i64.max).min()
                if low > high:
                    continue
                add = int(min(max(0, low), high))
                ends = [int(base.min()) + add, int(base.max()) + add]
                if all(-(1 << 31) <= v < 1 << 31 for v in ends):
                    best = AddParams(mul_a, mul_b, add, shift)
                    break
            if best is not None:
                return best
    return None
