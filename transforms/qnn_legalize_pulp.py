"""`qnn-legalize-pulp`: rewrite qnn ops that no single PULP-NN kernel computes into exact
sequences of ops that each map to one kernel call.

Expects fused qnn IR (after `qnn-fuse-requant`; normally also after `qnn-to-nhwc`, although the
rewrites are element-wise and hold in either layout) and runs before `qnn-tile`. Activations
are `ui8`, so every rewritten op is a function of at most 256 values per input; each rewrite is
chosen by `dory_xdsl.semantics.pulp_legalize`, which checks it on the whole input range:

1. A standalone `qnn.requant` of a `ui8` [1, H, W, C] tensor to `ui8` (per tensor, or per
   channel along axis 3) whose clip behaves as the kernels' [0, 255] on every input:
   - per tensor, when exact: `qnn.add(x, x)` with multipliers `m1 + m2 = m` and shift `d`
     (`pulp_nn_add` computes `clip8(m*x >> d)`; checked against its int16 multipliers, uint16
     truncation and 5-bit shift), the cheapest form;
   - otherwise a depthwise 1x1 `qnn.conv2d` with weight 1 per channel and the requant's own
     `k` / `lambda` (expanded to [C], same i32/i64 type) and shift: the kernels' batch-norm
     path `clip8((k*x + lambda) >> shift)` is then the requant itself.
2. A `qnn.add` that `pulp_nn_add` cannot compute (input offsets, both inputs shifted, ...):
   each input that needs it is requantized into `ui8` by a depthwise 1x1 conv (its term
   `(x*mul + add) >> shift`, plus an offset `c` / `-c` that moves both terms into [0, 255]
   without changing their sum), and a plain `qnn.add` (offsets 0) sums them; an input with no
   offset stays raw and keeps its multiplier in the final add.
Ops with no exact rewrite are left alone: the back end runs such an add with its generic C helper
(`dory_add_requant`, plain C on the same tiles) and reports why a requant has no kernel.

Layer bookkeeping: every layer op created here that is not the original layer carries the
discardable attribute `qnn.legalized`: `"input"` (it computes an operand of another layer, no
DORY layer of its own) or `"output"` (it replaces a requant that continued a layer's output, so
it now produces that layer's output). When anything was created, the module gets
`qnn.dory_layers = array<i64: ...>`: for each layer op of `@main` in program order (the
back-end layer index of `convert-qnn-to-dory`), the DORY layer number whose output it computes,
or -1 (see `dory_layer_numbers`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import DenseArrayBase, IntegerType, ModuleOp, Signedness, StringAttr, TensorType, i64
from xdsl.ir import Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    GreedyRewritePatternApplier,
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)

from dory_xdsl.dialects import qnn
from dory_xdsl.analysis.kernel_layers import LAYER_OPS, add_multipliers
from dory_xdsl.semantics.pulp_legalize import SideRequant, add_decomposition, add_form, requant_table
from dory_xdsl.tensors import dense_attr

LEGALIZED = "qnn.legalized"
DORY_LAYERS = "qnn.dory_layers"
UI8 = IntegerType(8, Signedness.UNSIGNED)


def _ui8_nhwc(value: SSAValue) -> bool:
    t = value.type
    return isinstance(t, TensorType) and t.element_type == UI8 and len(t.get_shape()) == 4 and t.get_shape()[0] == 1


def _continues_layer(value: SSAValue) -> bool:
    """True when a requant of `value` lies on a layer's output chain (see `analysis.dory_layers`):
    `value` has one use and is a layer's output or a continuation of one."""
    if not value.has_one_use() or not isinstance(value.owner, Operation):
        return False
    owner = value.owner
    if isinstance(owner, qnn.RequantOp):
        return _continues_layer(owner.input)
    return isinstance(owner, LAYER_OPS) and owner.attributes.get(LEGALIZED) != StringAttr("input")


def depthwise_requant(x: SSAValue, k: np.ndarray, lam: np.ndarray, shift: int, bits: int,
                      result_type) -> list[Operation]:
    """Ops computing `clip8((k[c]*x + lam[c]) >> shift)` as a depthwise 1x1 conv (weight 1)."""
    assert isinstance(x.type, TensorType)
    c = x.type.get_shape()[3]
    dtype = np.int64 if bits == 64 else np.int32
    w = qnn.ConstantOp(dense_attr(np.ones((c, 1, 1, 1), dtype=np.int8)))
    kc = qnn.ConstantOp(dense_attr(np.broadcast_to(np.asarray(k, dtype=dtype), (c,)).copy()))
    lc = qnn.ConstantOp(dense_attr(np.broadcast_to(np.asarray(lam, dtype=dtype), (c,)).copy()))
    conv = qnn.Conv2dOp(x, w.result, result_type, group=c, layout="nhwc", k=kc.result, lambda_=lc.result,
                        requant=qnn.RequantAttr(shift, 0, 255))
    return [w, kc, lc, conv]


def _add(lhs: SSAValue, rhs: SSAValue, result_type, params: dict[str, int]) -> qnn.AddOp:
    return qnn.AddOp(lhs, rhs, result_type, **params)


