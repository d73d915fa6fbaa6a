"""`QuantizeLinear` of a pending real value -> integer `qnn` IR (for `dory_xdsl.qdq_import`).

`QuantizeEmitter.quantize` ends a DQ -> float op -> Q island:
- an `Accum` (conv / linear accumulator) -> `qnn.requant` with TFLite's per-channel fixed-point
  multipliers folded in (`qdq_requant.tflite_requant`);
- a `Real` (an 8-bit tensor, rescaled or clamped) -> the same requantization of the 8-bit
  values (identity when nothing changes);
- a `RealSum` -> `qnn.add`, a `RealMean` -> `qnn.avgpool`.
The clamp is TFLite's activation range: `zp + round(bound / scale)` saturated to 8 bits.
"""

from __future__ import annotations

import math

from xdsl.dialects.builtin import StringAttr

from dory_xdsl.dialects import qnn
from dory_xdsl.errors import DoryError
from dory_xdsl.onnx_emit import UI8
from dory_xdsl.onnx_requant import RequantRangeError, requant_constants
from dory_xdsl.onnx_values import Act, vec
from dory_xdsl.qdq_requant import (
    add_requant,
    avgpool_requant,
    quantize_multiplier,
    quantize_real,
    tflite_requant,
)
from dory_xdsl.qdq_values import Accum, QTensor, Real, RealMean, RealSum

TENSOR_ATTR = "qnn.onnx_tensor"


class QuantizeEmitter:
    def __init__(self, importer):
        self.imp = importer
        self.emit = importer.emit

    def _tag(self, act: Act, name: str) -> None:
        owner = act.value.owner
        if isinstance(owner, qnn.QnnOp) and TENSOR_ATTR not in owner.attributes:
            owner.attributes[TENSOR_ATTR] = StringAttr(name)

    def quantize(self, value, scale: float, onnx_zp: int, signed: bool, name: str) -> QTensor:
        """The quantized tensor `clip(zp + round(value / scale))` (8-bit, TFLite rounding), as
        `ui8` (int8 values + 128)."""
        offset = 128 if signed else 0
        elem = UI8
        qmin, qmax = (-128, 127) if signed else (0, 255)
        lo = max(qmin, quantize_real(value.lo, scale, onnx_zp)) if math.isfinite(value.lo) else qmin
        hi = min(qmax, quantize_real(value.hi, scale, onnx_zp)) if math.isfinite(value.hi) else qmax
        if lo > hi:
            raise self.emit.fail(f"the clamp [{value.lo}, {value.hi}] is empty after quantization")
        zp = onnx_zp + offset
        lo, hi = lo + offset, hi + offset
        try:
            if isinstance(value, Accum):
                act = self._requant_accum(value, scale, zp, lo, hi, elem)
            elif isinstance(value, Real):
                act = self._rescale(value.q, scale, zp, lo, hi, elem)
            elif isinstance(value, RealSum):
                act = self._add(value, scale, zp, lo, hi, elem)
            elif isinstance(value, RealMean):
                act = self._mean(value, scale, zp, lo, hi, elem)
            else:
                raise self.emit.fail("QuantizeLinear of an unsupported value")
        except (RequantRangeError, ValueError) as error:
            raise self.emit.fail(str(error)) from None
        self._tag(act, name)
        return QTensor(act, scale, zp, offset, signed, name)

    def _requant(self, x: Act, k, lam, shift: int, lo: int, hi: int, elem) -> Act:
        xlo, xhi = x.lo.tolist(), x.hi.tolist()
        consts = requant_constants(k, lam, shift, xlo, xhi)
        return self.emit._emit_requant(x, consts, lo, hi, elem, vec([lo]), vec([hi]))

    def _requant_accum(self, acc: Accum, scale: float, zp: int, lo: int, hi: int, elem) -> Act:
        pairs = [quantize_multiplier(float(acc.in_scale) * float(ws) / float(scale)) for ws in acc.w_scales.tolist()]
        bounds = [max(abs(a), abs(b)) for a, b in zip(acc.act.lo.tolist(), acc.act.hi.tolist())]
        fold = tflite_requant([m for m, _ in pairs], [s for _, s in pairs], acc.offsets, zp, bounds)
        return self._requant(acc.act, fold.k, fold.lam, fold.shift, lo, hi, elem)

    def _rescale(self, x: QTensor, scale: float, zp: int, lo: int, hi: int, elem) -> Act:
        current = x.act.value.type.element_type  # type: ignore[union-attr]
        xlo, xhi = x.act.bounds()
        if float(x.scale) == float(scale) and x.zp == zp and current == elem and lo <= xlo and xhi <= hi:
            return x.act
        m, s = quantize_multiplier(float(x.scale) / float(scale))
        fold = tflite_requant([m], [s], [-x.zp], zp, [max(abs(v) for v in x.act.bounds())])
        return self._requant(x.act, fold.k, fold.lam, fold.shift, lo, hi, elem)

    def _add(self, value: RealSum, scale: float, zp: int, lo: int, hi: int, elem) -> Act:
        a, b = value.a.q, value.b.q
        if a.act.shape != b.act.shape:
            raise self.emit.fail(f"Add of tensors with shapes {list(a.act.shape)} and {list(b.act.shape)} "
                                 "(broadcasting is not supported)")
        p = add_requant(a.scale, a.zp, b.scale, b.zp, scale, zp, a.act.bounds()[1], b.act.bounds()[1])
        result = self.emit.emit(qnn.AddOp(
            a.act.value, b.act.value, self.emit.tensor_type(a.act.shape, elem), mul_a=p.mul_a, add_a=p.add,
            shift_a=0, mul_b=p.mul_b, add_b=0, shift_b=0, shift=p.shift, lo=lo, hi=hi))
        return Act(result, a.act.shape, vec([lo]), vec([hi]))

    def _mean(self, value: RealMean, scale: float, zp: int, lo: int, hi: int, elem) -> Act:
        x = value.src.q
        p = avgpool_requant(x.scale, x.zp, scale, zp)
        result = self.emit.emit(qnn.AvgPoolOp(
            x.act.value, self.emit.tensor_type(value.shape, elem), kernel=value.kernel, strides=value.strides,
            pads=value.pads, mul=p.mul, add=p.add, shift=p.shift, lo=lo, hi=hi))
        return Act(result, value.shape, vec([lo]), vec([hi]))
