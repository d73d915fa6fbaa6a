"""Numpy models of the PULP-NN 8-bit kernels, bit-exact with their documented integer arithmetic.

Each function computes what one call of the kernel of the same name computes on one tile
(see `/work/shared/docs/pulp-nn-api.md`), so generated code can be checked tile by tile and
the host C implementation (`dory_xdsl/engines/runtime/pulp_nn_host.c`) can be tested against it.

Conventions (mirroring the C arguments):
- activation tiles are HWC `uint8` arrays of shape (H, W, C), except the depthwise input which
  is CHW (C, H, W); conv weights are (Cout, Kh, Kw, Cin) `int8`, depthwise weights (C, Kh, Kw);
- `pads` is in PULP-NN argument order `(top, bottom, left, right)`, `strides` is `(y, x)`;
- `bias` is `int8` per output channel or None; `k`/`lambda_` are `int32` (32-bit requant
  variant) or `int64` (64-bit variant) per output channel and only read on the batch-norm path;
- the output tile size is given explicitly (`out_hw`), as in the C call.

`add_requant` and `hwc_to_chw` model the generated C helpers `dory_add_requant` and
`dory_hwc_to_chw` (plain C, not PULP-NN).

Quirks modelled: the int16 truncation of the `out_mult` (relu-only) path, `flag_batch_norm`
alone being ignored, CHW depthwise input, unsigned avgpool requant arithmetic, and the max pool
overwriting its input (`maxpool` returns the input buffer as the kernel leaves it).

The accumulation, batch-norm requant and window primitives are those of `dory_xdsl.semantics.reference`
(the qnn semantics); only the PULP-NN specific output stages are written here.
"""

from __future__ import annotations

import numpy as np

from dory_xdsl.semantics import reference as ref


def clip8(v: np.ndarray) -> np.ndarray:
    """`0 if v <= 0, 255 if v >= 255, else v` (signed compare), as uint8."""
    return np.clip(np.asarray(v, dtype=np.int64), 0, 255).astype(np.uint8)


def requant_out_mult(acc: np.ndarray, out_mult: int, shift: int) -> np.ndarray:
    """Relu-only path: `clip8((int16_t)(((int)(int16_t)out_mult * acc) >> shift))`."""
    mult = int(np.uint16(out_mult).astype(np.int16))
    prod = ref.wrap32(np.int64(mult) * np.asarray(acc, dtype=np.int64))
    return clip8((prod >> shift).astype(np.int16))


def requant(acc, k, lambda_, out_mult: int, out_shift: int, relu: bool, batch_norm: bool):
    """The output stage shared by conv, pointwise, depthwise and linear (channels last).

    relu + batch_norm: `clip8((k*acc + lambda) >> shift)` in the width of `k` (int32 wraps,
    int64 for the 64-bit variant); relu only: the int16-truncating `out_mult` path; otherwise
    (batch_norm alone is ignored): `clip8(acc >> shift)`.
    """
    if relu and batch_norm:
        wide = np.asarray(k).dtype == np.int64
        return ref.requantize(acc, k, lambda_, out_shift, 0, 255, wide).astype(np.uint8)
    if relu:
        return requant_out_mult(acc, out_mult, out_shift)
    return clip8(np.asarray(acc, dtype=np.int64) >> out_shift)


def _tile(full: np.ndarray, out_hw, what: str) -> np.ndarray:
    """The top-left `out_hw` part of a floor-mode result (a tile may compute fewer rows)."""
    ho, wo = out_hw
    if full.shape[0] < ho or full.shape[1] < wo:
        raise ValueError(f"{what}: output {out_hw} does not fit the padded input")
    return full[:ho, :wo]


def _qnn_pads(pads) -> tuple[int, int, int, int]:
    """PULP-NN (top, bottom, left, right) -> qnn (top, left, bottom, right)."""
    top, bottom, left, right = pads
    return (top, left, bottom, right)


def conv_ho_parallel(x, w, bias, k, lambda_, *, out_mult, out_shift, out_hw, pads, strides,
                     relu, batch_norm):
    """`pulp_nn_conv_Ho_parallel` (and `pulp_nn_pointwise_HoWo_parallel`): HWC -> HWC uint8."""
    acc = ref.conv2d_acc(np.asarray(x)[None], w, bias, strides=strides, pads=_qnn_pads(pads))[0]
    acc = _tile(acc, out_hw, "conv")
    return requant(acc, k, lambda_, out_mult, out_shift, relu, batch_norm)


def pointwise_howo_parallel(x, w, bias, k, lambda_, *, out_mult, out_shift, relu, batch_norm):
    """`pulp_nn_pointwise_HoWo_parallel`: 1x1, stride 1, no padding, output size = input size."""
    x = np.asarray(x)
    if np.asarray(w).shape[1:3] != (1, 1):
        raise ValueError("pointwise kernel must be 1x1")
    return conv_ho_parallel(x, w, bias, k, lambda_, out_mult=out_mult, out_shift=out_shift,
                            out_hw=x.shape[:2], pads=(0, 0, 0, 0), strides=(1, 1), relu=relu,
                            batch_norm=batch_norm)


