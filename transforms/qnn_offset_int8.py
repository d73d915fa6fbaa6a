"""`qnn-offset-int8`: signed 8-bit activations -> `ui8` bytes holding value + 128.

The PULP-NN kernels read and write unsigned 8-bit activations (`uint8_t` activations x `int8_t`
weights). A signed activation `v` in [-128, 127] (`i8`: a Deeploy / Quantlab requantization
clipped to [-128, 127], an int8 network input) is held as the byte `u = v + 128` (offset
binary, as the QDQ importer holds int8 tensors), and every op touching it is rewritten to
compute exactly the same values in that domain. Expects `qnn` IR as imported (before
`qnn-fuse-requant`; fused layers are handled too), either layout; it is the first step of
`gap8-lower`. An `i8` value is an activation when it is a function argument or the result of a
qnn op; `i8` constants are weights, unless an activation operand (then they get + 128).

Ops reading an offset activation `u = v + 128`:
- conv2d / linear: `sum(v*w) = sum(u*w) - 128*sum(w)` per output channel, so the i32 bias gets
  `- 128*sum(w)` (a bias is created when there is none): the same accumulator modulo 2^32. The
  zero padding of `v` is 128 in `u`: a padded conv gets its padding explicitly
  (`constant_pad`: a `qnn.concat` of blocks filled with 128) and convolves without padding;
- requant: `lambda -= 128*k`; add: `add_a -= 128*mul_a` (and b): the same 32-bit side values;
- avgpool: padding made explicit as for conv, then `sum_v = sum_u - 128*kh*kw`: `add -= 128*mul`
  (when the result needs a negative add, which `pulp_nn_avgpool`'s unsigned arithmetic cannot
  take: a depthwise conv with weights 1 computes the window sum and an exact requant divides);
- maxpool, reshape, transpose, slice, concat: the bytes move; the result is offset too.
Ops producing an `i8` result produce the `ui8` byte instead: requant and fused conv/linear
`lambda += 128 << shift`, add `add_a += 128 << (shift + shift_a)`, avgpool `add += 128 << shift`,
clip bounds + 128.

Requantization constants are chosen again, 32- or 64-bit (`onnx_requant.requant_constants`),
from the input range (`qnn_widen_requant.value_ranges`, per channel after a conv/linear), so
the rewritten arithmetic never wraps. A requant or add whose original arithmetic may wrap in
that range fails the pass with a one-line message naming it, as does an `i8` activation read by
an op with no rule here. `@main` takes and returns `ui8` where it took or returned `i8`:
callers feed `x + 128` and read `y - 128` (`dory_xdsl.analysis.signed_io`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import FunctionType, IntegerType, ModuleOp, Signedness, TensorType
from xdsl.ir import Block, Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter

from dory_xdsl.analysis.constant_pad import pad_with_constant
from dory_xdsl.dialects import qnn
from dory_xdsl.errors import DoryError
from dory_xdsl.semantics.onnx_requant import RequantRangeError, requant_constants, scaled_floor_by_mul_shift
from dory_xdsl.tensors import dense_attr
from dory_xdsl.transforms.qnn_widen_requant import accumulator_bounds, type_range, value_ranges

OFFSET = 128
I8 = IntegerType(8)
UI8 = IntegerType(8, Signedness.UNSIGNED)
I32_MIN, I32_MAX = -(2**31), 2**31 - 1
MOVES = (qnn.MaxPoolOp, qnn.ReshapeOp, qnn.TransposeOp, qnn.SliceOp)


def is_i8(value: SSAValue) -> bool:
    return isinstance(value.type, TensorType) and value.type.element_type == I8


def _ui8(t) -> TensorType:
    return TensorType(UI8, list(t.get_shape()))


def _name(op: Operation) -> str:
    hint = op.results[0].name_hint if op.results else None
    return f"{op.name} '{hint}'" if hint else op.name


def _fail(op: Operation, message: str) -> DoryError:
    return DoryError(f"qnn-offset-int8: {_name(op)}: {message}")


class _FunctionRewrite:
    """Rewrites one function body in program order (see the module docstring)."""

    def __init__(self, function: func.FuncOp):
        self.function = function
        self.block: Block = function.body.block
        self.ranges: dict[SSAValue, tuple[int, int]] = {}  # value ranges in the signed (ONNX) domain
        self.offset: set[SSAValue] = set()  # values holding v + 128
        self.current: Operation | None = None
        self.dead: list[Operation] = []
        # per-channel accumulator bounds of unfused conv / linear results (signed domain)
        self.accumulators: dict[SSAValue, tuple[np.ndarray, np.ndarray]] = {}

    def emit(self, op: Operation) -> SSAValue:
        assert self.current is not None
        Rewriter.insert_op(op, InsertPoint.before(self.current))
        return op.results[0]

    def constant(self, array: np.ndarray) -> SSAValue:
        return self.emit(qnn.ConstantOp(dense_attr(np.ascontiguousarray(array))))

    def range_of(self, value: SSAValue) -> tuple[int, int]:
        return self.ranges.get(value) or type_range(value)

    # ------------------------------------------------------------------ driver

    def run(self) -> None:
        if not any(is_i8(v) for op in self.block.ops for v in op.results if not isinstance(op, qnn.ConstantOp)) \
                and not any(is_i8(a) for a in self.block.args):
            return
        self.ranges = value_ranges(self.block)
        for index, arg in enumerate(list(self.block.args)):
            if is_i8(arg):
                new = self.block.insert_arg(_ui8(arg.type), index)
                self.ranges[new] = self.range_of(arg)
                arg.replace_all_uses_with(new)
                self.block.erase_arg(arg)
                self.offset.add(new)
        for op in list(self.block.ops):
            self.current = op
            self.rewrite(op)
        for op in self.dead:
            if op.parent is not None and not op.results[0].uses:
                op.detach()
                op.erase()
        ret = self.block.last_op
        if isinstance(ret, func.ReturnOp):
            inputs = [a.type for a in self.block.args]
            self.function.function_type = FunctionType.from_lists(inputs, [v.type for v in ret.operands])

    def rewrite(self, op: Operation) -> None:
        if isinstance(op, qnn.ConstantOp | func.ReturnOp):
            return
        if isinstance(op, qnn.Conv2dOp | qnn.LinearOp) and op.requant is None \
                and qnn.constant_array(op.weight) is not None \
                and (op.bias is None or qnn.constant_array(op.bias) is not None):
            low, high = accumulator_bounds(op, self.range_of(op.input))
            if low.min() >= I32_MIN and high.max() <= I32_MAX:
                self.accumulators[op.result] = (low.astype(object), high.astype(object))
        if isinstance(op, qnn.Conv2dOp | qnn.LinearOp):
            self.accumulating(op)
        elif isinstance(op, qnn.RequantOp):
            self.requant(op)
        elif isinstance(op, qnn.AddOp):
            self.add(op)
        elif isinstance(op, qnn.AvgPoolOp):
            self.avgpool(op)
        elif isinstance(op, MOVES + (qnn.ConcatOp,)):
            self.move(op)
        elif any(v in self.offset or is_i8(v) for v in op.operands):
            raise _fail(op, "reads a signed 8-bit activation and has no offset rule")

    def activation(self, op: Operation, value: SSAValue) -> SSAValue:
        """`value` (an activation operand of `op`) in the offset domain if it is signed."""
        if value in self.offset or not is_i8(value):
            return value
        data = qnn.constant_array(value)
        if data is None:
            raise _fail(op, "reads a signed 8-bit activation produced by an op with no offset rule")
        new = self.constant((data.astype(np.int64) + OFFSET).astype(np.uint8))
        self.ranges[new] = (int(data.min()), int(data.max()))
        self.offset.add(new)
        return new

    def replace(self, op: Operation, new: Operation, offset: bool) -> None:
        self.emit(new)
        new.attributes.update(op.attributes)
        old, result = op.results[0], new.results[0]
        if old.name_hint:
            result.name_hint = old.name_hint
        self.ranges[result] = self.range_of(old)
        if old in self.accumulators:
            self.accumulators[result] = self.accumulators.pop(old)
        if offset:
            self.offset.add(result)
        old.replace_all_uses_with(result)
        op.detach()
        op.erase()

    def padded(self, op, x: SSAValue, pads: list[int], layout: str) -> tuple[SSAValue, list[int]]:
        """`x` (offset) with the op's padding made explicit (filled with 128), and the new pads."""
        if not any(pads):
            return x, pads
        axes = (2, 3) if layout == "nchw" else (1, 2)
        return pad_with_constant(x, pads, OFFSET, axes, self.emit), [0, 0, 0, 0]

    # ------------------------------------------------------------------ rules

    def accumulating(self, op: qnn.Conv2dOp | qnn.LinearOp) -> None:
        signed_in = op.input in self.offset or is_i8(op.input)
        signed_out = op.requant is not None and is_i8(op.result)
        if not (signed_in or signed_out):
            return
        x, bias, pads = op.input, op.bias, None
        conv = isinstance(op, qnn.Conv2dOp)
        if conv:
            pads = list(op.pads.get_values())
        k, lam, requant, result_type = op.k, op.lambda_, op.requant, op.result.type
        if signed_out:
            low, high = accumulator_bounds(op, self.range_of(op.input))
            k, lam, requant = self.requant_operands(op, op.k, op.lambda_, op.requant, low, high, False)
            result_type = _ui8(op.result.type)
        if signed_in:
            x = self.activation(op, op.input)
            w = qnn.constant_array(op.weight)
            if w is None:
                raise _fail(op, "the weights of a layer reading a signed activation must be a qnn.constant")
            old = qnn.constant_array(op.bias) if op.bias is not None else np.zeros(w.shape[0], np.int64)
            if old is None:
                raise _fail(op, "the bias of a layer reading a signed activation must be a qnn.constant")
            new_bias = old.astype(np.int64) - OFFSET * w.astype(np.int64).reshape(w.shape[0], -1).sum(axis=1)
            if new_bias.min() < I32_MIN or new_bias.max() > I32_MAX:
                raise _fail(op, "the bias folding the input offset does not fit int32")
            bias = self.constant(new_bias.astype(np.int32))
            if op.bias is not None:
                self.dead.append(op.bias.owner)  # type: ignore[arg-type]
            if conv:
                x, pads = self.padded(op, x, pads, op.layout.data)  # type: ignore[union-attr]
        if conv:
            new: Operation = qnn.Conv2dOp(
                x, op.weight, result_type, strides=op.strides.get_values(), pads=pads,  # type: ignore[arg-type]
                dilations=op.dilations.get_values(), group=op.group.value.data, layout=op.layout.data,
                bias=bias, k=k, lambda_=lam, requant=requant)
        else:
            new = qnn.LinearOp(x, op.weight, result_type, bias=bias, k=k, lambda_=lam, requant=requant)
        self.replace(op, new, signed_out)

    def requant_operands(self, op, k_value, lam_value, requant: qnn.RequantAttr, xlo, xhi, signed_in: bool):
        """New (k, lambda, requant attribute) of a requantization over x in [xlo, xhi] (signed
        domain, per channel or scalar) reading `x + 128` when `signed_in`, producing the offset
        byte when its result is i8."""
        k, lam = qnn.constant_array(k_value), qnn.constant_array(lam_value)
        if k is None or lam is None:
            raise _fail(op, "k and lambda must be qnn.constant to move a signed activation")
        bits = k.dtype.itemsize * 8
        n = max(k.size, lam.size, np.size(xlo))
        k = np.broadcast_to(k.astype(object), (n,))
        lam = np.broadcast_to(lam.astype(object), (n,))
        xlo = np.broadcast_to(np.asarray(xlo, dtype=object), (n,))
        xhi = np.broadcast_to(np.asarray(xhi, dtype=object), (n,))
        limit = 2 ** (bits - 1)
        for kk, ll, lo, hi in zip(k, lam, xlo, xhi):
            if not all(-limit <= kk * x + ll < limit for x in (lo, hi)):
                raise _fail(op, f"k*x + lambda may wrap in {bits} bits over x in [{lo}, {hi}]")
        shift, out_lo, out_hi = requant.shift.data, requant.lo.data, requant.hi.data
        if signed_in:
            lam = lam - OFFSET * k
            xlo, xhi = xlo + OFFSET, xhi + OFFSET
        if is_i8(op.results[0]):
            lam = lam + (OFFSET << shift)
            out_lo, out_hi = out_lo + OFFSET, out_hi + OFFSET
        try:
            consts = requant_constants([int(v) for v in k], [int(v) for v in lam], shift,
                                       [int(v) for v in xlo], [int(v) for v in xhi])
        except RequantRangeError as error:
            raise _fail(op, str(error)) from None
        dtype = np.int32 if consts.bits == 32 else np.int64
        for value in (k_value, lam_value):
            self.dead.append(value.owner)  # type: ignore[arg-type]
        return (self.constant(np.array(consts.k, dtype=dtype)), self.constant(np.array(consts.lam, dtype=dtype)),
                qnn.RequantAttr(consts.shift, out_lo, out_hi))

    def requant(self, op: qnn.RequantOp) -> None:
        signed_in = op.input in self.offset or is_i8(op.input)
        signed_out = is_i8(op.result)
        if not (signed_in or signed_out):
            return
        x = self.activation(op, op.input) if signed_in else op.input
        xlo, xhi = self.range_of(op.input)
        if op.input in self.accumulators:
            low, high = self.accumulators[op.input]
            producer = op.input.owner
            layout = getattr(producer, "layout", None)
            channel_axis = 3 if layout is not None and layout.data == "nhwc" else 1
            xlo, xhi = (low, high) if op.axis.value.data == channel_axis else (min(low), max(high))
        k, lam, requant = self.requant_operands(op, op.k, op.lambda_, op.requant, xlo, xhi, signed_in)
        result_type = _ui8(op.result.type) if signed_out else op.result.type
        self.replace(op, qnn.RequantOp(x, k, lam, requant, op.axis.value.data, result_type), signed_out)

    def add(self, op: qnn.AddOp) -> None:
        sides = [(op.lhs in self.offset or is_i8(op.lhs)), (op.rhs in self.offset or is_i8(op.rhs))]
        signed_out = is_i8(op.result)
        if not (any(sides) or signed_out):
            return
        p = {name: op.param(name) for name in qnn.AddOp.PARAMS}
        old = dict(p)
        for signed, side, value in zip(sides, "ab", (op.lhs, op.rhs)):
            if signed:
                p[f"add_{side}"] -= OFFSET * p[f"mul_{side}"]
        if signed_out:
            p["add_a"] += OFFSET << (p["shift"] + p["shift_a"])
            p["lo"] += OFFSET
            p["hi"] += OFFSET
            self.check_add(op, old, (0, 0))
            self.check_add(op, p, tuple(OFFSET if s else 0 for s in sides))
        operands = [self.activation(op, v) if s else v for s, v in zip(sides, (op.lhs, op.rhs))]
        result_type = _ui8(op.result.type) if signed_out else op.result.type
        self.replace(op, qnn.AddOp(operands[0], operands[1], result_type, **p), signed_out)

    def check_add(self, op: qnn.AddOp, p: dict[str, int], shifts: tuple[int, int]) -> None:
        """The 32-bit sums of `qnn.add` with parameters `p` do not wrap for the operand ranges
        (moved by `shifts`), so adding a multiple of 2^shift to the total is exact."""
        total_lo = total_hi = 0
        for value, side, move in zip((op.lhs, op.rhs), "ab", shifts):
            lo, hi = self.range_of(value)
            ends = [(x + move) * p[f"mul_{side}"] + p[f"add_{side}"] for x in (lo, hi)]
            if min(ends) < I32_MIN or max(ends) > I32_MAX:
                raise _fail(op, "the 32-bit arithmetic of the add may wrap; cannot move its result to unsigned")
            total_lo += min(ends) >> p[f"shift_{side}"]
            total_hi += max(ends) >> p[f"shift_{side}"]
        if total_lo < I32_MIN or total_hi > I32_MAX:
            raise _fail(op, "the 32-bit sum of the add may wrap; cannot move its result to unsigned")

    def avgpool(self, op: qnn.AvgPoolOp) -> None:
        signed_in = op.input in self.offset or is_i8(op.input)
        signed_out = is_i8(op.result)
        if not (signed_in or signed_out):
            return
        props = dict(op.properties)
        mul, add, shift = op.mul.value.data, op.add.value.data, op.shift.value.data
        x = op.input
        if signed_in:
            x, pads = self.padded(op, self.activation(op, op.input), list(op.pads.get_values()), op.layout.data)
            props["pads"] = qnn.i64_array(pads)
            add -= OFFSET * mul
        result_type = op.result.type
        if signed_out:
            add += OFFSET << shift
            props["lo"] = qnn.int_prop(op.lo.value.data + OFFSET)
            props["hi"] = qnn.int_prop(op.hi.value.data + OFFSET)
            result_type = _ui8(op.result.type)
        props["add"] = qnn.int_prop(add)
        if add < 0 or mul < 0:  # pulp_nn_avgpool computes unsigned: a window-sum conv instead
            self.window_sum_conv(op, x, props, result_type, signed_out)
            return
        self.replace(op, qnn.AvgPoolOp.create(operands=[x], result_types=[result_type], properties=props),
                     signed_out)

    def window_sum_conv(self, op: qnn.AvgPoolOp, x: SSAValue, props, result_type, signed_out: bool) -> None:
        """`clip((sum*mul // count + add) >> shift)` = `clip(floor((mul*sum + add*count) /
        (count << shift)))` with a negative term: a depthwise conv with weights 1 (the window
        sum, >= 0 on offset bytes) and an exact requant of it (`scaled_floor_by_mul_shift`)."""
        kh, kw = op.kernel.get_values()
        mul, add, shift = (props[n].value.data for n in ("mul", "add", "shift"))
        lo, hi = props["lo"].value.data, props["hi"].value.data
        t = x.type
        layout = op.layout.data
        channels = t.get_shape()[1 if layout == "nchw" else 3]  # type: ignore[union-attr]
        count = kh * kw
        w_shape = (channels, 1, kh, kw) if layout == "nchw" else (channels, kh, kw, 1)
        weight = self.constant(np.ones(w_shape, dtype=np.int8))
        out_shape = list(op.result.type.get_shape())  # type: ignore[union-attr]
        xlo, xhi = type_range(x)
        pads = list(props["pads"].get_values())
        sum_lo = count * min(xlo, 0) if any(pads) else count * xlo
        sum_hi = count * max(xhi, 0) if any(pads) else count * xhi
        conv = qnn.Conv2dOp(x, weight, TensorType(IntegerType(32), out_shape), strides=op.strides.get_values(),
                            pads=pads, dilations=(1, 1), group=channels, layout=layout)
        acc = self.emit(conv)
        d, b = count << shift, add * count
        try:
            m, s = scaled_floor_by_mul_shift([1], [mul * sum_lo + b], [mul * sum_hi + b], d, lo, hi)
            consts = requant_constants([mul * m[0]], [b * m[0]], s, [sum_lo], [sum_hi])
        except RequantRangeError as error:
            raise _fail(op, str(error)) from None
        dtype = np.int32 if consts.bits == 32 else np.int64
        k, lam = self.constant(np.array(consts.k, dtype=dtype)), self.constant(np.array(consts.lam, dtype=dtype))
        axis = 1 if layout == "nchw" else 3
        self.replace(op, qnn.RequantOp(acc, k, lam, qnn.RequantAttr(consts.shift, lo, hi), axis, result_type),
                     signed_out)

    def move(self, op: Operation) -> None:
        if not any(v in self.offset or is_i8(v) for v in op.operands):
            return
        operands = [self.activation(op, v) for v in op.operands]
        result_type = _ui8(op.results[0].type)
        new = type(op).create(operands=operands, result_types=[result_type], properties=dict(op.properties))
        self.replace(op, new, True)


@dataclass(frozen=True)
class QnnOffsetInt8Pass(ModulePass):
    """Hold signed 8-bit activations as unsigned bytes, value + 128 (see the module docstring)."""

    name = "qnn-offset-int8"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        for function in list(op.walk()):
            if isinstance(function, func.FuncOp) and function.body.blocks:
                _FunctionRewrite(function).run()
