"""Numpy models of the PULP-NN 8-bit kernels, bit-exact with their documented integer arithmetic.

Each function computes what one call of the kernel of the same name computes on one tile
(see `/work/shared/docs/pulp-nn-api.md`), so generated code can be checked tile by tile and
the host C implementation (`dory_xdsl/runtime/pulp_nn_host.c`) can be tested against it.

Conventions (mirroring the C arguments):
- activation tiles are HWC `uint8` arrays of shape (H, W, C), except the depthwise input which
  is CHW (C, H, W); conv weights are (Cout, Kh, Kw, Cin) `int8`, depthwise weights (C, Kh, Kw);
- `pads` is in PULP-NN argument order `(top, bottom, left, right)`, `strides` is `(y, x)`;
- `bias` is `int8` per output channel or None; `k`/`lambda_` are `int32` (32-bit requant
  variant) or `int64` (64-bit variant) per output channel and only read on the batch-norm path;
- the output tile size is given explicitly (`out_hw`), as in the C call.

Quirks modelled: the int16 truncation of the `out_mult` (relu-only) path, `flag_batch_norm`
alone being ignored, CHW depthwise input, unsigned avgpool requant arithmetic, and the max pool
overwriting its input (`maxpool` returns the input buffer as the kernel leaves it).
"""

from __future__ import annotations

import numpy as np

I32 = np.int32


def _wrap32(v: np.ndarray) -> np.ndarray:
    """Two's-complement wrap of an integer array to int32."""
    return np.asarray(v, dtype=np.int64).astype(np.uint64).astype(np.uint32).astype(I32)


def clip8(v: np.ndarray) -> np.ndarray:
    """`0 if v <= 0, 255 if v >= 255, else v` (signed compare), as uint8."""
    return np.clip(np.asarray(v, dtype=np.int64), 0, 255).astype(np.uint8)


def requant_batch_norm(acc: np.ndarray, k: np.ndarray, lambda_: np.ndarray, shift: int) -> np.ndarray:
    """`clip8((k*acc + lambda) >> shift)` in the width of `k` (32-bit wrap or int64), channels last."""
    k = np.asarray(k)
    if k.dtype == np.int64:
        with np.errstate(over="ignore"):
            v = k * acc.astype(np.int64) + np.asarray(lambda_, dtype=np.int64)
        return clip8(v >> shift)
    v = _wrap32(k.astype(np.int64) * acc.astype(np.int64) + np.asarray(lambda_, dtype=np.int64))
    return clip8(v >> shift)


def requant_out_mult(acc: np.ndarray, out_mult: int, shift: int) -> np.ndarray:
    """Relu-only path: `clip8((int16_t)(((int)(int16_t)out_mult * acc) >> shift))`."""
    mult = int(np.uint16(out_mult).astype(np.int16))
    prod = _wrap32(np.int64(mult) * acc.astype(np.int64))
    return clip8((prod >> shift).astype(np.int16))


def requant(acc, k, lambda_, out_mult: int, out_shift: int, relu: bool, batch_norm: bool):
    """The output stage shared by conv, pointwise, depthwise and linear (channels last)."""
    if relu and batch_norm:
        return requant_batch_norm(acc, k, lambda_, out_shift)
    if relu:
        return requant_out_mult(acc, out_mult, out_shift)
    return clip8(acc >> out_shift)


def _windows(x_hwc: np.ndarray, kernel_hw, out_hw, pads, strides) -> np.ndarray:
    """Zero-padded sliding windows: array (Ho, Wo, Kh, Kw, C) of the input tile."""
    top, bottom, left, right = pads
    xp = np.pad(x_hwc, ((top, bottom), (left, right), (0, 0)))
    kh, kw = kernel_hw
    ho, wo = out_hw
    sy, sx = strides
    win = np.lib.stride_tricks.sliding_window_view(xp, (kh, kw), axis=(0, 1))
    win = win[: (ho - 1) * sy + 1 : sy, : (wo - 1) * sx + 1 : sx]
    if win.shape[:2] != (ho, wo):
        raise ValueError(f"output {out_hw} does not fit the padded input {xp.shape[:2]}")
    return np.moveaxis(win, 2, -1)  # (Ho, Wo, C, Kh, Kw) -> (Ho, Wo, Kh, Kw, C)


