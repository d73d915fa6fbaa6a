"""Small QDQ graphs (as tf2onnx writes TFLite models) for the FileCheck tests of the QDQ import.

Usage: make_qdq.py NAME OUT.onnx. Deterministic (fixed seeds)."""

from __future__ import annotations

import sys

import numpy as np
import onnx
from onnx import TensorProto as T
from onnx import helper as h
from onnx import numpy_helper as nh


def scalar(name, value, dtype):
    return nh.from_array(np.array(value, dtype=dtype), name)


def tflite_net(middle_op: str | None = None) -> onnx.ModelProto:
    """int8 NHWC input -> Transpose -> DQ -> Conv(+bias, per-channel) -> Relu -> Q -> DQ ->
    global AveragePool -> Q -> Reshape -> DQ -> MatMul -> Add(bias) -> Q -> DQ -> Softmax -> Q."""
    rng = np.random.default_rng(7)
    w = rng.integers(-127, 128, (4, 2, 3, 3)).astype(np.int8)
    ws = np.array([0.01, 0.02, 0.005, 0.03], np.float32)
    fc = rng.integers(-127, 128, (4, 3)).astype(np.int8)
    inits = [
        nh.from_array(w, "w"), nh.from_array(ws, "ws"), nh.from_array(np.zeros(4, np.int8), "wz"),
        nh.from_array((np.arange(4) * 100 - 150).astype(np.int32), "b"),
        nh.from_array((ws * np.float32(0.05)).astype(np.float32), "bs"), nh.from_array(np.zeros(4, np.int32), "bz"),
        scalar("xs", 0.05, np.float32), scalar("xz", -128, np.int8),
        scalar("cs", 0.1, np.float32), scalar("cz", -128, np.int8),
        nh.from_array(fc, "fc"), scalar("fcs", 0.02, np.float32), scalar("fcz", 0, np.int8),
        nh.from_array(np.array([10, -20, 30], np.int32), "fb"), scalar("fbs", np.float32(0.1) * np.float32(0.02), np.float32),
        scalar("fbz", 0, np.int32), scalar("ls", 0.15, np.float32), scalar("lz", 5, np.int8),
        scalar("ss", 1 / 256, np.float32), nh.from_array(np.array([1, 4], np.int64), "shape"),
    ]
    nodes = [
        h.make_node("Transpose", ["x"], ["xt"], perm=[0, 3, 1, 2]),
        h.make_node("DequantizeLinear", ["xt", "xs", "xz"], ["xd"]),
        h.make_node("DequantizeLinear", ["w", "ws", "wz"], ["wd"], axis=0),
        h.make_node("DequantizeLinear", ["b", "bs", "bz"], ["bd"], axis=0),
        h.make_node("Conv", ["xd", "wd", "bd"], ["c"], pads=[1, 1, 1, 1], name="conv"),
    ]
    last = "c"
    if middle_op:
        nodes.append(h.make_node(middle_op, ["c"], ["m"], name="middle"))
        last = "m"
    nodes += [
        h.make_node("Relu", [last], ["r"]),
        h.make_node("QuantizeLinear", ["r", "cs", "cz"], ["cq"]),
        h.make_node("DequantizeLinear", ["cq", "cs", "cz"], ["cd"]),
        h.make_node("AveragePool", ["cd"], ["p"], kernel_shape=[4, 4], strides=[4, 4]),
        h.make_node("QuantizeLinear", ["p", "cs", "cz"], ["pq"]),
        h.make_node("Reshape", ["pq", "shape"], ["f"]),
        h.make_node("DequantizeLinear", ["f", "cs", "cz"], ["fd"]),
        h.make_node("DequantizeLinear", ["fc", "fcs", "fcz"], ["fcd"]),
        h.make_node("DequantizeLinear", ["fb", "fbs", "fbz"], ["fbd"]),
        h.make_node("MatMul", ["fd", "fcd"], ["mm"]),
        h.make_node("Add", ["mm", "fbd"], ["logit"]),
        h.make_node("QuantizeLinear", ["logit", "ls", "lz"], ["lq"]),
        h.make_node("DequantizeLinear", ["lq", "ls", "lz"], ["ld"]),
        h.make_node("Softmax", ["ld"], ["sm"], name="softmax"),
        h.make_node("QuantizeLinear", ["sm", "ss", "cz"], ["out"]),
    ]
    graph = h.make_graph(nodes, "tflite_net", [h.make_tensor_value_info("x", T.INT8, [1, 4, 4, 2])],
                         [h.make_tensor_value_info("out", T.INT8, [1, 3])], inits)
    return h.make_model(graph, opset_imports=[h.make_opsetid("", 13)])


GRAPHS = {
    "tflite_net": tflite_net,
    "float_op": lambda: tflite_net("Sigmoid"),
}

if __name__ == "__main__":
    onnx.save(GRAPHS[sys.argv[1]](), sys.argv[2])
