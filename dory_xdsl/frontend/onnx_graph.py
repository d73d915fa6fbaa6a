"""Reading an ONNX graph for import: parsing, constants, shapes, dataflow order, float tail.

Everything here works on dataflow (which node produces which tensor), never on node order in
the file or on the spelling of tensor names, so shuffled or renamed graphs import identically.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from typing import TYPE_CHECKING

import numpy as np


from dory_xdsl.errors import DoryError
from dory_xdsl.frontend.onnx_proto import attribute_value, infer_shapes, load_model, onnx_pb, to_array

TensorProto = onnx_pb().TensorProto
ModelProto = onnx_pb().ModelProto

if TYPE_CHECKING:
    import onnx

# Ops that compute on real numbers: the integer network ends where one of them starts.
FLOAT_OPS = frozenset(
    {"Sigmoid", "Softmax", "LogSoftmax", "Tanh", "Exp", "Log", "Sqrt", "Erf", "HardSigmoid", "Softplus"}
)

# Custom ops imported natively whatever their domain; their output has the shape of input 0.
CUSTOM_OPS = frozenset({"RequantShift"})


def describe(node: onnx.NodeProto) -> str:
    """How diagnostics name a node: op type plus node name, or its first output if unnamed."""
    if node.name:
        return f"{node.op_type} node '{node.name}'"
    if node.output:
        return f"{node.op_type} node producing '{node.output[0]}'"
    return f"{node.op_type} node"


def parse_model(data: bytes, name: str) -> onnx.ModelProto:
    try:
        model = load_model(data)
    except Exception as error:  # protobuf raises DecodeError and friends
        raise DoryError(f"{name}: not a valid ONNX model ({type(error).__name__})") from None
    if not model.HasField("graph") or not model.graph.node:
        raise DoryError(f"{name}: not a valid ONNX model (no graph nodes)")
    from dory_xdsl.frontend.onnx_checks import check_model

    check_model(model, name)
    return model


def attributes(node: onnx.NodeProto) -> dict[str, object]:
    result: dict[str, object] = {}
    for attr in node.attribute:
        value = attribute_value(attr)
        if isinstance(value, bytes):
            value = value.decode(errors="replace")
        result[attr.name] = value
    return result


def constant_node_value(node: onnx.NodeProto) -> np.ndarray:
    attrs = attributes(node)
    if isinstance(attrs.get("value"), TensorProto):
        return to_array(attrs["value"])
    for key, dtype in (("value_float", np.float32), ("value_int", np.int64),
                       ("value_floats", np.float32), ("value_ints", np.int64)):
        if key in attrs:
            return np.array(attrs[key], dtype=dtype)
    raise DoryError(f"{describe(node)}: unsupported Constant value attribute {sorted(attrs)}")


@dataclass
class Graph:
    """Index of one ONNX graph: producers, constants, inferred shapes and the import order."""

    model: onnx.ModelProto
    producer: dict[str, onnx.NodeProto] = field(default_factory=dict)
    initializers: dict[str, TensorProto] = field(default_factory=dict)
    shapes: dict[str, tuple[int, ...] | None] = field(default_factory=dict)
    inputs: list[onnx.ValueInfoProto] = field(default_factory=list)

    @property
    def graph(self) -> onnx.GraphProto:
        return self.model.graph

    def opset(self) -> int:
        for entry in self.model.opset_import:
            if entry.domain in ("", "ai.onnx"):
                return entry.version
        return 1

    def initializer_array(self, name: str) -> np.ndarray:
        return to_array(self.initializers[name])

    def shape(self, tensor: str, node: onnx.NodeProto) -> tuple[int, ...]:
        shape = self.shapes.get(tensor)
        if shape is None:
            from dory_xdsl.frontend.onnx_checks import unknown_shape_reason

            producer = self.producer.get(tensor, node)
            reason = unknown_shape_reason(_sorted_copy(self), producer, self.shapes)
            if reason:
                raise DoryError(f"{describe(producer)}: {reason}")
            raise DoryError(f"{describe(node)}: the shape of '{tensor}' could not be inferred (not static)")
        return shape


def _static_shape(value: onnx.ValueInfoProto) -> tuple[int, ...] | None:
    tensor_type = value.type.tensor_type
    if not tensor_type.HasField("shape"):
        return None
    dims = []
    for dim in tensor_type.shape.dim:
        if not dim.HasField("dim_value") or dim.dim_value <= 0:
            return None
        dims.append(dim.dim_value)
    return tuple(dims)


def index_graph(model: onnx.ModelProto) -> Graph:
    g = Graph(model)
    graph = model.graph
    g.initializers = {init.name: init for init in graph.initializer}
    for node in graph.node:
        for out in node.output:
            if out in g.producer:
                raise DoryError(f"{describe(node)}: tensor '{out}' is produced twice")
            if out:
                g.producer[out] = node
    g.inputs = [v for v in graph.input if v.name not in g.initializers]
    for value in g.inputs:
        shape = _static_shape(value)
        if shape is None:
            dims = [d.dim_param or d.dim_value for d in value.type.tensor_type.shape.dim]
            raise DoryError(f"graph input '{value.name}' has a dynamic or unknown shape {dims}")
    ordered = _sorted_copy(g)
    try:
        inferred = infer_shapes(ordered)
    except Exception as error:
        raise DoryError(f"shape inference failed: {str(error).splitlines()[0] if str(error) else error}") from None
    for value in list(inferred.graph.value_info) + list(inferred.graph.input) + list(inferred.graph.output):
        g.shapes[value.name] = _static_shape(value)
    for name, init in g.initializers.items():
        g.shapes[name] = tuple(init.dims)
    return g


def _key(node: onnx.NodeProto) -> tuple:
    """Identity of a node by content (protobuf wrapper objects are not stable identities)."""
    return tuple(node.output) or (node.op_type, node.name, tuple(node.input))


def _sorted_copy(g: Graph) -> onnx.ModelProto:
    """The model with its nodes in dataflow order (shape inference reads them in file order) and
    the custom ops replaced by `Identity` (for their shapes)."""
    copy = ModelProto()
    copy.CopyFrom(g.model)
    del copy.graph.node[:]
    for node in _depth_first(g, list(g.graph.node)):
        if node.op_type in CUSTOM_OPS:  # shape inference does not know them: same shape as input 0
            node = onnx_pb().NodeProto(op_type="Identity", input=node.input[:1], output=node.output[:1],
                                       name=node.name)
        copy.graph.node.append(node)
    return copy


def dataflow_order(g: Graph) -> list[onnx.NodeProto]:
    """Nodes the graph outputs depend on, inputs before users (depth-first from the outputs)."""
    known = set(g.initializers) | {v.name for v in g.inputs}
    roots = []
    for out in g.graph.output:
        if out.name in known:
            continue
        if out.name not in g.producer:
            raise DoryError(f"graph output '{out.name}' is not produced by any node")
        roots.append(g.producer[out.name])
    return _depth_first(g, roots)


def _depth_first(g: Graph, roots: list[onnx.NodeProto]) -> list[onnx.NodeProto]:
    """Post-order of the nodes `roots` depend on. Raises on cycles and undefined inputs."""
    known = set(g.initializers) | {v.name for v in g.inputs}
    state: dict[tuple, int] = {}  # _key(node) -> 1 visiting, 2 done
    order: list[onnx.NodeProto] = []
    for root in roots:
        if state.get(_key(root)) == 2:
            continue
        stack: list[tuple[onnx.NodeProto, int]] = [(root, 0)]
        state[_key(root)] = 1
        while stack:
            node, next_input = stack.pop()
            inputs = [name for name in node.input if name]
            if next_input < len(inputs):
                stack.append((node, next_input + 1))
                name = inputs[next_input]
                if name in known:
                    continue
                producer = g.producer.get(name)
                if producer is None:
                    raise DoryError(
                        f"{describe(node)}: input '{name}' is not defined (no initializer, graph input or producer)")
                if state.get(_key(producer)) == 1:
                    raise DoryError(f"{describe(producer)}: the graph has a cycle through this node")
                if state.get(_key(producer)) != 2:
                    state[_key(producer)] = 1
                    stack.append((producer, 0))
                continue
            state[_key(node)] = 2
            order.append(node)
    return order


def split_float_tail(g: Graph, order: list[onnx.NodeProto]) -> tuple[list[onnx.NodeProto], list[str], list[onnx.NodeProto]]:
    """(integer nodes in order, integer result tensors, dropped float-tail nodes in order).

    A node is in the float tail if it is a real-valued op (`FLOAT_OPS`) or uses a tensor the
    float tail computes. The results are the integer graph outputs and the integer tensors the
    float tail reads, found from the graph outputs backwards.
    """
    float_tensors: set[str] = set()
    tail_ids: set[tuple] = set()
    for node in order:
        if node.op_type in FLOAT_OPS or any(name in float_tensors for name in node.input):
            tail_ids.add(_key(node))
            float_tensors.update(node.output)
    results: list[str] = []
    seen: set[str] = set()
    stack = [out.name for out in reversed(g.graph.output)]
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        seen.add(name)
        if name in float_tensors:
            producer = g.producer[name]
            stack.extend(reversed([i for i in producer.input if i]))
        elif name not in g.initializers and getattr(g.producer.get(name), "op_type", "") != "Constant":
            results.append(name)
    needed = set(results)
    integer_nodes: list[onnx.NodeProto] = []
    # Keep the integer nodes the results depend on (order is already inputs-first).
    for node in reversed(order):
        if _key(node) in tail_ids:
            continue
        if any(out in needed for out in node.output):
            integer_nodes.append(node)
            needed.update(i for i in node.input if i)
    integer_nodes.reverse()
    tail = [node for node in order if _key(node) in tail_ids]
    return integer_nodes, results, tail
