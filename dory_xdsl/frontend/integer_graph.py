"""The importer of integer-deployable graphs (NEMO / Quantlab / Deeploy): `Importer` walks the
graph in dataflow order and emits `qnn` ops (see `onnx_import` for how a graph is read).
"""

from __future__ import annotations


from typing import TYPE_CHECKING

import numpy as np

from xdsl.dialects import func
from xdsl.dialects.builtin import ArrayAttr, ModuleOp, StringAttr, TensorType
from xdsl.ir import Block, Region

from xdsl.utils.exceptions import DiagnosticException

from dory_xdsl.errors import DoryError
from dory_xdsl.frontend.onnx_checks import check_arity, check_axis, check_float_tail
from dory_xdsl.frontend.onnx_emit import I8, UI8, Emitter
from dory_xdsl.frontend.onnx_graph import (
    CUSTOM_OPS,
    Graph,
    constant_node_value,
    dataflow_order,
    describe,
    split_float_tail,
)
from dory_xdsl.frontend.onnx_layers import LAYER_HANDLERS
from dory_xdsl.frontend.onnx_values import Act, Const, vec
from dory_xdsl.frontend.onnx_proto import onnx_pb

TensorProto = onnx_pb().TensorProto

if TYPE_CHECKING:
    import onnx

DROPPED_ATTR = "qnn.dropped_float_tail"
FLOAT_INPUTS = frozenset({TensorProto.FLOAT, TensorProto.FLOAT16, TensorProto.DOUBLE})


class Importer:
    def __init__(self, graph: Graph, signed_inputs: frozenset[int] = frozenset(),
                 input_ranges: list[tuple[int, int]] | None = None):
        self.g = graph
        self.signed_inputs = signed_inputs
        self.input_ranges = input_ranges
        self.env: dict[str, object] = {}
        self.results: list[str] = []

    def run(self) -> ModuleOp:
        order = dataflow_order(self.g)
        nodes, results, tail = split_float_tail(self.g, order)
        check_float_tail(tail, describe)
        self.results = results
        arg_types, arg_ranges = [], []
        if self.input_ranges is not None and len(self.input_ranges) != len(self.g.inputs):
            raise DoryError(f"{len(self.input_ranges)} input range(s) given, the graph has {len(self.g.inputs)} inputs")
        for index, value in enumerate(self.g.inputs):
            shape = self.g.shapes[value.name]
            if len(shape) not in (2, 3, 4):
                raise DoryError(f"graph input '{value.name}' has rank {len(shape)} (expected 2, 3 or 4)")
            elem = value.type.tensor_type.elem_type
            if index in self.signed_inputs and elem not in FLOAT_INPUTS | {TensorProto.INT8}:
                raise DoryError(f"graph input '{value.name}' is {TensorProto.DataType.Name(elem)}: "
                                "only a float input can be read as int8")
            signed = elem == TensorProto.INT8 or index in self.signed_inputs
            elem, lo, hi = (I8, -128, 127) if signed else (UI8, 0, 255)
            if self.input_ranges is not None:
                lo, hi = self.input_ranges[index]
                if not (-128 <= lo <= hi <= 127 or 0 <= lo <= hi <= 255):
                    raise DoryError(f"graph input '{value.name}': range [{lo}, {hi}] is not an 8-bit range")
                elem = I8 if lo < 0 else UI8
            arg_types.append(TensorType(elem, list(shape)))
            arg_ranges.append((lo, hi))
        block = Block(arg_types=arg_types)
        self.emit = Emitter(block)
        for arg, value, (lo, hi) in zip(block.args, self.g.inputs, arg_ranges):
            shape = self.g.shapes[value.name]
            self.emit.where = f"graph input '{value.name}'"
            self.env[value.name] = self.emit.reshape(Act(arg, shape, vec([lo]), vec([hi])), shape)
        for node in nodes:
            self.visit(node)
        outputs = []
        for name in results:
            producer = self.g.producer.get(name)
            self.emit.where = describe(producer) if producer else f"graph input '{name}'"
            outputs.append(self.emit.onnx_shaped(self.emit.materialize(self.value(name))))
        block.add_op(func.ReturnOp(*outputs))
        self.emit.remove_unused()
        main = func.FuncOp("main", (arg_types, [v.type for v in outputs]), Region(block))
        if tail:
            main.attributes[DROPPED_ATTR] = ArrayAttr(
                [StringAttr(describe(n)) for n in tail])
        return ModuleOp([main])

    def value(self, name: str):
        if name in self.env:
            return self.env[name]
        if name in self.g.initializers:
            const = Const(self.g.initializer_array(name))
            self.env[name] = const
            return const
        raise DoryError(f"tensor '{name}' is not defined")

    def visit(self, node: onnx.NodeProto) -> None:
        self.emit.where = describe(node)
        if node.op_type == "Constant":
            self.env[node.output[0]] = Const(constant_node_value(node))
            return
        handler = LAYER_HANDLERS.get(node.op_type)
        if handler is None:
            raise DoryError(f"{describe(node)}: unsupported op type '{node.op_type}'")
        if node.domain not in ("", "ai.onnx") and node.op_type not in CUSTOM_OPS:
            raise DoryError(f"{describe(node)}: unsupported op domain '{node.domain}'")
        check_arity(node, describe)
        check_axis(node, self.g.shapes, describe)
        inputs = [self.value(name) if name else None for name in node.input]
        try:
            outputs = handler(self, node, inputs)
        except DoryError:
            raise
        except DiagnosticException as error:  # an op's own check while building it: name the node
            raise DoryError(f"{describe(node)}: {str(error).strip().splitlines()[0]}") from None
        for name, value in zip(node.output, outputs):
            if name:
                self.env[name] = value

    def integer_const(self, node: onnx.NodeProto, value, what: str, *, dtype=np.int64) -> np.ndarray:
        """`value` as an integer array; it must be a constant holding integers."""
        if not isinstance(value, Const):
            raise DoryError(f"{describe(node)}: {what} must be a constant")
        array = value.array
        if array.dtype.kind == "f":
            if not np.all(np.isfinite(array)) or not np.array_equal(np.floor(array), array):
                raise DoryError(f"{describe(node)}: {what} holds non-integer values (not an integer-deployable graph)")
        elif array.dtype.kind not in "iub":
            raise DoryError(f"{describe(node)}: {what} has unsupported element type {array.dtype}")
        info = np.iinfo(dtype)
        if array.size and (array.min() < info.min or array.max() > info.max):
            raise DoryError(
                f"{describe(node)}: {what} has values in [{int(array.min())}, {int(array.max())}], "
                f"outside the {np.dtype(dtype).name} range")
        return array.astype(dtype)

    def shape_of(self, node: onnx.NodeProto, index: int = 0) -> tuple[int, ...]:
        return self.g.shape(node.output[index], node)

