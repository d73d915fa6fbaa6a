"""The final int8 `Softmax` of TFLite models, in fixed-point integer arithmetic (pure, no IR).

QDQ graphs from TFLite end in `DequantizeLinear -> Softmax -> QuantizeLinear` with the output
quantized at scale 1/256, zero point -128. The importer keeps this op out of the integer layers
(it runs on the fabric controller, not in a PULP-NN kernel) and records its parameters on
`func.func @main` (`SoftmaxTail`); `softmax_int8` evaluates it. The arithmetic is the one of
the TFLite Micro reference kernel, so an MCU and this host model agree bit for bit:

- `d = x - max(x)` per row; entries with `d < diff_min` give -128 (their exp is below 2^-8);
- `d` is scaled to a Q5.26 fixed-point number by `beta * input_scale` (multiplier `M` and left
  shift from `quantize_multiplier`), `exp(d)` is computed in Q0.31 (a 4th-order polynomial on
  [-1/4, 0) and a product of exp(-2^k) constants for the whole quarters), summed in Q12.19;
- the reciprocal of the sum is computed by Newton-Raphson in Q2.29 (three steps);
- `out = round(exp(d) / sum * 256) - 128`, saturated to int8.

Accuracy against the exact real softmax: within 1 LSB of the output (1/256) on every entry
(the fixed-point exp and reciprocal are accurate to a few 2^-31 units).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from dory_xdsl.semantics.qdq_requant import quantize_multiplier, rounding_divide_by_pot, srdhm

INT32_MAX = (1 << 31) - 1
INT32_MIN = -(1 << 31)
SCALED_DIFF_INTEGER_BITS = 5
ACCUMULATION_INTEGER_BITS = 12
# exp(-2^k) in Q0.31 for k = -2 .. 4: the "barrel shifter" over whole quarters.
_EXP_OF_POWERS = ((-2, 1672461947), (-1, 1302514674), (0, 790015084), (1, 290630308),
                  (2, 39332535), (3, 720401), (4, 242))
_EXP_MINUS_ONE_EIGHTH = 1895147668  # exp(-1/8) in Q0.31
_ONE_THIRD = 715827883  # 1/3 in Q0.31


def _wrap32(v: int) -> int:
    return ((v + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)


def _sat_shift_left(x: int, exponent: int) -> int:
    limit = (1 << (31 - exponent)) - 1
    if x > limit:
        return INT32_MAX
    if x < -limit:
        return INT32_MIN
    return x << exponent


def _exp_quarter(a: int) -> int:
    """exp(a) in Q0.31 for a in [-1/4, 0) given in Q0.31."""
    x = _wrap32(a + (1 << 28))
    x2 = srdhm(x, x)
    x3 = srdhm(x2, x)
    x4 = srdhm(x2, x2)
    x4_over_4 = rounding_divide_by_pot(x4, 2)
    poly = rounding_divide_by_pot(_wrap32(srdhm(_wrap32(x4_over_4 + x3), _ONE_THIRD) + x2), 1)
    return _wrap32(_EXP_MINUS_ONE_EIGHTH + srdhm(_EXP_MINUS_ONE_EIGHTH, _wrap32(x + poly)))


def exp_on_negative_values(a: int) -> int:
    """exp(a) in Q0.31 for a <= 0 given in Q5.26."""
    fraction_bits = 31 - SCALED_DIFF_INTEGER_BITS
    quarter = 1 << (fraction_bits - 2)
    mod_minus_quarter = (a & (quarter - 1)) - quarter
    result = _exp_quarter(_sat_shift_left(mod_minus_quarter, SCALED_DIFF_INTEGER_BITS))
    remainder = mod_minus_quarter - a
    for exponent, multiplier in _EXP_OF_POWERS:
        if remainder & (1 << (fraction_bits + exponent)):
            result = srdhm(result, multiplier)
    return INT32_MAX if a == 0 else result


def _one_over_one_plus_x(a: int) -> int:
    """1 / (1 + a) in Q0.31 for a in [0, 1) given in Q0.31 (Newton-Raphson in Q2.29)."""
    total = a + INT32_MAX
    half_denominator = (total + (1 if total >= 0 else -1))
    half_denominator = abs(half_denominator) // 2 * (1 if half_denominator >= 0 else -1)
    x = _wrap32(1515870810 + srdhm(half_denominator, -1010580540))
    for _ in range(3):
        one_minus = _wrap32((1 << 29) - srdhm(half_denominator, x))
        x = _wrap32(x + _sat_shift_left(srdhm(x, one_minus), 2))
    return _sat_shift_left(x, 1)


def reciprocal(x: int, integer_digits: int) -> tuple[int, int]:
    """(1/x scaled to Q0.31 with its mantissa in [1/2, 1), bits of x above one) for x > 0."""
    headroom_plus_one = 32 - int(x & 0xFFFFFFFF).bit_length()
    bits_over_unit = integer_digits - headroom_plus_one
    shifted_minus_one = _wrap32(((x << headroom_plus_one) & 0xFFFFFFFF) - (1 << 31))
    return _one_over_one_plus_x(shifted_minus_one), bits_over_unit


@dataclass(frozen=True)
class SoftmaxTail:
    """The parameters of a final int8 softmax (what `func.func @main` records)."""

    input_scale: float
    beta: float = 1.0

    def fixed_point(self) -> tuple[int, int, int]:
        """(input multiplier, input left shift, diff_min) as the TFLite kernel prepares them."""
        real = min(self.beta * float(self.input_scale) * (1 << (31 - SCALED_DIFF_INTEGER_BITS)), (1 << 31) - 1.0)
        multiplier, left_shift = quantize_multiplier(real)
        left_shift = max(left_shift, 0)
        radius = ((1 << SCALED_DIFF_INTEGER_BITS) - 1) * (1 << (31 - SCALED_DIFF_INTEGER_BITS)) / (1 << left_shift)
        return multiplier, left_shift, -int(math.floor(radius))


def softmax_int8(logits: np.ndarray, tail: SoftmaxTail) -> np.ndarray:
    """The int8 softmax (scale 1/256, zero point -128) over the last axis of int8 `logits`."""
    multiplier, left_shift, diff_min = tail.fixed_point()
    x = np.asarray(logits, dtype=np.int64)
    rows = x.reshape(-1, x.shape[-1]) if x.ndim else x.reshape(1, 1)
    out = np.full(rows.shape, -128, dtype=np.int64)
    for r, row in enumerate(rows.tolist()):
        top = max(row)
        exps: list[int | None] = []
        total = 0
        for value in row:
            diff = value - top
            if diff < diff_min:
                exps.append(None)
                continue
            e = exp_on_negative_values(srdhm(diff * (1 << left_shift), multiplier))
            exps.append(e)
            total = _wrap32(total + rounding_divide_by_pot(e, ACCUMULATION_INTEGER_BITS))
        scale, bits_over_unit = reciprocal(total, ACCUMULATION_INTEGER_BITS)
        for c, e in enumerate(exps):
            if e is not None:
                value = rounding_divide_by_pot(srdhm(scale, e), bits_over_unit + 31 - 8) - 128
                out[r, c] = min(max(value, -128), 127)
    return out.reshape(x.shape).astype(np.int8)
