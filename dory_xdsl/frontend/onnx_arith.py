"""ONNX element-wise arithmetic handlers: the requantization chains of NEMO and Quantlab.

`Mul`, `Add`, `Sub`, `Div`, `Floor`, `Cast`, `Clip`, `Relu` (and Quantlab's requantizing `Add`
with `in1_mul/in1_add/in1_shift/...` attributes) update exact symbolic expressions (see
`dory_xdsl.frontend.onnx_values`); only `Clip` (and Quantlab's `Add`) materializes an integer tensor. ONNX
semantics modelled: float `Div` is exact division (rounded later by `Floor` or `Cast`), integer
`Div` and float-to-integer `Cast` truncate toward zero, `Floor` floors.
"""

from __future__ import annotations

import math

import numpy as np

from dory_xdsl.errors import DoryError
from dory_xdsl.frontend.onnx_emit import type_for_range
from dory_xdsl.frontend.onnx_graph import attributes, describe
from dory_xdsl.frontend.onnx_values import Act, Const, Expr, Padded, Reshaped, as_expr, rounded, vec
from dory_xdsl.frontend.onnx_proto import onnx_pb, to_array

TensorProto = onnx_pb().TensorProto

INT_TYPES = {
    TensorProto.INT64: np.int64, TensorProto.INT32: np.int32, TensorProto.INT16: np.int16,
    TensorProto.INT8: np.int8, TensorProto.UINT8: np.uint8, TensorProto.UINT16: np.uint16,
    TensorProto.UINT32: np.uint32,
}
FLOAT_TYPES = {TensorProto.FLOAT: np.float32, TensorProto.DOUBLE: np.float64,
               TensorProto.FLOAT16: np.float16}


def _expr(imp, node, value) -> Expr:
    if isinstance(value, Padded):
        value = imp.emit.materialize(value)
    if isinstance(value, Const) or value is None:
        raise DoryError(f"{describe(node)}: expected a tensor operand")
    return as_expr(value)


def _channel_vector(imp, node, const: Const, shape: tuple[int, ...], what: str) -> np.ndarray:
    """A constant operand as a per-channel vector (axis 1) for a tensor of `shape`."""
    array = imp.integer_const(node, const, what)
    if array.ndim > len(shape):
        raise DoryError(f"{describe(node)}: {what} has rank {array.ndim}, the tensor {len(shape)}")
    full = array.reshape((1,) * (len(shape) - array.ndim) + array.shape)
    try:
        if np.broadcast_shapes(full.shape, shape) != tuple(shape):
            raise ValueError
    except ValueError:
        raise DoryError(f"{describe(node)}: {what} of shape {list(array.shape)} does not broadcast to {list(shape)}") from None
    for axis in range(full.ndim):
        if axis != 1 and full.shape[axis] > 1:
            first = np.take(full, [0], axis=axis)
            if not np.array_equal(full, np.broadcast_to(first, full.shape)):
                raise DoryError(f"{describe(node)}: {what} varies along axis {axis} (only per-channel constants)")
            full = first
    values = full.reshape(-1)
    if values.size > 1 and np.all(values == values[0]):
        values = values[:1]
    return vec(values.tolist())


def _fold(node, arrays: list[np.ndarray]) -> list[object]:
    """Constant folding for the few ops exporters apply to constants."""
    op = node.op_type
    if op == "Cast":
        to = attributes(node)["to"]
        dtype = INT_TYPES.get(to) or FLOAT_TYPES.get(to)
        if dtype is None:
            raise DoryError(f"{describe(node)}: Cast to type {to} is not supported")
        return [Const(arrays[0].astype(dtype))]
    if op in ("Identity", "Dropout"):
        return [Const(arrays[0])]
    if op == "Floor":
        return [Const(np.floor(arrays[0]))]
    a, b = arrays[0], arrays[1]
    if op == "Mul":
        return [Const(a * b)]
    if op == "Add":
        return [Const(a + b)]
    if op == "Sub":
        return [Const(a - b)]
    if op == "Div" and a.dtype.kind in "iu":
        return [Const(np.trunc(a / b).astype(a.dtype))]
    if op == "Div":
        return [Const(a / b)]
    raise DoryError(f"{describe(node)}: constant {op} is not supported")


