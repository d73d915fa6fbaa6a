"""ONNX node handlers for the importer: conv, linear, pooling, padding and tensor reshaping.

Each handler takes `(importer, node, inputs)` (inputs are symbolic values, see
`dory_xdsl.frontend.onnx_values`) and returns the values of the node's outputs. The element-wise
arithmetic handlers live in `dory_xdsl.frontend.onnx_arith`.
"""

from __future__ import annotations

import math

from typing import TYPE_CHECKING

import numpy as np


from dory_xdsl.dialects import qnn
from dory_xdsl.errors import DoryError
from dory_xdsl.frontend.onnx_arith import ARITH_HANDLERS
from dory_xdsl.frontend.onnx_emit import I32, ir_axis, ir_shape
from dory_xdsl.frontend.onnx_graph import attributes, describe
from dory_xdsl.frontend.onnx_values import Act, Expr, Padded, PoolSum, Reshaped, Round, as_expr, collapse, vec

if TYPE_CHECKING:
    import onnx


def _input_act(imp, node: onnx.NodeProto, value) -> tuple[Act, tuple[int, ...], tuple[int, ...]]:
    """The 8-bit activation a spatial op reads, with the padding of a folded `Pad` (ONNX dims)."""
    begins = ends = ()
    if isinstance(value, Padded):
        begins, ends, value = value.begins, value.ends, value.act
    act = imp.emit.materialize(value)
    width = act.value.type.element_type.width.data
    if width != 8:
        lo, hi = act.bounds()
        raise DoryError(f"{describe(node)}: the input is not an 8-bit tensor (values in [{lo}, {hi}])")
    return act, begins or (0,) * len(act.shape), ends or (0,) * len(act.shape)


def _spatial(node: onnx.NodeProto, attrs: dict, rank: int, kernel: tuple[int, ...], begins, ends):
    """(strides, pads t/l/b/r, dilations) in 2-D form for a rank-3 or rank-4 ONNX tensor."""
    nd = rank - 2
    auto_pad = attrs.get("auto_pad", "NOTSET")
    if auto_pad not in ("NOTSET", "VALID"):
        raise DoryError(f"{describe(node)}: auto_pad '{auto_pad}' is not supported (use explicit pads)")
    strides = list(attrs.get("strides", [1] * nd))
    dilations = list(attrs.get("dilations", [1] * nd))
    pads = list(attrs.get("pads", [0] * (2 * nd))) if auto_pad == "NOTSET" else [0] * (2 * nd)
    if len(strides) != nd or len(dilations) != nd or len(pads) != 2 * nd or len(kernel) != nd:
        raise DoryError(f"{describe(node)}: strides/dilations/pads/kernel do not match a {nd}-D input")
    if min(pads) < 0 or min(strides) < 1 or min(dilations) < 1:
        raise DoryError(f"{describe(node)}: negative pads or non-positive strides/dilations")
    pads = [p + b for p, b in zip(pads[:nd], begins[2:])] + [p + e for p, e in zip(pads[nd:], ends[2:])]
    if nd == 1:
        return (1, strides[0]), (0, pads[0], 0, pads[1]), (1, dilations[0])
    if nd == 2:
        return tuple(strides), (pads[0], pads[1], pads[2], pads[3]), tuple(dilations)
    raise DoryError(f"{describe(node)}: only 1-D and 2-D inputs are supported, got rank {rank}")


def _acc_range(node, act: Act, w2d: np.ndarray, bias: np.ndarray | None, padded: bool):
    lo, hi = act.bounds()
    if padded:
        lo, hi = min(lo, 0), max(hi, 0)
    w = w2d.astype(np.int64)
    pos, neg = np.clip(w, 0, None).sum(axis=1), np.clip(w, None, 0).sum(axis=1)
    b = np.zeros(w.shape[0], dtype=np.int64) if bias is None else bias.astype(np.int64)
    acc_lo, acc_hi = vec(pos * lo + neg * hi + b), vec(pos * hi + neg * lo + b)
    if min(acc_lo.tolist()) < -(2**31) or max(acc_hi.tolist()) > 2**31 - 1:
        raise DoryError(f"{describe(node)}: the accumulator can overflow 32 bits")
    return acc_lo, acc_hi


