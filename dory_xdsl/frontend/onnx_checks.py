"""Checks at the ONNX importer's entry: refuse what the import cannot honour, naming the cause.

`check_model(model, name)` runs right after parsing (`onnx_graph.parse_model`): no graph outputs,
an opset or IR version this onnx package does not know, sparse or duplicate initializers,
graph inputs of an element type that does not carry 8-bit integers, and initializers whose
external data cannot be read (loaded here, relative to the model file). `check_float_tail`
refuses a real-valued op in the middle of the integer graph (only a trailing tail may be dropped).
`unknown_shape_reason` explains why shape inference left a node's output without a static shape
(a kernel larger than its padded input, a kernel/stride/dilation of 0, a Concat of mismatched
shapes, ...), so the diagnostic gives the cause instead of "unknown or dynamic".
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from dory_xdsl.errors import DoryError
from dory_xdsl.frontend.onnx_proto import newest_opset, onnx_pb

if TYPE_CHECKING:
    import onnx

INPUT_TYPES = {1: "FLOAT", 2: "UINT8", 3: "INT8"}  # TensorProto.FLOAT, UINT8, INT8
"""Graph input element types that can carry 8-bit integers (NEMO/Quantlab feed floats holding them)."""

INTEGER_LAYERS = frozenset({"Conv", "ConvTranspose", "Gemm", "MatMul", "MatMulInteger", "ConvInteger", "MaxPool",
                            "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "QLinearConv", "QLinearMatMul"})
"""Layers: a float op whose result reaches one of these is in the middle of the integer graph."""


def check_model(model: onnx.ModelProto, name: str) -> None:
    graph = model.graph
    ir_version = onnx_pb().IR_VERSION
    if model.ir_version > ir_version:
        raise DoryError(f"{name}: ir_version {model.ir_version} is newer than this onnx package reads "
                        f"(up to {ir_version})")
    newest = newest_opset()
    for entry in model.opset_import:
        if entry.domain in ("", "ai.onnx") and not 1 <= entry.version <= newest:
            raise DoryError(f"{name}: opset {entry.version} is not an ONNX opset this onnx package knows "
                            f"(1 to {newest})")
    if not graph.output:
        raise DoryError(f"{name}: the graph has no outputs (nothing to compute)")
    if graph.sparse_initializer:
        sparse = graph.sparse_initializer[0].values.name
        raise DoryError(f"{name}: sparse initializer '{sparse}' is not supported (store it as a dense initializer)")
    seen: set[str] = set()
    for init in graph.initializer:
        if init.name in seen:
            raise DoryError(f"{name}: initializer '{init.name}' is defined twice")
        seen.add(init.name)
    for value in graph.input:
        if value.name in seen:
            continue
        elem = value.type.tensor_type.elem_type
        if elem not in INPUT_TYPES:
            data_type = onnx_pb().TensorProto.DataType
            label = data_type.Name(elem) if elem in data_type.values() else str(elem)
            raise DoryError(f"graph input '{value.name}' has element type {label}; the network takes 8-bit "
                            f"integers (as FLOAT, UINT8 or INT8)")
    _load_external_data(model, name)


def _uses_external_data(model: onnx.ModelProto) -> bool:
    """Whether a tensor of the graph (initializers, node attributes, subgraphs) lives in a file."""
    external = onnx_pb().TensorProto.EXTERNAL

    def graph_uses(graph) -> bool:
        tensors = list(graph.initializer)
        for node in graph.node:
            for attr in node.attribute:
                tensors.extend([attr.t] if attr.HasField("t") else [])
                tensors.extend(attr.tensors)
                if attr.HasField("g") and graph_uses(attr.g) or any(graph_uses(g) for g in attr.graphs):
                    return True
        return any(t.data_location == external for t in tensors)

    return graph_uses(model.graph)


def _load_external_data(model: onnx.ModelProto, name: str) -> None:
    if not _uses_external_data(model):
        return
    from onnx import TensorProto, external_data_helper

    base = os.path.dirname(os.path.abspath(name)) if name else os.getcwd()
    for tensor in external_data_helper._get_all_tensors(model):  # noqa: SLF001 - onnx's own walk
        if not external_data_helper.uses_external_data(tensor):
            continue
        info = external_data_helper.ExternalDataInfo(tensor)
        try:
            external_data_helper.load_external_data_for_tensor(tensor, base)
        except Exception as error:  # onnx raises ValidationError, OSError, ValueError ...
            why = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise DoryError(f"{name}: initializer '{tensor.name}' keeps its data in '{info.location}', "
                            f"which cannot be read ({why})") from None
        tensor.data_location = TensorProto.DEFAULT
        del tensor.external_data[:]


def check_float_tail(tail: list[onnx.NodeProto], describe) -> None:
    """Refuse a float op whose result reaches a layer: the integer graph would be cut short."""
    layer = next((node for node in tail if node.op_type in INTEGER_LAYERS), None)
    if layer is None:
        return
    start = tail[0]
    raise DoryError(f"{describe(start)}: a float op in the middle of the integer graph ({describe(layer)} "
                    f"uses its result); only trailing float ops can be dropped")


def _ints(node: onnx.NodeProto, attr: str) -> list[int] | None:
    for a in node.attribute:
        if a.name == attr:
            return list(a.ints) if a.ints else [a.i]
    return None


def _window_reason(node: onnx.NodeProto, in_shape: tuple[int, ...] | None, w_shape) -> str | None:
    for attr, low in (("kernel_shape", 1), ("strides", 1), ("dilations", 1), ("pads", 0)):
        values = _ints(node, attr)
        if values is not None and any(v < low for v in values):
            return f"{attr} {values} must be {'>= 0' if low == 0 else 'positive'}"
    if in_shape is None or len(in_shape) < 3:
        return None
    spatial = in_shape[2:]
    kernel = _ints(node, "kernel_shape") or (list(w_shape[2:]) if w_shape is not None else None)
    if kernel is None or len(kernel) != len(spatial):
        return None
    pads = _ints(node, "pads") or [0] * (2 * len(spatial))
    dilations = _ints(node, "dilations") or [1] * len(spatial)
    padded = [size + pads[i] + pads[i + len(spatial)] for i, size in enumerate(spatial)]
    effective = [(k - 1) * d + 1 for k, d in zip(kernel, dilations)]
    if any(e > p for e, p in zip(effective, padded)):
        shown = "x".join(map(str, effective))
        return f"kernel {shown} is larger than its padded input {'x'.join(map(str, padded))}"
    return None


def _concat_reason(node: onnx.NodeProto, shapes: dict) -> str | None:
    inputs = [(name, shapes.get(name)) for name in node.input if name]
    if any(shape is None for _, shape in inputs) or not inputs:
        return None
    rank = len(inputs[0][1])
    axis = (_ints(node, "axis") or [0])[0]
    if not -rank <= axis < rank:
        return f"axis {axis} is out of range for rank-{rank} inputs"
    axis %= rank
    first_name, first = inputs[0]
    for name, shape in inputs[1:]:
        if len(shape) != rank or any(a != b for i, (a, b) in enumerate(zip(shape, first)) if i != axis):
            return (f"inputs '{first_name}' {list(first)} and '{name}' {list(shape)} differ outside the "
                    f"concatenation axis {axis}")
    return None


def unknown_shape_reason(model: onnx.ModelProto, node: onnx.NodeProto, shapes: dict) -> str | None:
    """Why `node`'s output has no static shape, when it can be told."""
    if node.op_type in ("Conv", "MaxPool", "AveragePool", "ConvInteger"):
        weight = shapes.get(node.input[1]) if node.op_type.startswith("Conv") and len(node.input) > 1 else None
        reason = _window_reason(node, shapes.get(node.input[0]) if node.input else None, weight)
        if reason:
            return reason
    if node.op_type == "Concat":
        reason = _concat_reason(node, shapes)
        if reason:
            return reason
    try:
        from onnx import shape_inference

        shape_inference.infer_shapes(model, strict_mode=True)
    except Exception as error:  # InferenceError: "(op_type:X, node name: N): [ShapeInferenceError] why"
        text = " ".join(str(error).split())
        marker = f"node name: {node.name})"
        if node.name and marker in text:
            return text.split(marker, 1)[1].split("(op_type:", 1)[0].replace("[ShapeInferenceError]", "").strip(" :")
    return None


