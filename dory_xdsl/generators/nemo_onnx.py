"""Build ONNX graphs in the node pattern of NEMO's integer-deployable export (opset 9).

The pattern is the one of the NEMO graphs under `dory_examples/Nemo/` (e.g. `dronet_complete`):
every tensor is a float32 container holding integers; a requantized convolution is

    Conv (no bias) -> Mul(kappa) -> Add(lamda) -> Cast(int64) -> Mul(m) -> Div(2^d)
        -> Cast(int64) -> Cast(int64) -> Cast(float) -> Clip(0, 255)

with per-channel `kappa`, `lamda` initializers of shape [1, C, 1, 1] and int64 `Constant` nodes
for `m` and `2^d`; an average pooling is `AveragePool -> Mul(area) -> Mul(k) -> Div(2^d) -> Floor
-> Clip(0, 255)` with float `Constant` scalars (as in `dscnn_test`); the classifier is `Flatten
-> Gemm(transB = 1)` with a bias, producing raw integer logits. Tensors are named by a running
number and nodes `<Op>_<index>`, as PyTorch's exporter does.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 9
IR_VERSION = 6
PRODUCER = "dory-xdsl gen-mobilenet"


class NemoGraph:
    """Accumulates nodes and initializers; each method returns the name of its output tensor."""

    def __init__(self, input_name: str, input_shape: tuple[int, ...]):
        self.input = helper.make_tensor_value_info(input_name, TensorProto.FLOAT, list(input_shape))
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self._next_tensor = 1

    def _tensor_name(self) -> str:
        name = str(self._next_tensor)
        self._next_tensor += 1
        return name

    def node(self, op: str, inputs: list[str], **attrs) -> str:
        output = self._tensor_name()
        name = f"{op}_{len(self.nodes)}"
        self.nodes.append(helper.make_node(op, inputs, [output], name=name, **attrs))
        return output

    def initializer(self, name: str, values: np.ndarray) -> str:
        self.initializers.append(numpy_helper.from_array(np.asarray(values, dtype=np.float32), name))
        return name

    def constant(self, value: int | float, dtype: type) -> str:
        """A scalar `Constant` node: int64 with dims [1] (NEMO's multipliers) or float."""
        if dtype is np.int64:
            tensor = helper.make_tensor("value", TensorProto.INT64, [1], [int(value)])
        else:
            tensor = helper.make_tensor("value", TensorProto.FLOAT, [], [float(value)])
        return self.node("Constant", [], value=tensor)

    def conv(self, x: str, weight_name: str, weight: np.ndarray, stride: int, pad: int, group: int) -> str:
        kh, kw = weight.shape[2:]
        self.initializer(weight_name, weight)
        return self.node("Conv", [x, weight_name], dilations=[1, 1], group=group, kernel_shape=[kh, kw],
                         pads=[pad, pad, pad, pad], strides=[stride, stride])

    def requant_clip(self, x: str, prefix: str, kappa: np.ndarray, lamda: np.ndarray, mul: int, shift: int) -> str:
        """`clip(trunc((kappa*x + lamda) * mul / 2^shift), 0, 255)` (per-channel kappa, lamda)."""
        shape = (1, kappa.size, 1, 1)
        scaled = self.node("Mul", [self.initializer(f"{prefix}.kappa", kappa.reshape(shape)), x])
        shifted = self.node("Add", [scaled, self.initializer(f"{prefix}.lamda", lamda.reshape(shape))])
        integer = self.node("Cast", [shifted], to=TensorProto.INT64)
        multiplied = self.node("Mul", [integer, self.constant(mul, np.int64)])
        divided = self.node("Div", [multiplied, self.constant(1 << shift, np.int64)])
        cast = self.node("Cast", [divided], to=TensorProto.INT64)
        cast = self.node("Cast", [cast], to=TensorProto.INT64)
        cast = self.node("Cast", [cast], to=TensorProto.FLOAT)
        return self.clip(cast)

    def clip(self, x: str) -> str:
        return self.node("Clip", [x], max=255.0, min=0.0)

    def avgpool_requant(self, x: str, kernel: tuple[int, int], mul: int, shift: int) -> str:
        """`clip(floor(sum * mul / 2^shift), 0, 255)` over each `kernel` window (stride = kernel)."""
        pooled = self.node("AveragePool", [x], kernel_shape=list(kernel), pads=[0, 0, 0, 0], strides=list(kernel))
        summed = self.node("Mul", [pooled, self.constant(kernel[0] * kernel[1], np.float32)])
        scaled = self.node("Mul", [summed, self.constant(mul, np.float32)])
        divided = self.node("Div", [scaled, self.constant(1 << shift, np.float32)])
        return self.clip(self.node("Floor", [divided]))

    def flatten(self, x: str) -> str:
        return self.node("Flatten", [x], axis=1)

    def gemm(self, x: str, prefix: str, weight: np.ndarray, bias: np.ndarray) -> str:
        w = self.initializer(f"{prefix}.weight", weight)
        b = self.initializer(f"{prefix}.bias", bias)
        return self.node("Gemm", [x, w, b], alpha=1.0, beta=1.0, transB=1)

    def model(self, outputs: list[tuple[str, list[int]]], graph_name: str) -> onnx.ModelProto:
        values = [helper.make_tensor_value_info(name, TensorProto.FLOAT, shape) for name, shape in outputs]
        graph = helper.make_graph(self.nodes, graph_name, [self.input], values, self.initializers)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name=PRODUCER)
        model.ir_version = IR_VERSION
        return model