def _with_int_flag(value, flag: bool):
    if isinstance(value, Act):
        return Act(value.value, value.shape, value.lo, value.hi, flag)
    e = as_expr(value)
    return Expr(e.terms, e.b, e.d, e.shape, flag, origin=e.origin)


def mul(imp, node, inputs):
    a, b = inputs
    if isinstance(a, Const):
        a, b = b, a
    if not isinstance(b, Const):
        raise DoryError(f"{describe(node)}: multiplying two tensors is not supported (one operand must be constant)")
    e = _expr(imp, node, a)
    return [e.scaled(_channel_vector(imp, node, b, e.shape, "the factor"))]


def _sum(imp, node, a, b, sign: int):
    if isinstance(b, Const):
        e = _expr(imp, node, a)
        return e.shifted(sign * _channel_vector(imp, node, b, e.shape, "the addend"))
    if isinstance(a, Const):
        e = _expr(imp, node, b).scaled(vec([sign]))
        return e.shifted(_channel_vector(imp, node, a, e.shape, "the addend"))
    ea, eb = _expr(imp, node, a), _expr(imp, node, b)
    if ea.shape != eb.shape:
        raise DoryError(f"{describe(node)}: broadcasting add of shapes {list(ea.shape)} and {list(eb.shape)}")
    total = ea.plus(eb.scaled(vec([sign])))
    total.origin = describe(node)
    return total


def add(imp, node, inputs):
    attrs = attributes(node)
    if "in1_mul" in attrs or "in2_mul" in attrs:
        return [_quantlab_add(imp, node, inputs, attrs)]
    return [_sum(imp, node, inputs[0], inputs[1], 1)]


def sub(imp, node, inputs):
    return [_sum(imp, node, inputs[0], inputs[1], -1)]


def _quantlab_add(imp, node, inputs, attrs):
    """`clip(floor((a*in1_mul + in1_add) / 2^in1_shift) + floor((b*in2_mul + in2_add) / 2^in2_shift))`
    with the output requantization `out_*` when `out_rq` is set, clipped to [0, out_n_levels - 1]."""
    total = None
    for value, p in zip(inputs, ("in1", "in2")):
        e = _expr(imp, node, value)
        if attrs.get(f"{p}_rq", 1):
            e = e.scaled(vec([int(attrs.get(f"{p}_mul", 1))])).shifted(vec([int(attrs.get(f"{p}_add", 0))]))
            e = rounded(e.divided(1 << int(attrs.get(f"{p}_shift", 0))), "floor")
        total = e if total is None else total.plus(e)
    if attrs.get("out_rq", 0):
        total = total.scaled(vec([int(attrs.get("out_mul", 1))])).shifted(vec([int(attrs.get("out_add", 0))]))
        total = rounded(total.divided(1 << int(attrs.get("out_shift", 0))), "floor")
    levels = int(attrs.get("out_n_levels", 256))
    return imp.emit.materialize(total, (0, levels - 1))


def _int_attr(node, attrs: dict, *names: str) -> int:
    """The first of the attributes `names` present, as an integer (int, float or tensor attribute)."""
    for name in names:
        if name in attrs:
            value = attrs[name]
            if isinstance(value, TensorProto):
                value = to_array(value).reshape(-1)[0]
            if isinstance(value, (list, str)) or float(value) != math.floor(float(value)):
                raise DoryError(f"{describe(node)}: attribute '{name}' must be an integer, got {value!r}")
            return int(value)
    raise DoryError(f"{describe(node)}: missing attribute '{names[0]}'")