MIN_INPUTS = {"Conv": 2, "ConvInteger": 2, "Gemm": 2, "MatMul": 2, "MatMulInteger": 2, "Add": 2, "Mul": 2,
              "Div": 2, "Sub": 2, "Gather": 2, "Reshape": 2, "MaxPool": 1, "AveragePool": 1, "Clip": 1,
              "Floor": 1, "Cast": 1, "Relu": 1, "Flatten": 1, "Transpose": 1, "Concat": 1, "Pad": 1}
"""The fewest inputs each op takes (ONNX's own minimum): fewer is a malformed node."""


def check_arity(node: onnx.NodeProto, describe) -> None:
    needed = MIN_INPUTS.get(node.op_type, 0)
    given = sum(1 for name in node.input[:needed] if name)
    if given < needed:
        raise DoryError(f"{describe(node)}: takes at least {needed} input(s), got {given}")
    if not node.output or not node.output[0]:
        raise DoryError(f"{describe(node)}: has no output")


def check_axis(node: onnx.NodeProto, shapes: dict, describe) -> None:
    """An `axis` attribute must index the input's dimensions (Flatten: 0..rank)."""
    axis = _ints(node, "axis")
    shape = shapes.get(node.input[0]) if node.input else None
    if axis is None or shape is None or node.op_type not in ("Flatten", "Concat", "Gather", "Softmax", "LogSoftmax"):
        return
    rank = len(shape)
    high = rank if node.op_type == "Flatten" else rank - 1
    if not -rank <= axis[0] <= high:
        raise DoryError(f"{describe(node)}: axis {axis[0]} is out of range for a rank-{rank} input")