class LegalizeRequant(RewritePattern):
    """Standalone ui8 -> ui8 requant ==> `qnn.add(x, x)` or a depthwise 1x1 conv."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: qnn.RequantOp, rewriter: PatternRewriter) -> None:
        if not (_ui8_nhwc(op.input) and _ui8_nhwc(op.result)):
            return
        k, lam = qnn.constant_array(op.k), qnn.constant_array(op.lambda_)
        if k is None or lam is None:
            return
        per_tensor = k.size == 1 and lam.size == 1
        if not per_tensor and op.axis.value.data != 3:
            return
        bits = op.k.type.element_type.width.data  # type: ignore[union-attr]
        rq = op.requant
        table = requant_table(k, lam, rq.shift.data, rq.lo.data, rq.hi.data, bits)
        if not np.array_equal(table, requant_table(k, lam, rq.shift.data, 0, 255, bits)):
            return  # the clip is not the kernels' clip8 on this range
        tag = StringAttr("output" if _continues_layer(op.input) else "input")
        new: list[Operation]
        mults = add_form(table[0]) if bool(np.all(table == table[0])) else None
        if mults is not None:
            m1, m2, d = mults
            new = [_add(op.input, op.input, op.result.type,
                        dict(mul_a=m1, add_a=0, shift_a=0, mul_b=m2, add_b=0, shift_b=0, shift=d, lo=0, hi=255))]
        else:
            new = depthwise_requant(op.input, k, lam, rq.shift.data, bits, op.result.type)
        new[-1].attributes.update({**op.attributes, LEGALIZED: tag})
        rewriter.replace(op, new)
        _erase_unused_constants(rewriter, (op.k, op.lambda_))


class LegalizeAdd(RewritePattern):
    """`qnn.add` with no `pulp_nn_add` form ==> requantized inputs + a plain `qnn.add`."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: qnn.AddOp, rewriter: PatternRewriter) -> None:
        if not all(_ui8_nhwc(v) for v in (op.lhs, op.rhs, op.result)):
            return
        if not isinstance(add_multipliers(op), str):
            return
        plan = add_decomposition({name: op.param(name) for name in qnn.AddOp.PARAMS})
        if plan is None:
            return
        new: list[Operation] = []
        operands = []
        for value, side, suffix in ((op.lhs, plan.lhs, "lhs"), (op.rhs, plan.rhs, "rhs")):
            if side is None:
                operands.append(value)
                continue
            ops = _side_ops(value, side, op.result.type)
            ops[-1].attributes[LEGALIZED] = StringAttr("input")
            hint = op.result.name_hint
            ops[-1].results[0].name_hint = f"{hint}_{suffix}" if hint else None
            new.extend(ops)
            operands.append(ops[-1].results[0])
        final = _add(operands[0], operands[1], op.result.type, plan.final)
        final.attributes.update(op.attributes)
        rewriter.replace(op, [*new, final])


def _erase_unused_constants(rewriter: PatternRewriter, values) -> None:
    for value in values:
        if isinstance(value.owner, qnn.ConstantOp) and not value.uses:
            rewriter.erase(value.owner)


def _side_ops(value: SSAValue, side: SideRequant, result_type) -> list[Operation]:
    return depthwise_requant(value, np.array([side.k]), np.array([side.lam]), side.shift, side.bits, result_type)


def dory_layer_numbers(main: func.FuncOp) -> list[int]:
    """For each layer op of `main` in program order, the DORY layer whose output it computes
    (numbered as `analysis.dory_layers` numbers the IR before legalization), or -1.

    Untagged layer ops are DORY layers, in order; `"input"` ops are none; an `"output"` op takes
    over the number of the layer whose output it continues (that layer's op then gets -1)."""
    numbers: list[int] = []
    index: dict[Operation, int] = {}
    count = 0
    for op in main.body.block.ops:
        if not isinstance(op, LAYER_OPS):
            continue
        tag = op.attributes.get(LEGALIZED)
        if tag is None:
            numbers.append(count)
            count += 1
        elif tag == StringAttr("input"):
            numbers.append(-1)
        else:
            source = op.operands[0].owner
            while isinstance(source, qnn.RequantOp):
                source = source.input.owner
            j = index[source]  # type: ignore[index]
            numbers.append(numbers[j])
            numbers[j] = -1
        index[op] = len(numbers) - 1
    return numbers


@dataclass(frozen=True)
class QnnLegalizePulpPass(ModulePass):
    """Rewrite requants and adds without a PULP-NN kernel into exact kernel sequences (see the
    module docstring)."""

    name = "qnn-legalize-pulp"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        PatternRewriteWalker(
            GreedyRewritePatternApplier([LegalizeRequant(), LegalizeAdd()]),
            apply_recursively=False,
        ).rewrite_module(op)
        for f in op.ops:
            if isinstance(f, func.FuncOp) and f.sym_name.data == "main":
                if any(LEGALIZED in o.attributes for o in f.body.block.ops):
                    op.attributes[DORY_LAYERS] = DenseArrayBase.from_list(i64, dory_layer_numbers(f))


def lowered_layer_of(module: ModuleOp, lowered_count: int) -> dict[int, int]:
    """DORY (golden) layer number -> index of the lowered layer that produces it.

    The identity when this pass inserted no helper layers; otherwise read from `qnn.dory_layers`
    (helper layers, numbered -1 there, produce no golden layer).
    """
    numbers = module.attributes.get(DORY_LAYERS)
    if not isinstance(numbers, DenseArrayBase):
        return {i: i for i in range(lowered_count)}
    return {n: i for i, n in enumerate(numbers.get_values()) if n >= 0 and i < lowered_count}

