"""Scale arithmetic of QDQ (TFLite / onnxruntime) graphs folded into integer requantization.

Pure functions on Python ints and floats (no IR), used by `dory_xdsl.frontend.qdq_import`.

TFLite requantizes an int32 accumulator `acc` with the real multiplier `r` as
`MultiplyByQuantizedMultiplier(acc, M, shift)`: `r ~= M * 2^(shift - 31)` with the Q31 `M` in
[2^30, 2^31) (`quantize_multiplier`). TensorFlow Lite Micro (the oracle of the golden data)
rounds twice (gemmlowp, `tflite_multiply`): `y = SaturatingRoundingDoublingHighMul(acc, M) =
floor((acc*M + 2^30) / 2^31)`, then `RoundingDivideByPOT(y, e)` with `e = -shift` (half away
from zero). Both roundings fold into one floor (floor(floor(a/b)/c) == floor(a/(b*c))):

    out = floor((acc*M + 2^30 + 2^(30+e) - [y < 0] * 2^31) / 2^(31+e))

`qnn.requant` computes `clip((k*acc + lambda) >> S)` with one `lambda` per channel, so
`tflite_requant` drops the `[y < 0]` term. The result is *exactly* TFLite's whenever `y >= 0`,
whenever `shift >= 0` (one rounding), and whenever a clamp at the output zero point (ReLU) cuts
the negative values anyway; for `y < 0` it is one LSB higher exactly on the ties of the second
rounding (`y = -2^(e-1) mod 2^e`, about 2^-e of the negative values), never more.
(TFLite's other build, `TFLITE_SINGLE_ROUNDING`, `tflite_single_rounding`, is one floor and
would be reproduced exactly with `lambda = 2^(S-1)`; the LiteRT intermediates of the golden
files use it for fully connected layers, TFLM's outputs do not.)

Channels with different shifts share the largest `S` that keeps 64-bit arithmetic: each
numerator is scaled by `2^(S - own)`, which keeps the floor exact (channels whose own shift is
above `S`, i.e. tiny multipliers of dead channels, get rounded constants, see `tflite_requant`).
The constants need 64-bit arithmetic (`M` alone has 31 bits); `onnx_requant.requant_constants`
picks the width and removes common powers of two.

Element-wise add and average pooling are not accumulator rescalings in PULP-NN: see
`add_requant` and `avgpool_requant` for their (documented) deviation from TFLite.

These folded forms are the fallbacks: the importer uses `qdq_exact`, which reproduces TFLM's
double rounding, add and average pooling exactly (`*_array` here are its vectorised TFLM
primitives).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

Q31 = 1 << 31


def quantize_multiplier(real: float) -> tuple[int, int]:
    """TFLite `QuantizeMultiplier`: `(M, shift)` with `real ~= M * 2^(shift - 31)`.

    `M` is `round(q * 2^31)` (half away from zero) for the frexp mantissa `q` in [0.5, 1)."""
    if real <= 0.0:
        if real == 0.0:
            return 0, 0
        raise ValueError(f"negative multiplier {real}")
    q, shift = math.frexp(real)
    m = math.floor(q * Q31 + 0.5)
    if m == Q31:
        m //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    if shift > 30:
        return Q31 - 1, 30
    return m, shift


def srdhm(a: int, b: int) -> int:
    """gemmlowp `SaturatingRoundingDoublingHighMul` on int32 values (Python ints)."""
    if a == b == -Q31:
        return Q31 - 1
    ab = a * b
    nudge = (1 << 30) if ab >= 0 else 1 - (1 << 30)
    total = ab + nudge
    q = abs(total) >> 31  # C division truncates toward zero
    return q if total >= 0 else -q


def rounding_divide_by_pot(x: int, exponent: int) -> int:
    """gemmlowp `RoundingDivideByPOT`: `x / 2^exponent` rounded half away from zero."""
    if exponent == 0:
        return x
    mask = (1 << exponent) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (1 if x < 0 else 0)
    return (x >> exponent) + (1 if remainder > threshold else 0)


def tflite_multiply(acc: int, multiplier: int, shift: int) -> int:
    """TFLite `MultiplyByQuantizedMultiplier` in the double-rounding (gemmlowp) build."""
    left = max(shift, 0)
    right = max(-shift, 0)
    return rounding_divide_by_pot(srdhm(acc * (1 << left), multiplier), right)


def srdhm_array(a: np.ndarray, multiplier: int) -> np.ndarray:
    """`srdhm(a, multiplier)` element-wise for int32 values `a` and a multiplier in (0, 2^31)
    (no saturation case), in int64 numpy arithmetic (the product stays below 2^62)."""
    ab = np.asarray(a, dtype=np.int64) * np.int64(multiplier)
    total = ab + np.where(ab >= 0, np.int64(1 << 30), np.int64(1 - (1 << 30)))
    return np.sign(total) * (np.abs(total) >> 31)


def rounding_divide_by_pot_array(x: np.ndarray, exponent: int) -> np.ndarray:
    """`rounding_divide_by_pot` element-wise (int64 numpy, two's complement masks)."""
    x = np.asarray(x, dtype=np.int64)
    if exponent == 0:
        return x
    mask = np.int64((1 << exponent) - 1)
    threshold = (mask >> 1) + (x < 0)
    return (x >> exponent) + ((x & mask) > threshold)


def tflite_multiply_array(acc: np.ndarray, multiplier: int, shift: int) -> np.ndarray:
    """`tflite_multiply` element-wise: TFLM's double-rounding `MultiplyByQuantizedMultiplier`."""
    shifted = np.asarray(acc, dtype=np.int64) << max(shift, 0)
    return rounding_divide_by_pot_array(srdhm_array(shifted, multiplier), max(-shift, 0))


def quantize_real(value: float, scale: float, zero_point: int) -> int:
    """TFLite's quantization of a constant (activation clamps): `zp + round(value / scale)` in
    float32, rounded half away from zero."""
    q = np.float32(value) / np.float32(scale)
    if not np.isfinite(q):
        return int(np.sign(q)) * (1 << 40)
    return zero_point + int(math.copysign(math.floor(abs(float(q)) + 0.5), float(q)))


@dataclass(frozen=True)
class FoldedRequant:
    """`out = floor((k[c]*acc + lam[c]) / 2^shift)` per channel (Python ints)."""

    k: list[int]
    lam: list[int]
    shift: int


def tflite_requant(multipliers: Sequence[int], shifts: Sequence[int], offsets: Sequence[int],
                   output_zero_point: int, acc_bounds: Sequence[int] | None = None) -> FoldedRequant:
    """Fold TFLite's per-channel single-rounding `MultiplyByQuantizedMultiplier(acc + offsets[c],
    M[c], shift[c]) + output_zero_point` into one floor with a common shift (module doc).

    `offsets[c]` is what the IR accumulator lacks from TFLite's (input zero point times the
    weight sums); it goes into lambda, as does the output zero point. `acc_bounds[c]` bounds
    `|acc|`: the common shift is the largest that keeps `|k*acc + lambda|` below 2^63. Channels
    with a smaller multiplier than that shift can hold (typically dead channels with tiny
    weight scales, 2^-20 and below) get `k` rounded to it: their result can then differ from
    TFLite's when `acc*M` lies within `|acc| / 2^(shift+1)` of a rounding boundary."""
    parts = []
    for m, s in zip(multipliers, shifts):
        if s >= 0:  # one rounding: floor((acc*M*2^s + 2^30) / 2^31)
            parts.append((m << s, 1 << 30, 31))
        else:  # both roundings folded, the [y < 0] term dropped (module doc)
            parts.append((m, (1 << 30) + (1 << (30 - s)), 31 - s))
    bounds = list(acc_bounds) if acc_bounds is not None else [0] * len(parts)
    if len(bounds) == 1:
        bounds = bounds * len(parts)
    for total in range(max(p[2] for p in parts), 30, -1):
        k, lam = [], []
        for (m, c, own), offset in zip(parts, offsets):
            if own <= total:
                scale = 1 << (total - own)
                kc, lc = m * scale, (c + m * offset) * scale
            else:
                drop = 1 << (own - total)
                kc, lc = _div_round(m, drop), _div_round(c + m * offset, drop)
            k.append(kc)
            lam.append(lc + (output_zero_point << total))
        if all(abs(kc) * b + abs(lc) < (1 << 62) for kc, lc, b in zip(k, lam, bounds)):
            return FoldedRequant(k, lam, total)
    raise ValueError("the requantization multipliers do not fit 64-bit arithmetic")


def _div_round(n: int, d: int) -> int:
    return (n + d // 2) // d


def tflite_single_rounding(acc: int, multiplier: int, shift: int) -> int:
    """TFLite `MultiplyByQuantizedMultiplier` in the single-rounding build (half up)."""
    total = 31 - shift
    return (acc * multiplier + (1 << (total - 1))) >> total


@dataclass(frozen=True)
class AddParams:
    """`out = (x_a*mul_a + x_b*mul_b + add) >> shift` (before the clamp), as `qnn.add` with
    `add_a = add`, `add_b = 0`, `shift_a = shift_b = 0`."""

    mul_a: int
    mul_b: int
    add: int
    shift: int


def add_requant(scale_a: float, zp_a: int, scale_b: float, zp_b: int, scale_out: float,
                zp_out: int, max_a: int = 255, max_b: int = 255) -> AddParams:
    """Requantizing add `zp_out + round((scale_a*(a - zp_a) + scale_b*(b - zp_b)) / scale_out)`
    with `a` in [0, max_a], `b` in [0, max_b] (the zero points in the same domain as a, b).

    TFLite rescales both inputs to 20 extra fraction bits with rounded Q31 multipliers, adds,
    and rescales with a third multiplier (three roundings). The kernel here has one 32-bit
    multiply per input and one final shift, so the ratios are rounded to `shift` fraction bits,
    chosen as large as 32-bit arithmetic allows (about 21 for 8-bit inputs). Both compute the
    same real value to within `(max_a + max_b) * 2^-shift` (about 2^-12) of an output LSB and
    round it to nearest, so they differ (by one LSB) only when that value lies within about
    2^-12 of a rounding boundary, and on exact ties below zero (TFLite rounds those away from
    zero, this rounds up).
    """
    ra, rb = float(scale_a) / float(scale_out), float(scale_b) / float(scale_out)
    for shift in range(30, -1, -1):
        mul_a, mul_b = round(ra * (1 << shift)), round(rb * (1 << shift))
        add = round((zp_out + 0.5 - ra * zp_a - rb * zp_b) * (1 << shift))
        worst_a = max(abs(mul_a * max_a + add), abs(add))
        worst = worst_a + abs(mul_b * max_b)
        if worst < (1 << 31) - 1 and mul_a > 0 and mul_b > 0:
            return AddParams(mul_a, mul_b, add, shift)
    raise ValueError(f"the add scales {scale_a}, {scale_b} -> {scale_out} do not fit 32-bit arithmetic")


@dataclass(frozen=True)
class PoolParams:
    """`out = (sum*mul // count + add) >> shift` (before the clamp), as `qnn.avgpool`."""

    mul: int
    add: int
    shift: int


def avgpool_requant(scale_in: float, zp_in: int, scale_out: float, zp_out: int, count: int = 1,
                    bits: int = 8) -> PoolParams:
    """Average pooling `zp_out + round(scale_in*(mean - zp_in) / scale_out)` (zero points in the
    domain of the pooled values) over windows of `count` unsigned `bits`-bit values.

    With equal scales and zero points (what TFLite requires) this is `floor(mean + 1/2)`,
    exactly TFLite's `(sum +- count/2) / count` except on exact ties of negative signed means
    (TFLite rounds those away from zero, this up): only possible for an even window size.
    Different scales use the ratio with as many fraction bits (at most `bits + 12`) as keep
    `pulp_nn_avgpool`'s unsigned 32-bit arithmetic exact: `sum*mul < 2^32`, `max*mul + add < 2^31`,
    `mul > 0`, `add >= 0`; when no precision allows that (a negative offset), the full-precision
    form is returned: exact for the reference engine, rejected by the back end with its reason."""
    if float(scale_in) == float(scale_out) and zp_in == zp_out:
        return PoolParams(2, 1, 1)
    ratio = float(scale_in) / float(scale_out)
    top = (1 << bits) - 1

    def at(shift: int) -> PoolParams:
        return PoolParams(round(ratio * (1 << shift)), round((zp_out + 0.5 - ratio * zp_in) * (1 << shift)), shift)

    for shift in range(bits + 12, -1, -1):
        p = at(shift)
        if p.mul > 0 and p.add >= 0 and top * count * p.mul < 1 << 32 and top * p.mul + p.add < 1 << 31:
            return p
    p = at(bits + 12)
    if p.mul <= 0:
        raise ValueError(f"the pooling scale ratio {ratio} is not representable")
    return p
