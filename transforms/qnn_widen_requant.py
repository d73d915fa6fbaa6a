"""`qnn-widen-requant`: give every fused layer the same requant-constant width (32 or 64 bit).

PULP-NN is built for one width of `k` / `lambda` (the 32- or 64-bit variant, a build-wide
switch of the generated C), but the importer picks the width per layer (i32 when `k*acc +
lambda` provably fits 32 bits). Expects fused qnn IR (after `qnn-fuse-requant`, either
layout). When the `qnn.conv2d` / `qnn.linear` ops with requantization mix i32 and i64
constants (or `bits=64` is given), each i32 `k` / `lambda` pair is replaced by the same values
as i64 constants.

That is exact only when the 32-bit arithmetic of the layer never wraps, so the pass proves it
first with an interval analysis over the function (`value_ranges`, program order): network
inputs span their element type; a requantizing conv/linear gives per channel
`clip((k*acc + lambda) >> shift)` evaluated at the accumulator bounds (`acc` lies in
`[bias + sum(min(w*lo, w*hi)), bias + sum(max(w*lo, w*hi))]`, with 0 in the input range when
the conv pads); max pooling, reshapes, transposes, slices and concats keep their input range;
other requantizing ops give their clip bounds. `k*acc + lambda` (linear in `acc`) must stay in
the int32 range at both ends. A layer whose 32-bit result may wrap fails the pass with a one-line
message naming it. Option `bits=32` narrows nothing: it only checks the module is uniform.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import IntegerType, ModuleOp, Signedness, TensorType
from xdsl.ir import Block, Operation, SSAValue
from xdsl.passes import ModulePass

from dory_xdsl.dialects import qnn
from dory_xdsl.errors import DoryError
from dory_xdsl.tensors import dense_attr

I32_MIN, I32_MAX = -(2**31), 2**31 - 1


def _width(op: qnn.Conv2dOp | qnn.LinearOp) -> int:
    return op.k.type.element_type.width.data  # type: ignore[union-attr]


def type_range(value: SSAValue) -> tuple[int, int]:
    elem = value.type.element_type  # type: ignore[attr-defined]
    assert isinstance(elem, IntegerType)
    bits = elem.width.data
    if elem.signedness.data == Signedness.UNSIGNED:
        return 0, 2**bits - 1
    return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1


PASS_THROUGH = (qnn.MaxPoolOp, qnn.ReshapeOp, qnn.TransposeOp, qnn.SliceOp)


def value_ranges(block: Block) -> dict[SSAValue, tuple[int, int]]:
    """A sound [lo, hi] of every integer value of `block` (see the module docstring)."""
    ranges: dict[SSAValue, tuple[int, int]] = {a: type_range(a) for a in block.args}

    def of(v: SSAValue) -> tuple[int, int]:
        return ranges.get(v) or type_range(v)

    for op in block.ops:
        if not op.results or not isinstance(op.results[0].type, TensorType):
            continue
        result = op.results[0]
        rq = op.properties.get("requant")
        if isinstance(op, qnn.Conv2dOp | qnn.LinearOp) and rq is not None:
            ranges[result] = _requant_output_range(op, of(op.input))
        elif isinstance(op, PASS_THROUGH):
            ranges[result] = of(op.operands[0])  # max pooling skips padded cells
        elif isinstance(op, qnn.ConcatOp):
            bounds = [of(v) for v in op.inputs]
            ranges[result] = (min(b[0] for b in bounds), max(b[1] for b in bounds))
        elif isinstance(rq, qnn.RequantAttr):
            ranges[result] = (rq.lo.data, rq.hi.data)
        elif isinstance(op, qnn.RequantOp):
            ranges[result] = (op.requant.lo.data, op.requant.hi.data)  # type: ignore[attr-defined]
        else:
            ranges[result] = type_range(result)
    return ranges


def _requant_output_range(op: qnn.Conv2dOp | qnn.LinearOp, x: tuple[int, int]) -> tuple[int, int]:
    rq = op.requant
    assert rq is not None
    k, lam = qnn.constant_array(op.k), qnn.constant_array(op.lambda_)  # type: ignore[arg-type]
    if k is None or lam is None:
        return rq.lo.data, rq.hi.data
    low, high = accumulator_bounds(op, x)
    k, lam = k.astype(np.int64), lam.astype(np.int64)
    ends = np.stack([k * low + lam, k * high + lam]) >> rq.shift.data
    return (max(rq.lo.data, min(int(ends.min()), rq.hi.data)), min(rq.hi.data, max(int(ends.max()), rq.lo.data)))


def _name(op: Operation) -> str:
    hint = op.results[0].name_hint
    return f"{op.name} '{hint}'" if hint else op.name


def accumulator_bounds(op: qnn.Conv2dOp | qnn.LinearOp, x: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Per output channel, the least and greatest accumulator for inputs in `x`."""
    w = qnn.constant_array(op.weight)
    if w is None:
        raise DoryError(f"{_name(op)}: weights must be a qnn.constant to widen its requantization")
    lo, hi = x
    if isinstance(op, qnn.Conv2dOp) and any(op.pads.get_values()):
        lo, hi = min(lo, 0), max(hi, 0)
    w = w.astype(np.int64).reshape(w.shape[0], -1)
    low = np.minimum(w * lo, w * hi).sum(axis=1)
    high = np.maximum(w * lo, w * hi).sum(axis=1)
    if op.bias is not None:
        b = qnn.constant_array(op.bias)
        if b is None:
            raise DoryError(f"{_name(op)}: bias must be a qnn.constant to widen its requantization")
        low, high = low + b.astype(np.int64), high + b.astype(np.int64)
    return low, high


