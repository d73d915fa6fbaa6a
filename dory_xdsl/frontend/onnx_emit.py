"""Emitting `qnn` ops for the ONNX importer, and turning symbolic values into integer tensors.

`Emitter.materialize` is where a pending requantization expression (see `dory_xdsl.frontend.onnx_values`)
becomes IR: one term over a tensor -> `qnn.requant`, one term over average-pool window sums ->
`qnn.avgpool`, two terms -> the requantizing `qnn.add`. The result type follows the clip range
(`ui8` for [0, 255], `i8` for [-128, 127]) or, without a clip, the proven value range.
"""

from __future__ import annotations

import math

import numpy as np
from xdsl.dialects.builtin import IntegerType, Signedness, StringAttr, TensorType
from xdsl.ir import Block, Operation, SSAValue
from xdsl.utils.exceptions import VerifyException

from dory_xdsl.dialects import qnn
from dory_xdsl.errors import DoryError
from dory_xdsl.semantics.onnx_requant import (
    RequantRangeError,
    ceil_div,
    floor_div,
    is_power_of_two,
    requant_constants,
    scaled_floor_by_mul_shift,
    trunc_div,
)
from dory_xdsl.analysis.range_overflow import NODE_ATTR, UNCLIPPED_ATTR  # an add whose ONNX range is wider than 8 bits
from dory_xdsl.frontend.onnx_values import Act, Expr, Padded, PoolSum, Reshaped, Round, as_expr, collapse, vec
from dory_xdsl.tensors import dense_attr

UI8 = IntegerType(8, Signedness.UNSIGNED)
I8 = IntegerType(8)
I32 = IntegerType(32)
TYPE_RANGES = ((UI8, 0, 255), (I8, -128, 127), (I32, -(2**31), 2**31 - 1))


def ir_shape(shape: tuple[int, ...]) -> tuple[int, ...]:
    """1-D (rank 3, N x C x L) tensors are 2-D in the IR with H = 1."""
    return (shape[0], shape[1], 1, shape[2]) if len(shape) == 3 else tuple(shape)


def ir_axis(axis: int, rank: int) -> int:
    return axis + 1 if rank == 3 and axis >= 2 else axis


def type_for_range(lo: int, hi: int, *, wide: bool = True) -> tuple[IntegerType, int, int] | None:
    for elem, tlo, thi in TYPE_RANGES if wide else TYPE_RANGES[:2]:
        if tlo <= lo and hi <= thi:
            return elem, tlo, thi
    return None


def channel_axis(shape: tuple[int, ...]) -> int:
    return 1 if len(shape) >= 2 else 0


