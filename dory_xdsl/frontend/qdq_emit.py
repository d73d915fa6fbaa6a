"""`QuantizeLinear` of a pending real value -> integer `qnn` IR (for `dory_xdsl.frontend.qdq_import`).

`QuantizeEmitter.quantize` ends a DQ -> float op -> Q island:
- an `Accum` (conv / linear accumulator) -> `qnn.requant` equal to TFLM's per-channel
  double-rounding requantization (`qdq_exact.exact_requant`; when the clip keeps both signs,
  `qdq_split`: the positive and negative parts of a duplicated accumulator as stages clipped
  to the kernels' [0, 255], summed by a `qnn.add`);
- a `Real` (an 8-bit tensor, rescaled or clamped) -> the same requantization of the 8-bit
  values (identity when nothing changes);
- a `RealSum` -> `qnn.add`, a `RealMean` -> `qnn.avgpool`, equal to TFLM's when
  `qdq_exact` finds parameters (else the rounded forms of `qdq_requant`).
The clamp is TFLite's activation range: `zp + round(bound / scale)` saturated to 8 bits.
"""

from __future__ import annotations

import math

import numpy as np
from xdsl.dialects.builtin import StringAttr

from dory_xdsl.dialects import qnn
from dory_xdsl.errors import DoryError
from dory_xdsl.frontend.onnx_emit import UI8
from dory_xdsl.semantics.onnx_requant import RequantRangeError, requant_constants
from dory_xdsl.frontend.onnx_values import Act, vec
from dory_xdsl.semantics.qdq_exact import AddScales, exact_add, exact_avgpool, exact_requant
from dory_xdsl.semantics.qdq_requant import (
    add_requant,
    avgpool_requant,
    quantize_multiplier,
    quantize_real,
    tflite_requant,
)
from dory_xdsl.semantics.qdq_split import KernelSplit, kernel_split
from dory_xdsl.frontend.qdq_values import Accum, QTensor, Real, RealMean, RealSum

TENSOR_ATTR = "qnn.onnx_tensor"


