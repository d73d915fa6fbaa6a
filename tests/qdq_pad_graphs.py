"""QDQ graphs with explicit `Pad` nodes before convolutions, as tf2onnx exports TFLite models
whose convolutions pad asymmetrically or explicitly (issue 13, class 9), int8 or uint8.

    x (float) -> Q -> DQ -> Pad(float 0.0, bottom/right) -> Q -> DQ -> Conv 3x3 s2 + bias -> Relu -> Q
      -> Pad(quantized, the zero point, all sides)  -> DQ -> depthwise Conv 3x3 + bias -> Relu -> Q
      -> Pad(quantized, a value that is not the zero point, asymmetric) -> DQ -> Conv 3x3 -> Q
      -> DQ -> Pad(float, a DequantizeLinear'd constant: not the zero point) -> Q -> DQ -> MaxPool 2x2 -> Q
      -> DQ -> Flatten -> Gemm + bias -> Q (output)

The first two pads pad with the zero point (folded into the conv), the third and fourth with
other values (a layer of their own, the fourth read by a MaxPool). Scales are chosen from the
accumulator statistics so that every layer's outputs spread over the 8-bit range. The oracle is
`qdq_oracle` (TFLite Micro's integer arithmetic, int64 numpy).
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto as T
from onnx import helper as h
from onnx import numpy_helper as nh

SHAPE = (1, 3, 12, 12)


class QdqBuilder:
    def __init__(self, signed: bool, seed: int):
        self.signed = signed
        self.rng = np.random.default_rng(seed)
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self.count = 0
        self.dtype = np.int8 if signed else np.uint8
        self.channels = SHAPE[1]

    def name(self, prefix: str = "t") -> str:
        self.count += 1
        return f"{prefix}{self.count}"

    def const(self, array) -> str:
        name = self.name("c")
        self.inits.append(nh.from_array(np.asarray(array), name))
        return name

    def op(self, op_type: str, inputs: list[str], **attrs) -> str:
        out = self.name()
        self.nodes.append(h.make_node(op_type, inputs, [out], name=f"{op_type}_{len(self.nodes)}", **attrs))
        return out

    def qparams(self, scale: float, zp: int) -> list[str]:
        return [self.const(np.array(scale, np.float32)), self.const(np.array(zp, self.dtype))]

    def q(self, x: str, scale: float, zp: int) -> str:
        return self.op("QuantizeLinear", [x] + self.qparams(scale, zp))

    def dq(self, x: str, scale: float, zp: int) -> str:
        return self.op("DequantizeLinear", [x] + self.qparams(scale, zp))

    def zp(self, relu: bool) -> int:
        """TFLite's zero points: the range minimum after a ReLU, else near the middle."""
        if relu:
            return -128 if self.signed else 0
        return -5 if self.signed else 123

    def weights(self, shape, in_scale: float, bias: bool) -> tuple[list[str], np.ndarray]:
        """DQ'd int8 per-channel weights (and int32 bias), and the real-valued accumulator std."""
        w = self.rng.integers(-80, 81, size=shape).astype(np.int8)
        w_scale = self.rng.uniform(0.005, 0.02, size=shape[0]).astype(np.float32)
        names = [self.op("DequantizeLinear", [self.const(w), self.const(w_scale),
                                              self.const(np.zeros(shape[0], np.int8))], axis=0)]
        if bias:
            b = self.rng.integers(-3000, 3000, size=shape[0]).astype(np.int32)
            b_scale = (np.float32(in_scale) * w_scale).astype(np.float32)
            names.append(self.op("DequantizeLinear", [self.const(b), self.const(b_scale),
                                                      self.const(np.zeros(shape[0], np.int32))], axis=0))
        fan_in = int(np.prod(shape[1:]))
        std = float(np.sqrt(fan_in) * 45 * 46 * in_scale * np.mean(w_scale))  # |x - zp| ~ 45 LSB, |w| ~ 46
        return names, std

    def conv(self, x_q: str, scale: float, zp: int, cout: int, relu: bool, **attrs) -> tuple[str, float, int]:
        """DQ -> Conv -> (Relu) -> Q; returns the output and its scale and zero point."""
        cin = self.channels
        group = attrs.get("group", 1)
        names, std = self.weights((cout, cin // group, 3, 3), scale, bias=True)
        y = self.op("Conv", [self.dq(x_q, scale, zp)] + names, kernel_shape=[3, 3], **attrs)
        if relu:
            y = self.op("Relu", [y])
        out_scale, out_zp = 3 * std / (255 if relu else 127), self.zp(relu)
        self.channels = cout
        return self.q(y, out_scale, out_zp), out_scale, out_zp


def padded_convs(signed: bool, seed: int = 0) -> onnx.ModelProto:
    b = QdqBuilder(signed, seed)
    s0, z0 = 0.04, b.zp(False)
    x = b.q("x", s0, z0)
    p = b.op("Pad", [b.dq(x, s0, z0), b.const(np.array([0, 0, 0, 0, 0, 0, 1, 1], np.int64)),
                     b.const(np.array(0.0, np.float32))], mode="constant")
    y, s, z = b.conv(b.q(p, s0, z0), s0, z0, 8, True, strides=[2, 2], pads=[0, 0, 0, 0])
    p = b.op("Pad", [y, b.const(np.array([0, 0, 1, 1, 0, 0, 1, 1], np.int64)), b.const(np.array(z, b.dtype))])
    y, s, z = b.conv(p, s, z, 8, True, group=8, pads=[0, 0, 0, 0])
    fill = np.array(z + 37, b.dtype)
    p = b.op("Pad", [y, b.const(np.array([0, 0, 1, 0, 0, 0, 2, 1], np.int64)), b.const(fill)])
    y, s, z = b.conv(p, s, z, 6, False, pads=[0, 0, 0, 1])
    fill_q = b.op("DequantizeLinear", [b.const(np.array(z - 20, b.dtype))] + b.qparams(s, z))
    p = b.op("Pad", [b.dq(y, s, z), b.const(np.array([0, 0, 0, 1, 0, 0, 1, 0], np.int64)), fill_q])
    m = b.op("MaxPool", [b.dq(b.q(p, s, z), s, z)], kernel_shape=[2, 2], strides=[2, 2])
    y = b.q(m, s, z)
    flat = b.op("Flatten", [b.dq(y, s, z)], axis=1)
    names, std = b.weights((5, 6 * 4 * 3), s, bias=True)
    w, bias = names
    out = b.op("Gemm", [flat, w, bias], transB=1)
    out = b.q(out, 3 * std / 127, b.zp(False))
    graph = h.make_graph(b.nodes, "padded", [h.make_tensor_value_info("x", T.FLOAT, list(SHAPE))],
                         [h.make_tensor_value_info(out, T.INT8 if signed else T.UINT8, None)], b.inits)
    return h.make_model(graph, opset_imports=[h.make_opsetid("", 13)])


def inputs(model: onnx.ModelProto, count: int = 3, seed: int = 5) -> list[np.ndarray]:
    """Quantized inputs (what the graph's first QuantizeLinear produces), spread over the range."""
    zp = next(n for n in model.graph.initializer if n.name == model.graph.node[0].input[2])
    dtype = nh.to_array(zp).dtype
    info = np.iinfo(dtype)
    rng = np.random.default_rng(seed)
    return [rng.integers(info.min, info.max + 1, size=SHAPE).astype(np.int64) for _ in range(count)]
