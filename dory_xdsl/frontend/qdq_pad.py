"""`Pad` in QDQ graphs (tf2onnx puts an explicit one before convolutions that pad
asymmetrically or explicitly, on the int8 tensor or on its dequantized floats).

TFLite pads a quantized tensor with a quantized value (`PAD`: the zero point, i.e. real 0;
`PADV2`: any constant). The importer keeps the `Pad` pending (`qdq_values.PendingPad`) while
every use of its result is a convolution (through `DequantizeLinear` / `QuantizeLinear` with the
same parameters); the convolution folds it into its own padding when the value is the zero
point (then `pad_conv_input` pads explicitly if the zero point is not 0 in the IR domain, as
the kernels pad with 0). Otherwise the padding is a layer of its own: `qnn.concat` of the
tensor with constant blocks of the pad value (`analysis.constant_pad`).
"""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING

import numpy as np

from dory_xdsl.analysis.constant_pad import pad_with_constant
from dory_xdsl.errors import DoryError
from dory_xdsl.frontend.onnx_emit import UI8
from dory_xdsl.frontend.onnx_graph import attributes, describe
from dory_xdsl.frontend.onnx_values import Act, Const, vec
from dory_xdsl.frontend.qdq_values import PendingPad, QTensor, Real, RealConst
from dory_xdsl.frontend.onnx_proto import attribute_value, onnx_pb

if TYPE_CHECKING:
    import onnx

PASSES_PAD = ("DequantizeLinear", "QuantizeLinear", "Identity")


def _pads(imp, node, inputs) -> list[int]:
    attrs = attributes(node)
    if attrs.get("mode", "constant") != "constant":
        raise DoryError(f"{describe(node)}: only constant padding is supported, got mode '{attrs['mode']}'")
    if "pads" in attrs:
        return list(attrs["pads"])
    if len(inputs) > 3 and inputs[3] is not None:
        raise DoryError(f"{describe(node)}: Pad with an 'axes' input is not supported")
    if not isinstance(inputs[1], Const):
        raise DoryError(f"{describe(node)}: the pads must be a constant")
    return inputs[1].array.astype(np.int64).reshape(-1).tolist()


def _fill(node, inputs, q: QTensor, quantized: bool) -> int:
    """The IR value `q` is padded with (constant_value, int or real, default 0)."""
    attrs = attributes(node)
    value = inputs[2] if len(inputs) > 2 else None
    if "value" in attrs:  # opset < 11
        value = Const(np.array(attrs["value"], dtype=np.float32))
    if quantized:
        onnx_value = 0 if value is None else int(np.asarray(value.array).reshape(-1)[0])
        return onnx_value + q.offset
    if value is None:
        real = 0.0
    elif isinstance(value, RealConst):
        real = float(value.scale.reshape(-1)[0]) * (int(value.values.reshape(-1)[0]) - int(value.zp.reshape(-1)[0]))
    elif isinstance(value, Const):
        real = float(np.asarray(value.array).reshape(-1)[0])
    else:
        raise DoryError(f"{describe(node)}: the pad value must be a constant")
    if q.scale is None:
        raise DoryError(f"{describe(node)}: padding a float tensor without a scale")
    steps = float(np.float32(real) / np.float32(q.scale))
    if abs(steps - round(steps)) > 1e-3:
        raise DoryError(f"{describe(node)}: the pad value {real} is not a multiple of the scale {q.scale}")
    return q.zp + round(steps)


def on_pad(imp, node, inputs):
    """ONNX `Pad` of a quantized tensor (`QTensor`) or of its dequantized floats (`Real`)."""
    x = inputs[0]
    if isinstance(x, QTensor):
        q, quantized = x, True
    elif isinstance(x, Real) and math.isinf(x.lo) and math.isinf(x.hi):
        q, quantized = x.q, False
    else:
        raise DoryError(f"{describe(node)}: Pad of a tensor that is not quantized")
    pads = _pads(imp, node, inputs)
    rank = len(q.act.shape)
    if len(pads) != 2 * rank or min(pads) < 0:
        raise DoryError(f"{describe(node)}: pads {pads} are invalid for a rank-{rank} tensor")
    if pads[0] or pads[rank]:
        raise DoryError(f"{describe(node)}: padding the batch dimension is not supported")
    fill = _fill(node, inputs, q, quantized)
    lo, hi = (0, 255) if q.act.value.type.element_type == UI8 else (-128, 127)  # type: ignore[union-attr]
    if not lo <= fill <= hi:
        raise DoryError(f"{describe(node)}: the pad value is outside the {'int8' if q.signed else 'uint8'} range")
    if q.pad is not None:
        q = materialize_pad(imp, q)
    padded = dataclasses.replace(q, name=node.output[0],
                                 pad=PendingPad(tuple(pads[:rank]), tuple(pads[rank:]), fill))
    if not feeds_convs_only(imp, node.output[0]):
        padded = materialize_pad(imp, padded)
    return padded if quantized else Real(padded)


