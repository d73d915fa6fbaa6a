"""The final int8 softmax (`qnn.softmax_tail` on `@main`) as plain C for the fabric controller.

TFLite models end in an int8 `Softmax` (output scale 1/256, zero point -128) that the QDQ
importer keeps out of the integer layers (`dory_xdsl.frontend.qdq_import`, `SOFTMAX_ATTR`). The generated
`network.c` applies it on the fabric controller after the last layer, in place on the network
output, in `network_finish` (called by `main.c` once the cluster is closed).

`SOFTMAX_HELPER` is the C routine `dory_softmax_int8`: the fixed-point arithmetic of the
TensorFlow Lite Micro reference kernel, the same as `dory_xdsl.semantics.qdq_softmax.softmax_int8`
(gemmlowp's saturating rounding doubling high multiply and rounding divide by a power of two,
exp on negative values in Q0.31, the Newton-Raphson reciprocal of the Q12.19 sum). Accuracy:
bit-exact with TFLM's reference kernel (and `softmax_int8`), hence within 1 LSB (1/256) of the
real softmax. The per-model constants (input multiplier and left shift of `beta * input_scale`,
`diff_min`) are computed at compile time by `SoftmaxTail.fixed_point` and printed as literals.
The C uses no float and no library call; int32 wrap-around is computed in uint32 (no signed
overflow), shifts of negative values are written without implementation-defined steps.
"""

from __future__ import annotations

import numpy as np
from xdsl.dialects.builtin import DictionaryAttr, IntegerType, MemRefType, ModuleOp, Signedness

from dory_xdsl.errors import DoryError

