"""Malformed or unsupported ONNX inputs: `dory-opt model.onnx` prints exactly one line on stderr
naming the node (or input/file) and what is wrong, exits non-zero, and never shows a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from onnx_graphs import make_graph


def _conv_requant() -> onnx.ModelProto:
    return make_graph.conv_requant()


def _node(model: onnx.ModelProto, op_type: str) -> onnx.NodeProto:
    return next(n for n in model.graph.node if n.op_type == op_type)


def _set_init(model: onnx.ModelProto, name: str, array: np.ndarray) -> None:
    for i, init in enumerate(model.graph.initializer):
        if init.name == name:
            model.graph.initializer[i].CopyFrom(numpy_helper.from_array(array, name))


def truncated() -> bytes:
    data = _conv_requant().SerializeToString()
    return data[: len(data) // 2]


def float_weights():
    m = _conv_requant()
    w = _node(m, "Conv").input[1]
    _set_init(m, w, np.full((4, 3, 3, 3), 0.5, np.float32))
    return m, ["Conv node 'Conv_0'", "non-integer"]


def weights_out_of_int8():
    m = _conv_requant()
    _set_init(m, _node(m, "Conv").input[1], np.full((4, 3, 3, 3), 300.0, np.float32))
    return m, ["Conv node 'Conv_0'", "int8"]


def unknown_op():
    m = _conv_requant()
    _node(m, "Cast").op_type = "Foo"
    return m, ["Foo node 'Cast_3'", "unsupported op type 'Foo'"]


def div_not_integer():
    m = make_graph.quantlab_chain()
    div = _node(m, "Div")
    const = next(n for n in m.graph.node if n.output[0] == div.input[1])
    const.attribute[0].t.CopyFrom(numpy_helper.from_array(np.array(1000.5, np.float32)))
    return m, ["Div node 'Div_", "non-integer"]


def div_by_zero():
    m = _conv_requant()
    div = _node(m, "Div")
    const = next(n for n in m.graph.node if n.output[0] == div.input[1])
    const.attribute[0].t.CopyFrom(numpy_helper.from_array(np.array(0, np.int64)))
    return m, ["Div node 'Div_", "division by 0"]


def div_without_floor():
    # Quantlab chain with the Floor removed: the real-valued quotient reaches the Clip.
    m = make_graph.quantlab_chain()
    floor = _node(m, "Floor")
    clip = _node(m, "Clip")
    clip.input[0] = floor.input[0]
    m.graph.node.remove(floor)
    return m, ["Clip node 'Clip_", "not integer-valued"]


def dynamic_shape():
    m = _conv_requant()
    m.graph.input[0].type.tensor_type.shape.dim[0].dim_param = "N"
    return m, ["graph input 'x'", "dynamic"]


def missing_initializer():
    m = _conv_requant()
    name = _node(m, "Conv").input[1]
    m.graph.initializer.remove(next(i for i in m.graph.initializer if i.name == name))
    return m, ["Conv node 'Conv_0'", f"'{name}' is not defined"]


def auto_pad_same():
    m = _conv_requant()
    conv = _node(m, "Conv")
    del conv.attribute[:]
    conv.attribute.extend([helper.make_attribute("auto_pad", "SAME_UPPER"), helper.make_attribute("kernel_shape", [3, 3])])
    return m, ["Conv node 'Conv_0'", "auto_pad 'SAME_UPPER'"]


def clip_not_8_bit():
    m = _conv_requant()
    clip = _node(m, "Clip")
    del clip.attribute[:]
    clip.attribute.extend([helper.make_attribute("min", 0.0), helper.make_attribute("max", 1023.0)])
    return m, ["Clip node 'Clip_", "[0, 1023] is not an 8-bit range"]


def wrong_rank_input():
    m = _conv_requant()
    m.graph.input[0].CopyFrom(helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 3, 8, 8]))
    return m, ["x", "rank"]


def cycle():
    m = _conv_requant()
    conv = _node(m, "Conv")
    conv.input[0] = _node(m, "Clip").output[0]
    return m, ["Conv node 'Conv_0'", "cycle"]


def mul_of_two_tensors():
    m = _conv_requant()
    mul = _node(m, "Mul")
    mul.input[0] = mul.input[1]
    return m, ["Mul node 'Mul_", "one operand must be constant"]


def reflect_pad():
    m = make_graph.pad_dw_gemm_sigmoid()
    pad = _node(m, "Pad")
    for a in pad.attribute:
        if a.name == "mode":
            a.s = b"reflect"
    return m, ["Pad node 'Pad_0'", "reflect"]


CASES = [float_weights, weights_out_of_int8, unknown_op, div_not_integer, div_by_zero, div_without_floor,
         dynamic_shape, missing_initializer, auto_pad_same, clip_not_8_bit, wrong_rank_input, cycle,
         mul_of_two_tensors, reflect_pad]


def _run(tmp_path: Path, data: bytes) -> subprocess.CompletedProcess:
    path = tmp_path / "model.onnx"
    path.write_bytes(data)
    exe = Path(sys.executable).with_name("dory-opt")
    return subprocess.run([str(exe), str(path)], capture_output=True, text=True, timeout=60)


def _assert_one_line_error(result: subprocess.CompletedProcess, expected: list[str]) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("dory-opt: error: "), lines[0]
    for text in expected:
        assert text in lines[0], f"{text!r} not in {lines[0]!r}"
    assert result.stdout == ""


@pytest.mark.parametrize("case", CASES, ids=[c.__name__ for c in CASES])
def test_bad_onnx_gives_one_line_diagnostic(tmp_path, case):
    model, expected = case()
    _assert_one_line_error(_run(tmp_path, model.SerializeToString()), expected)


def test_truncated_file(tmp_path):
    result = _run(tmp_path, truncated())
    _assert_one_line_error(result, ["model.onnx", "not a valid ONNX model"])


def test_valid_graph_still_imports(tmp_path):
    """The cases above start from this graph: unmodified, it imports fine."""
    result = _run(tmp_path, _conv_requant().SerializeToString())
    assert result.returncode == 0, result.stderr
    assert "qnn.requant" in result.stdout
