"""Seeded integer weights and requantization constants for synthetic NEMO-style networks.

Everything here keeps the float32 ONNX computation exact: weights are sampled so that every
partial sum of a convolution over a uint8 input stays below 2^24 in magnitude, requantization
constants keep `kappa*acc + lamda` below 2^24 on the data they were chosen for, and the average
pooling constants are checked against onnxruntime's float32 chain for every possible window
sum. `check_float32_exact` is the assertion the generators apply to every intermediate value.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dory_xdsl.errors import DoryError

FLOAT32_EXACT_LIMIT = 2**24  # integers of magnitude below this are exact in float32
HEADROOM = 2**23  # the requantization constants aim below this, for margin
I32_LIMIT = 2**31  # keep the requantization within 32-bit integer arithmetic (PULP-NN's default)
LOW_QUANTILE, HIGH_QUANTILE = 0.25, 0.995


def check_float32_exact(what: str, values: np.ndarray | int) -> None:
    """Raise unless every value is below 2^24 in magnitude, i.e. exact in float32."""
    worst = int(np.max(np.abs(np.asarray(values, dtype=np.int64)), initial=0))
    if worst >= FLOAT32_EXACT_LIMIT:
        raise DoryError(f"{what}: |value| reaches {worst} >= 2^24, which float32 onnxruntime would round")


def conv_exact(x: np.ndarray, weight: np.ndarray, stride: int, pad: int, group: int) -> np.ndarray:
    """Integer convolution of one NCHW image (zero padding, dense or depthwise), computed with
    float64 BLAS, which is exact while partial sums stay below 2^53."""
    cout, _, kh, kw = weight.shape
    padded = np.pad(x[0].astype(np.float64), ((0, 0), (pad, pad), (pad, pad)))
    windows = np.lib.stride_tricks.sliding_window_view(padded, (kh, kw), axis=(1, 2))
    windows = windows[:, ::stride, ::stride]  # C x Ho x Wo x KH x KW
    ho, wo = windows.shape[1:3]
    w = weight.astype(np.float64)
    if group == 1:
        patches = windows.transpose(1, 2, 0, 3, 4).reshape(ho * wo, -1)
        acc = (patches @ w.reshape(cout, -1).T).T
    elif group == x.shape[1] == cout:
        acc = np.einsum("chwij,cij->chw", windows, w[:, 0])
    else:
        raise ValueError(f"only dense and depthwise convolutions, got group {group}")
    return acc.reshape(1, cout, ho, wo).astype(np.int64)


def sample_weights(rng: np.random.Generator, shape: tuple[int, ...], reserve: int = 0) -> np.ndarray:
    """Random int8 weights (first axis: output) with `255 * sum|w| + reserve < 2^24` per output,
    so that every partial sum of a uint8 input is exact in float32 in any summation order."""
    limit = (FLOAT32_EXACT_LIMIT - 1 - reserve) // 255
    fan_in = int(np.prod(shape[1:]))
    wmax = max(1, min(127, 9 * limit // (5 * fan_in)))  # expected sum|w| is 90% of the limit
    weight = rng.integers(-wmax, wmax + 1, size=shape).astype(np.int64)
    sums = np.abs(weight).reshape(shape[0], -1).sum(axis=1)
    over = sums > limit
    if over.any():
        factor = (limit / sums[over]).reshape((-1,) + (1,) * (len(shape) - 1))
        weight[over] = np.trunc(weight[over] * factor).astype(np.int64)
    return weight


def worst_accumulator(weight: np.ndarray, bias: np.ndarray | None = None) -> np.ndarray:
    """Per output, the largest |accumulator| any uint8 input can produce."""
    w = weight.reshape(weight.shape[0], -1)
    worst = 255 * np.maximum(np.clip(w, 0, None).sum(axis=1), -np.clip(w, None, 0).sum(axis=1))
    return worst if bias is None else worst + np.abs(bias)


@dataclass(frozen=True)
class Requant:
    """`clip(trunc((kappa[c]*acc + lamda[c]) * mul / 2^shift), 0, 255)`."""

    kappa: np.ndarray
    lamda: np.ndarray
    mul: int
    shift: int

    def pre_shift(self, acc: np.ndarray) -> np.ndarray:
        return self.kappa.reshape(1, -1, 1, 1) * acc + self.lamda.reshape(1, -1, 1, 1)

    def apply(self, acc: np.ndarray) -> np.ndarray:
        scaled = self.pre_shift(acc) * self.mul
        return np.clip(np.sign(scaled) * (np.abs(scaled) >> self.shift), 0, 255)


def choose_requant(acc: np.ndarray, worst: np.ndarray, mul: int) -> Requant:
    """Constants mapping each channel's [25th, 99.5th] accumulator percentile onto [0, 255],
    with the largest shift keeping `kappa*acc + lamda` below `HEADROOM` on the observed values
    and `(kappa*acc + lamda) * mul` within 32 bits for any input."""
    flat = acc[0].reshape(acc.shape[1], -1)
    lo = np.quantile(flat, LOW_QUANTILE, axis=1, method="lower")
    hi = np.quantile(flat, HIGH_QUANTILE, axis=1, method="higher")
    spread = (hi - lo).astype(np.float64)
    spread = np.maximum(spread, max(1.0, 0.05 * float(np.median(spread))))
    scale = 255.0 / spread
    observed = np.abs(flat - lo[:, None]).max(axis=1)
    for shift in range(40, -1, -1):
        kappa = np.maximum(1, np.round(scale * 2.0**shift / mul)).astype(np.int64)
        lamda = -np.round(lo * kappa).astype(np.int64)
        fits_float = np.all(kappa * observed + np.abs(lamda) < HEADROOM)
        fits_i32 = np.all(mul * (kappa * worst + np.abs(lamda)) < I32_LIMIT)
        if fits_float and fits_i32:
            return Requant(kappa, lamda, mul, shift)
    raise DoryError("no requantization keeps the accumulator exact in float32")


def pool_float32_chain(sums: np.ndarray, area: int, mul: int, shift: int) -> np.ndarray:
    """What onnxruntime computes for `AveragePool -> Mul(area) -> Mul(mul) -> Div(2^shift) ->
    Floor` on windows with integer `sums` (its AveragePool is the correctly rounded sum/area)."""
    f = np.float32
    mean = sums.astype(f) / f(area)
    return np.floor(mean * f(area) * f(mul) / f(1 << shift)).astype(np.int64)


def choose_pool_requant(area: int) -> tuple[int, int]:
    """`(mul, shift)` with `mul / 2^shift <= 1/area` (about 9 bits of precision) such that the
    float32 chain equals the exact `floor(sum * mul / 2^shift)` for every possible sum."""
    sums = np.arange(255 * area + 1, dtype=np.int64)
    shift = int(area - 1).bit_length() + 8
    for shift in range(shift, shift + 16):
        mul = (1 << shift) // area
        exact = (sums * mul) >> shift
        check_float32_exact("average pooling", sums.max() * mul)
        if np.array_equal(pool_float32_chain(sums, area, mul, shift), exact):
            return mul, shift
    raise DoryError(f"no exact float32 average pooling over {area} values")