def _requant_operand(imp, node, const, shape: tuple[int, ...], what: str) -> np.ndarray:
    """A RequantShift constant: per channel (axis 1) when it holds one value per channel,
    whatever its shape (`[C]`, `[C,1,1]`, `[1,C,1,1]`), else broadcast by the ONNX rules."""
    if not isinstance(const, Const):
        raise DoryError(f"{describe(node)}: {what} must be a constant")
    array = const.array
    if len(shape) >= 2 and array.size == shape[1] > 1 and sum(d > 1 for d in array.shape) == 1:
        const = Const(array.reshape((1, shape[1]) + (1,) * (len(shape) - 2)))
    return _channel_vector(imp, node, const, shape, what)


def requant_shift(imp, node, inputs):
    """Deeploy / Quantlab `RequantShift(x, mul, add)` with attributes `div`, `n_levels_out` (or
    `n_levels`), `signed`: `clip(floor((x*mul + add + div/2) / div), lo, hi)`, [lo, hi] =
    [-n/2, n/2 - 1] when signed, else [0, n - 1]."""
    attrs = attributes(node)
    if len(inputs) != 3 or any(v is None for v in inputs):
        raise DoryError(f"{describe(node)}: RequantShift takes 3 inputs (x, mul, add), got {len(inputs)}")
    divisor = _int_attr(node, attrs, "div")
    levels = _int_attr(node, attrs, "n_levels_out", "n_levels")
    signed = _int_attr(node, attrs, "signed") if "signed" in attrs else 1
    if divisor <= 0 or levels < 2:
        raise DoryError(f"{describe(node)}: div = {divisor} and n_levels = {levels} must be positive (n_levels >= 2)")
    lo, hi = (-(levels // 2), levels // 2 - 1) if signed else (0, levels - 1)
    e = _expr(imp, node, inputs[0])
    mul = _requant_operand(imp, node, inputs[1], e.shape, "mul")
    add = _requant_operand(imp, node, inputs[2], e.shape, "add")
    e = e.scaled(mul).shifted(add + divisor // 2).divided(divisor)
    return [_clipped(imp, node, rounded(e, "floor"), lo, hi)]


def div(imp, node, inputs):
    x, d = inputs
    if isinstance(x, Const):
        raise DoryError(f"{describe(node)}: dividing a constant by a tensor is not supported")
    if not isinstance(d, Const):
        raise DoryError(f"{describe(node)}: the divisor must be a constant")
    divisor = imp.integer_const(node, d, "the divisor")
    if divisor.size != 1 and not np.all(divisor == divisor.reshape(-1)[0]):
        raise DoryError(f"{describe(node)}: per-channel divisors are not supported")
    value = int(divisor.reshape(-1)[0])
    if value <= 0:
        raise DoryError(f"{describe(node)}: division by {value} (the divisor must be positive)")
    e = _expr(imp, node, x)
    if e.is_int:
        return [rounded(e.divided(value), "trunc")]
    return [e.divided(value)]


def floor(imp, node, inputs):
    return [rounded(_expr(imp, node, inputs[0]), "floor")]


def cast(imp, node, inputs):
    to = attributes(node).get("to")
    value = inputs[0]
    if to in FLOAT_TYPES:
        return [_with_int_flag(value, False)] if not isinstance(value, Padded) else [value]
    dtype = INT_TYPES.get(to)
    if dtype is None:
        raise DoryError(f"{describe(node)}: Cast to type {to} is not supported")
    e = rounded(_expr(imp, node, value), "trunc")
    if np.dtype(dtype).itemsize < 4:
        lo, hi = _integer_bounds(node, e)
        info = np.iinfo(dtype)
        if lo < info.min or hi > info.max:
            raise DoryError(f"{describe(node)}: values in [{lo}, {hi}] do not fit {np.dtype(dtype).name}")
    return [_with_int_flag(e, True)]


def _bound(imp, node, value, which: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, Const) and value.array.size == 1 and not np.isfinite(value.array).all():
        return None
    return float(imp.integer_const(node, value, f"the Clip {which}").reshape(-1)[0])


def clip(imp, node, inputs):
    attrs = attributes(node)
    if imp.g.opset() < 11:
        lo, hi = attrs.get("min", -math.inf), attrs.get("max", math.inf)
        for bound in (lo, hi):
            if math.isfinite(bound) and bound != math.floor(bound):
                raise DoryError(f"{describe(node)}: the Clip bound {bound} is not an integer")
    else:
        lo = _bound(imp, node, inputs[1] if len(inputs) > 1 else None, "minimum")
        hi = _bound(imp, node, inputs[2] if len(inputs) > 2 else None, "maximum")
        lo = -math.inf if lo is None else lo
        hi = math.inf if hi is None else hi
    return [_clipped(imp, node, inputs[0], lo, hi)]


def _integer_bounds(node, e: Expr) -> tuple[int, int]:
    if e.d != 1:
        raise DoryError(f"{describe(node)}: the tensor is not integer-valued (pending division by {e.d})")
    lo, hi = e.numerator_range()
    return min(lo.tolist()), max(hi.tolist())


def _clipped(imp, node, value, lo: float, hi: float):
    e = _expr(imp, node, value)
    if not (math.isfinite(lo) and math.isfinite(hi)):
        nlo, nhi = _integer_bounds(node, e)
        lo = max(lo, nlo) if math.isfinite(lo) else nlo
        hi = min(hi, nhi) if math.isfinite(hi) else nhi
        lo, hi = min(lo, hi), max(lo, hi)
    lo, hi = int(lo), int(hi)
    if type_for_range(lo, hi, wide=False) is None:
        raise DoryError(f"{describe(node)}: the clip range [{lo}, {hi}] is not an 8-bit range")
    act = imp.emit.materialize(e, (lo, hi))
    return _with_int_flag(act, e.is_int)


def relu(imp, node, inputs):
    return [_clipped(imp, node, inputs[0], 0, math.inf)]


def identity(imp, node, inputs):
    return [inputs[0]]


def _folding(handler):
    def run(imp, node, inputs):
        if inputs and all(isinstance(v, Const) for v in inputs if v is not None):
            return _fold(node, [v.array for v in inputs if v is not None])
        return handler(imp, node, inputs)
    return run


def _const_before(imp, node, value, deferred: Reshaped):
    """A constant operand of an element-wise op after the shape-only ops of `deferred`, as an
    operand of the same op applied before them."""
    if not isinstance(value, Const) or value.array.size == 1:
        return value
    vector = _channel_vector(imp, node, value, deferred.shape, "the constant operand")
    if len(vector) == 1:
        return Const(np.array(vector.tolist()))
    if not deferred.keeps_channels:
        raise DoryError(f"{describe(node)}: a per-channel constant after a shape op that moves the channels")
    rank = len(deferred.inner.shape)
    return Const(np.array(vector.tolist()).reshape((1, len(vector)) + (1,) * (rank - 2)))


def _through_shape_ops(handler):
    """Element-wise ops after a deferred shape-only op act on the value before it (dataflow
    order: `Flatten -> Floor` is `Floor -> Flatten`); the shape op follows the result."""
    def run(imp, node, inputs):
        deferred = [v for v in inputs if isinstance(v, Reshaped)]
        if not deferred:
            return handler(imp, node, inputs)
        others = [v for v in inputs if v is not deferred[0] and v is not None]
        if len(deferred) > 1 or not all(isinstance(v, Const) for v in others):
            return handler(imp, node, [imp.emit.materialize(v) if isinstance(v, Reshaped) else v for v in inputs])
        r = deferred[0]
        out = handler(imp, node, [r.inner if v is r else _const_before(imp, node, v, r) for v in inputs])[0]
        if isinstance(out, Act):
            return [r.apply(out)]
        return [Reshaped(out, r.shape, r.apply, r.keeps_channels)]
    return run


ARITH_HANDLERS = {
    name: _folding(_through_shape_ops(fn))
    for name, fn in {
        "Mul": mul, "Add": add, "Sub": sub, "Div": div, "Floor": floor, "Cast": cast,
        "Clip": clip, "Relu": relu, "Identity": identity, "Dropout": identity, "RequantShift": requant_shift,
    }.items()
}