SOFTMAX_HELPER = r"""
/* qnn.softmax_tail: TFLite Micro's int8 softmax (output scale 1/256, zero point -128) over each
 * row of `cols` bytes at p, in place, on the fabric controller; bit-exact with TFLM's reference
 * kernel. Bytes hold value + offset (signed_bytes: the byte is an int8). */
static inline int32_t dory_sm_i32(uint32_t v)
{
    return (v & 0x80000000u) ? -(int32_t)(~v) - 1 : (int32_t)v;
}

static inline int32_t dory_sm_add(int32_t a, int32_t b)
{
    return dory_sm_i32((uint32_t)a + (uint32_t)b); /* wrapping int32 add */
}

static inline int32_t dory_sm_sra(int32_t x, uint32_t s)
{
    uint32_t v = (uint32_t)x;
    return (v & 0x80000000u) ? -(int32_t)(~v >> s) - 1 : (int32_t)(v >> s);
}

static inline int32_t dory_sm_srdhm(int32_t a, int32_t b)
{
    /* gemmlowp SaturatingRoundingDoublingHighMul */
    if (a == INT32_MIN && b == INT32_MIN)
        return INT32_MAX;
    int64_t ab = (int64_t)a * (int64_t)b;
    int64_t t = ab + (ab >= 0 ? (int64_t)(1 << 30) : (int64_t)(1 - (1 << 30)));
    return t >= 0 ? (int32_t)(t >> 31) : -(int32_t)((-t) >> 31); /* division truncating to zero */
}

static inline int32_t dory_sm_rdivpot(int32_t x, uint32_t e)
{
    /* gemmlowp RoundingDivideByPOT, e <= 31 */
    if (e == 0)
        return x;
    uint32_t mask = (e == 31 ? 0x7fffffffu : (1u << e) - 1u);
    uint32_t threshold = (mask >> 1) + (x < 0 ? 1u : 0u);
    return dory_sm_sra(x, e) + (((uint32_t)x & mask) > threshold ? 1 : 0);
}

static inline int32_t dory_sm_shl_sat(int32_t x, uint32_t e)
{
    int32_t limit = (int32_t)((1u << (31 - e)) - 1u);
    if (x > limit)
        return INT32_MAX;
    if (x < -limit)
        return INT32_MIN;
    return x * (int32_t)(1u << e);
}

static inline int32_t dory_sm_exp_quarter(int32_t a)
{
    /* exp(a) in Q0.31 for a in [-1/4, 0) in Q0.31 */
    const int32_t exp_minus_one_eighth = 1895147668, one_third = 715827883;
    int32_t x = dory_sm_add(a, 1 << 28);
    int32_t x2 = dory_sm_srdhm(x, x);
    int32_t x3 = dory_sm_srdhm(x2, x);
    int32_t x4 = dory_sm_srdhm(x2, x2);
    int32_t x4_over_4 = dory_sm_rdivpot(x4, 2);
    int32_t poly = dory_sm_rdivpot(dory_sm_add(dory_sm_srdhm(dory_sm_add(x4_over_4, x3), one_third), x2), 1);
    return dory_sm_add(exp_minus_one_eighth, dory_sm_srdhm(exp_minus_one_eighth, dory_sm_add(x, poly)));
}

static inline int32_t dory_sm_exp_negative(int32_t a)
{
    /* exp(a) in Q0.31 for a <= 0 in Q5.26 */
    static const int32_t exp_of_power[7] = {1672461947, 1302514674, 790015084, 290630308, 39332535, 720401, 242};
    const int32_t quarter = 1 << 24;
    int32_t mod_minus_quarter = (int32_t)((uint32_t)a & (uint32_t)(quarter - 1)) - quarter;
    int32_t result = dory_sm_exp_quarter(dory_sm_shl_sat(mod_minus_quarter, 5));
    int32_t remainder = mod_minus_quarter - a;
    for (uint32_t k = 0; k < 7; k++)
        if ((uint32_t)remainder & (1u << (24 + k)))
            result = dory_sm_srdhm(result, exp_of_power[k]);
    return a == 0 ? INT32_MAX : result;
}

static inline int32_t dory_sm_reciprocal(int32_t total, int32_t *bits_over_unit)
{
    /* 1 / total (Q12.19, > 0) as a Q0.31 mantissa in [1/2, 1) and its exponent */
    uint32_t headroom_plus_one = (uint32_t)__builtin_clz((uint32_t)total);
    *bits_over_unit = 12 - (int32_t)headroom_plus_one;
    int32_t a = (int32_t)(((uint32_t)total << headroom_plus_one) - 0x80000000u);
    int32_t half_denominator = (int32_t)(((uint32_t)a + 0x80000000u) >> 1); /* (a + INT32_MAX + 1) / 2, a >= 0 */
    int32_t x = dory_sm_add(1515870810, dory_sm_srdhm(half_denominator, -1010580540));
    for (int i = 0; i < 3; i++) {
        int32_t one_minus = dory_sm_i32((uint32_t)(1 << 29) - (uint32_t)dory_sm_srdhm(half_denominator, x));
        x = dory_sm_add(x, dory_sm_shl_sat(dory_sm_srdhm(x, one_minus), 2));
    }
    return dory_sm_shl_sat(x, 1);
}

static inline int32_t dory_sm_load(uint8_t byte, int32_t offset, int signed_bytes)
{
    return (signed_bytes && (byte & 0x80u) ? (int32_t)byte - 256 : (int32_t)byte) - offset;
}

static inline void dory_softmax_int8(uint8_t *p, uint32_t rows, uint32_t cols, int32_t offset, int signed_bytes,
                                     int32_t multiplier, uint32_t left_shift, int32_t diff_min)
{
    for (uint32_t r = 0; r < rows; r++, p += cols) {
        int32_t top = -128;
        for (uint32_t c = 0; c < cols; c++) {
            int32_t v = dory_sm_load(p[c], offset, signed_bytes);
            top = v > top ? v : top;
        }
        int32_t total = 0;
        for (uint32_t c = 0; c < cols; c++) {
            int32_t diff = dory_sm_load(p[c], offset, signed_bytes) - top;
            if (diff >= diff_min) {
                int32_t e = dory_sm_exp_negative(dory_sm_srdhm(diff * (int32_t)(1u << left_shift), multiplier));
                total = dory_sm_add(total, dory_sm_rdivpot(e, 12));
            }
        }
        int32_t bits_over_unit;
        int32_t scale = dory_sm_reciprocal(total, &bits_over_unit);
        int32_t exponent = bits_over_unit + 31 - 8;
        for (uint32_t c = 0; c < cols; c++) {
            int32_t diff = dory_sm_load(p[c], offset, signed_bytes) - top;
            int32_t value = -128;
            if (diff >= diff_min) {
                int32_t e = dory_sm_exp_negative(dory_sm_srdhm(diff * (int32_t)(1u << left_shift), multiplier));
                int32_t q = dory_sm_srdhm(scale, e); /* >= 0: a shift by 32 or more gives 0 */
                value = (exponent > 31 ? 0 : dory_sm_rdivpot(q, (uint32_t)exponent)) - 128;
                value = value > 127 ? 127 : value;
            }
            p[c] = (uint8_t)(uint32_t)(value + offset);
        }
    }
}
"""