def conv(imp, node, inputs):
    attrs = attributes(node)
    act, begins, ends = _input_act(imp, node, inputs[0])
    rank = len(act.shape)
    if rank not in (3, 4):
        raise DoryError(f"{describe(node)}: Conv input must have rank 3 or 4, got {rank}")
    w = imp.integer_const(node, inputs[1], "the weight", dtype=np.int8)
    if w.ndim != rank:
        raise DoryError(f"{describe(node)}: the weight has rank {w.ndim}, the input rank {rank}")
    kernel = tuple(attrs.get("kernel_shape", w.shape[2:]))
    if kernel != w.shape[2:]:
        raise DoryError(f"{describe(node)}: kernel_shape {list(kernel)} does not match the weight {list(w.shape)}")
    strides, pads, dilations = _spatial(node, attrs, rank, kernel, begins, ends)
    bias = None
    if len(inputs) > 2 and inputs[2] is not None:
        bias = imp.integer_const(node, inputs[2], "the bias", dtype=np.int32).reshape(-1)
        if bias.shape != (w.shape[0],):
            raise DoryError(f"{describe(node)}: the bias has {bias.size} values for {w.shape[0]} output channels")
    lo, hi = _acc_range(node, act, w.reshape(w.shape[0], -1), bias, any(pads))
    out_shape = imp.shape_of(node)
    w4 = w.reshape(ir_shape(w.shape))
    value = imp.emit.emit(qnn.Conv2dOp(
        act.value, imp.emit.constant(w4), imp.emit.tensor_type(out_shape, I32), strides=strides, pads=pads,
        dilations=dilations, group=int(attrs.get("group", 1)),
        bias=None if bias is None else imp.emit.constant(bias)))
    return [Act(value, out_shape, lo, hi)]


def _linear(imp, node, x, weight: np.ndarray, bias: np.ndarray | None):
    act, _, _ = _input_act(imp, node, x)
    if len(act.shape) != 2:
        raise DoryError(f"{describe(node)}: the input must be 2-D (flattened), got shape {list(act.shape)}")
    if weight.shape[1] != act.shape[1]:
        raise DoryError(f"{describe(node)}: the weight {list(weight.shape)} does not match the input {list(act.shape)}")
    lo, hi = _acc_range(node, act, weight, bias, False)
    out_shape = (act.shape[0], weight.shape[0])
    value = imp.emit.emit(qnn.LinearOp(
        act.value, imp.emit.constant(weight), imp.emit.tensor_type(out_shape, I32),
        bias=None if bias is None else imp.emit.constant(bias)))
    return [Act(value, out_shape, lo, hi)]


def gemm(imp, node, inputs):
    attrs = attributes(node)
    if attrs.get("transA", 0) or attrs.get("alpha", 1.0) != 1.0 or attrs.get("beta", 1.0) != 1.0:
        raise DoryError(f"{describe(node)}: only Gemm with transA = 0, alpha = beta = 1 is supported")
    b = imp.integer_const(node, inputs[1], "the weight", dtype=np.int8)
    if b.ndim != 2:
        raise DoryError(f"{describe(node)}: the weight must be 2-D, got {list(b.shape)}")
    weight = b if attrs.get("transB", 0) else b.T
    bias = None
    if len(inputs) > 2 and inputs[2] is not None:
        c = imp.integer_const(node, inputs[2], "the bias", dtype=np.int32)
        if c.size not in (1, weight.shape[0]):
            raise DoryError(f"{describe(node)}: the bias shape {list(c.shape)} is not per output neuron")
        bias = np.broadcast_to(c.reshape(-1), (weight.shape[0],)).astype(np.int32)
    return _linear(imp, node, inputs[0], np.ascontiguousarray(weight), bias)


def matmul(imp, node, inputs):
    b = imp.integer_const(node, inputs[1], "the weight", dtype=np.int8)
    if b.ndim != 2:
        raise DoryError(f"{describe(node)}: the second operand must be a 2-D constant, got {list(b.shape)}")
    return _linear(imp, node, inputs[0], np.ascontiguousarray(b.T), None)


def _pool_geometry(imp, node, inputs, global_pool: bool):
    attrs = attributes(node)
    act, begins, ends = _input_act(imp, node, inputs[0])
    rank = len(act.shape)
    if global_pool:
        kernel = act.shape[2:]
        attrs = {}
    else:
        kernel = tuple(attrs.get("kernel_shape", ()))
        if any(d != 1 for d in attrs.get("dilations", [1] * len(kernel))):
            raise DoryError(f"{describe(node)}: dilated pooling is not supported")
    attrs = {k: v for k, v in attrs.items() if k != "dilations"}
    strides, pads, _ = _spatial(node, attrs, rank, kernel, begins, ends)
    own_pads = any(attrs.get("pads", []))
    kernel2 = (1, kernel[0]) if rank == 3 else tuple(kernel)
    return act, kernel2, strides, pads, any(begins) or any(ends), own_pads, attrs