def depthwise_generic(x_chw, w, bias, k, lambda_, *, out_mult, out_shift, out_hw, pads,
                      strides, relu, batch_norm):
    """`pulp_nn_depthwise_generic` (and `_less_4_weights`): CHW input -> HWC uint8 output."""
    x_hwc = np.moveaxis(np.asarray(x_chw), 0, -1)
    w = np.asarray(w)
    acc = ref.conv2d_acc(x_hwc[None], w[..., None], bias, strides=strides,
                         pads=_qnn_pads(pads), group=w.shape[0])[0]
    acc = _tile(acc, out_hw, "depthwise")
    return requant(acc, k, lambda_, out_mult, out_shift, relu, batch_norm)


def linear(x, w, bias, k, lambda_, *, out_mult, out_shift, relu, batch_norm):
    """`pulp_nn_linear`: uint8 vector (dim_vec,) x int8 (N, dim_vec) -> uint8 (N,)."""
    acc = ref.linear_acc(np.asarray(x)[None], w, bias)[0]
    return requant(acc, k, lambda_, out_mult, out_shift, relu, batch_norm)


def linear_out_32(x, w, bias32):
    """`pulp_nn_linear_out_32`: `int32_bias[o] + sum(x*w)` in wrapping int32, no requant."""
    return ref.linear_acc(np.asarray(x)[None], w, bias32)[0]


def add(x1, x2, *, out_mult1, out_mult2, out_shift):
    """`pulp_nn_add`: `clip8((uint16)((uint32)(x1*(int16)m1 + x2*(int16)m2) >> shift))`."""
    m1 = int(np.uint16(out_mult1).astype(np.int16))
    m2 = int(np.uint16(out_mult2).astype(np.int16))
    s = np.asarray(x1).astype(np.int64) * m1 + np.asarray(x2).astype(np.int64) * m2
    return clip8(((s & 0xFFFFFFFF) >> out_shift) & 0xFFFF)


def add_requant(x1, x2, **params: int) -> np.ndarray:
    """`dory_add_requant` (the generated C helper, not PULP-NN): exactly `qnn.add` with the nine
    parameters `mul_a, add_a, shift_a, mul_b, add_b, shift_b, shift, lo, hi` (clip in [0, 255])."""
    return ref.add(np.asarray(x1), np.asarray(x2), **params).astype(np.uint8)


def hwc_to_chw(x, *, top: int, left: int, out_hw: tuple[int, int]) -> np.ndarray:
    """`dory_hwc_to_chw` (the generated C helper, not PULP-NN): the (H, W, C) tile `x` as CHW at
    rows [top, top + H) and columns [left, left + W) of a zero (C, *out_hw) tile."""
    x = np.asarray(x)
    rows, cols, chans = x.shape
    if top + rows > out_hw[0] or left + cols > out_hw[1]:
        raise ValueError(f"hwc_to_chw: a {rows}x{cols} tile at ({top}, {left}) overflows {out_hw}")
    out = np.zeros((chans, *out_hw), dtype=x.dtype)
    out[:, top:top + rows, left:left + cols] = x.transpose(2, 0, 1)
    return out


def maxpool(x, *, kernel_hw, out_hw, pads, strides):
    """`pulp_nn_maxpool`: returns `(output, input_after)`.

    The host kernel first pools every input row horizontally *in place* (the first Wo pixels
    of each row become the max over the x window), then pools those vertically into the output.
    """
    x = np.asarray(x)
    (kh, kw), (ho, wo), (top, bottom, left, right), (sy, sx) = kernel_hw, out_hw, pads, strides
    rows = ref.maxpool(x[None], (1, kw), (1, sx), (0, left, 0, right))[0]
    rows = _tile(rows, (x.shape[0], wo), "maxpool")
    after = x.copy()
    after[:, :wo] = rows
    out = ref.maxpool(rows[None], (kh, 1), (sy, 1), (top, 0, bottom, 0))[0]
    return _tile(out, (ho, wo), "maxpool"), after


def avgpool(x, *, kernel_hw, out_hw, pads, strides, lambda_=1, out_shift=0, out_add=0,
            requant=False):
    """`pulp_nn_avgpool`: window sum over the full (zero padded) window.

    With `requant`: `t = (uint32)(sum*lambda) / (kh*kw) + (uint32)out_add`,
    `y = clip8((int32)t >> out_shift)`; without: `clip8(sum / (kh*kw))`.
    """
    kh, kw = kernel_hw
    count = kh * kw
    x = np.asarray(x)[None]
    if not requant:
        mean = ref.avgpool(x, kernel_hw, strides, _qnn_pads(pads))[0]
        return _tile(mean, out_hw, "avgpool").astype(np.uint8)
    # The window sum: qnn avgpool with mul = count is floor(sum*count / count) = sum.
    big = 1 << 62
    s = ref.avgpool(x, kernel_hw, strides, _qnn_pads(pads), mul=count, lo=-big, hi=big)[0]
    s = _tile(s, out_hw, "avgpool")
    t = ((s * int(lambda_)) & 0xFFFFFFFF) // count + (int(out_add) & 0xFFFFFFFF)
    return clip8(ref.wrap32(t) >> out_shift)
