"""DORY layer numbers follow the ONNX file order, whatever order the importer emits ops in."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from xdsl.context import Context

from dory_xdsl.dialects import qnn
from dory_xdsl.errors import DoryError
from dory_xdsl.golden.numbering import dory_numbering
from dory_xdsl.frontend.onnx_graph import index_graph
from dory_xdsl.frontend.onnx_import import import_onnx_bytes
from dory_xdsl.transforms.qnn_fuse_requant import QnnFuseRequantPass
from dory_xdsl.transforms.qnn_to_nhwc import QnnToNhwcPass


class Net:
    def __init__(self, seed: int = 0):
        self.rng = np.random.default_rng(seed)
        self.nodes: dict[str, list] = {}
        self.inits: list = []
        self.count = 0

    def name(self) -> str:
        self.count += 1
        return f"t{self.count}"

    def const(self, array) -> str:
        name = self.name()
        self.inits.append(numpy_helper.from_array(np.asarray(array, np.float32), name))
        return name

    def node(self, group: str, op: str, inputs: list[str], **attrs) -> str:
        out = self.name()
        self.nodes.setdefault(group, []).append(helper.make_node(op, inputs, [out], **attrs))
        return out

    def conv_rq(self, group: str, x: str, cin: int, cout: int, k: int, weights=None) -> str:
        w = weights if weights is not None else self.rng.integers(-128, 128, (cout, cin, k, k))
        y = self.node(group, "Conv", [x, self.const(w)], kernel_shape=[k, k], pads=[k // 2] * 4)
        y = self.node(group, "Mul", [y, self.const(self.rng.integers(1, 40, (1, cout, 1, 1)))])
        y = self.node(group, "Floor", [self.node(group, "Div", [y, self.const(1024.0)])])
        return self.node(group, "Clip", [y], min=0.0, max=255.0)

    def model(self, order: list[str], output: str) -> bytes:
        nodes = [n for group in order for n in self.nodes[group]]
        graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 6, 6])],
                                  [helper.make_tensor_value_info(output, TensorProto.FLOAT, None)], self.inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 10)])
        model.ir_version = 6
        return model.SerializeToString()


def residual(same_branches: bool = False) -> tuple[Net, str]:
    """x -> A -> {main: B (3x3), bypass: C (1x1)} -> residual add -> D."""
    net = Net()
    a = net.conv_rq("A", "x", 2, 4, 3)
    shared = net.rng.integers(-128, 128, (4, 4, 1, 1)) if same_branches else None
    b = net.conv_rq("B", a, 4, 4, 1 if same_branches else 3, shared)
    c = net.conv_rq("C", a, 4, 4, 1, shared)
    s = net.node("add", "Add", [net.node("add", "Mul", [b, net.const(16.0)]),
                                net.node("add", "Mul", [c, net.const(16.0)])])
    s = net.node("add", "Floor", [net.node("add", "Div", [s, net.const(32.0)])])
    return net, net.conv_rq("D", s, 4, 2, 3)


def kernel_sizes(numbering) -> list:
    out = []
    for layer in numbering:
        op = layer.op
        out.append(op.weight.type.get_shape()[2 if op.layout.data == "nchw" else 1] if isinstance(op, qnn.Conv2dOp) else "add")
    return out


@pytest.mark.parametrize(
    ("order", "expected"),
    [(["A", "B", "C", "add", "D"], [3, 3, 1, "add", 3]), (["A", "C", "B", "add", "D"], [3, 1, 3, "add", 3])],
)
def test_numbering_follows_file_order(order, expected):
    net, y = residual()
    data = net.model(order, y)
    module = import_onnx_bytes(data, "m")
    g = index_graph(onnx.load_model_from_string(data))
    assert kernel_sizes(dory_numbering(module, g)) == expected
    ctx = Context()  # the same numbering on the IR the back end compiles
    QnnFuseRequantPass().apply(ctx, module)
    QnnToNhwcPass().apply(ctx, module)
    assert kernel_sizes(dory_numbering(module, g)) == expected


def test_indistinguishable_branches_are_an_error_not_a_guess():
    net, y = residual(same_branches=True)
    data = net.model(["A", "B", "C", "add", "D"], y)
    module = import_onnx_bytes(data, "m")
    with pytest.raises(DoryError, match="ambiguous matching ONNX layer nodes"):
        dory_numbering(module, index_graph(onnx.load_model_from_string(data)))
