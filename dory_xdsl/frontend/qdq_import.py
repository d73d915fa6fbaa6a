"""ONNX import of QDQ graphs (TFLite via tf2onnx, onnxruntime `quantize_static`) -> `qnn` IR.

`onnx_import.import_onnx_with_results` routes every graph with `QuantizeLinear`,
`DequantizeLinear`, `QLinearConv` or `QLinearMatMul` here. The result has the same shape as the
integer-graph import: one `func.func @main` over integer tensors, made of the same `qnn` layers.

- Graph inputs keep their ONNX shape (an NHWC input stays NHWC, its `Transpose` becomes a
  `qnn.transpose`). A float input consumed only by `QuantizeLinear` becomes the quantized tensor
  that node produces. Dynamic batch sizes are 1.
- Every `DequantizeLinear -> float op(s) -> QuantizeLinear` island becomes one integer layer:
  `Conv` (incl. depthwise, per-tensor or per-channel weights), `MatMul` (+ `Add` of a bias),
  `Gemm` -> conv/linear + `qnn.requant` with TFLite's fixed-point multipliers folded into
  `clip((k*acc + lambda) >> shift)` (zero points, bias corrections and rounding in lambda,
  64-bit constants when needed: see `qdq_requant`); `Relu` / `Clip` become the clip bounds;
  `Add` of two activations -> `qnn.add`, `AveragePool` -> `qnn.avgpool`, `MaxPool` ->
  `qnn.maxpool`; `Reshape`/`Flatten`/`Transpose` move integer tensors; `Pad` folds into the
  conv reading it or becomes a `qnn.concat` with constant blocks (`qdq_pad`).
- int8 tensors live in the unsigned domain of the PULP-NN kernels (`ui8` holding value + 128,
  zero points shifted accordingly), graph inputs and results included: `@main` records the
  offsets in `qnn.input_offsets` / `qnn.output_offsets` (128 for an int8 tensor, 0 for uint8):
  feed `x + offset`, read `y - offset`.
- A final `Softmax` (with its `QuantizeLinear`) is not an integer layer: `@main` returns the
  logits and records the softmax in the attribute `qnn.softmax_tail` (input scale, beta,
  output scale and zero point); `qdq_softmax.softmax_int8` computes it as TFLite Micro does.
- Each op producing a quantized ONNX tensor carries `qnn.onnx_tensor = "<name>"`, so
  intermediate results can be compared with the TFLite reference tensors of that name.

Unsupported constructs (float ops left between Q/DQ, per-channel activation scales, 16-bit
QDQ, asymmetric weights, ...) raise a one-line `DoryError` naming the node.
"""

from __future__ import annotations

import dataclasses
import math

from typing import TYPE_CHECKING

import numpy as np

from xdsl.dialects import func
from xdsl.dialects.builtin import ArrayAttr, DictionaryAttr, FloatAttr, ModuleOp, StringAttr, TensorType, f64
from xdsl.ir import Block, Region

from dory_xdsl.dialects import qnn
from dory_xdsl.errors import DoryError
from dory_xdsl.frontend.onnx_emit import UI8, Emitter
from dory_xdsl.frontend.onnx_graph import Graph, constant_node_value, dataflow_order, describe, index_graph
from dory_xdsl.frontend.integer_graph import DROPPED_ATTR, Importer
from dory_xdsl.frontend.onnx_layers import LAYER_HANDLERS, _pool_geometry
from dory_xdsl.frontend.onnx_values import Act, Const, vec
from dory_xdsl.frontend.qdq_emit import QuantizeEmitter
from dory_xdsl.frontend.qdq_pad import materialize_pad, on_pad, pad_conv_input
from dory_xdsl.frontend.qdq_values import (
    PENDING,
    Accum,
    QTensor,
    Real,
    RealConst,
    RealMean,
    RealSum,
    SoftmaxOf,
    SoftmaxOut,
    clamped,
)
from dory_xdsl.frontend.onnx_proto import attribute_value, onnx_pb

TensorProto = onnx_pb().TensorProto
ModelProto = onnx_pb().ModelProto

if TYPE_CHECKING:
    import onnx