def softmax_call(pointer: str, shape: tuple[int, ...], offset: int, signed_bytes: bool,
                 input_scale: float, beta: float) -> str:
    """The C statement applying the softmax in place on `pointer` (its constants as literals)."""
    from dory_xdsl.semantics.qdq_softmax import SoftmaxTail

    multiplier, left_shift, diff_min = SoftmaxTail(input_scale, beta).fixed_point()
    cols = shape[-1] if shape else 1
    rows = int(np.prod(shape[:-1])) if len(shape) > 1 else 1
    return (f"dory_softmax_int8({pointer}, {rows}, {cols}, {offset}, {int(signed_bytes)}, "
            f"{multiplier}, {left_shift}, {diff_min});")


def fc_tail(module: ModuleOp, output_offsets: list[tuple[int, int]]) -> tuple[str, str]:
    """(helper C, call C) of the final softmax of the lowered `module`, or ("", "") when its
    `@main` records none. `output_offsets` are the network outputs' (L2 offset, bytes)."""
    from dory_xdsl.lowering.c_printer import count_inputs, main_of
    from dory_xdsl.frontend.qdq_import import OUTPUT_OFFSETS, SOFTMAX_ATTR

    main = main_of(module)
    attr = main.attributes.get(SOFTMAX_ATTR)
    if not isinstance(attr, DictionaryAttr):
        return "", ""
    params = {key: value.value.data for key, value in attr.data.items()}  # type: ignore[union-attr]
    if params["output_scale"] != 1 / 256 or params["output_zero_point"] != -128:
        raise DoryError(f"the final softmax output is quantized with scale {params['output_scale']}, zero point "
                        f"{params['output_zero_point']}; only 1/256 and -128 (TFLite int8) are supported")
    outputs = list(main.body.block.args)[count_inputs(main):]
    if len(outputs) != 1 or len(output_offsets) != 1:
        raise DoryError(f"@main: a final softmax needs exactly one network output, found {len(outputs)}")
    out_type = outputs[0].type
    assert isinstance(out_type, MemRefType)
    elem = out_type.element_type
    offsets_attr = main.attributes.get(OUTPUT_OFFSETS)
    offset = int(list(offsets_attr.get_values())[0]) if offsets_attr is not None else 0  # type: ignore[union-attr]
    if not isinstance(elem, IntegerType) or elem.width.data != 8:
        raise DoryError(f"@main: the final softmax reads 8-bit logits, the network output is {elem}")
    signed = elem.signedness.data != Signedness.UNSIGNED
    if (signed and offset != 0) or (not signed and offset != 128):
        raise DoryError(f"@main: the final softmax reads int8 logits, the output {elem} is offset by {offset}")
    shape = tuple(out_type.get_shape())
    call = softmax_call(f"l2 + {output_offsets[0][0]}", shape, offset, signed,
                        params["input_scale"], params["beta"])
    return SOFTMAX_HELPER, call