def feeds_convs_only(imp, name: str) -> bool:
    """Every use of `name` is the input of a convolution, through Q/DQ/Identity nodes."""
    users = imp.consumers.get(name, [])
    if not users or name in imp.outputs:
        return False
    for user in users:
        if user.input[0] != name:
            return False
        if user.op_type in ("Conv", "QLinearConv"):
            continue
        if user.op_type not in PASSES_PAD or not feeds_convs_only(imp, user.output[0]):
            return False
    return True


def materialize_pad(imp, q: QTensor) -> QTensor:
    """`q` with its pending pad applied: `qnn.concat` of constant blocks of the pad value."""
    if q.pad is None:
        return q
    if q.pad.begins[1] or q.pad.ends[1]:
        raise DoryError(f"{imp.emit.where}: padding the channel dimension is not supported")
    rank = len(q.act.shape)
    begins, ends = (0,) * (4 - rank) + q.pad.begins[2:], (0,) * (4 - rank) + q.pad.ends[2:]
    act = concat_pad(imp, q.act, (begins[-2], begins[-1], ends[-2], ends[-1]), q.pad.value)
    return dataclasses.replace(q, act=act, pad=None)


def concat_pad(imp, act: Act, pads: tuple[int, int, int, int], fill: int) -> Act:
    """`act` padded by `pads` = (top, left, bottom, right) with `fill` (`constant_pad`); a
    1-D (rank 3) tensor is padded along its length (top and bottom must be 0)."""
    value = pad_with_constant(act.value, pads, fill, (2, 3), imp.emit.emit)
    t, left, b, right = pads
    shape = (act.shape[0], act.shape[1], act.shape[2] + left + right) if len(act.shape) == 3 else \
        (act.shape[0], act.shape[1], act.shape[2] + t + b, act.shape[3] + left + right)
    lo, hi = act.bounds()
    return Act(value, shape, vec([min(lo, fill)]), vec([max(hi, fill)]))


def pad_conv_input(imp, node: onnx.NodeProto, x: QTensor) -> tuple[QTensor, onnx.NodeProto]:
    """The conv input and node with the pending pad of `x` folded into the conv's padding (a
    pad with the zero point) or applied before it; then, as TFLite pads a conv input with its
    zero point (real 0) and the kernels with 0, explicit zero-point padding (`concat_pad`) and
    a conv without padding when the zero point is not 0 in the IR domain."""
    pads = list(_attr_ints(node, "pads"))
    spatial = len(x.act.shape) - 2
    pads = pads or [0] * (2 * spatial)
    if x.pad is not None:
        own = x.pad.begins[:2] + x.pad.ends[:2]
        if x.pad.value == x.zp and not any(own):
            pads = [p + b for p, b in zip(pads[:spatial], x.pad.begins[2:])] + \
                   [p + e for p, e in zip(pads[spatial:], x.pad.ends[2:])]
            x = dataclasses.replace(x, pad=None)
        else:
            x = materialize_pad(imp, x)
    if x.zp != 0 and any(pads):
        if spatial != 2:
            raise DoryError(f"{describe(node)}: padding a 1-D input with a non-zero zero point is not supported")
        x = dataclasses.replace(x, act=concat_pad(imp, x.act, tuple(pads), x.zp))
        pads = [0] * 4
    copy = onnx_pb().NodeProto()
    copy.CopyFrom(node)
    for attr in list(copy.attribute):
        if attr.name == "pads":
            copy.attribute.remove(attr)
    attribute = onnx_pb().AttributeProto
    copy.attribute.append(attribute(name="pads", type=attribute.INTS, ints=[int(p) for p in pads]))
    return x, copy


def _attr_ints(node: onnx.NodeProto, name: str) -> list[int]:
    for attr in node.attribute:
        if attr.name == name:
            return list(attribute_value(attr))
    return []
