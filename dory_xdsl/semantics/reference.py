"""Bit-exact integer semantics of the `qnn` ops on numpy arrays (no IR).

Every function takes numpy integer arrays and plain-int parameters and returns a new array; the
semantics are those written in the docstrings of `dory_xdsl.dialects.qnn`. Spatial functions
work on HWC data (`x[n, y, x, c]`, conv weights `w[co, ky, kx, ci]`): that is what the GAP-8
kernels see, so the PULP-NN kernel model reuses them tile by tile. Layout conversion lives in
`dory_xdsl.analysis.interpreter`.

Arithmetic is exact integer numpy: products and sums in int64, then wrapped to 32 bits where
the spec says "32-bit wrap" (int64 sums of 8-bit products are exact, and wrapping once at the
end is the same as wrapping after every step, since addition and multiplication commute with
reduction modulo 2**32). No floating point anywhere.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

_I64 = np.int64


def wrap32(values: np.ndarray) -> np.ndarray:
    """Two's-complement wrap of int64 values to the int32 range (result dtype int64)."""
    v = np.asarray(values, dtype=_I64)
    return ((v + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)


def _wrap_scalar32(value: int) -> int:
    return ((int(value) + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)


def _wrap_scalar64(value: int) -> int:
    return ((int(value) + (1 << 63)) & 0xFFFFFFFFFFFFFFFF) - (1 << 63)


def pad_hwc(x: np.ndarray, pads: Sequence[int], fill: int = 0) -> np.ndarray:
    """`x[n, y, x, c]` padded by (top, left, bottom, right) with `fill`, as int64."""
    pt, pl, pb, pr = pads
    x = np.asarray(x, dtype=_I64)
    if not any(pads):
        return x
    return np.pad(x, ((0, 0), (pt, pb), (pl, pr), (0, 0)), constant_values=fill)


def window_out(size: int, kernel: int, stride: int, pad: int, dilation: int = 1) -> int:
    """Output extent of a sliding window in floor mode (`pad` = both sides summed)."""
    return (size + pad - dilation * (kernel - 1) - 1) // stride + 1


def _taps(
    xp: np.ndarray,
    kernel: Sequence[int],
    strides: Sequence[int],
    dilations: Sequence[int],
    out_hw: tuple[int, int],
):
    """Yield (ky, kx, view) where view[n, oy, ox, c] = xp[n, oy*sy + ky*dy, ox*sx + kx*dx, c]."""
    (kh, kw), (sy, sx), (dy, dx), (ho, wo) = kernel, strides, dilations, out_hw
    for ky in range(kh):
        for kx in range(kw):
            y0, x0 = ky * dy, kx * dx
            yield ky, kx, xp[:, y0 : y0 + (ho - 1) * sy + 1 : sy, x0 : x0 + (wo - 1) * sx + 1 : sx, :]


def conv2d_acc(
    x: np.ndarray,
    w: np.ndarray,
    bias: np.ndarray | None,
    strides: Sequence[int] = (1, 1),
    pads: Sequence[int] = (0, 0, 0, 0),
    dilations: Sequence[int] = (1, 1),
    group: int = 1,
) -> np.ndarray:
    """Grouped convolution accumulator, HWC: `x[n, h, w, cin]`, `w[cout, kh, kw, cin/group]`.

    `acc[n, oy, ox, co] = bias[co] + sum x[n, oy*sy + ky*dy - pt, ox*sx + kx*dx - pl,
    g*cin_g + ci] * w[co, ky, kx, ci]` (zero padding), wrapped to int32; returns int32.
    Computed as im2col + one int64 matmul per group.
    """
    x = np.asarray(x)
    w = np.asarray(w, dtype=_I64)
    n, h, wd, cin = x.shape
    cout, kh, kw, cin_g = w.shape
    if cin_g * group != cin or cout % group:
        raise ValueError(f"conv2d: group {group} does not fit cin {cin}, cout {cout}, weight {w.shape}")
    pt, pl, pb, pr = pads
    ho = window_out(h, kh, strides[0], pt + pb, dilations[0])
    wo = window_out(wd, kw, strides[1], pl + pr, dilations[1])
    if ho < 1 or wo < 1:
        raise ValueError(f"conv2d: kernel {kh}x{kw} does not fit the padded {h}x{wd} input")
    xp = pad_hwc(x, pads)
    cols = np.empty((n, ho, wo, kh, kw, cin), dtype=_I64)
    for ky, kx, view in _taps(xp, (kh, kw), strides, dilations, (ho, wo)):
        cols[:, :, :, ky, kx, :] = view
    m = n * ho * wo
    cout_g = cout // group
    # cols: (m, kh*kw, group, cin_g) -> (group, m, kh*kw*cin_g); w: (group, kh*kw*cin_g, cout_g)
    cols_g = cols.reshape(m, kh * kw, group, cin_g).transpose(2, 0, 1, 3).reshape(group, m, kh * kw * cin_g)
    w_g = w.reshape(group, cout_g, kh * kw * cin_g).transpose(0, 2, 1)
    acc = np.matmul(cols_g, w_g)  # (group, m, cout_g)
    acc = acc.transpose(1, 0, 2).reshape(n, ho, wo, cout)
    if bias is not None:
        acc = acc + np.asarray(bias, dtype=_I64)
    return wrap32(acc).astype(np.int32)


def linear_acc(x: np.ndarray, w: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
    """`acc[n, o] = bias[o] + sum_i x[n, i] * w[o, i]`, wrapped to int32; returns int32."""
    acc = np.asarray(x, dtype=_I64) @ np.asarray(w, dtype=_I64).T
    if bias is not None:
        acc = acc + np.asarray(bias, dtype=_I64)
    return wrap32(acc).astype(np.int32)


def requantize(
    acc: np.ndarray,
    k: np.ndarray,
    lam: np.ndarray,
    shift: int,
    lo: int,
    hi: int,
    wide: bool,
    axis: int = -1,
) -> np.ndarray:
    """`clip((k[c]*acc + lam[c]) >> shift, lo, hi)` with `c` indexing `axis` of `acc`.

    `k`, `lam` have shape [C] or [1]. `wide=False`: 32-bit wrapping arithmetic (i32 constants);
    `wide=True`: 64-bit wrapping arithmetic (i64 constants). `>>` is arithmetic. Returns int64.
    """
    acc = np.asarray(acc, dtype=_I64)
    shape = [1] * acc.ndim
    shape[axis] = -1
    k = np.asarray(k, dtype=_I64).reshape(shape)
    lam = np.asarray(lam, dtype=_I64).reshape(shape)
    if wide:
        with np.errstate(over="ignore"):
            value = k * acc + lam  # numpy int64 arithmetic wraps modulo 2**64
    else:
        value = wrap32(wrap32(wrap32(k) * wrap32(acc)) + wrap32(lam))
    return np.clip(value >> shift, lo, hi)


def add(
    a: np.ndarray,
    b: np.ndarray,
    mul_a: int,
    add_a: int,
    shift_a: int,
    mul_b: int,
    add_b: int,
    shift_b: int,
    shift: int,
    lo: int,
    hi: int,
) -> np.ndarray:
    """Requantizing add in 32-bit wrapping arithmetic; returns int64.

    `clip(((((a*mul_a + add_a) >> shift_a) + ((b*mul_b + add_b) >> shift_b)) >> shift), lo, hi)`.
    """
    def side(x: np.ndarray, mul: int, offset: int, s: int) -> np.ndarray:
        x = np.asarray(x, dtype=_I64)
        return wrap32(x * _wrap_scalar32(mul) + _wrap_scalar32(offset)) >> s

    total = wrap32(side(a, mul_a, add_a, shift_a) + side(b, mul_b, add_b, shift_b))
    return np.clip(total >> shift, lo, hi)


def _pool_windows(x: np.ndarray, kernel, strides, pads, fill: int, what: str):
    """(output shape, iterator over the kernel taps' views) of a pooling window over padded x."""
    n, h, w, c = x.shape
    (kh, kw), (pt, pl, pb, pr) = kernel, pads
    ho, wo = window_out(h, kh, strides[0], pt + pb), window_out(w, kw, strides[1], pl + pr)
    if ho < 1 or wo < 1:
        raise ValueError(f"{what}: window {kh}x{kw} does not fit the padded {h}x{w} input")
    xp = pad_hwc(x, pads, fill=fill)
    views = (view for _, _, view in _taps(xp, kernel, strides, (1, 1), (ho, wo)))
    return (n, ho, wo, c), views


def maxpool(
    x: np.ndarray,
    kernel: Sequence[int],
    strides: Sequence[int],
    pads: Sequence[int] = (0, 0, 0, 0),
) -> np.ndarray:
    """Max over each window of `x[n, h, w, c]`; padded positions never win. Same dtype as `x`."""
    x = np.asarray(x)
    lowest = np.iinfo(_I64).min
    shape, views = _pool_windows(x, kernel, strides, pads, lowest, "maxpool")
    out = np.full(shape, lowest, dtype=_I64)
    for view in views:
        np.maximum(out, view, out=out)
    return out.astype(x.dtype)


def avgpool(
    x: np.ndarray,
    kernel: Sequence[int],
    strides: Sequence[int],
    pads: Sequence[int] = (0, 0, 0, 0),
    mul: int = 1,
    add: int = 0,
    shift: int = 0,
    lo: int = 0,
    hi: int = 255,
) -> np.ndarray:
    """`clip((sum*mul // (kh*kw) + add) >> shift, lo, hi)` per window (padding counts as 0,
    `//` floors); exact int64 arithmetic. Returns int64."""
    shape, views = _pool_windows(np.asarray(x), kernel, strides, pads, 0, "avgpool")
    total = np.zeros(shape, dtype=_I64)
    for view in views:
        total += view
    return np.clip((total * mul // (kernel[0] * kernel[1]) + add) >> shift, lo, hi)


def cast_exact(values: np.ndarray, dtype: np.dtype | type, what: str) -> np.ndarray:
    """`values` as `dtype`, raising ValueError when a value does not fit (never wraps silently)."""
    dtype = np.dtype(dtype)
    info = np.iinfo(dtype)
    values = np.asarray(values)
    if values.size and (values.min() < info.min or values.max() > info.max):
        raise ValueError(
            f"{what}: values in [{values.min()}, {values.max()}] do not fit {dtype} ([{info.min}, {info.max}])"
        )
    return values.astype(dtype)
