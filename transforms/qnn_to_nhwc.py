"""`qnn-to-nhwc`: move every activation to the HWC layout the GAP-8 kernels use.

Expects qnn IR in the "nchw" layout, as the ONNX importer produces it (fused or not). Walks each
function body in order and rewrites:

- `qnn.conv2d`, `qnn.maxpool`, `qnn.avgpool` with layout "nchw" -> layout "nhwc" on NHWC
  operands; conv weights OIHW -> OHWI (Cout x Kh x Kw x Cin/group), permuted with numpy when
  they are a `qnn.constant` (a `qnn.transpose` otherwise);
- `qnn.requant` and `qnn.add` on 4-D activations -> the same op on NHWC tensors (the requant
  axis remapped), `qnn.concat` of 4-D tensors -> NHWC concat with the axis remapped;
- `qnn.reshape` flattening an NHWC activation to [N, C*H*W] -> the HWC flatten [N, H*W*C], and a
  `qnn.linear` reading such a flatten gets its weight columns permuted from CHW to HWC order
  (when the weight is a `qnn.constant`).

Any other use of a rewritten value (function results, other ops, non-constant weights) gets the
value back in its original layout through `qnn.transpose` (and `qnn.reshape` for flattens), so
the function signature is unchanged: it takes NCHW input as the ONNX graph does, and returns
outputs in their original (NCHW or flattened) order. The result computes the same values,
which `tests/test_passes.py` checks with the reference interpreter. Ops already in "nhwc"
layout are left alone, so the pass is idempotent.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp, StringAttr, TensorType
from xdsl.ir import Block, Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter

from dory_xdsl.dialects import qnn
from dory_xdsl.tensors import dense_attr

TO_NHWC = (0, 2, 3, 1)  # nhwc dim i is nchw dim TO_NHWC[i]
TO_NCHW = (0, 3, 1, 2)
OIHW_TO_OHWI = TO_NHWC


def permuted_type(t: TensorType, perm: tuple[int, ...]) -> TensorType:
    shape = t.get_shape()
    return TensorType(t.element_type, [shape[p] for p in perm])


def keeps_element_order(shape: tuple[int, ...], perm: tuple[int, ...]) -> bool:
    """True when transposing `shape` by `perm` leaves the row-major element order unchanged
    (the dimensions larger than 1 keep their relative order), so a reshape does the same."""
    moved = [p for p in perm if shape[p] != 1]
    return moved == sorted(moved)


def hwc_flatten_columns(c: int, h: int, w: int) -> np.ndarray:
    """`cols[j]` = CHW-flatten index of HWC-flatten position `j` (so `w_hwc = w_chw[:, cols]`)."""
    return np.arange(c * h * w).reshape(c, h, w).transpose(1, 2, 0).reshape(-1)


@dataclass
class _Nhwc:
    """An original NCHW value now held as `value` in NHWC."""

    value: SSAValue


@dataclass
class _HwcFlat:
    """An original [N, C*H*W] flatten now held as `value` = [N, H*W*C] (HWC order)."""

    value: SSAValue
    chw: tuple[int, int, int]


def nhwc_type(op: Operation) -> TensorType:
    """The type of `op`'s 4-D NCHW result, in NHWC."""
    t = op.results[0].type
    assert isinstance(t, TensorType)
    return permuted_type(t, TO_NHWC)


def _rank4(value: SSAValue) -> bool:
    return isinstance(value.type, TensorType) and len(value.type.get_shape()) == 4


