"""`qnn-merge-requant`: turn two consecutive requantizations into one, exactly, when possible.

A PULP-NN kernel call requantizes once: `clip((k[c]*acc + lambda[c]) >> shift)` with one shift
per layer. The importer sometimes needs two stages for one layer (the product of the NEMO scale
factors does not fit 64 bits), which no kernel can execute. Expects qnn IR after
`qnn-fuse-requant` (either layout) with constant weights, bias and requant constants, and
rewrites, until nothing changes:

1. a conv2d/linear with fused requantization whose result has a single use, a `qnn.requant`
   along the channel axis (or with [1] constants) -> one conv2d/linear whose requantization
   equals the composition on every accumulator the layer can produce;
2. a `qnn.requant` whose input is the single-use result of another `qnn.requant` (per-channel
   constants along the same axis, or [1]) -> one `qnn.requant` on the first one's input.

The composed per-channel function must be provably monotone (no stage can wrap on its input
range; `dory_xdsl.semantics.requant_fit.chain_direction`). Input ranges come from the interval analysis of
`qnn-widen-requant` (`value_ranges`); accumulator ranges from the weights and bias per output
channel (a channel whose bound leaves int32 may wrap: its whole int32 range is used). The single
stage comes from `dory_xdsl.semantics.requant_fit.fit_single_stage` (i32 constants when they suffice, else
i64, smallest shift) and is checked with its exact verifier; it keeps the second stage's clip
and result type. When no exact single stage exists, or something is not constant, the IR is
left unchanged (the back end then reports the two-stage layer).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp, TensorType
from xdsl.ir import Block, Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    GreedyRewritePatternApplier,
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)

from dory_xdsl.dialects import qnn
from dory_xdsl.errors import DoryError
from dory_xdsl.semantics.requant_fit import SingleStage, Stage, chain, chain_direction, fit_single_stage, verify_at_points
from dory_xdsl.tensors import dense_attr
from dory_xdsl.transforms.qnn_fuse_requant import _channel_axis, _verifies
from dory_xdsl.transforms.qnn_widen_requant import accumulator_bounds, value_ranges

I32_MIN, I32_MAX = -(2**31), 2**31 - 1


@dataclass(frozen=True)
class Requant:
    """The constants of one requantization; `k`, `lam` have 1 or C entries."""

    k: np.ndarray
    lam: np.ndarray
    attr: qnn.RequantAttr
    bits: int

    @property
    def channels(self) -> int:
        return max(self.k.size, self.lam.size)

    def stage(self, c: int) -> Stage:
        a = self.attr
        return Stage(int(self.k[c % self.k.size]), int(self.lam[c % self.lam.size]),
                     a.shift.data, a.lo.data, a.hi.data, self.bits)


def requant_of(k: SSAValue | None, lam: SSAValue | None, attr: qnn.RequantAttr | None) -> Requant | None:
    """The constants of a requantization, None when it has none or they are not constants."""
    if k is None or lam is None or attr is None:
        return None
    kd, ld = qnn.constant_array(k), qnn.constant_array(lam)
    if kd is None or ld is None:
        return None
    return Requant(kd.reshape(-1), ld.reshape(-1), attr, kd.dtype.itemsize * 8)


def merged_stage(first: Requant, second: Requant, ranges: Sequence[tuple[int, int]], channels: int) -> SingleStage | None:
    """One stage equal to `second(first(x))` for every x in `ranges[c]` (per channel, or one
    range for all), or None."""
    funcs, spans = [], []
    for c in range(channels):
        stages = [first.stage(c), second.stage(c)]
        span = ranges[c % len(ranges)]
        if chain_direction(stages, *span) is None:
            return None
        funcs.append(chain(stages))
        spans.append(span)
    attr = second.attr
    fit = fit_single_stage(funcs, spans, attr.lo.data, attr.hi.data)
    if fit is None:
        return None
    assert all(verify_at_points(f, fit.stage(c), *spans[c]) for c, f in enumerate(funcs))
    return fit


def _constants(fit: SingleStage) -> tuple[qnn.ConstantOp, qnn.ConstantOp]:
    """Per-channel `k`, `lambda` constants (i32 or i64) of a fitted stage."""
    dtype = np.int64 if fit.bits == 64 else np.int32
    return (qnn.ConstantOp(dense_attr(np.array(fit.k, dtype=dtype))),
            qnn.ConstantOp(dense_attr(np.array(fit.lam, dtype=dtype))))


def _clamped(low: np.ndarray, high: np.ndarray) -> list[tuple[int, int]]:
    """Per-channel accumulator ranges; a channel that may wrap can take any int32 value."""
    return [(int(a), int(b)) if a >= I32_MIN and b <= I32_MAX else (I32_MIN, I32_MAX)
            for a, b in zip(low, high)]


def _constant_layer(op: qnn.Conv2dOp | qnn.LinearOp) -> bool:
    return all(v is None or qnn.constant_array(v) is not None for v in (op.weight, op.bias))


def value_range(value: SSAValue, block: Block) -> tuple[int, int]:
    """A sound range of `value` (a value of `block`): the interval analysis of
    `qnn-widen-requant`, or its element type's range when that analysis does not apply."""
    try:
        known = value_ranges(block).get(value)
    except DoryError:  # a layer with non-constant weights: no analysis
        known = None
    return known or qnn.int_range(value.type.element_type)  # type: ignore[attr-defined]