def maxpool(imp, node, inputs, global_pool=False):
    act, kernel, strides, pads, folded, _, attrs = _pool_geometry(imp, node, inputs, global_pool)
    if folded and act.bounds()[0] < 0:
        raise DoryError(f"{describe(node)}: zero padding before MaxPool of signed values is not supported")
    if attrs.get("storage_order", 0):
        raise DoryError(f"{describe(node)}: storage_order = 1 is not supported")
    out_shape = imp.shape_of(node)
    elem = act.value.type.element_type
    value = imp.emit.emit(qnn.MaxPoolOp(
        act.value, imp.emit.tensor_type(out_shape, elem), kernel=kernel, strides=strides, pads=pads))
    return [Act(value, out_shape, act.lo, act.hi)]


def avgpool(imp, node, inputs, global_pool=False):
    act, kernel, strides, pads, _, own_pads, attrs = _pool_geometry(imp, node, inputs, global_pool)
    if own_pads and not attrs.get("count_include_pad", 0):
        raise DoryError(f"{describe(node)}: padding with count_include_pad = 0 is not supported")
    out_shape = imp.shape_of(node)
    pool = PoolSum(act, kernel, strides, pads, out_shape)
    mean = as_expr(pool, False).divided(pool.count)
    mean.origin = describe(node)
    return [mean]


def pad(imp, node, inputs):
    attrs = attributes(node)
    if attrs.get("mode", "constant") != "constant":
        raise DoryError(f"{describe(node)}: only constant padding is supported, got mode '{attrs['mode']}'")
    if "pads" in attrs:
        pads = list(attrs["pads"])
        fill = attrs.get("value", 0.0)
    else:
        pads = imp.integer_const(node, inputs[1], "pads").reshape(-1).tolist()
        fill = 0.0 if len(inputs) < 3 or inputs[2] is None else imp.integer_const(node, inputs[2], "the pad value").item()
    if fill != 0:
        raise DoryError(f"{describe(node)}: padding with {fill} instead of 0 is not supported")
    value = inputs[0]
    begins0, ends0 = (value.begins, value.ends) if isinstance(value, Padded) else (None, None)
    act = imp.emit.materialize(value.act if isinstance(value, Padded) else value)
    rank = len(act.shape)
    if len(pads) != 2 * rank or min(pads) < 0:
        raise DoryError(f"{describe(node)}: pads {pads} are invalid for a rank-{rank} tensor")
    begins, ends = pads[:rank], pads[rank:]
    if any(begins[:2]) or any(ends[:2]):
        raise DoryError(f"{describe(node)}: padding of the batch or channel dimension is not supported")
    if begins0 is not None:
        begins = [a + b for a, b in zip(begins, begins0)]
        ends = [a + b for a, b in zip(ends, ends0)]
    if not any(begins) and not any(ends):
        return [act]
    return [Padded(act, tuple(begins), tuple(ends))]


def _axes(imp, node, inputs) -> list[int]:
    attrs = attributes(node)
    if "axes" in attrs:
        return list(attrs["axes"])
    if len(inputs) > 1 and inputs[1] is not None:
        return imp.integer_const(node, inputs[1], "axes").reshape(-1).tolist()
    return []


def _target_shape(imp, node, inputs, shape: tuple[int, ...]) -> tuple[int, ...]:
    """Output shape of Flatten / Unsqueeze / Squeeze by the ONNX rules (exporters sometimes
    store stale shapes for them); Reshape takes the inferred shape."""
    op = node.op_type
    if op == "Flatten":
        axis = attributes(node).get("axis", 1)
        axis = axis + len(shape) if axis < 0 else axis
        return (math.prod(shape[:axis]), math.prod(shape[axis:]))
    if op == "Unsqueeze":
        rank = len(shape) + len(_axes(imp, node, inputs))
        axes = sorted(a + rank if a < 0 else a for a in _axes(imp, node, inputs))
        out = list(shape)
        for a in axes:
            out.insert(a, 1)
        return tuple(out)
    if op == "Squeeze":
        axes = {a + len(shape) if a < 0 else a for a in _axes(imp, node, inputs)}
        return tuple(d for i, d in enumerate(shape) if not (d == 1 and (not axes or i in axes)))
    return imp.shape_of(node)


def _pending(value) -> bool:
    """A value that is not an integer tensor yet (a division waiting for its Floor)."""
    return isinstance(value, Reshaped) or (isinstance(value, (Expr, Round, PoolSum)) and as_expr(value).d != 1)


def _deferred(value, shape: tuple[int, ...], keeps_channels: bool, step) -> Reshaped:
    """The shape-only op `step` (Act -> Act) after the pending `value`, run once it is materialized."""
    if isinstance(value, Reshaped):
        first = value.apply
        return Reshaped(value.inner, shape, lambda act: step(first(act)), keeps_channels and value.keeps_channels)
    return Reshaped(value, shape, step, keeps_channels)


