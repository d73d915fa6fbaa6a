"""Which IR layer is DORY layer N: the ONNX file's node order, tied to the IR by dataflow.

DORY numbers its layers (`out_layer<N>.txt`) in the order of the ONNX file: layer N is the N-th
*layer node* of the file, where a layer node is `Conv`, `Gemm`, `MatMul`, `MaxPool`,
`AveragePool`, `GlobalAveragePool`, or an `Add` of two computed tensors (a residual add; an Add
with a constant operand is part of a requantization or bias). This was checked on every network
of `dory_examples` (Nemo/* and Quantlab/Dronet). The importer emits ops in a dataflow order
that does not depend on the file order, so the file order is not visible in the IR: it is
recovered here by matching each IR layer (`analysis.dory_layers`, in program order) to the one
ONNX layer node of the same kind whose layer inputs are the already matched counterparts of
the IR layer's inputs. When several nodes qualify (the two branches of a residual block both
read the same tensor), the one whose weights hold the same values (sorted, so any layout) and
whose output has the same element count is chosen; if that is still ambiguous, or an IR layer
has no counterpart, the mapping fails with a `DoryError` rather than guess.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from xdsl.dialects.builtin import ModuleOp, TensorType
from xdsl.ir import BlockArgument, SSAValue

from dory_xdsl.dialects import qnn
from dory_xdsl.errors import DoryError
from dory_xdsl.analysis.dory_layers import Layer, dory_layers
from dory_xdsl.frontend.onnx_graph import Graph, constant_node_value
from dory_xdsl.tensors import to_numpy

if TYPE_CHECKING:
    import onnx

ONNX_KINDS = {
    "Conv": "conv", "Gemm": "linear", "MatMul": "linear", "MaxPool": "maxpool",
    "AveragePool": "avgpool", "GlobalAveragePool": "avgpool", "Add": "add",
}
IR_KINDS = {
    qnn.Conv2dOp: "conv", qnn.LinearOp: "linear", qnn.MaxPoolOp: "maxpool",
    qnn.AvgPoolOp: "avgpool", qnn.AddOp: "add",
}

Key = tuple  # ("input", i) for graph input i, ("layer", id) for a layer


class _OnnxLayers:
    """The layer nodes of an ONNX graph, their layer inputs, weights and output sizes."""

    def __init__(self, g: Graph):
        self.g = g
        self.input_index = {v.name: i for i, v in enumerate(g.inputs)}
        self._const: dict[str, np.ndarray | None] = {}
        self._trace: dict[str, frozenset] = {}
        self.nodes = [n for n in g.graph.node if self.kind(n) is not None]
        self.is_layer = {id(n) for n in self.nodes}

    def constant(self, name: str) -> np.ndarray | None:
        """Value of a tensor computed from constants only (initializer, Constant, Cast, ...)."""
        if name not in self._const:
            self._const[name] = None  # cycle guard
            value = None
            if name in self.g.initializers:
                value = self.g.initializer_array(name)
            elif name in self.g.producer:
                node = self.g.producer[name]
                if node.op_type == "Constant":
                    value = constant_node_value(node)
                elif node.op_type in ("Cast", "Identity") and self.constant(node.input[0]) is not None:
                    value = self.constant(node.input[0])
                elif node.input and all(self.constant(i) is not None for i in node.input if i):
                    value = np.zeros(0)  # constant, value not needed
            self._const[name] = value
        return self._const[name]

    def activations(self, node: onnx.NodeProto) -> list[str]:
        return [name for name in node.input if name and self.constant(name) is None]

    def kind(self, node: onnx.NodeProto) -> str | None:
        kind = ONNX_KINDS.get(node.op_type)
        if kind == "add" and len(self.activations(node)) < 2:
            return None
        return kind

    def sources(self, name: str) -> frozenset:
        """Layer nodes / graph inputs whose output reaches tensor `name` through non-layer nodes."""
        if name not in self._trace:
            if name in self.input_index:
                result = frozenset([("input", self.input_index[name])])
            elif name in self.g.producer:
                node = self.g.producer[name]
                if id(node) in self.is_layer:
                    result = frozenset([("layer", id(node))])
                else:
                    result = frozenset().union(*(self.sources(i) for i in self.activations(node)))
            else:
                result = frozenset()
            self._trace[name] = result
        return self._trace[name]

    def layer_inputs(self, node: onnx.NodeProto) -> frozenset:
        return frozenset().union(*(self.sources(i) for i in self.activations(node)))

    def weights(self, node: onnx.NodeProto) -> np.ndarray | None:
        if ONNX_KINDS[node.op_type] not in ("conv", "linear"):
            return None
        values = [self.constant(i) for i in node.input[1:2] if i]
        return values[0] if values and values[0] is not None and values[0].size else None

    def size(self, node: onnx.NodeProto) -> int | None:
        shape = self.g.shapes.get(node.output[0])
        return int(np.prod(shape)) if shape is not None else None


def _activation_operands(op) -> Iterable[SSAValue]:
    if isinstance(op, qnn.AddOp):
        return (op.lhs, op.rhs)
    return (op.input,)


def _ir_sources(value: SSAValue, layer_ids: set[int], cache: dict[SSAValue, frozenset]) -> frozenset:
    if value not in cache:
        if isinstance(value, BlockArgument):
            result = frozenset([("input", value.index)])
        elif id(value.owner) in layer_ids:
            result = frozenset([("layer", id(value.owner))])
        elif isinstance(value.owner, qnn.ConstantOp):
            result = frozenset()
        else:
            result = frozenset().union(*(_ir_sources(v, layer_ids, cache) for v in value.owner.operands))
        cache[value] = result
    return cache[value]


def _fingerprint(array: np.ndarray | None) -> bytes | None:
    if array is None:
        return None
    return np.sort(np.asarray(array, dtype=np.float64).astype(np.int64).ravel()).tobytes()


def _ir_weights(layer: Layer) -> np.ndarray | None:
    op = layer.op
    if isinstance(op, (qnn.Conv2dOp, qnn.LinearOp)) and isinstance(op.weight.owner, qnn.ConstantOp):
        return to_numpy(op.weight.owner.value)
    return None


def _ir_size(layer: Layer) -> int:
    t = layer.output.type
    assert isinstance(t, TensorType)
    return t.element_count()


def dory_numbering(module: ModuleOp, g: Graph) -> list[Layer | None]:
    """For each DORY layer number, the IR layer computing it (None: no IR counterpart)."""
    onnx_layers = _OnnxLayers(g)
    ir_layers = dory_layers(module)
    layer_ids = {id(layer.op) for layer in ir_layers}
    to_onnx: dict[Key, Key] = {}
    taken: set[int] = set()
    cache: dict[SSAValue, frozenset] = {}
    result: dict[int, Layer] = {}
    for layer in ir_layers:
        sources = frozenset().union(*(_ir_sources(v, layer_ids, cache) for v in _activation_operands(layer.op)))
        wanted = frozenset(to_onnx.get(s, s) if s[0] == "layer" else s for s in sources)
        kind = IR_KINDS[type(layer.op)]
        candidates = [n for n in onnx_layers.nodes if id(n) not in taken and onnx_layers.kind(n) == kind
                      and onnx_layers.layer_inputs(n) == wanted]
        if len(candidates) > 1:
            weights = _fingerprint(_ir_weights(layer))
            candidates = [n for n in candidates if _fingerprint(onnx_layers.weights(n)) == weights
                          and onnx_layers.size(n) in (None, _ir_size(layer))]
        if len(candidates) != 1:
            what = "no" if not candidates else f"{len(candidates)} ambiguous"
            raise DoryError(f"IR layer {layer.index} ({layer.op.name}): {what} matching ONNX layer nodes; "
                            "cannot number the layers as DORY does")
        node = candidates[0]
        taken.add(id(node))
        to_onnx[("layer", id(layer.op))] = ("layer", id(node))
        result[onnx_layers.nodes.index(node)] = layer
    return [result.get(i) for i in range(len(onnx_layers.nodes))]



def dory_positions(module: ModuleOp, g: Graph) -> list[int | None]:
    """For each DORY layer number, the program-order index of its IR layer in
    `dory_layers(module)` (None: no counterpart). Compute it before an engine runs: engines may
    lower the module in place."""
    position = {id(layer.op): i for i, layer in enumerate(dory_layers(module))}
    return [None if layer is None else position[id(layer.op)] for layer in dory_numbering(module, g)]


def by_dory_number(positions: list[int | None], layer_outputs: list[np.ndarray]) -> list[np.ndarray | None]:
    """`layer_outputs` (program order, as engines return them) re-indexed by DORY number."""
    return [None if p is None else layer_outputs[p] for p in positions]


def golden_positions(module: ModuleOp, model: str | Path) -> list[int | None]:
    """DORY layer number -> program-order layer of the imported (not yet lowered) `module`, from
    the ONNX file `model` (`dory_positions`, the numbering `dory run --golden` uses)."""
    from dory_xdsl.frontend.onnx_graph import index_graph, parse_model

    return dory_positions(module, index_graph(parse_model(Path(model).read_bytes(), str(model))))