def layer_accumulator_ranges(op: qnn.Conv2dOp | qnn.LinearOp, block: Block) -> list[tuple[int, int]]:
    """Per output channel, the accumulator range of a layer with constant weights and bias."""
    return _clamped(*accumulator_bounds(op, value_range(op.input, block)))


class MergeIntoCompute(RewritePattern):
    """conv2d/linear with requant -> qnn.requant  ==>  conv2d/linear with one requant."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: qnn.RequantOp, rewriter: PatternRewriter) -> None:
        layer = op.input.owner
        if not isinstance(layer, qnn.Conv2dOp | qnn.LinearOp) or not op.input.has_one_use():
            return
        first = requant_of(layer.k, layer.lambda_, layer.requant)
        second = requant_of(op.k, op.lambda_, op.requant)
        if first is None or second is None or not _constant_layer(layer):
            return
        if second.channels > 1 and op.axis.value.data != _channel_axis(layer):
            return
        cout = layer.weight.type.get_shape()[0]  # type: ignore[union-attr]
        fit = merged_stage(first, second, layer_accumulator_ranges(layer, op.parent_block()), cout)  # type: ignore[arg-type]
        if fit is None:
            return
        k, lam = _constants(fit)
        operands = list(layer.operands)
        operands[-2:] = [k.result, lam.result]
        props = dict(layer.properties)
        props["requant"] = qnn.RequantAttr(fit.shift, fit.lo, fit.hi)
        merged = type(layer).create(operands=operands, result_types=[op.result.type], properties=props,
                                    attributes={**layer.attributes, **op.attributes})
        if not _verifies(merged):
            return
        rewriter.replace(op, [k, lam, merged])
        rewriter.erase(layer)


def _per_channel_axis(first: qnn.RequantOp, second: qnn.RequantOp) -> int | None:
    """The axis of the merged requant: the per-channel one's (they must agree), else the first's."""
    axes = {r.axis.value.data for r in (first, second)
            if max(r.k.type.get_shape()[0], r.lambda_.type.get_shape()[0]) > 1}  # type: ignore[union-attr]
    if len(axes) > 1:
        return None
    return axes.pop() if axes else first.axis.value.data


def input_ranges(value: SSAValue, axis: int, block: Block) -> list[tuple[int, int]]:
    """Range of `value` per index of `axis` (per channel for an unfused layer's accumulator
    along its channel axis), or one range for all."""
    owner = value.owner
    if (isinstance(owner, qnn.Conv2dOp | qnn.LinearOp) and owner.requant is None
            and _constant_layer(owner) and axis == _channel_axis(owner)):
        return layer_accumulator_ranges(owner, block)
    return [value_range(value, block)]


class MergeRequants(RewritePattern):
    """qnn.requant -> qnn.requant  ==>  one qnn.requant."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: qnn.RequantOp, rewriter: PatternRewriter) -> None:
        inner = op.input.owner
        if not isinstance(inner, qnn.RequantOp) or not op.input.has_one_use():
            return
        first = requant_of(inner.k, inner.lambda_, inner.requant)
        second = requant_of(op.k, op.lambda_, op.requant)
        axis = _per_channel_axis(inner, op)
        if first is None or second is None or axis is None:
            return
        assert isinstance(op.result.type, TensorType)
        channels = max(first.channels, second.channels)
        ranges = input_ranges(inner.input, axis, op.parent_block())  # type: ignore[arg-type]
        fit = merged_stage(first, second, ranges, max(channels, len(ranges)))
        if fit is None:
            return
        k, lam = _constants(fit)
        merged = qnn.RequantOp(inner.input, k.result, lam.result,
                               qnn.RequantAttr(fit.shift, fit.lo, fit.hi), axis, op.result.type)
        merged.attributes.update({**inner.attributes, **op.attributes})
        if not _verifies(merged):
            return
        rewriter.replace(op, [k, lam, merged])
        rewriter.erase(inner)


@dataclass(frozen=True)
class QnnMergeRequantPass(ModulePass):
    """Merge two-stage requantizations into one exact stage (see the module docstring)."""

    name = "qnn-merge-requant"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        PatternRewriteWalker(
            GreedyRewritePatternApplier([MergeIntoCompute(), MergeRequants()]),
            apply_recursively=True,
        ).rewrite_module(op)