QDQ_OPS = frozenset({"QuantizeLinear", "DequantizeLinear", "QLinearConv", "QLinearMatMul"})
SOFTMAX_ATTR = "qnn.softmax_tail"
INPUT_OFFSETS = "qnn.input_offsets"
OUTPUT_OFFSETS = "qnn.output_offsets"
_EIGHT_BIT = {TensorProto.INT8: True, TensorProto.UINT8: False}
_MOVES = ("Reshape", "Flatten", "Squeeze", "Unsqueeze", "Transpose")


def is_qdq_model(model: onnx.ModelProto) -> bool:
    return any(node.op_type in QDQ_OPS for node in model.graph.node)


def import_qdq_with_results(model: onnx.ModelProto) -> tuple[ModuleOp, list[str]]:
    importer = QdqImporter(index_graph(_with_batch_one(model)))
    module = importer.run()
    return module, importer.results


def _with_batch_one(model: onnx.ModelProto) -> onnx.ModelProto:
    """A copy whose graph inputs have batch size 1 where it is dynamic (TFLite exports 0 or a
    symbol); stale intermediate shapes are dropped so shape inference recomputes them."""
    copy = ModelProto()
    copy.CopyFrom(model)
    inits = {i.name for i in copy.graph.initializer}
    changed = False
    for value in copy.graph.input:
        dims = value.type.tensor_type.shape.dim
        if value.name not in inits and dims and (dims[0].dim_param or dims[0].dim_value <= 0):
            dims[0].Clear()
            dims[0].dim_value = 1
            changed = True
    if changed:
        del copy.graph.value_info[:]
        for value in copy.graph.output:
            value.type.tensor_type.ClearField("shape")
    return copy