class Emitter:
    """Appends verified `qnn` ops to one block; every error names the ONNX node."""

    def __init__(self, block: Block):
        self.block = block
        self.where = "import"

    def fail(self, message: str) -> DoryError:
        return DoryError(f"{self.where}: {message}")

    def emit(self, op: Operation) -> SSAValue:
        self.block.add_op(op)
        try:
            op.verify()
        except VerifyException as error:
            raise self.fail(f"{op.name} would be invalid: {str(error).splitlines()[0]}") from None
        return op.results[0]

    def constant(self, array: np.ndarray) -> SSAValue:
        return self.emit(qnn.ConstantOp(dense_attr(array)))

    def tensor_type(self, shape: tuple[int, ...], elem: IntegerType) -> TensorType:
        return TensorType(elem, list(ir_shape(shape)))

    # ------------------------------------------------------------------ materialization

    def materialize(self, value, clip: tuple[int, int] | None = None) -> Act:
        """The integer tensor `value` denotes, clipped to `clip` if given."""
        if isinstance(value, Act):
            if clip is None:
                return value
            lo, hi = value.bounds()
            if clip[0] <= lo and hi <= clip[1]:
                return value
            return self._requant_over(value, as_expr(value), "floor", clip)
        if isinstance(value, Padded):
            if any(value.begins) or any(value.ends):
                raise self.fail("a padded tensor is used by an op that cannot absorb the padding")
            return self.materialize(value.act, clip)
        if isinstance(value, Reshaped):
            if clip not in value.materialized:
                value.materialized[clip] = value.apply(self.materialize(value.inner, clip))
            return value.materialized[clip]
        if isinstance(value, (Round, PoolSum)):
            value = as_expr(value)
        if not isinstance(value, Expr):
            raise self.fail("expected an integer tensor, got a constant")
        key = clip
        if key in value.materialized:
            return value.materialized[key]
        if value.d != 1:
            raise self.fail(f"the tensor is not integer-valued (pending division by {value.d} without Floor/Cast)")
        if value.is_identity():
            act = self._term(value.terms[0][0], clip)
        else:
            act = self._round(value, "floor", clip)
        act.is_int = value.is_int
        value.materialized[key] = act
        return act

    def _term(self, term, clip: tuple[int, int] | None) -> Act:
        if isinstance(term, Act):
            return self.materialize(term, clip)
        if isinstance(term, Round):
            return self._round(term.expr, term.mode, clip)
        return self._round(as_expr(term), "floor", clip)

    def _round(self, e: Expr, mode: str, clip: tuple[int, int] | None) -> Act:
        if len(e.terms) == 2:
            return self._add(e, mode, clip)
        if len(e.terms) != 1:
            raise self.fail(f"a sum of {len(e.terms)} tensors is not supported (at most 2)")
        term = e.terms[0][0]
        if isinstance(term, PoolSum):
            return self._avgpool(term, e, mode, clip)
        if isinstance(term, Round):
            term = self._round(term.expr, term.mode, None)
        return self._requant_over(term, e, mode, clip)

    def _result_range(self, e: Expr, mode: str, clip, *, wide: bool):
        """(element type, clip lo, clip hi, per-channel lo, per-channel hi, unclipped range).

        Without a clip the type follows the proven value range. Ops that must produce 8 bits
        (`wide` False: add, avgpool) saturate when NEMO's graph has no Clip but the range is
        wider (its consumer reads 8 bits); the unclipped range is returned to be recorded.
        """
        nlo, nhi = e.numerator_range()
        div = floor_div if mode == "floor" else trunc_div
        rlo = vec([div(v, e.d) for v in nlo.tolist()])
        rhi = vec([div(v, e.d) for v in nhi.tolist()])
        unclipped = None
        if clip is None:
            natural = min(rlo.tolist()), max(rhi.tolist())
            if not wide and type_for_range(*natural, wide=False) is None:
                unclipped = natural
                clip = (0, 255) if natural[0] >= 0 else (-128, 127)
        if clip is not None:
            rlo = np.minimum(np.maximum(rlo, clip[0]), clip[1])
            rhi = np.minimum(np.maximum(rhi, clip[0]), clip[1])
            lo, hi = clip
        else:
            lo, hi = min(rlo.tolist()), max(rhi.tolist())
        chosen = type_for_range(lo, hi, wide=wide)
        if chosen is None:
            what = f"clip range [{lo}, {hi}]" if clip is not None else f"value range [{lo}, {hi}]"
            raise self.fail(f"the {what} does not fit an {'integer' if wide else '8-bit'} type")
        elem, tlo, thi = chosen
        bounds = clip if clip is not None else (tlo, thi)
        if mode == "trunc" and bounds[0] < 0 and min(nlo.tolist()) < 0:
            raise self.fail("truncating division of values that can be negative is not supported")
        return elem, bounds[0], bounds[1], rlo, rhi, unclipped

    def _mark_unclipped(self, value: SSAValue, unclipped, e: Expr) -> None:
        """Record the ONNX range and node of an op that saturates a wider range (`range_overflow`)."""
        if unclipped is not None:
            value.owner.attributes[UNCLIPPED_ATTR] = qnn.i64_array(unclipped)  # type: ignore[union-attr]
            value.owner.attributes[NODE_ATTR] = StringAttr(e.origin or self.where)  # type: ignore[union-attr]

    def _requant_over(self, x: Act, e: Expr, mode: str, clip) -> Act:
        """`clip(floor((a*x + b) / d))` as one `qnn.requant`, or two when one would need more
        than 64 bits (the first saturates `(a*x + b)/g` to the range that matters)."""
        elem, lo, hi, rlo, rhi, _ = self._result_range(e, mode, clip, wide=True)
        n = max(len(e.terms[0][1]), len(e.b), len(x.lo), len(x.hi))  # uniform constants, per-channel x
        a = np.broadcast_to(e.terms[0][1], (n,)).tolist()
        b = np.broadcast_to(e.b, (n,)).tolist()
        g = [math.gcd(ac, bc) or 1 for ac, bc in zip(a, b)]
        a = [ac // gc for ac, gc in zip(a, g)]
        b = [bc // gc for bc, gc in zip(b, g)]
        xlo, xhi = np.broadcast_to(x.lo, (n,)).tolist(), np.broadcast_to(x.hi, (n,)).tolist()
        ylo = [min(ac * l, ac * h) + bc for ac, bc, l, h in zip(a, b, xlo, xhi)]
        yhi = [max(ac * l, ac * h) + bc for ac, bc, l, h in zip(a, b, xlo, xhi)]
        try:
            try:
                m, shift = scaled_floor_by_mul_shift(g, ylo, yhi, e.d, lo, hi)
                consts = requant_constants([ac * mc for ac, mc in zip(a, m)], [bc * mc for bc, mc in zip(b, m)],
                                           shift, xlo, xhi)
                return self._emit_requant(x, consts, lo, hi, elem, rlo, rhi)
            except RequantRangeError:
                if all(gc == 1 for gc in g) and e.d == 1:
                    raise
            y_lo = max(min(ylo), min(ceil_div((lo + 1) * e.d, gc) - 1 for gc in g))
            y_hi = min(max(yhi), max(ceil_div(hi * e.d, gc) for gc in g))
            chosen = type_for_range(y_lo, y_hi)
            if chosen is None:
                raise RequantRangeError(f"the intermediate range [{y_lo}, {y_hi}] does not fit 32 bits")
            y1lo = [min(max(v, y_lo), y_hi) for v in ylo]
            y1hi = [min(max(v, y_lo), y_hi) for v in yhi]
            y = self._emit_requant(x, requant_constants(a, b, 0, xlo, xhi), y_lo, y_hi, chosen[0],
                                   vec(y1lo), vec(y1hi))
            m, shift = scaled_floor_by_mul_shift(g, y1lo, y1hi, e.d, lo, hi)
            consts = requant_constants(m, [0], shift, y1lo, y1hi)
            return self._emit_requant(y, consts, lo, hi, elem, rlo, rhi)
        except RequantRangeError as error:
            raise self.fail(str(error)) from None

    def _emit_requant(self, x: Act, consts, lo: int, hi: int, elem, rlo, rhi) -> Act:
        n = max(len(consts.k), len(consts.lam))
        dtype = np.int32 if consts.bits == 32 else np.int64
        k = np.array(consts.k * (n if len(consts.k) == 1 else 1), dtype=dtype)
        lam = np.array(consts.lam * (n if len(consts.lam) == 1 else 1), dtype=dtype)
        if n > 1 and np.all(k == k[0]) and np.all(lam == lam[0]):
            k, lam = k[:1], lam[:1]
        axis = ir_axis(channel_axis(x.shape), len(x.shape))
        value = self.emit(qnn.RequantOp(
            x.value, self.constant(k), self.constant(lam), qnn.RequantAttr(consts.shift, lo, hi), axis,
            self.tensor_type(x.shape, elem)))
        return Act(value, x.shape, rlo, rhi)

    def _avgpool(self, pool: PoolSum, e: Expr, mode: str, clip) -> Act:
        a, b, count = e.terms[0][1], e.b, pool.count
        if len(a) != 1 or len(b) != 1:
            raise self.fail("per-channel requantization after an average pooling is not supported")
        shift = (e.d & -e.d).bit_length() - 1
        odd = e.d >> shift
        if (a[0] * count) % odd or b[0] % odd:
            raise self.fail(
                f"cannot express the requantization (sum*{a[0]}/{count} + {b[0]}) / {e.d} of an average pooling")
        elem, lo, hi, rlo, rhi, unclipped = self._result_range(e, mode, clip, wide=False)
        x = pool.act
        value = self.emit(qnn.AvgPoolOp(
            x.value, self.tensor_type(pool.shape, elem), kernel=pool.kernel, strides=pool.strides,
            pads=pool.pads, mul=int(a[0] * count // odd), add=int(b[0] // odd), shift=shift, lo=lo, hi=hi))
        self._mark_unclipped(value, unclipped, e)
        return Act(value, pool.shape, rlo, rhi)

    def _addend(self, term, coeff: np.ndarray) -> tuple[Act, int, int, int]:
        """(tensor, mul, add, shift) with the term equal to `(x*mul + add) >> shift`."""
        if len(coeff) != 1:
            raise self.fail("per-channel scaling of an operand of a residual add is not supported")
        if isinstance(term, Round) and coeff[0] == 1 and len(term.expr.terms) == 1:
            inner = term.expr
            (x, a), b = inner.terms[0], inner.b
            if isinstance(x, Act) and len(a) == 1 and len(b) == 1 and is_power_of_two(inner.d):
                if term.mode == "trunc" and min(inner.numerator_range()[0].tolist()) < 0:
                    raise self.fail("truncating division of values that can be negative is not supported")
                return x, int(a[0]), int(b[0]), inner.d.bit_length() - 1
        if isinstance(term, Round):
            term = self._round(term.expr, term.mode, None)
        if not isinstance(term, Act):
            raise self.fail("unsupported operand of a residual add")
        return term, int(coeff[0]), 0, 0

    def _add(self, e: Expr, mode: str, clip) -> Act:
        (ta, ca), (tb, cb) = e.terms
        a, mul_a, add_a, shift_a = self._addend(ta, ca)
        b, mul_b, add_b, shift_b = self._addend(tb, cb)
        if len(e.b) != 1 or not is_power_of_two(e.d):
            raise self.fail(f"a residual add must be divided by a power of two, got {e.d}")
        add_a += int(e.b[0]) << shift_a
        elem, lo, hi, rlo, rhi, unclipped = self._result_range(e, mode, clip, wide=False)
        for x, mul, add in ((a, mul_a, add_a), (b, mul_b, add_b)):
            xlo, xhi = x.bounds()
            if max(abs(mul * xlo), abs(mul * xhi)) + abs(add) > 2**30:
                raise self.fail("the residual add does not fit 32-bit arithmetic")
        if a.shape != b.shape:
            raise self.fail(f"residual add of tensors with shapes {list(a.shape)} and {list(b.shape)}")
        value = self.emit(qnn.AddOp(
            a.value, b.value, self.tensor_type(a.shape, elem), mul_a=mul_a, add_a=add_a, shift_a=shift_a,
            mul_b=mul_b, add_b=add_b, shift_b=shift_b, shift=e.d.bit_length() - 1, lo=lo, hi=hi))
        self._mark_unclipped(value, unclipped, e)
        return Act(value, a.shape, collapse(rlo, min), collapse(rhi, max))

    def reshape(self, act: Act, shape: tuple[int, ...]) -> Act:
        """`act` with the ONNX shape `shape` (a `qnn.reshape` unless the IR shape is unchanged)."""
        elem = act.value.type.element_type  # type: ignore[union-attr]
        if ir_shape(shape) == tuple(act.value.type.get_shape()):  # type: ignore[union-attr]
            return Act(act.value, shape, act.lo, act.hi, act.is_int)
        source = act.value
        if isinstance(source.owner, qnn.ReshapeOp):  # reshape of a reshape: one op, the other dies
            source = source.owner.input
        if ir_shape(shape) == tuple(source.type.get_shape()):  # type: ignore[union-attr]
            value = source
        else:
            value = self.emit(qnn.ReshapeOp(source, self.tensor_type(shape, elem)))
        keep = len(shape) >= 2 and len(act.shape) >= 2 and shape[:2] == act.shape[:2]
        lo, hi = (act.lo, act.hi) if keep else (collapse(act.lo, min), collapse(act.hi, max))
        return Act(value, shape, lo, hi, act.is_int)

    def remove_unused(self) -> None:
        """Erase the ops whose results nobody uses (intermediate reshapes, unused constants)."""
        for op in reversed(list(self.block.ops)):
            if op.results and all(not r.uses for r in op.results):
                op.detach()
                op.erase()

    def onnx_shaped(self, act: Act) -> SSAValue:
        """The IR value of `act` with exactly its ONNX shape (undoing H = 1 for 1-D tensors)."""
        if tuple(act.value.type.get_shape()) == act.shape:  # type: ignore[union-attr]
            return act.value
        elem = act.value.type.element_type  # type: ignore[union-attr]
        return self.emit(qnn.ReshapeOp(act.value, TensorType(elem, list(act.shape))))
