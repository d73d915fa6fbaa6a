"""`qnn-widen-requant`: give every fused layer the same requant-constant width (32 or 64 bit).

PULP-NN is built for one width of `k` / `lambda` (the 32- or 64-bit variant, a build-wide
switch of the generated C), but the importer picks the width per layer (i32 when `k*acc +
lambda` provably fits 32 bits). Expects fused qnn IR (after `qnn-fuse-requant`, either
layout). When the `qnn.conv2d` / `qnn.linear` ops with requantization mix i32 and i64
constants (or `bits=64` is given), each i32 `k` / `lambda` pair is replaced by the same values
as i64 constants.

That is exact only when the 32-bit arithmetic of the layer never wraps, so the pass proves it
first from the constants: with the input range of its element type (ui8 [0, 255], i8
[-128, 127]), the accumulator of output channel `c` lies in `[bias + sum(min(w*lo, w*hi)),
bias + sum(max(w*lo, w*hi))]` and `k*acc + lambda` (linear in `acc`) must stay in the int32
range at both ends. A layer whose 32-bit result may wrap fails the pass with a one-line
message naming it. Option `bits=32` narrows nothing: it only checks the module is uniform.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from xdsl.context import Context
from xdsl.dialects.builtin import IntegerType, ModuleOp, Signedness
from xdsl.ir import Operation
from xdsl.passes import ModulePass

from dory_xdsl.dialects import qnn
from dory_xdsl.errors import DoryError
from dory_xdsl.tensors import dense_attr

I32_MIN, I32_MAX = -(2**31), 2**31 - 1


def _width(op: qnn.Conv2dOp | qnn.LinearOp) -> int:
    return op.k.type.element_type.width.data  # type: ignore[union-attr]


def _input_range(op: qnn.Conv2dOp | qnn.LinearOp) -> tuple[int, int]:
    elem = op.input.type.element_type  # type: ignore[attr-defined]
    assert isinstance(elem, IntegerType)
    bits = elem.width.data
    if elem.signedness.data == Signedness.UNSIGNED:
        return 0, 2**bits - 1
    return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1


def _name(op: Operation) -> str:
    hint = op.results[0].name_hint
    return f"{op.name} '{hint}'" if hint else op.name


def accumulator_bounds(op: qnn.Conv2dOp | qnn.LinearOp) -> tuple[np.ndarray, np.ndarray]:
    """Per output channel, the least and greatest accumulator over all inputs."""
    w = qnn.constant_array(op.weight)
    if w is None:
        raise DoryError(f"{_name(op)}: weights must be a qnn.constant to widen its requantization")
    lo, hi = _input_range(op)
    w = w.astype(np.int64).reshape(w.shape[0], -1)
    low = np.minimum(w * lo, w * hi).sum(axis=1)
    high = np.maximum(w * lo, w * hi).sum(axis=1)
    if op.bias is not None:
        b = qnn.constant_array(op.bias)
        if b is None:
            raise DoryError(f"{_name(op)}: bias must be a qnn.constant to widen its requantization")
        low, high = low + b.astype(np.int64), high + b.astype(np.int64)
    return low, high


def widen(op: qnn.Conv2dOp | qnn.LinearOp) -> None:
    """Replace the i32 k / lambda of `op` by i64 constants (after proving 32 bits never wrap)."""
    k, lam = qnn.constant_array(op.k), qnn.constant_array(op.lambda_)  # type: ignore[arg-type]
    if k is None or lam is None:
        raise DoryError(f"{_name(op)}: k and lambda must be qnn.constant to widen them")
    cout = op.result.type.get_shape()[-1 if isinstance(op, qnn.LinearOp) or op.layout.data == "nhwc" else 1]  # type: ignore[union-attr]
    k64 = np.broadcast_to(k.astype(np.int64), (cout,))
    lam64 = np.broadcast_to(lam.astype(np.int64), (cout,))
    low, high = accumulator_bounds(op)
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
            for layer in layers:
                if _width(layer) == 32:
                    widen(layer)