def _bias32(bias, n: int) -> np.ndarray:
    return np.zeros(n, np.int64) if bias is None else np.asarray(bias).astype(np.int64)


def conv_ho_parallel(x, w, bias, k, lambda_, *, out_mult, out_shift, out_hw, pads, strides,
                     relu, batch_norm):
    """`pulp_nn_conv_Ho_parallel` (and `pulp_nn_pointwise_HoWo_parallel`): HWC -> HWC uint8."""
    w = np.asarray(w)
    win = _windows(np.asarray(x), w.shape[1:3], out_hw, pads, strides).astype(np.int64)
    acc = np.tensordot(win, w.astype(np.int64), axes=([2, 3, 4], [1, 2, 3]))
    acc = _wrap32(acc + _bias32(bias, w.shape[0]))
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
    win = _windows(x_hwc, w.shape[1:3], out_hw, pads, strides).astype(np.int64)
    acc = np.einsum("hwyxc,cyx->hwc", win, w.astype(np.int64))
    acc = _wrap32(acc + _bias32(bias, w.shape[0]))
    return requant(acc, k, lambda_, out_mult, out_shift, relu, batch_norm)


def linear(x, w, bias, k, lambda_, *, out_mult, out_shift, relu, batch_norm):
    """`pulp_nn_linear`: uint8 vector (dim_vec,) x int8 (N, dim_vec) -> uint8 (N,)."""
    acc = np.asarray(w).astype(np.int64) @ np.asarray(x).astype(np.int64)
    acc = _wrap32(acc + _bias32(bias, acc.shape[0]))
    return requant(acc, k, lambda_, out_mult, out_shift, relu, batch_norm)


def linear_out_32(x, w, bias32):
    """`pulp_nn_linear_out_32`: `int32_bias[o] + sum(x*w)` in wrapping int32, no requant."""
    acc = np.asarray(w).astype(np.int64) @ np.asarray(x).astype(np.int64)
    return _wrap32(acc + _bias32(bias32, acc.shape[0]))


def add(x1, x2, *, out_mult1, out_mult2, out_shift):
    """`pulp_nn_add`: `clip8((uint16)((uint32)(x1*(int16)m1 + x2*(int16)m2) >> shift))`."""
    m1 = int(np.uint16(out_mult1).astype(np.int16))
    m2 = int(np.uint16(out_mult2).astype(np.int16))
    s = np.asarray(x1).astype(np.int64) * m1 + np.asarray(x2).astype(np.int64) * m2
    s = s.astype(np.uint64) & 0xFFFFFFFF  # the sum as uint32
    return clip8((s >> np.uint64(out_shift)) & 0xFFFF)


def maxpool(x, *, kernel_hw, out_hw, pads, strides):
    """`pulp_nn_maxpool`: returns `(output, input_after)`.

    The host kernel first pools every input row horizontally *in place* (the first Wo pixels
    of each row become the row max over the x window), then pools vertically into the output.
    Padding never wins (uint8 max with 0 is the same).
    """
    x = np.asarray(x)
    kh, kw = kernel_hw
    ho, wo = out_hw
    top, bottom, left, right = pads
    sy, sx = strides
    rows = _windows(x, (1, kw), (x.shape[0], wo), (0, 0, left, right), (1, sx)).max(axis=(2, 3))
    after = x.copy()
    after[:, :wo] = rows
    out = _windows(rows, (kh, 1), (ho, wo), (top, bottom, 0, 0), (sy, 1)).max(axis=(2, 3))
    return out.astype(np.uint8), after


def avgpool(x, *, kernel_hw, out_hw, pads, strides, lambda_=1, out_shift=0, out_add=0,
            requant=False):
    """`pulp_nn_avgpool`: window sum over the full (zero padded) window.

    With `requant`: `t = (uint32)(sum*lambda) / (kh*kw) + (uint32)out_add`,
    `y = clip8((int32)t >> out_shift)`; without: `clip8(sum / (kh*kw))`.
    """
    kh, kw = kernel_hw
    s = _windows(np.asarray(x), kernel_hw, out_hw, pads, strides).astype(np.int64).sum(axis=(2, 3))
    count = kh * kw
    if not requant:
        return clip8(s // count)
    t = ((s * int(lambda_)) & 0xFFFFFFFF) // count + (int(out_add) & 0xFFFFFFFF)
    return clip8(_wrap32(t & 0xFFFFFFFF) >> out_shift)
