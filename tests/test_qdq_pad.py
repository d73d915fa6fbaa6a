"""QDQ graphs with explicit `Pad` nodes (tf2onnx's export of TFLite convolutions that pad
asymmetrically or explicitly), int8 and uint8: bit-exact against TFLite Micro's integer
arithmetic (`qdq_oracle`) on every engine; pads with the zero point fold into the conv, others
are a `qnn.concat` of their own."""

from __future__ import annotations

import numpy as np
import pytest
import qdq_oracle
from qdq_pad_graphs import inputs, padded_convs

from dory_xdsl.dialects import qnn
from dory_xdsl.engines.registry import prepare_engine
from dory_xdsl.golden.npz import offsets
from dory_xdsl.analysis.interpreter import main_function
from dory_xdsl.frontend.onnx_import import import_onnx_bytes

SIGNED = {"int8": True, "uint8": False}


@pytest.fixture(scope="module", params=sorted(SIGNED))
def graph(request):
    model = padded_convs(SIGNED[request.param])
    out = model.graph.output[0].name
    cases = [(x, qdq_oracle.run(model, {"x": x})[out]) for x in inputs(model)]
    return model, cases


@pytest.mark.parametrize("engine", ["reference", "tiled", "host"])
def test_padded_qdq_graph_is_bit_exact_on_every_engine(graph, engine):
    model, cases = graph
    module = import_onnx_bytes(model.SerializeToString(), "padded.onnx")
    in_offset, out_offset = offsets(module)
    run = prepare_engine(engine, module)
    for x, expected in cases:
        assert len(np.unique(expected)) >= 4  # spread outputs: a test that can fail
        ours = run([x + in_offset]).outputs[0].astype(np.int64) - out_offset
        np.testing.assert_array_equal(ours, expected)


def test_zero_point_pads_fold_into_the_conv_and_others_are_concats(graph):
    model, _ = graph
    main = main_function(import_onnx_bytes(model.SerializeToString(), "padded.onnx"))
    convs = [op for op in main.body.block.ops if isinstance(op, qnn.Conv2dOp)]
    # The depthwise conv's input Pad (the zero point, 0 in the IR domain): the conv pads itself.
    depthwise = next(op for op in convs if op.group.value.data == 8)
    assert list(depthwise.pads.get_values()) == [1, 1, 1, 1]
    assert isinstance(depthwise.input.owner, qnn.RequantOp)
    # The third conv's input Pad (zero point + 37): blocks of 37 concatenated (a layer of its
    # own), then the conv's own asymmetric padding (a column on the right, with the zero point).
    third = next(op for op in convs if op.result.type.get_shape()[1] == 6)
    assert list(third.pads.get_values()) == [0, 0, 0, 1]
    assert tuple(third.input.type.get_shape()) == (1, 8, 9, 7)
    assert isinstance(third.input.owner, qnn.ConcatOp)
    # Blocks: the first conv's zero point 123 (its folded Pad and its own padding, explicit since
    # the kernels pad with 0), 37 (third conv) and zero point - 20 = 103 (the Pad before MaxPool).
    fills = {int(op.value.get_values()[0]) for op in main.body.block.ops
             if isinstance(op, qnn.ConstantOp) and any(isinstance(u.operation, qnn.ConcatOp) for u in op.result.uses)}
    assert fills == {123, 37, 103}