def reshape(imp, node, inputs):
    value = inputs[0]
    source = value.shape if _pending(value) else imp.emit.materialize(value).shape
    shape = _target_shape(imp, node, inputs, source)
    if math.prod(shape) != math.prod(source):
        raise DoryError(f"{describe(node)}: cannot reshape {list(source)} to {list(shape)}")
    if _pending(value):
        return [_deferred(value, shape, shape[:2] == source[:2], lambda act: imp.emit.reshape(act, shape))]
    return [imp.emit.reshape(imp.emit.materialize(value), shape)]


def gather(imp, node, inputs):
    act = imp.emit.materialize(inputs[0])
    index = imp.integer_const(node, inputs[1], "the index")
    if index.size != 1:
        raise DoryError(f"{describe(node)}: only gathering one index is supported, got {index.size}")
    rank = len(act.shape)
    axis = attributes(node).get("axis", 0)
    axis = axis + rank if axis < 0 else axis
    idx = int(index.reshape(-1)[0])
    idx = idx + act.shape[axis] if idx < 0 else idx
    if not 0 <= axis < rank or not 0 <= idx < act.shape[axis]:
        raise DoryError(f"{describe(node)}: index {idx} on axis {axis} is out of range for shape {list(act.shape)}")
    sliced = list(act.shape)
    sliced[axis] = 1
    offsets = [0] * len(ir_shape(act.shape))
    offsets[ir_axis(axis, rank)] = idx
    elem = act.value.type.element_type
    value = imp.emit.emit(qnn.SliceOp(act.value, offsets, imp.emit.tensor_type(tuple(sliced), elem)))
    lo, hi = act.lo, act.hi
    if axis == 1 and len(lo) > 1:
        lo, hi = vec([lo[idx]]), vec([hi[idx]])
    part = Act(value, tuple(sliced), collapse(lo, min), collapse(hi, max), act.is_int)
    return [imp.emit.reshape(part, imp.shape_of(node))]


def concat(imp, node, inputs):
    acts = [imp.emit.materialize(v) for v in inputs]
    types = {a.value.type.element_type for a in acts}
    if len(types) != 1:
        raise DoryError(f"{describe(node)}: inputs have different element types {sorted(map(str, types))}")
    out_shape = imp.shape_of(node)
    rank = len(out_shape)
    axis = attributes(node).get("axis", 0)
    axis = axis + rank if axis < 0 else axis
    value = imp.emit.emit(qnn.ConcatOp(
        [a.value for a in acts], ir_axis(axis, rank), imp.emit.tensor_type(out_shape, types.pop())))
    lo = vec([min(min(a.lo.tolist()) for a in acts)])
    hi = vec([max(max(a.hi.tolist()) for a in acts)])
    return [Act(value, out_shape, lo, hi, acts[0].is_int)]


def transpose(imp, node, inputs):
    value = inputs[0]
    source = value.shape if _pending(value) else imp.emit.materialize(value).shape
    rank = len(source)
    perm = list(attributes(node).get("perm", reversed(range(rank))))
    if rank == 3:
        raise DoryError(f"{describe(node)}: transposing a 1-D (rank 3) tensor is not supported")
    if sorted(perm) != list(range(rank)):
        raise DoryError(f"{describe(node)}: perm {perm} is not a permutation of {rank} axes")
    out_shape = tuple(source[p] for p in perm)

    def step(act: Act) -> Act:
        elem = act.value.type.element_type
        result = imp.emit.emit(qnn.TransposeOp(act.value, perm, imp.emit.tensor_type(out_shape, elem)))
        return Act(result, out_shape, collapse(act.lo, min), collapse(act.hi, max), act.is_int)

    if _pending(value):
        return [_deferred(value, out_shape, perm[:2] == [0, 1], step)]
    return [step(imp.emit.materialize(value))]


def _global(handler):
    return lambda imp, node, inputs: handler(imp, node, inputs, global_pool=True)


LAYER_HANDLERS = {
    **ARITH_HANDLERS,
    "Conv": conv,
    "Gemm": gemm,
    "MatMul": matmul,
    "MaxPool": maxpool,
    "AveragePool": avgpool,
    "GlobalMaxPool": _global(maxpool),
    "GlobalAveragePool": _global(avgpool),
    "Pad": pad,
    "Flatten": reshape,
    "Reshape": reshape,
    "Unsqueeze": reshape,
    "Squeeze": reshape,
    "Gather": gather,
    "Concat": concat,
    "Transpose": transpose,
}
