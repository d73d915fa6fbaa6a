"""`qnn-merge-requant`: two-stage layers become one exact stage, other IR is left alone.

Random two-stage linear layers are evaluated with the reference interpreter before and after
the pass on inputs that reach every channel's accumulator bounds; NEMO's Frontnet (whose
layer 7 the importer can only express in two stages) compiles to single-stage layers that stay
bit-exact against DORY's golden outputs, in the reference interpreter and the tiled engine.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import IntegerType, ModuleOp, Signedness, TensorType
from xdsl.ir import Block, Region

from dory_xdsl.dialects import qnn
from dory_xdsl.analysis.dory_layers import layer_arrays
from dory_xdsl.golden.dory_dir import check_golden, golden_input_array, read_golden_dir
from dory_xdsl.golden.numbering import by_dory_number, dory_positions
from dory_xdsl.analysis.interpreter import evaluate, main_function
from dory_xdsl.frontend.onnx_graph import index_graph, parse_model
from dory_xdsl.frontend.onnx_import import import_onnx_bytes
from dory_xdsl.semantics.requant_fit import Stage, chain, verify_exhaustive
from dory_xdsl.tensors import dense_attr
from dory_xdsl.transforms.qnn_fuse_requant import QnnFuseRequantPass
from dory_xdsl.transforms.qnn_merge_requant import QnnMergeRequantPass, layer_accumulator_ranges
from dory_xdsl.transforms.qnn_to_nhwc import QnnToNhwcPass

UI8 = IntegerType(8, Signedness.UNSIGNED)
I32 = IntegerType(32)
FRONTNET = Path(__file__).resolve().parents[1].parent / "shared" / "models" / "dory_examples" / "Nemo" / "NAS_Frontnet"


def frontnet_dir() -> Path:
    if not FRONTNET.is_dir() and os.environ.get("CI") == "true":
        raise RuntimeError(f"{FRONTNET} is missing (required when CI=true)")
    return FRONTNET


needs_frontnet = pytest.mark.skipif(not frontnet_dir().is_dir(), reason="../shared/models is not available")


def merged(module: ModuleOp) -> ModuleOp:
    result = module.clone()
    QnnMergeRequantPass().apply(Context(), result)
    result.verify()
    return result


def standalone_requants(module: ModuleOp) -> list[qnn.RequantOp]:
    return [op for op in module.walk() if isinstance(op, qnn.RequantOp)]


@st.composite
def two_stage_linear(draw):
    """linear (requant into i32) -> requant (into ui8), and inputs reaching the accumulator
    bounds of every channel (x = 255 where w > 0 else 0, and the reverse)."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n, cout = draw(st.integers(1, 8)), draw(st.integers(1, 4))
    w = rng.integers(-128, 128, (cout, n)).astype(np.int8)
    bias = rng.integers(-5000, 5000, cout).astype(np.int32) if draw(st.booleans()) else None
    dt1 = draw(st.sampled_from([np.int32, np.int64]))
    k1 = rng.integers(1, 2000, cout).astype(dt1)
    l1 = rng.integers(-(1 << 16), 1 << 16, cout).astype(dt1)
    s1 = draw(st.integers(0, 6))
    clip1 = sorted(draw(st.lists(st.integers(-(1 << 22), 1 << 22), min_size=2, max_size=2)))
    per_channel = draw(st.booleans())
    k2 = rng.integers(1, 1 << 30, cout if per_channel else 1).astype(np.int64)
    l2 = rng.integers(-(1 << 40), 1 << 40, cout if per_channel else 1).astype(np.int64)
    s2 = draw(st.integers(20, 45))

    block = Block(arg_types=[TensorType(UI8, [2 * cout + 4, n])])
    consts = [qnn.ConstantOp(dense_attr(a)) for a in (w, k1, l1, k2, l2)]
    for c in consts:
        block.add_op(c)
    bias_value = None
    if bias is not None:
        block.add_op(b := qnn.ConstantOp(dense_attr(bias)))
        bias_value = b.result
    x = block.args[0]
    lin = qnn.LinearOp(x, consts[0].result, TensorType(I32, [2 * cout + 4, cout]), bias=bias_value,
                       k=consts[1].result, lambda_=consts[2].result, requant=qnn.RequantAttr(s1, *clip1))
    rq = qnn.RequantOp(lin.result, consts[3].result, consts[4].result, qnn.RequantAttr(s2, 0, 255), 1,
                       TensorType(UI8, [2 * cout + 4, cout]))
    block.add_ops([lin, rq, func.ReturnOp(rq.result)])
    module = ModuleOp([func.FuncOp("main", ([x.type], [rq.result.type]), Region(block))])
    extremes = np.concatenate([np.where(w > 0, 255, 0), np.where(w < 0, 255, 0)])
    inputs = np.concatenate([extremes, np.zeros((1, n)), np.full((1, n), 255), rng.integers(0, 256, (2, n))])
    return module, inputs.astype(np.uint8)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(two_stage_linear())
def test_merge_is_exact_or_leaves_the_ir_alone(case):
    module, inputs = case
    module.verify()
    after = merged(module)
    if standalone_requants(after):
        assert str(after) == str(module)
        return
    (layer,) = [op for op in after.walk() if isinstance(op, qnn.LinearOp)]
    assert layer.requant is not None and (layer.requant.lo.data, layer.requant.hi.data) == (0, 255)
    expected = evaluate(module, [inputs]).outputs[0]
    assert np.array_equal(evaluate(after, [inputs]).outputs[0], expected)


