"""Malformed, unsupported or too-large ONNX models for the bad-input corpus (`bad_input_corpus`).

Each builder returns `(model_or_bytes, names)`: the model (an `onnx.ModelProto`, or raw bytes for
files that are not a model at all) and the texts the one-line diagnostic must contain (the node,
the tensor or what is wrong). Every model starts from a graph that imports and runs
(`make_graph.conv_requant`, `quantlab_chain`, ...) and breaks one thing.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from onnx_graphs import make_graph

GB = make_graph.GraphBuilder


def _node(model: onnx.ModelProto, op_type: str) -> onnx.NodeProto:
    return next(n for n in model.graph.node if n.op_type == op_type)


def _init(model: onnx.ModelProto, name: str) -> onnx.TensorProto:
    return next(i for i in model.graph.initializer if i.name == name)


def _set_init(model: onnx.ModelProto, name: str, array: np.ndarray) -> None:
    _init(model, name).CopyFrom(numpy_helper.from_array(array, name))


def _const_of(model: onnx.ModelProto, tensor: str) -> onnx.NodeProto:
    return next(n for n in model.graph.node if n.output and n.output[0] == tensor)


def _cr() -> onnx.ModelProto:
    return make_graph.conv_requant()


def _set_attr(node: onnx.NodeProto, name: str, value) -> None:
    kept = [a for a in node.attribute if a.name != name]
    del node.attribute[:]
    node.attribute.extend(kept + [helper.make_attribute(name, value)])


# --- files that are not (valid) models --------------------------------------------------------

def truncated():
    data = _cr().SerializeToString()
    return data[: len(data) // 2], ["not a valid ONNX model"]


def empty_file():
    return b"", ["not a valid ONNX model"]


def garbage_bytes():
    return bytes(range(256)) * 4, ["not a valid ONNX model"]


def text_file():
    return b"this is not a model\n", ["not a valid ONNX model"]


def only_ff_bytes():
    return b"\xff" * 64, ["not a valid ONNX model"]


# --- model-level problems ---------------------------------------------------------------------

def no_outputs():
    m = _cr()
    del m.graph.output[:]
    return m, ["no outputs"]


def no_nodes():
    m = _cr()
    del m.graph.node[:]
    return m, ["no graph nodes"]


def opset_99():
    m = _cr()
    m.opset_import[0].version = 99
    return m, ["opset 99"]


def ir_version_99():
    m = _cr()
    m.ir_version = 99
    return m, ["ir_version 99"]


def opset_0():
    m = _cr()
    m.opset_import[0].version = 0
    return m, ["opset 0"]


def _input_type(elem: int, label: str):
    def build():
        m = _cr()
        m.graph.input[0].type.tensor_type.elem_type = elem
        return m, ["graph input 'x'", label]
    build.__name__ = f"input_{label.lower()}"
    return build


input_int32 = _input_type(TensorProto.INT32, "INT32")
input_double = _input_type(TensorProto.DOUBLE, "DOUBLE")
input_string = _input_type(TensorProto.STRING, "STRING")
input_float16 = _input_type(TensorProto.FLOAT16, "FLOAT16")
input_bool = _input_type(TensorProto.BOOL, "BOOL")
input_int64 = _input_type(TensorProto.INT64, "INT64")


def missing_external_data():
    m = _cr()
    w = _init(m, _node(m, "Conv").input[1])
    w.ClearField("raw_data")
    del w.float_data[:]
    w.data_location = TensorProto.EXTERNAL
    entry = w.external_data.add()
    entry.key, entry.value = "location", "missing_weights.bin"
    return m, ["missing_weights.bin"]


def external_data_escaping():
    m = _cr()
    w = _init(m, _node(m, "Conv").input[1])
    w.ClearField("raw_data")
    del w.float_data[:]
    w.data_location = TensorProto.EXTERNAL
    entry = w.external_data.add()
    entry.key, entry.value = "location", "../../../../etc/passwd"
    return m, ["passwd"]


def sparse_initializer():
    m = _cr()
    name = _node(m, "Conv").input[1]
    dense = numpy_helper.to_array(_init(m, name))
    m.graph.initializer.remove(_init(m, name))
    flat = dense.reshape(-1)
    idx = np.flatnonzero(flat).astype(np.int64)
    values = numpy_helper.from_array(flat[idx].astype(np.float32), name)
    indices = numpy_helper.from_array(idx, name + "_idx")
    m.graph.sparse_initializer.append(helper.make_sparse_tensor(values, indices, list(dense.shape)))
    return m, [name, "sparse"]


def duplicate_initializer():
    m = _cr()
    name = _node(m, "Conv").input[1]
    m.graph.initializer.append(numpy_helper.from_array(np.zeros((1,), np.float32), name))
    return m, [name, "initializer"]


def duplicate_output_name():
    m = _cr()
    nodes = list(m.graph.node)
    nodes[2].output[0] = nodes[1].output[0]
    return m, ["produced twice"]


def output_not_produced():
    m = _cr()
    m.graph.output[0].name = "nowhere"
    return m, ["'nowhere'"]


def dynamic_batch():
    m = _cr()
    m.graph.input[0].type.tensor_type.shape.dim[0].dim_param = "N"
    return m, ["graph input 'x'", "dynamic"]


def zero_dim_input():
    m = _cr()
    m.graph.input[0].type.tensor_type.shape.dim[2].dim_value = 0
    return m, ["graph input 'x'"]


def rank5_input():
    m = _cr()
    m.graph.input[0].CopyFrom(helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 3, 8, 8]))
    return m, ["x", "rank"]


def no_input_shape():
    m = _cr()
    m.graph.input[0].type.tensor_type.ClearField("shape")
    return m, ["graph input 'x'"]


def unknown_op():
    m = _cr()
    _node(m, "Cast").op_type = "Foo"
    return m, ["Foo node", "unsupported op type 'Foo'"]


def custom_domain():
    m = _cr()
    _node(m, "Conv").domain = "com.example"
    m.opset_import.append(helper.make_opsetid("com.example", 1))
    return m, ["Conv node 'Conv_0'", "com.example"]


def empty_op_type():
    m = _cr()
    _node(m, "Cast").op_type = ""
    return m, ["node"]


def cycle():
    m = _cr()
    _node(m, "Conv").input[0] = _node(m, "Clip").output[0]
    return m, ["cycle"]


def missing_initializer():
    m = _cr()
    name = _node(m, "Conv").input[1]
    m.graph.initializer.remove(_init(m, name))
    return m, ["Conv node 'Conv_0'", f"'{name}'"]


# --- layer problems ---------------------------------------------------------------------------

def float_weights():
    m = _cr()
    _set_init(m, _node(m, "Conv").input[1], np.full((4, 3, 3, 3), 0.5, np.float32))
    return m, ["Conv node 'Conv_0'", "non-integer"]


def nan_weights():
    m = _cr()
    _set_init(m, _node(m, "Conv").input[1], np.full((4, 3, 3, 3), np.nan, np.float32))
    return m, ["Conv node 'Conv_0'"]


def inf_weights():
    m = _cr()
    _set_init(m, _node(m, "Conv").input[1], np.full((4, 3, 3, 3), np.inf, np.float32))
    return m, ["Conv node 'Conv_0'"]


def weights_out_of_int8():
    m = _cr()
    _set_init(m, _node(m, "Conv").input[1], np.full((4, 3, 3, 3), 300.0, np.float32))
    return m, ["Conv node 'Conv_0'", "int8"]


def weight_channels_mismatch():
    m = _cr()
    _set_init(m, _node(m, "Conv").input[1], np.ones((4, 2, 3, 3), np.float32))
    return m, ["Conv node 'Conv_0'"]


def kernel_larger_than_input():
    b = GB()
    y = b.nemo_requant(b.conv("x", 3, 4, k=(9, 9), pads=(0, 0, 0, 0)), 4)
    return b.model([("x", [1, 3, 8, 8])], [y]), ["Conv node 'Conv_0'", "kernel"]


def conv_stride_zero():
    m = _cr()
    _set_attr(_node(m, "Conv"), "strides", [0, 0])
    return m, ["Conv node 'Conv_0'", "stride"]


def conv_negative_pads():
    m = _cr()
    _set_attr(_node(m, "Conv"), "pads", [-1, -1, -1, -1])
    return m, ["Conv node 'Conv_0'", "pad"]


def conv_dilation_zero():
    m = _cr()
    _set_attr(_node(m, "Conv"), "dilations", [0, 0])
    return m, ["Conv node 'Conv_0'", "dilation"]


def conv_group_not_dividing():
    m = _cr()
    _set_attr(_node(m, "Conv"), "group", 2)
    return m, ["Conv node 'Conv_0'", "group"]


def conv_auto_pad_same():
    m = _cr()
    conv = _node(m, "Conv")
    del conv.attribute[:]
    conv.attribute.extend([helper.make_attribute("auto_pad", "SAME_UPPER"),
                           helper.make_attribute("kernel_shape", [3, 3])])
    return m, ["Conv node 'Conv_0'", "auto_pad"]


def conv_kernel_shape_mismatch():
    m = _cr()
    _set_attr(_node(m, "Conv"), "kernel_shape", [5, 5])
    return m, ["Conv node 'Conv_0'"]


def conv_no_weight():
    m = _cr()
    conv = _node(m, "Conv")
    del conv.input[1:]
    return m, ["Conv node 'Conv_0'"]


def maxpool_kernel_zero():
    m = make_graph.quantlab_chain()
    _set_attr(_node(m, "MaxPool"), "kernel_shape", [0, 0])
    return m, ["MaxPool node", "kernel"]


def maxpool_kernel_too_large():
    m = make_graph.quantlab_chain()
    _set_attr(_node(m, "MaxPool"), "kernel_shape", [9, 9])
    return m, ["MaxPool node", "window 9x9"]


def maxpool_stride_zero():
    m = make_graph.quantlab_chain()
    _set_attr(_node(m, "MaxPool"), "strides", [0, 0])
    return m, ["MaxPool node", "stride"]


def concat_mismatched():
    b = GB()
    a = b.nemo_requant(b.conv("x", 3, 4), 4)
    c = b.nemo_requant(b.conv("x", 3, 4, pads=(0, 0, 0, 0)), 4)
    y = b.op("Concat", [a, c], axis=1)
    return b.model([("x", [1, 3, 8, 8])], [y]), ["Concat node", "[1, 4, 6, 6]"]


def concat_axis_out_of_range():
    b = GB()
    a = b.nemo_requant(b.conv("x", 3, 4), 4)
    c = b.nemo_requant(b.conv("x", 3, 4), 4)
    y = b.op("Concat", [a, c], axis=7)
    return b.model([("x", [1, 3, 8, 8])], [y]), ["Concat node", "axis"]


def div_by_zero():
    m = _cr()
    div = _node(m, "Div")
    _const_of(m, div.input[1]).attribute[0].t.CopyFrom(numpy_helper.from_array(np.array(0, np.int64)))
    return m, ["Div node", "division by 0"]


def div_not_integer():
    m = make_graph.quantlab_chain()
    div = _node(m, "Div")
    _const_of(m, div.input[1]).attribute[0].t.CopyFrom(numpy_helper.from_array(np.array(1000.5, np.float32)))
    return m, ["Div node", "non-integer"]


def div_without_floor():
    m = make_graph.quantlab_chain()
    floor, clip = _node(m, "Floor"), _node(m, "Clip")
    clip.input[0] = floor.input[0]
    m.graph.node.remove(floor)
    return m, ["Clip node", "not integer-valued"]


def clip_not_8_bit():
    m = _cr()
    clip = _node(m, "Clip")
    del clip.attribute[:]
    clip.attribute.extend([helper.make_attribute("min", 0.0), helper.make_attribute("max", 1023.0)])
    return m, ["Clip node", "[0, 1023]"]


def clip_empty_range():
    m = _cr()
    clip = _node(m, "Clip")
    del clip.attribute[:]
    clip.attribute.extend([helper.make_attribute("min", 200.0), helper.make_attribute("max", 10.0)])
    return m, ["Clip node"]


def mul_of_two_tensors():
    m = _cr()
    mul = _node(m, "Mul")
    mul.input[0] = mul.input[1]
    return m, ["Mul node", "constant"]


def requant_scale_wrong_shape():
    m = _cr()
    mul = _node(m, "Mul")
    _set_init(m, mul.input[0], np.ones((1, 3, 1, 1), np.float32))
    return m, ["Mul node"]


def reflect_pad():
    m = make_graph.pad_dw_gemm_sigmoid()
    pad = _node(m, "Pad")
    for a in pad.attribute:
        if a.name == "mode":
            a.s = b"reflect"
    return m, ["Pad node 'Pad_0'", "reflect"]


def gemm_shape_mismatch():
    m = make_graph.pad_dw_gemm_sigmoid()
    gemm = _node(m, "Gemm")
    _set_init(m, gemm.input[1], np.ones((3, 100), np.float32))
    return m, ["Gemm node"]


def flatten_axis_out_of_range():
    m = make_graph.pad_dw_gemm_sigmoid()
    _set_attr(_node(m, "Flatten"), "axis", 9)
    return m, ["Flatten node"]


def reshape_bad_shape():
    b = GB()
    y = b.nemo_requant(b.conv("x", 3, 4), 4)
    y = b.op("Reshape", [y, b.const(np.array([1, 7, 7], np.int64), np.int64)])
    return b.model([("x", [1, 3, 8, 8])], [y]), ["Reshape node"]


def gather_out_of_range():
    b = GB()
    y = b.op("MatMul", [b.op("Flatten", ["x"], axis=1), b.weights((16, 3))])
    g = b.op("Unsqueeze", [b.op("Gather", [y, b.constant_node(7)], axis=1)], axes=[1])
    return b.model([("x", [1, 1, 4, 4])], [g]), ["Gather node"]


def softmax_in_middle():
    b = GB()
    y = b.nemo_requant(b.conv("x", 3, 4), 4)
    y = b.op("Softmax", [y], axis=1)
    y = b.nemo_requant(b.conv(y, 4, 4), 4)
    return b.model([("x", [1, 3, 8, 8])], [y]), ["Softmax node 'Softmax_", "Conv node"]


def sigmoid_in_middle():
    b = GB()
    y = b.nemo_requant(b.conv("x", 3, 4), 4)
    y = b.op("Sigmoid", [y])
    y = b.op("MaxPool", [y], kernel_shape=[2, 2], strides=[2, 2])
    y = b.nemo_requant(b.conv(y, 4, 2), 2)
    return b.model([("x", [1, 3, 8, 8])], [y]), ["Sigmoid node 'Sigmoid_"]


def trailing_sigmoid():
    """Valid for `dory-opt` (the tail is recorded); `dory run`/`compile` want --drop-float-tail."""
    b = GB()
    y = b.nemo_requant(b.conv("x", 3, 4), 4)
    return b.model([("x", [1, 3, 8, 8])], [b.op("Sigmoid", [y])]), ["Sigmoid node", "--drop-float-tail"]


def weights_beyond_l3():
    """A Gemm whose int8 weights (2,100 x 4,096 = 8,601,600 B) exceed the 8 MiB L3."""
    b = GB()
    w = b.const(np.ones((2100, 4096), np.int8), np.int8)
    y = b.op("Gemm", [b.op("Flatten", ["x"], axis=1), w], transB=1)
    return b.model([("x", [1, 16, 16, 16])], [y]), ["qnn.linear", "L3"]


FILE_BUILDERS = [truncated, empty_file, garbage_bytes, text_file, only_ff_bytes]
"""Not models at all: every entry point must name the file."""

MODEL_BUILDERS = [
    no_outputs, no_nodes, opset_99, ir_version_99, opset_0, input_int32, input_double, input_string,
    input_float16, input_bool, input_int64, missing_external_data, external_data_escaping, sparse_initializer,
    duplicate_initializer, duplicate_output_name, output_not_produced, dynamic_batch, zero_dim_input,
    rank5_input, no_input_shape, unknown_op, custom_domain, empty_op_type, cycle, missing_initializer,
    float_weights, nan_weights, inf_weights, weights_out_of_int8, weight_channels_mismatch,
    kernel_larger_than_input, conv_stride_zero, conv_negative_pads, conv_dilation_zero,
    conv_group_not_dividing, conv_auto_pad_same, conv_kernel_shape_mismatch, conv_no_weight,
    maxpool_kernel_zero, maxpool_kernel_too_large, maxpool_stride_zero, concat_mismatched,
    concat_axis_out_of_range, div_by_zero, div_not_integer, div_without_floor, clip_not_8_bit,
    clip_empty_range, mul_of_two_tensors, requant_scale_wrong_shape, reflect_pad, gemm_shape_mismatch,
    flatten_axis_out_of_range, reshape_bad_shape, gather_out_of_range, softmax_in_middle, sigmoid_in_middle,
]
"""Bad for every entry point (`dory run`, `dory compile`, `dory-opt`)."""

LOWERING_ONLY = [trailing_sigmoid, weights_beyond_l3]
"""Import fine (`dory-opt` accepts them); `dory compile` and the lowering engines refuse them."""