def widen(op: qnn.Conv2dOp | qnn.LinearOp, x: tuple[int, int]) -> None:
    """Replace the i32 k / lambda of `op` by i64 constants (after proving 32 bits never wrap)."""
    k, lam = qnn.constant_array(op.k), qnn.constant_array(op.lambda_)  # type: ignore[arg-type]
    if k is None or lam is None:
        raise DoryError(f"{_name(op)}: k and lambda must be qnn.constant to widen them")
    cout = op.result.type.get_shape()[-1 if isinstance(op, qnn.LinearOp) or op.layout.data == "nhwc" else 1]  # type: ignore[union-attr]
    k64 = np.broadcast_to(k.astype(np.int64), (cout,))
    lam64 = np.broadcast_to(lam.astype(np.int64), (cout,))
    low, high = accumulator_bounds(op, x)
    if min(low.min(), 0) < I32_MIN or max(high.max(), 0) > I32_MAX:
        raise DoryError(f"{_name(op)}: the accumulator may overflow int32; cannot widen its requantization")
    ends = np.stack([k64 * low + lam64, k64 * high + lam64])
    if ends.min() < I32_MIN or ends.max() > I32_MAX:
        raise DoryError(
            f"{_name(op)}: k*acc + lambda may wrap in 32 bits (up to {int(abs(ends).max())}); "
            "its i32 requantization cannot be widened to i64 exactly"
        )
    for operand, data in ((op.k, k), (op.lambda_, lam)):
        const = qnn.ConstantOp(dense_attr(np.ascontiguousarray(data.astype(np.int64))))
        old = operand.owner  # type: ignore[union-attr]
        op.parent_block().insert_op_before(const, op)  # type: ignore[union-attr]
        index = list(op.operands).index(operand)
        op.operands[index] = const.result
        if isinstance(old, qnn.ConstantOp) and not old.result.uses:
            old.detach()
            old.erase()


@dataclass(frozen=True)
class QnnWidenRequantPass(ModulePass):
    name = "qnn-widen-requant"

    bits: int = 0
    """0: widen only when the module mixes widths; 64: widen every i32 layer; 32: check only."""

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        if self.bits not in (0, 32, 64):
            raise DoryError(f"qnn-widen-requant: bits must be 32 or 64, got {self.bits}")
        layers = [o for o in op.walk() if isinstance(o, qnn.Conv2dOp | qnn.LinearOp) and o.k is not None]
        widths = {_width(o) for o in layers}
        if self.bits == 32 and widths - {32}:
            raise DoryError("qnn-widen-requant: some layers need 64-bit requant constants (bits=32 given)")
        if self.bits == 64 or len(widths) > 1:
            ranges: dict[SSAValue, tuple[int, int]] = {}
            for f in op.ops:
                if isinstance(f, func.FuncOp) and f.body.blocks:
                    ranges.update(value_ranges(f.body.block))
            for layer in layers:
                if _width(layer) == 32:
                    widen(layer, ranges.get(layer.input) or type_range(layer.input))
