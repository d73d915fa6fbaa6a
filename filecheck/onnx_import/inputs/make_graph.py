"""Build small NEMO / Quantlab style integer ONNX graphs for the importer's tests.

    python make_graph.py NAME OUT.onnx [--shuffle] [--rename]

`--shuffle` permutes the node list (a valid graph only needs dataflow, not node order) and
`--rename` renames every tensor and node; the importer must print the same IR for all of them.
`python make_graph.py --list` prints the graph names.
"""

from __future__ import annotations

import argparse
import random
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

FLOAT = TensorProto.FLOAT
INT64 = TensorProto.INT64


class GraphBuilder:
    """Collects nodes and initializers; tensor names are generated ("t0", "t1", ...)."""

    def __init__(self, opset: int = 9, seed: int = 0):
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self.opset = opset
        self.rng = np.random.default_rng(seed)
        self.count = 0

    def name(self) -> str:
        self.count += 1
        return f"t{self.count}"

    def const(self, array, dtype=np.float32) -> str:
        name = self.name()
        self.inits.append(numpy_helper.from_array(np.asarray(array, dtype=dtype), name))
        return name

    def constant_node(self, array, dtype=np.int64) -> str:
        out = self.name()
        tensor = numpy_helper.from_array(np.asarray(array, dtype=dtype))
        self.nodes.append(helper.make_node("Constant", [], [out], value=tensor, name=f"Constant_{len(self.nodes)}"))
        return out

    def op(self, op_type: str, inputs: list[str], **attrs) -> str:
        out = self.name()
        self.nodes.append(helper.make_node(op_type, inputs, [out], name=f"{op_type}_{len(self.nodes)}", **attrs))
        return out

    def weights(self, shape, lo=-20, hi=20) -> str:
        return self.const(self.rng.integers(lo, hi + 1, size=shape))

    def conv(self, x: str, cin: int, cout: int, k=(3, 3), pads=(1, 1, 1, 1), strides=(1, 1), group=1, bias=False) -> str:
        inputs = [x, self.weights((cout, cin // group) + tuple(k))]
        if bias:
            inputs.append(self.const(self.rng.integers(-100, 100, size=cout)))
        return self.op("Conv", inputs, kernel_shape=list(k), pads=list(pads), strides=list(strides),
                       dilations=[1] * len(k), group=group)

    def nemo_requant(self, x: str, channels: int, rank: int = 4, m: int = 3, div: int = 2**12) -> str:
        """NEMO: Mul(k) Add(lambda) Cast(int64) Mul(m) Div(d) Cast(float) Clip(0, 255)."""
        shape = (1, channels) + (1,) * (rank - 2)
        k = self.const(self.rng.integers(1, 50, size=shape))
        lam = self.const(self.rng.integers(-2000, 2000, size=shape))
        y = self.op("Add", [self.op("Mul", [k, x]), lam])
        y = self.op("Cast", [y], to=INT64)
        y = self.op("Mul", [y, self.constant_node([m])])
        y = self.op("Div", [y, self.constant_node(div)])
        return self.clip(self.op("Cast", [y], to=FLOAT))

    def quantlab_requant(self, x: str, channels: int, shift: int = 10) -> str:
        """Quantlab: Mul(k) Add(lambda) Div(2^shift) Floor Clip(0, 255)."""
        k = self.const(self.rng.integers(1, 200, size=(channels, 1, 1)))
        lam = self.const(self.rng.integers(-5000, 5000, size=(channels, 1, 1)))
        y = self.op("Add", [self.op("Mul", [x, k]), lam])
        y = self.op("Div", [y, self.constant_node(float(2**shift), np.float32)])
        return self.clip(self.op("Floor", [y]))

    def signed_requant(self, x: str, channels: int, rank: int = 4, shift: int = 9, per_channel: bool = True,
                       k_max: int = 60, lam: int = 3000) -> str:
        """Deeploy / Quantlab int8: Mul(k) Add(lambda) Div(2^shift) Floor Clip(-128, 127)."""
        shape = ((1, channels) + (1,) * (rank - 2)) if per_channel else (1,)
        k = self.const(self.rng.integers(1, k_max, size=shape))
        lam_c = self.const(self.rng.integers(-lam, lam, size=shape))
        y = self.op("Add", [self.op("Mul", [x, k]), lam_c])
        y = self.op("Div", [y, self.constant_node(float(2**shift), np.float32)])
        return self.clip(self.op("Floor", [y]), -128.0, 127.0)

    def clip(self, x: str, lo: float = 0.0, hi: float = 255.0) -> str:
        if self.opset < 11:
            return self.op("Clip", [x], min=lo, max=hi)
        return self.op("Clip", [x, self.const(lo), self.const(hi)])

    def model(self, inputs: list[tuple[str, list[int]]], outputs: list[str]) -> onnx.ModelProto:
        graph = helper.make_graph(
            self.nodes, "test",
            [helper.make_tensor_value_info(n, FLOAT, s) for n, s in inputs],
            [helper.make_tensor_value_info(n, FLOAT, None) for n in outputs],
            initializer=self.inits)
        return helper.make_model(graph, opset_imports=[helper.make_opsetid("", self.opset)], ir_version=7)


def conv_requant() -> onnx.ModelProto:
    b = GraphBuilder()
    y = b.nemo_requant(b.conv("x", 3, 4), 4)
    return b.model([("x", [1, 3, 8, 8])], [y])


def conv_div_not_pow2() -> onnx.ModelProto:
    b = GraphBuilder()
    y = b.nemo_requant(b.conv("x", 3, 4), 4, m=5, div=2**12 - 1)
    return b.model([("x", [1, 3, 8, 8])], [y])


def quantlab_chain() -> onnx.ModelProto:
    b = GraphBuilder(opset=11)
    y = b.quantlab_requant(b.conv("x", 1, 8, k=(5, 5), pads=(2, 2, 2, 2), strides=(2, 2)), 8)
    y = b.op("MaxPool", [y], kernel_shape=[2, 2], strides=[2, 2], pads=[0, 0, 0, 0])
    return b.model([("x", [1, 1, 16, 16])], [y])


def pad_dw_gemm_sigmoid() -> onnx.ModelProto:
    b = GraphBuilder()
    y = b.op("Pad", ["x"], mode="constant", pads=[0, 0, 1, 1, 0, 0, 1, 1], value=0.0)
    y = b.nemo_requant(b.conv(y, 4, 4, pads=(0, 0, 0, 0), group=4, bias=True), 4)
    y = b.op("Flatten", [y], axis=1)
    y = b.op("Gemm", [y, b.weights((3, 4 * 6 * 6)), b.const(b.rng.integers(-9, 9, size=3))], transB=1)
    return b.model([("x", [1, 4, 6, 6])], [b.op("Sigmoid", [y])])


def residual(scale_a: float = 16.0) -> onnx.ModelProto:
    """NEMO residual add: floor((scale_a*a + 16*c) / 32), no Clip, read by a conv."""
    b = GraphBuilder()
    a = b.nemo_requant(b.conv("x", 2, 4), 4)
    c = b.nemo_requant(b.conv(a, 4, 4), 4)
    s = b.op("Add", [b.op("Mul", [a, b.constant_node(scale_a, np.float32)]),
                     b.op("Mul", [c, b.constant_node(16.0, np.float32)])])
    s = b.op("Floor", [b.op("Div", [s, b.constant_node(32.0, np.float32)])])
    y = b.nemo_requant(b.conv(s, 4, 2), 2)
    return b.model([("x", [1, 2, 6, 6])], [y])


def residual_wide() -> onnx.ModelProto:
    """As `residual` with a + c/2: up to 382, wider than the 8 bits its consumer reads."""
    return residual(scale_a=32.0)


def quantlab_add() -> onnx.ModelProto:
    b = GraphBuilder(opset=10)
    a = b.quantlab_requant(b.conv("x", 1, 4), 4)
    c = b.quantlab_requant(b.conv(a, 4, 4), 4)
    y = b.op("Add", [a, c], in1_mul=3000, in1_add=512, in1_shift=11, in1_rq=1, in2_mul=1900, in2_add=512,
             in2_shift=11, in2_rq=1, out_rq=0, out_mul=1, out_add=0, out_shift=0, out_n_levels=256)
    return b.model([("x", [1, 1, 8, 8])], [y])


def avgpool_tcn1d() -> onnx.ModelProto:
    b = GraphBuilder()
    y = b.op("Pad", ["x"], mode="constant", pads=[0, 0, 2, 0, 0, 0], value=0.0)
    y = b.nemo_requant(b.conv(y, 2, 3, k=(3,), pads=(0, 0), strides=(1,)), 3, rank=3)
    y = b.op("AveragePool", [y], kernel_shape=[4], strides=[4])
    y = b.op("Mul", [y, b.constant_node(4.0, np.float32)])
    y = b.op("Mul", [y, b.constant_node(3.0, np.float32)])
    y = b.op("Floor", [b.op("Div", [y, b.constant_node(16.0, np.float32)])])
    return b.model([("x", [1, 2, 16])], [b.op("LogSoftmax", [b.op("Flatten", [y], axis=1)], axis=1)])


def heads() -> onnx.ModelProto:
    b = GraphBuilder()
    y = b.op("MatMul", [b.op("Flatten", ["x"], axis=1), b.weights((16, 3))])
    g0 = b.op("Unsqueeze", [b.op("Gather", [y, b.constant_node(0)], axis=1)], axes=[1])
    g2 = b.op("Unsqueeze", [b.op("Gather", [y, b.constant_node(2)], axis=1)], axes=[1])
    return b.model([("x", [1, 1, 4, 4])], [g0, b.op("Sigmoid", [g2])])


def int8_cnn() -> onnx.ModelProto:
    """Deeploy style: int8 values in a float input, every activation clipped to [-128, 127]:
    padded, depthwise and strided convs, a Gemm."""
    b = GraphBuilder(opset=11, seed=3)
    y = b.signed_requant(b.conv("x", 3, 8, bias=True), 8, shift=11)
    y = b.signed_requant(b.conv(y, 8, 8, group=8), 8, shift=10)
    y = b.signed_requant(b.conv(y, 8, 16, strides=(2, 2)), 16, shift=12)
    y = b.op("Gemm", [b.op("Flatten", [y], axis=1), b.weights((10, 16 * 4 * 4)),
                      b.const(b.rng.integers(-50, 50, size=10))], transB=1)
    return b.model([("x", [1, 3, 8, 8])], [b.signed_requant(y, 10, rank=2, shift=13)])


def int8_residual() -> onnx.ModelProto:
    """Deeploy style int8: a residual add of two signed branches, max and average pooling,
    a Gemm, all requantized to [-128, 127]."""
    b = GraphBuilder(opset=11, seed=5)
    a = b.signed_requant(b.conv("x", 4, 8, bias=True), 8, shift=12)
    c = b.signed_requant(b.conv(a, 8, 8, group=8), 8, shift=10)
    c = b.signed_requant(b.conv(c, 8, 8, k=(1, 1), pads=(0, 0, 0, 0)), 8, shift=10)
    s = b.op("Add", [b.op("Mul", [a, b.constant_node(3.0, np.float32)]),
                     b.op("Mul", [c, b.constant_node(5.0, np.float32)])])
    s = b.op("Add", [s, b.constant_node(-7.0, np.float32)])
    s = b.clip(b.op("Floor", [b.op("Div", [s, b.constant_node(8.0, np.float32)])]), -128.0, 127.0)
    y = b.op("MaxPool", [s], kernel_shape=[2, 2], strides=[2, 2], pads=[0, 0, 0, 0])
    y = b.op("AveragePool", [y], kernel_shape=[4, 4], strides=[4, 4])
    y = b.signed_requant(y, 8, shift=4, per_channel=False, k_max=20, lam=50)
    y = b.op("Gemm", [b.op("Flatten", [y], axis=1), b.weights((10, 8)), b.const(b.rng.integers(-50, 50, size=10))],
             transB=1)
    return b.model([("x", [1, 4, 8, 8])], [b.signed_requant(y, 10, rank=2, shift=10)])


def int8_avgpool() -> onnx.ModelProto:
    """Deeploy style int8: a dilated padded conv, a padded average pooling requantized with a
    multiplier above its divisor (20/16: on offset bytes its add is negative, which
    pulp_nn_avgpool cannot take), a Gemm."""
    b = GraphBuilder(opset=11, seed=9)
    y = b.op("Conv", ["x", b.weights((6, 2, 3, 3))], kernel_shape=[3, 3], pads=[2, 2, 2, 2], dilations=[2, 2],
             strides=[1, 1], group=1)
    y = b.signed_requant(y, 6, shift=10)
    y = b.op("AveragePool", [y], kernel_shape=[3, 3], strides=[1, 1], pads=[1, 1, 1, 1], count_include_pad=1)
    y = b.op("Mul", [y, b.constant_node(20.0, np.float32)])
    y = b.clip(b.op("Floor", [b.op("Div", [y, b.constant_node(16.0, np.float32)])]), -128.0, 127.0)
    y = b.op("Gemm", [b.op("Flatten", [y], axis=1), b.weights((5, 6 * 6 * 6)), b.const(b.rng.integers(-50, 50, size=5))],
             transB=1)
    return b.model([("x", [1, 2, 6, 6])], [b.signed_requant(y, 5, rank=2, shift=13)])


GRAPHS = {f.__name__: f for f in (conv_requant, conv_div_not_pow2, quantlab_chain, pad_dw_gemm_sigmoid, residual,
                                  residual_wide, quantlab_add, avgpool_tcn1d, heads, int8_cnn, int8_residual,
                                  int8_avgpool)}


def shuffled(model: onnx.ModelProto, seed: int = 1) -> onnx.ModelProto:
    nodes = list(model.graph.node)
    random.Random(seed).shuffle(nodes)
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    return model


def renamed(model: onnx.ModelProto, seed: int = 2) -> onnx.ModelProto:
    """Every tensor and node gets a new name (a fixed random word), consistently."""
    rnd = random.Random(seed)
    mapping: dict[str, str] = {}

    def new(name: str) -> str:
        if name and name not in mapping:
            mapping[name] = "v_" + "".join(rnd.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(8))
        return mapping.get(name, name)

    g = model.graph
    for value in list(g.input) + list(g.output) + list(g.value_info):
        value.name = new(value.name)
    for init in g.initializer:
        init.name = new(init.name)
    for node in g.node:
        node.input[:] = [new(n) for n in node.input]
        node.output[:] = [new(n) for n in node.output]
        node.name = new(node.name) if node.name else ""
    return model


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", nargs="?")
    parser.add_argument("out", nargs="?")
    parser.add_argument("--shuffle", action="store_true")
    parser.add_argument("--rename", action="store_true")
    parser.add_argument("--list", action="store_true")
    args = parser.parse_args(argv)
    if args.list or not args.name:
        print("\n".join(GRAPHS))
        return 0
    model = GRAPHS[args.name]()
    if args.shuffle:
        model = shuffled(model)
    if args.rename:
        model = renamed(model)
    onnx.save(model, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