def test_nhwc_conv_with_padding_merges_along_axis_3():
    rng = np.random.default_rng(7)
    block = Block(arg_types=[TensorType(UI8, [1, 5, 5, 3])])
    w = qnn.ConstantOp(dense_attr(rng.integers(-128, 128, (4, 3, 3, 3)).astype(np.int8)))
    k1 = qnn.ConstantOp(dense_attr(np.array([1161, 264, 1551, 22], dtype=np.int64)))
    l1 = qnn.ConstantOp(dense_attr(np.array([2250473, 832721, -6972109, 151567], dtype=np.int64)))
    k2 = qnn.ConstantOp(dense_attr(np.array([3556770217, 17783851081, 3556770217, 238303604473], dtype=np.int64)))
    l2 = qnn.ConstantOp(dense_attr(np.array([0], dtype=np.int64)))
    conv = qnn.Conv2dOp(block.args[0], w.result, TensorType(I32, [1, 5, 5, 4]), pads=(1, 1, 1, 1), layout="nhwc",
                        k=k1.result, lambda_=l1.result, requant=qnn.RequantAttr(0, 2362, 40360279))
    rq = qnn.RequantOp(conv.result, k2.result, l2.result, qnn.RequantAttr(49, 0, 255), 3, TensorType(UI8, [1, 5, 5, 4]))
    block.add_ops([w, k1, l1, k2, l2, conv, rq, func.ReturnOp(rq.result)])
    module = ModuleOp([func.FuncOp("main", ([block.args[0].type], [rq.result.type]), Region(block))])
    weights = qnn.constant_array(w.result).astype(np.int64).reshape(4, -1)
    assert layer_accumulator_ranges(conv, block) == [
        (255 * int(np.minimum(row, 0).sum()), 255 * int(np.maximum(row, 0).sum())) for row in weights
    ]
    after = merged(module)
    assert not standalone_requants(after)
    (layer,) = [op for op in after.walk() if isinstance(op, qnn.Conv2dOp)]
    assert layer.layout.data == "nhwc" and layer.k.type.element_type == IntegerType(64)  # type: ignore[union-attr]
    for image in (rng.integers(0, 256, (1, 5, 5, 3)), np.zeros((1, 5, 5, 3)), np.full((1, 5, 5, 3), 255)):
        image = image.astype(np.uint8)
        assert np.array_equal(evaluate(after, [image]).outputs[0], evaluate(module, [image]).outputs[0])


def frontnet_module():
    model = frontnet_dir() / "Frontnet.onnx"
    data = model.read_bytes()
    return data, import_onnx_bytes(data, str(model))


@needs_frontnet
def test_frontnet_layer_becomes_one_exact_stage():
    _, module = frontnet_module()
    QnnFuseRequantPass().apply(Context(), module)
    (second,) = standalone_requants(module)
    layer = second.input.owner
    assert isinstance(layer, qnn.Conv2dOp)
    k1, l1, k2 = (qnn.constant_array(v) for v in (layer.k, layer.lambda_, second.k))
    ranges = layer_accumulator_ranges(layer, layer.parent_block())  # type: ignore[arg-type]
    stages = [[Stage(int(k1[c]), int(l1[c]), 0, 2362, 40360279, 64), Stage(int(k2[c]), 0, 49, 0, 255, 64)]
              for c in range(len(k1))]
    assert (layer.requant.lo.data, layer.requant.hi.data, second.requant.shift.data) == (2362, 40360279, 49)
    QnnMergeRequantPass().apply(Context(), module)
    module.verify()
    assert not standalone_requants(module)
    (fused,) = [op for op in module.walk() if isinstance(op, qnn.Conv2dOp) and op.input is layer.input]
    assert fused.requant.shift.data == 28 and fused.k.type.element_type == IntegerType(64)  # type: ignore[union-attr]
    k, lam = qnn.constant_array(fused.k), qnn.constant_array(fused.lambda_)
    for c in range(len(k1)):  # every accumulator value of every channel (about 1 s)
        got = Stage(int(k[c]), int(lam[c]), 28, 0, 255, 64)
        assert verify_exhaustive(chain(stages[c]), got, *ranges[c])


@needs_frontnet
def test_frontnet_golden_after_fuse_and_merge():
    from dory_xdsl.engines.tiled_engine import tiled_engine

    data, module = frontnet_module()
    golden = read_golden_dir(frontnet_dir())
    x, _ = golden_input_array(golden.input, tuple(main_function(module).body.block.args[0].type.get_shape()))
    for p in (QnnFuseRequantPass(), QnnMergeRequantPass()):
        p.apply(Context(), module)
    positions = dory_positions(module, index_graph(parse_model(data, "m")))
    tiled = tiled_engine(module.clone(), [x]).layers
    QnnToNhwcPass().apply(Context(), module)
    reference = layer_arrays(module, evaluate(module, [x]).values)
    for outputs in (reference, tiled):
        results = check_golden(by_dory_number(positions, outputs), golden)
        assert len(results) == 9 and [r.line() for r in results if not r.ok] == []
