"""`qnn-fuse-requant`: fold requantization and ReLU-by-clip into the compute op before them.

Expects qnn IR as the ONNX importer produces it (either layout): `qnn.conv2d` / `qnn.linear`
without requantization producing i32, followed by a `qnn.requant` over the channel axis, and
possibly a clip-only `qnn.requant` (k = 1, lambda = 0, shift = 0: ReLU or a saturation) after a
layer. Rewrites, until nothing changes:

1. conv2d/linear (no requant) whose i32 result has a single use, a `qnn.requant` along the
   channel axis (axis 1 for "nchw" conv and linear, 3 for "nhwc" conv, any axis when k and
   lambda are [1]) -> one conv2d/linear with operands `k`, `lambda` and the `requant` property,
   typed like the requant result. Constant [1] `k`/`lambda` are expanded to [Cout] constants of
   the same element type (i32 or i64), the form the back end indexes by output channel.
2. A clip-only `qnn.requant` whose input is the single-use result of a requantizing op
   (fused conv2d/linear, `qnn.requant`, `qnn.add`, `qnn.avgpool`) -> that op with clip bounds
   `[max(lo, lo2), min(hi, hi2)]` and the clip's result type. Applied only when exact: the two
   clip ranges overlap, and the producer's clip range fits the width of the clip's `k` (so
   `1*x + 0` cannot wrap).

Everything else (shared accumulators, requant along another axis, non-constant clips, ...) is
left alone. Semantics are preserved bit-exactly; `tests/test_passes.py` checks this with the
reference interpreter.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from xdsl.context import Context
from xdsl.dialects.builtin import IntegerAttr, ModuleOp, TensorType
from xdsl.ir import Attribute, Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    GreedyRewritePatternApplier,
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)
from xdsl.utils.exceptions import VerifyException

from dory_xdsl.dialects import qnn
from dory_xdsl.tensors import dense_attr


def _channel_axis(op: qnn.Conv2dOp | qnn.LinearOp) -> int:
    if isinstance(op, qnn.Conv2dOp) and op.layout.data == "nhwc":
        return 3
    return 1


def _per_channel(value: SSAValue, channels: int) -> tuple[SSAValue, list[Operation]]:
    """`value` as a [channels] tensor: a [1] constant is expanded to a new constant (returned
    as the op to insert)."""
    assert isinstance(value.type, TensorType)
    data = qnn.constant_array(value)
    if value.type.get_shape() == (channels,) or data is None:
        return value, []
    expanded = qnn.ConstantOp(dense_attr(np.full(channels, data.reshape(-1)[0], dtype=data.dtype)))
    return expanded.result, [expanded]


class FuseRequantIntoCompute(RewritePattern):
    """conv2d/linear -> requant  ==>  conv2d/linear with k, lambda and requant."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: qnn.RequantOp, rewriter: PatternRewriter) -> None:
        producer = op.input.owner
        if not isinstance(producer, qnn.Conv2dOp | qnn.LinearOp) or producer.requant is not None:
            return
        if not op.input.has_one_use():
            return
        assert isinstance(producer.weight.type, TensorType)
        cout = producer.weight.type.get_shape()[0]
        sizes = {v.type.get_shape()[0] for v in (op.k, op.lambda_)}  # type: ignore[union-attr]
        if sizes != {1} and op.axis.value.data != _channel_axis(producer):
            return
        k, k_ops = _per_channel(op.k, cout)
        lam, lam_ops = _per_channel(op.lambda_, cout)
        common = dict(bias=producer.bias, k=k, lambda_=lam, requant=op.requant)
        if isinstance(producer, qnn.Conv2dOp):
            fused: qnn.Conv2dOp | qnn.LinearOp = qnn.Conv2dOp(
                producer.input, producer.weight, op.result.type,
                strides=producer.strides.get_values(), pads=producer.pads.get_values(),
                dilations=producer.dilations.get_values(), group=producer.group.value.data,
                layout=producer.layout.data, **common,
            )
        else:
            fused = qnn.LinearOp(producer.input, producer.weight, op.result.type, **common)
        fused.attributes.update({**producer.attributes, **op.attributes})
        if not _verifies(fused):
            return
        rewriter.replace(op, [*k_ops, *lam_ops, fused])
        rewriter.erase(producer)


def _clip_bounds(op: Operation) -> tuple[int, int] | None:
    if isinstance(op, qnn.Conv2dOp | qnn.LinearOp):
        return None if op.requant is None else (op.requant.lo.data, op.requant.hi.data)
    if isinstance(op, qnn.RequantOp):
        return op.requant.lo.data, op.requant.hi.data
    if isinstance(op, qnn.AddOp | qnn.AvgPoolOp):
        lo, hi = op.properties["lo"], op.properties["hi"]
        assert isinstance(lo, IntegerAttr) and isinstance(hi, IntegerAttr)
        return lo.value.data, hi.value.data
    return None


def _with_clip(op: Operation, lo: int, hi: int, result_type: Attribute) -> Operation:
    props = dict(op.properties)
    if isinstance(op, qnn.AddOp | qnn.AvgPoolOp):
        props["lo"], props["hi"] = qnn.int_prop(lo), qnn.int_prop(hi)
    else:
        old = props["requant"]
        assert isinstance(old, qnn.RequantAttr)
        props["requant"] = qnn.RequantAttr(old.shift.data, lo, hi)
    return type(op).create(
        operands=list(op.operands), result_types=[result_type], properties=props,
        attributes=dict(op.attributes),
    )


def is_clip_only(op: qnn.RequantOp) -> bool:
    """True when `op` is `clip(x, lo, hi)`: constant k == 1, lambda == 0 and shift 0."""
    k, lam = qnn.constant_array(op.k), qnn.constant_array(op.lambda_)
    return (
        op.requant.shift.data == 0
        and k is not None and lam is not None
        and bool(np.all(k == 1)) and bool(np.all(lam == 0))
    )


class FoldClipIntoProducer(RewritePattern):
    """requantizing op -> clip-only requant  ==>  requantizing op with the intersected bounds."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: qnn.RequantOp, rewriter: PatternRewriter) -> None:
        producer = op.input.owner
        if not isinstance(producer, Operation) or not op.input.has_one_use() or not is_clip_only(op):
            return
        bounds = _clip_bounds(producer)
        if bounds is None:
            return
        lo, hi = max(bounds[0], op.requant.lo.data), min(bounds[1], op.requant.hi.data)
        assert isinstance(op.k.type, TensorType)
        kmin, kmax = qnn.int_range(op.k.type.element_type)  # type: ignore[arg-type]
        if lo > hi or bounds[0] < kmin or bounds[1] > kmax:
            return
        folded = _with_clip(producer, lo, hi, op.result.type)
        folded.attributes.update(op.attributes)
        if not _verifies(folded):
            return
        rewriter.replace(op, folded)
        rewriter.erase(producer)


def _verifies(op: Operation) -> bool:
    try:
        op.verify()
    except VerifyException:
        return False
    return True


@dataclass(frozen=True)
class QnnFuseRequantPass(ModulePass):
    """Fuse requantization and ReLU-by-clip into conv2d/linear (see the module docstring)."""

    name = "qnn-fuse-requant"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        PatternRewriteWalker(
            GreedyRewritePatternApplier([FuseRequantIntoCompute(), FoldClipIntoProducer()]),
            apply_recursively=True,
        ).rewrite_module(op)
