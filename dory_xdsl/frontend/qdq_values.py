"""Symbolic values of a QDQ graph during import (see `dory_xdsl.frontend.qdq_import`).

A QDQ graph computes on real numbers between `DequantizeLinear` and `QuantizeLinear`; the
importer never materializes those reals. It keeps, for each ONNX tensor:

- `QTensor`: a quantized tensor that exists in the IR (`real = scale * (v - zp)` for the IR
  value `v`; `offset` = IR value minus ONNX value: 128 for an int8 tensor held as `ui8`, the
  unsigned domain of the PULP-NN kernels, else 0), possibly behind a `PendingPad`;
- `Real`: the dequantized view of a `QTensor`, optionally clamped (`Relu`, `Clip`);
- `RealConst`: a dequantized initializer (weights, bias) with per-axis scales;
- `Accum`: a conv / linear accumulator `real[c] = in_scale * w_scale[c] * (acc + offset[c])`;
- `RealSum`: the sum of two `Real`s (a residual `Add`), `RealMean`: an average pooling;
- `SoftmaxOf`: the final softmax of a `Real`, kept out of the integer layers.

The pending real value becomes integer IR at the `QuantizeLinear` that ends it.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from dory_xdsl.frontend.onnx_values import Act


@dataclass(frozen=True)
class PendingPad:
    """An ONNX `Pad` of a quantized tensor not yet in the IR: folded into the padding of the
    conv that reads it when `value` is the zero point, else concatenated explicitly."""

    begins: tuple[int, ...]  # per ONNX dimension
    ends: tuple[int, ...]
    value: int  # the IR value padded with


@dataclass(eq=False)
class QTensor:
    act: Act
    scale: float | None  # None until a DequantizeLinear gives a graph input its scale
    zp: int  # in the IR domain (ONNX zero point + offset)
    offset: int
    signed: bool  # the ONNX element type is int8 (else uint8)
    name: str
    pad: PendingPad | None = None  # a Pad waiting for its conv (`act` is the unpadded tensor)

    def relabeled(self, scale: float, onnx_zp: int) -> QTensor:
        return dataclasses.replace(self, scale=scale, zp=onnx_zp + self.offset)


@dataclass(eq=False)
class Real:
    q: QTensor
    lo: float = -math.inf
    hi: float = math.inf


@dataclass(eq=False)
class RealConst:
    values: np.ndarray
    scale: np.ndarray  # float32, shape (1,) or (C,)
    zp: np.ndarray  # shape like scale
    axis: int


@dataclass(eq=False)
class Accum:
    act: Act
    in_scale: float
    w_scales: np.ndarray  # per output channel (float32 values)
    offsets: list[int]  # per output channel, added to the IR accumulator
    has_bias: bool
    lo: float = -math.inf
    hi: float = math.inf


@dataclass(eq=False)
class RealSum:
    a: Real
    b: Real
    lo: float = -math.inf
    hi: float = math.inf


@dataclass(eq=False)
class RealMean:
    src: Real
    kernel: tuple[int, int]
    strides: tuple[int, int]
    pads: tuple[int, int, int, int]
    shape: tuple[int, ...]
    lo: float = -math.inf
    hi: float = math.inf


@dataclass(eq=False)
class SoftmaxOf:
    src: Real
    node: str


@dataclass(eq=False)
class SoftmaxOut:
    """A quantized softmax output (the graph result is the softmax of `logits`)."""

    logits: QTensor
    scale: float
    zp: int
    node: str


PENDING = (Real, Accum, RealSum, RealMean)


def clamped(value, lo: float, hi: float):
    """`value` with its real range further restricted to [lo, hi]."""
    return dataclasses.replace(value, lo=max(value.lo, lo), hi=min(value.hi, hi))