class QuantizeEmitter:
    def __init__(self, importer):
        self.imp = importer
        self.emit = importer.emit
        self.tensor_name = ""  # the ONNX tensor being quantized

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
        self.tensor_name = name
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
        return self._tflite_requant(acc.act, pairs, acc.offsets, zp, lo, hi, elem)

    def _tflite_requant(self, x: Act, pairs, offsets, zp: int, lo: int, hi: int, elem) -> Act:
        """TFLM's requantization `clip(R(x + offsets[c]) + zp, lo, hi)` (`R` the double-rounding
        multiply by `pairs[c]`), exactly (`qdq_exact`):
        - one stage when one fits (always when the clip cuts every negative `R`, e.g. a ReLU);
        - else (both signs of `R` reachable: the second rounding's half-away-from-zero makes the
          thresholds of negative and positive `R` two lattices that no single stage follows)
          with `lo = 0`: the kernel-legal split of `qdq_split` (the accumulator's op duplicated,
          the positive and negative parts as [0, 255]-clipped stages, the clipped parts mirrored
          back by a per-tensor `qnn.requant` with k = -1, summed by a `qnn.add`);
        - else (`lo > 0`) the positive part `clip(R, 0, hi - zp)` plus the negative part
          `clip(R + zp, lo, zp)`, each one exact stage with its own clip (exact on the reference
          engine; the kernels clip to [0, 255] only, so the back end rejects it);
        - else the folded single stage (`tflite_requant`), one LSB high on the negative ties."""
        channels = len(pairs)
        ranges = list(zip(np.broadcast_to(x.lo, (channels,)).tolist(), np.broadcast_to(x.hi, (channels,)).tolist()))
        fit = exact_requant(pairs, offsets, zp, lo, hi, ranges)
        if fit is not None:
            return self._requant(x, list(fit.k), list(fit.lam), fit.shift, lo, hi, elem)
        split = kernel_split(pairs, offsets, zp, hi, ranges) if lo == 0 else None
        if split is not None:
            return self._kernel_split(x, split, hi, elem)
        if lo < zp < hi:
            pos = exact_requant(pairs, offsets, 0, 0, hi - zp, ranges)
            neg = exact_requant(pairs, offsets, zp, lo, zp, ranges)
            if pos is not None and neg is not None:
                p = self._requant(x, list(pos.k), list(pos.lam), pos.shift, pos.lo, pos.hi, elem)
                n = self._requant(self._again(x), list(neg.k), list(neg.lam), neg.shift, neg.lo, neg.hi, elem)
                return self._sum(p, n, lo, hi, elem)
        bounds = [max(abs(a), abs(b)) for a, b in ranges]
        fold = tflite_requant([m for m, _ in pairs], [s for _, s in pairs], offsets, zp, bounds)
        return self._requant(x, fold.k, fold.lam, fold.shift, lo, hi, elem)

    def _again(self, x: Act) -> Act:
        """`x` for a second requantization: an accumulator (one use each) is computed again by a
        clone of its op; an 8-bit tensor is shared."""
        owner = x.value.owner
        assert owner is not None
        if x.value.type.element_type.width.data > 8:  # type: ignore[union-attr]
            return Act(self.emit.emit(owner.clone()), x.shape, x.lo, x.hi)
        return x

    def _kernel_split(self, x: Act, split: KernelSplit, hi: int, elem) -> Act:
        """`clip8(P + N)` (`qdq_split`), the element-wise ops on a [1, 1, 1, C] view of a 2-D
        (linear) result, since the back end runs them on [1, H, W, C] activations."""
        parts = []
        for half in (split.pos, split.neg):
            stage = half.stage
            part = self._requant(x if half is split.pos else self._again(x), list(stage.k), list(stage.lam), stage.shift, 0, 255, elem)
            if len(part.shape) == 2:
                part = self.emit.reshape(part, (1, 1, 1, part.shape[1]))
            if half.mirror is not None:
                part = self._requant(part, [-1], [half.mirror], 0, 0, 255, elem)
            parts.append(part)
        total = self._sum(parts[0], parts[1], 0, hi, elem)
        if len(x.shape) == 2:
            self._tag(total, self.tensor_name)  # the layer's output, as the reshape's
            total = self.emit.reshape(total, x.shape)
        return total

    def _sum(self, p: Act, n: Act, lo: int, hi: int, elem) -> Act:
        """`qnn.add(p, n)` with multipliers 1, no shift, clip [0, 255]: exact when `p + n` lies
        in [lo, hi]."""
        result = self.emit.emit(qnn.AddOp(
            p.value, n.value, self.emit.tensor_type(p.shape, elem), mul_a=1, add_a=0, shift_a=0, mul_b=1, add_b=0,
            shift_b=0, shift=0, lo=0, hi=255))
        return Act(result, p.shape, vec([lo]), vec([hi]))

    def _rescale(self, x: QTensor, scale: float, zp: int, lo: int, hi: int, elem) -> Act:
        current = x.act.value.type.element_type  # type: ignore[union-attr]
        xlo, xhi = x.act.bounds()
        if float(x.scale) == float(scale) and x.zp == zp and current == elem and lo <= xlo and xhi <= hi:
            return x.act
        pair = quantize_multiplier(float(x.scale) / float(scale))
        return self._tflite_requant(x.act, [pair], [-x.zp], zp, lo, hi, elem)

    def _add(self, value: RealSum, scale: float, zp: int, lo: int, hi: int, elem) -> Act:
        a, b = value.a.q, value.b.q
        if a.act.shape != b.act.shape:
            raise self.emit.fail(f"Add of tensors with shapes {list(a.act.shape)} and {list(b.act.shape)} "
                                 "(broadcasting is not supported)")
        exact = exact_add(AddScales(a.scale, a.zp, b.scale, b.zp, scale, zp), a.act.bounds(), b.act.bounds(), lo, hi)
        p = exact or add_requant(a.scale, a.zp, b.scale, b.zp, scale, zp, a.act.bounds()[1], b.act.bounds()[1])
        result = self.emit.emit(qnn.AddOp(
            a.act.value, b.act.value, self.emit.tensor_type(a.act.shape, elem), mul_a=p.mul_a, add_a=p.add,
            shift_a=0, mul_b=p.mul_b, add_b=0, shift_b=0, shift=p.shift, lo=lo, hi=hi))
        return Act(result, a.act.shape, vec([lo]), vec([hi]))

    def _mean(self, value: RealMean, scale: float, zp: int, lo: int, hi: int, elem) -> Act:
        x = value.src.q
        count = value.kernel[0] * value.kernel[1]
        same = float(x.scale) == float(scale) and x.zp == zp and not any(value.pads)
        exact = exact_avgpool(count, x.offset, lo, hi) if same else None
        p = exact or avgpool_requant(x.scale, x.zp, scale, zp, count)
        result = self.emit.emit(qnn.AvgPoolOp(
            x.act.value, self.emit.tensor_type(value.shape, elem), kernel=value.kernel, strides=value.strides,
            pads=value.pads, mul=p.mul, add=p.add, shift=p.shift, lo=lo, hi=hi))
        return Act(result, value.shape, vec([lo]), vec([hi]))