class _FunctionRewriter:
    """Rewrites one function body in program order, tracking the new form of each value."""

    def __init__(self, block: Block):
        self.block = block
        self.state: dict[SSAValue, _Nhwc | _HwcFlat] = {}
        self.original: dict[SSAValue, SSAValue] = {}  # materialized original-layout values
        self.nhwc: dict[SSAValue, SSAValue] = {}  # NHWC copies of original NCHW values
        self.current: Operation | None = None
        self.replaced: list[Operation] = []
        self.old_weights: list[Operation] = []

    # ---- helpers that insert ops before the op being rewritten (they dominate later uses)

    def insert(self, op: Operation) -> Operation:
        assert self.current is not None
        Rewriter.insert_op(op, InsertPoint.before(self.current))
        return op

    def transpose(self, value: SSAValue, perm: tuple[int, ...]) -> SSAValue:
        """`value` permuted; a `qnn.reshape` when only unit dimensions move (e.g. C = 1)."""
        assert isinstance(value.type, TensorType)
        new_type = permuted_type(value.type, perm)
        if keeps_element_order(value.type.get_shape(), perm):
            return self.insert(qnn.ReshapeOp(value, new_type)).results[0]
        return self.insert(qnn.TransposeOp(value, perm, new_type)).results[0]

    def as_original(self, old: SSAValue) -> SSAValue:
        """`old`'s value in its original layout and type."""
        state = self.state.get(old)
        if state is None:
            return old
        if old not in self.original:
            if isinstance(state, _Nhwc):
                value = self.transpose(state.value, TO_NCHW)
            else:
                c, h, w = state.chw
                assert isinstance(old.type, TensorType)
                n = old.type.get_shape()[0]
                elem = old.type.element_type
                hwc = self.insert(qnn.ReshapeOp(state.value, TensorType(elem, [n, h, w, c]))).results[0]
                chw = self.transpose(hwc, TO_NCHW)
                value = self.insert(qnn.ReshapeOp(chw, old.type)).results[0]
            self.original[old] = value
        return self.original[old]

    def as_nhwc(self, old: SSAValue) -> SSAValue:
        """The NHWC form of the original NCHW 4-D value `old`."""
        state = self.state.get(old)
        if isinstance(state, _Nhwc):
            return state.value
        value = self.as_original(old)
        if value not in self.nhwc:
            self.nhwc[value] = self.transpose(value, TO_NHWC)
        return self.nhwc[value]

    def replace(self, old: Operation, new: Operation) -> None:
        """Insert `new`, the NHWC version of `old` (which is erased at the end)."""
        self.insert(new)
        new.attributes.update(old.attributes)
        if old.results[0].name_hint:
            new.results[0].name_hint = old.results[0].name_hint
        self.state[old.results[0]] = _Nhwc(new.results[0])
        self.replaced.append(old)

    def permuted_constant(self, weight: SSAValue, data: np.ndarray) -> SSAValue:
        """A new `qnn.constant` holding `data` in place of the constant `weight`."""
        old = weight.owner
        assert isinstance(old, qnn.ConstantOp)
        const = qnn.ConstantOp(dense_attr(np.ascontiguousarray(data)))
        const.attributes.update(old.attributes)
        if weight.name_hint:
            const.result.name_hint = weight.name_hint
        self.old_weights.append(old)
        Rewriter.insert_op(const, InsertPoint.after(old))
        return const.result

    # ---- per-op rewrites

    def run(self) -> None:
        for op in list(self.block.ops):
            self.current = op
            self.rewrite(op)
        for op in reversed(self.replaced):
            Rewriter.erase_op(op)
        for op in self.old_weights:
            if op.parent is not None and not op.results[0].uses:
                Rewriter.erase_op(op)

    def rewrite(self, op: Operation) -> None:
        if isinstance(op, qnn.Conv2dOp) and op.layout.data == "nchw":
            self.conv(op)
        elif isinstance(op, qnn.MaxPoolOp | qnn.AvgPoolOp) and op.layout.data == "nchw":
            props = dict(op.properties, layout=StringAttr("nhwc"))
            self.replace(op, type(op).create(
                operands=[self.as_nhwc(op.input)], result_types=[nhwc_type(op)], properties=props,
            ))
        elif isinstance(op, qnn.RequantOp) and self.is_nhwc(op.input):
            props = dict(op.properties, axis=qnn.int_prop(TO_NHWC.index(op.axis.value.data)))
            self.replace(op, qnn.RequantOp.create(
                operands=[self.as_nhwc(op.input), op.k, op.lambda_], result_types=[nhwc_type(op)],
                properties=props,
            ))
        elif isinstance(op, qnn.AddOp) and _rank4(op.lhs) and any(map(self.is_nhwc, op.operands)):
            self.replace(op, qnn.AddOp.create(
                operands=[self.as_nhwc(op.lhs), self.as_nhwc(op.rhs)], result_types=[nhwc_type(op)],
                properties=dict(op.properties),
            ))
        elif isinstance(op, qnn.ConcatOp) and _rank4(op.result) and any(map(self.is_nhwc, op.inputs)):
            axis = TO_NHWC.index(op.axis.value.data)
            self.replace(op, qnn.ConcatOp([self.as_nhwc(v) for v in op.inputs], axis, nhwc_type(op)))
        elif isinstance(op, qnn.ReshapeOp) and self.is_flatten_of_nhwc(op):
            self.flatten(op)
        elif isinstance(op, qnn.LinearOp) and isinstance(self.state.get(op.input), _HwcFlat):
            self.linear(op)
        else:
            for i, operand in enumerate(op.operands):
                if operand in self.state:
                    op.operands[i] = self.as_original(operand)

    def is_nhwc(self, old: SSAValue) -> bool:
        return isinstance(self.state.get(old), _Nhwc)

    def conv(self, op: qnn.Conv2dOp) -> None:
        data = qnn.constant_array(op.weight)
        if data is not None:
            new_weight = self.permuted_constant(op.weight, data.transpose(OIHW_TO_OHWI))
        else:
            new_weight = self.transpose(op.weight, OIHW_TO_OHWI)
        new = qnn.Conv2dOp(
            self.as_nhwc(op.input), new_weight, nhwc_type(op),
            strides=op.strides.get_values(), pads=op.pads.get_values(),
            dilations=op.dilations.get_values(), group=op.group.value.data, layout="nhwc",
            bias=op.bias, k=op.k, lambda_=op.lambda_, requant=op.requant,
        )
        self.replace(op, new)

    def is_flatten_of_nhwc(self, op: qnn.ReshapeOp) -> bool:
        """A reshape of an NHWC-held activation to [N, C*H*W] (ONNX Flatten with axis 1)."""
        if not self.is_nhwc(op.input):
            return False
        n = op.input.type.get_shape()[0]  # type: ignore[union-attr]
        return op.result.type.get_shape() == (n, op.result.type.element_count() // n)  # type: ignore[union-attr]

    def flatten(self, op: qnn.ReshapeOp) -> None:
        state = self.state[op.input]
        _, c, h, w = op.input.type.get_shape()  # type: ignore[union-attr]
        new = qnn.ReshapeOp(state.value, op.result.type)
        self.insert(new)
        if op.result.name_hint:
            new.result.name_hint = op.result.name_hint
        self.state[op.result] = _HwcFlat(new.result, (c, h, w))
        self.replaced.append(op)

    def linear(self, op: qnn.LinearOp) -> None:
        state = self.state[op.input]
        assert isinstance(state, _HwcFlat)
        data = qnn.constant_array(op.weight)
        if data is None:
            op.operands[0] = self.as_original(op.input)
            return
        weight = self.permuted_constant(op.weight, data[:, hwc_flatten_columns(*state.chw)])
        op.operands[0] = state.value
        op.operands[1] = weight


@dataclass(frozen=True)
class QnnToNhwcPass(ModulePass):
    """Rewrite NCHW activations to NHWC (see the module docstring)."""

    name = "qnn-to-nhwc"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        for function in op.walk():
            if isinstance(function, func.FuncOp) and function.body.blocks:
                _FunctionRewriter(function.body.blocks[0]).run()