class QdqImporter(Importer):
    """Walks the graph in dataflow order keeping symbolic values (`qdq_values`)."""

    def __init__(self, graph: Graph):
        super().__init__(graph)
        self.consumers: dict[str, list[onnx.NodeProto]] = {}
        for node in graph.graph.node:
            for name in node.input:
                self.consumers.setdefault(name, []).append(node)
        self.outputs = {o.name for o in graph.graph.output}

    # ------------------------------------------------------------------ driver

    def run(self) -> ModuleOp:
        arg_types, setups = [], []
        for value in self.g.inputs:
            setups.append(self._input_kind(value))
            arg_types.append(setups[-1][0])
        block = Block(arg_types=arg_types)
        self.emit = Emitter(block)
        self.quant = QuantizeEmitter(self)
        for arg, value, (_, signed, target) in zip(block.args, self.g.inputs, setups):
            shape = self.g.shapes[value.name]
            self.emit.where = f"graph input '{value.name}'"
            act = self.emit.reshape(Act(arg, shape, vec([0]), vec([255]), True), shape)
            self.env[target] = QTensor(act, None, 128 if signed else 0, 128 if signed else 0, signed, target)
        for node in dataflow_order(self.g):
            if all(out in self.env for out in node.output if out):
                continue  # a QuantizeLinear of a float graph input, already the argument
            self.visit(node)
        outputs, tails, offsets = [], [], []
        for out in self.g.graph.output:
            producer = self.g.producer.get(out.name)
            self.emit.where = describe(producer) if producer else f"graph output '{out.name}'"
            value = self.value(out.name)
            if isinstance(value, SoftmaxOut):
                tails.append((producer, value))
                value = value.logits
            elif isinstance(value, Real) and math.isinf(value.lo) and math.isinf(value.hi):
                value = value.q
            if not isinstance(value, QTensor):
                raise DoryError(f"{self.emit.where}: the graph output '{out.name}' is not a quantized tensor")
            self.results.append(value.name)
            offsets.append(value.offset)
            outputs.append(self.emit.onnx_shaped(value.act))
        block.add_op(func.ReturnOp(*outputs))
        self.emit.remove_unused()
        main = func.FuncOp("main", (arg_types, [v.type for v in outputs]), Region(block))
        main.attributes[INPUT_OFFSETS] = qnn.i64_array([128 if signed else 0 for _, signed, _ in setups])
        main.attributes[OUTPUT_OFFSETS] = qnn.i64_array(offsets)
        if tails:
            self._record_tails(main, tails)
        return ModuleOp([main])

    def _record_tails(self, main: func.FuncOp, tails) -> None:
        if len(tails) != 1:
            raise DoryError(f"{describe(tails[1][0])}: only one final Softmax is supported")
        node, out = tails[0]
        main.attributes[SOFTMAX_ATTR] = DictionaryAttr({
            "input_scale": FloatAttr(float(out.logits.scale), f64),
            "beta": FloatAttr(1.0, f64),
            "output_scale": FloatAttr(float(out.scale), f64),
            "output_zero_point": FloatAttr(float(out.zp), f64),
        })
        main.attributes[DROPPED_ATTR] = ArrayAttr([StringAttr(out.node)])

    def _input_kind(self, value: onnx.ValueInfoProto):
        """(argument type, signed, ONNX tensor the argument stands for)."""
        shape = self.g.shapes[value.name]
        if len(shape) not in (2, 3, 4):
            raise DoryError(f"graph input '{value.name}' has rank {len(shape)} (expected 2, 3 or 4)")
        elem = value.type.tensor_type.elem_type
        if elem in _EIGHT_BIT:
            signed = _EIGHT_BIT[elem]
            return TensorType(UI8, list(shape)), signed, value.name
        users = self.consumers.get(value.name, [])
        if elem in (TensorProto.FLOAT, TensorProto.FLOAT16) and len(users) == 1 \
                and users[0].op_type == "QuantizeLinear":
            scale, zp, signed = self._qparams(users[0], users[0].input[1:3], per_tensor=True)
            self.env[users[0].output[0]] = None  # placeholder, set in run()
            return TensorType(UI8, list(shape)), signed, users[0].output[0]
        raise DoryError(f"graph input '{value.name}': a float input must feed exactly one QuantizeLinear "
                        f"(type {TensorProto.DataType.Name(elem)})")

    def value(self, name: str):
        value = super().value(name)
        if value is None:
            raise DoryError(f"tensor '{name}' is not defined")
        return value

    def visit(self, node: onnx.NodeProto) -> None:
        self.emit.where = describe(node)
        if node.domain not in ("", "ai.onnx"):
            raise DoryError(f"{describe(node)}: unsupported op domain '{node.domain}'")
        op = node.op_type
        if op == "Constant":
            self.env[node.output[0]] = Const(constant_node_value(node))
            return
        handler = getattr(self, f"on_{op}", None)
        if handler is None:
            if op in _MOVES:
                handler = self.on_move
            elif op in ("Identity", "Dropout"):
                handler = self.on_identity
            else:
                raise DoryError(f"{describe(node)}: op '{op}' is not supported in a QDQ graph "
                                "(float ops must be Conv, MatMul, Gemm, Add, AveragePool, MaxPool, "
                                "Relu, Clip, Pad, Reshape, Flatten, Transpose or a final Softmax)")
        inputs = [self.value(n) if n else None for n in node.input]
        self.env[node.output[0]] = handler(node, inputs)

    # ------------------------------------------------------------------ quantization nodes

    def _qparams(self, node, names, *, per_tensor: bool, allow32: bool = False):
        """(scales float32 1-D, zero points int 1-D, signed) of a Q/DQ node's parameters."""
        scale_name = names[0]
        zp_name = names[1] if len(names) > 1 and names[1] else None
        scale = self._const_array(node, scale_name, "the scale").astype(np.float32).reshape(-1)
        if zp_name is None:
            zp, dtype = np.zeros(scale.shape, dtype=np.int64), np.dtype(np.uint8)
        else:
            raw = self._const_array(node, zp_name, "the zero point")
            dtype = raw.dtype
            zp = raw.astype(np.int64).reshape(-1)
        if dtype not in (np.int8, np.uint8) and not (allow32 and dtype == np.int32):
            raise DoryError(f"{describe(node)}: {dtype.name} quantization is not supported (only 8-bit QDQ)")
        if per_tensor and scale.size != 1:
            raise DoryError(f"{describe(node)}: per-channel quantization of an activation is not supported "
                            f"({scale.size} scales)")
        if not np.all(np.isfinite(scale)) or np.any(scale <= 0):
            raise DoryError(f"{describe(node)}: scales must be positive and finite")
        if per_tensor:
            return float(scale[0]), int(zp[0]), dtype == np.int8
        return scale, np.broadcast_to(zp, scale.shape).copy(), dtype == np.int8

    def _const_array(self, node, name: str, what: str) -> np.ndarray:
        value = self.value(name)
        if not isinstance(value, Const):
            raise DoryError(f"{describe(node)}: {what} must be a constant")
        return value.array

    def on_DequantizeLinear(self, node, inputs):
        x = inputs[0]
        if isinstance(x, Const):
            scale, zp, _ = self._qparams(node, node.input[1:3], per_tensor=False, allow32=True)
            axis = int(_attr(node, "axis", 1))
            return RealConst(x.array, scale, zp, axis + x.array.ndim if axis < 0 else axis)
        if not isinstance(x, QTensor):
            raise DoryError(f"{describe(node)}: DequantizeLinear of a tensor that is not quantized")
        scale, zp, signed = self._qparams(node, node.input[1:3], per_tensor=True)
        if signed != x.signed:
            raise DoryError(f"{describe(node)}: the zero point type does not match the {'int8' if x.signed else 'uint8'} input")
        return Real(x.relabeled(scale, zp))

    def on_QuantizeLinear(self, node, inputs):
        scale, zp, signed = self._qparams(node, node.input[1:3], per_tensor=True)
        x = inputs[0]
        if isinstance(x, SoftmaxOf):
            return SoftmaxOut(x.src.q, scale, zp, x.node)
        if isinstance(x, Real) and x.q.pad is not None:  # a pending Pad on its way to a conv
            q = x.q
            if _unclamped(x) and q.scale == scale and q.zp - q.offset == zp and q.signed == signed:
                return dataclasses.replace(q, name=node.output[0])
            x = Real(materialize_pad(self, q), x.lo, x.hi)
        if not isinstance(x, PENDING):
            raise DoryError(f"{describe(node)}: QuantizeLinear of a tensor that is not computed from "
                            "dequantized values")
        return self.quant.quantize(x, scale, zp, signed, node.output[0])

    # ------------------------------------------------------------------ float ops

    def _real_input(self, node, value) -> QTensor:
        """The unsigned-domain tensor behind a dequantized kernel input."""
        if isinstance(value, Real) and not _unclamped(value):
            q = value.q
            value = Real(self.quant.quantize(value, q.scale, q.zp - q.offset, q.signed, q.name, False))
        if not isinstance(value, Real):
            raise DoryError(f"{describe(node)}: the input must be a DequantizeLinear output "
                            "(float ops between QuantizeLinear/DequantizeLinear are not supported)")
        return value.q

    def _weights(self, node, value, axis: int, count: int, what: str) -> tuple[np.ndarray, np.ndarray]:
        if not isinstance(value, RealConst) or value.values.dtype != np.int8:
            raise DoryError(f"{describe(node)}: {what} must be an int8 DequantizeLinear of an initializer")
        if np.any(value.zp != 0):
            raise DoryError(f"{describe(node)}: asymmetric weights (non-zero weight zero point) are not supported")
        scales = value.scale
        if scales.size != 1 and value.axis != axis:
            raise DoryError(f"{describe(node)}: per-channel weight scales must be along the output "
                            f"channels (axis {axis}), got axis {value.axis}")
        if scales.size not in (1, count):
            raise DoryError(f"{describe(node)}: {scales.size} weight scales for {count} output channels")
        return value.values, np.broadcast_to(scales, (count,)).astype(np.float32)

    def _bias(self, node, value, in_scale: float, w_scales: np.ndarray) -> np.ndarray:
        if not isinstance(value, RealConst) or value.values.dtype != np.int32:
            raise DoryError(f"{describe(node)}: the bias must be an int32 DequantizeLinear of an initializer")
        if np.any(value.zp != 0):
            raise DoryError(f"{describe(node)}: the bias zero point must be 0")
        expected = np.float64(in_scale) * w_scales.astype(np.float64)
        scale = np.broadcast_to(value.scale.astype(np.float64), expected.shape)
        if not np.allclose(scale, expected, rtol=1e-3, atol=0):
            raise DoryError(f"{describe(node)}: the bias scale is not input scale x weight scale")
        return np.broadcast_to(value.values.reshape(-1), expected.shape).astype(np.int32)

    def _accum(self, act: Act, x: QTensor, w2d: np.ndarray, w_scales: np.ndarray, has_bias: bool) -> Accum:
        sums = w2d.astype(np.int64).sum(axis=1)
        return Accum(act, x.scale, w_scales, [int(-x.zp * s) for s in sums], has_bias)

    def on_Conv(self, node, inputs):
        x = self._real_input(node, inputs[0])
        w, w_scales = self._weights(node, inputs[1], 0, self._const_shape(inputs[1])[0], "the weight")
        bias = None
        if len(inputs) > 2 and inputs[2] is not None:
            bias = self._bias(node, inputs[2], x.scale, w_scales)
        x, node = pad_conv_input(self, node, x)
        act = LAYER_HANDLERS["Conv"](self, node, [x.act, Const(w)] + ([Const(bias)] if bias is not None else []))[0]
        return self._accum(act, x, w.reshape(w.shape[0], -1), w_scales, bias is not None)

    def on_MatMul(self, node, inputs):
        x = self._real_input(node, inputs[0])
        shape = self._const_shape(inputs[1])
        if len(shape) != 2:
            raise DoryError(f"{describe(node)}: the second operand must be a 2-D weight, got {list(shape)}")
        w, w_scales = self._weights(node, inputs[1], 1, shape[1], "the weight")
        act = LAYER_HANDLERS["MatMul"](self, node, [x.act, Const(w)])[0]
        return self._accum(act, x, np.ascontiguousarray(w.T), w_scales, False)

    def on_Gemm(self, node, inputs):
        x = self._real_input(node, inputs[0])
        shape = self._const_shape(inputs[1])
        trans_b = int(_attr(node, "transB", 0))
        if len(shape) != 2:
            raise DoryError(f"{describe(node)}: the weight must be 2-D, got {list(shape)}")
        count = shape[0] if trans_b else shape[1]
        w, w_scales = self._weights(node, inputs[1], 0 if trans_b else 1, count, "the weight")
        bias = None
        if len(inputs) > 2 and inputs[2] is not None:
            bias = self._bias(node, inputs[2], x.scale, w_scales)
        args = [x.act, Const(w)] + ([Const(bias)] if bias is not None else [])
        act = LAYER_HANDLERS["Gemm"](self, node, args)[0]
        w_out = w if trans_b else w.T
        return self._accum(act, x, np.ascontiguousarray(w_out), w_scales, bias is not None)

    def _const_shape(self, value) -> tuple[int, ...]:
        return value.values.shape if isinstance(value, RealConst) else ()

    def on_Add(self, node, inputs):
        a, b = inputs
        if isinstance(b, Accum) and isinstance(a, RealConst):
            a, b = b, a
        if isinstance(a, Accum) and isinstance(b, RealConst):
            if a.has_bias or not (math.isinf(a.lo) and math.isinf(a.hi)):
                raise DoryError(f"{describe(node)}: only one bias Add directly after MatMul is supported")
            bias = self._bias(node, b, a.in_scale, a.w_scales)
            offsets = [o + int(v) for o, v in zip(a.offsets, bias.tolist())]
            return Accum(a.act, a.in_scale, a.w_scales, offsets, True)
        if isinstance(a, Real) and isinstance(b, Real) and _unclamped(a) and _unclamped(b):
            return RealSum(a, b)
        raise DoryError(f"{describe(node)}: Add must add a bias to a MatMul or two dequantized tensors")

    def on_Relu(self, node, inputs):
        return self._clamp(node, inputs[0], 0.0, math.inf)

    def on_Clip(self, node, inputs):
        if self.g.opset() < 11:
            lo, hi = _attr(node, "min", -math.inf), _attr(node, "max", math.inf)
        else:
            bounds = []
            for value, default in ((inputs[1] if len(inputs) > 1 else None, -math.inf),
                                   (inputs[2] if len(inputs) > 2 else None, math.inf)):
                if value is None:
                    bounds.append(default)
                elif isinstance(value, Const) and value.array.size == 1:
                    bounds.append(float(value.array.reshape(-1)[0]))
                else:
                    raise DoryError(f"{describe(node)}: Clip bounds must be scalar constants")
            lo, hi = bounds
        return self._clamp(node, inputs[0], float(lo), float(hi))

    def _clamp(self, node, value, lo: float, hi: float):
        if not isinstance(value, PENDING):
            raise DoryError(f"{describe(node)}: {node.op_type} of a tensor that is not dequantized")
        return clamped(value, lo, hi)

    def on_MaxPool(self, node, inputs):
        x = self._real_input(node, inputs[0])
        act = LAYER_HANDLERS["MaxPool"](self, node, [x.act])[0]
        return Real(QTensor(act, x.scale, x.zp, x.offset, x.signed, node.output[0]))

    def on_AveragePool(self, node, inputs, global_pool: bool = False):
        x = self._real_input(node, inputs[0])
        act, kernel, strides, pads, _, own_pads, attrs = _pool_geometry(self, node, [x.act], global_pool)
        if own_pads and not attrs.get("count_include_pad", 0):
            raise DoryError(f"{describe(node)}: padding with count_include_pad = 0 is not supported")
        return RealMean(Real(x), kernel, strides, pads, self.shape_of(node))

    def on_GlobalAveragePool(self, node, inputs):
        return self.on_AveragePool(node, inputs, True)

    def on_Softmax(self, node, inputs):
        x = inputs[0]
        axis = int(_attr(node, "axis", -1 if self.g.opset() >= 13 else 1))
        if not isinstance(x, Real) or not _unclamped(x):
            raise DoryError(f"{describe(node)}: Softmax must read a dequantized tensor")
        rank = len(x.q.act.shape)
        if axis not in (-1, rank - 1) or any(d != 1 for d in x.q.act.shape[:-1]):
            raise DoryError(f"{describe(node)}: only a Softmax over the last axis of one row is supported")
        if not self.terminal_softmax(node):
            raise DoryError(f"{describe(node)}: Softmax is only supported as the final op")
        return SoftmaxOf(x, describe(node))

    def terminal_softmax(self, node) -> bool:
        out = node.output[0]
        users = self.consumers.get(out, [])
        if not users:
            return out in self.outputs
        return all(u.op_type == "QuantizeLinear" and not self.consumers.get(u.output[0]) and u.output[0] in self.outputs
                   for u in users)

    def on_move(self, node, inputs):
        value = inputs[0]
        args = [None] + list(inputs[1:])
        if isinstance(value, QTensor):
            args[0] = value.act
            act = LAYER_HANDLERS[node.op_type](self, node, args)[0]
            return QTensor(act, value.scale, value.zp, value.offset, value.signed, node.output[0])
        if isinstance(value, Real) and _unclamped(value):
            moved = self.on_move(node, [value.q] + list(inputs[1:]))
            return Real(moved)
        raise DoryError(f"{describe(node)}: {node.op_type} of a tensor that is not quantized")

    def on_identity(self, node, inputs):
        return inputs[0]

    def on_Pad(self, node, inputs):
        return on_pad(self, node, inputs)

    def on_QLinearConv(self, node, inputs):
        return self._qlinear(node, inputs, "Conv", bias_index=8)

    def on_QLinearMatMul(self, node, inputs):
        return self._qlinear(node, inputs, "MatMul", bias_index=None)

    def _qlinear(self, node, inputs, op: str, bias_index: int | None):
        """`QLinearConv` / `QLinearMatMul`: dequantize, compute, quantize, in one node."""
        x = inputs[0]
        if not isinstance(x, QTensor):
            raise DoryError(f"{describe(node)}: the input is not a quantized tensor")
        scale, zp, signed = self._qparams(node, node.input[1:3], per_tensor=True)
        real = Real(x.relabeled(scale, zp))
        w_scale, w_zp, _ = self._qparams(node, node.input[4:6], per_tensor=False)
        w_axis = 0 if op == "Conv" else 1
        weights = RealConst(self._const_array(node, node.input[3], "the weight"), w_scale, w_zp, w_axis)
        args = [real, weights]
        if bias_index is not None and len(node.input) > bias_index and node.input[bias_index]:
            bias = self._const_array(node, node.input[bias_index], "the bias")
            w_scales = np.broadcast_to(w_scale, (weights.values.shape[0],))
            args.append(RealConst(bias, (np.float32(scale) * w_scales).astype(np.float32),
                                  np.zeros(w_scales.shape, dtype=np.int64), 0))
        acc = getattr(self, f"on_{op}")(node, args)
        out_scale, out_zp, out_signed = self._qparams(node, node.input[6:8], per_tensor=True)
        return self.quant.quantize(acc, out_scale, out_zp, out_signed, node.output[0])


def _unclamped(value) -> bool:
    return math.isinf(value.lo) and math.isinf(value.hi)


def _attr(node: onnx.NodeProto, name: str, default):
    for attr in node.attribute:
        if attr.name == name:
            return attribute_value(attr)
    return default
