"""From a fused, NHWC `qnn` layer op to what the back end needs: geometry, PULP-NN arguments, data.

`kernel_layer(op, index)` checks that the op maps exactly onto one PULP-NN kernel and returns a
`KernelLayer`: the `LayerGeometry` the tiler works on, the kernel's scalar arguments, and the L2
parameter arrays in the layout the kernel reads (all derived at compile time):

- conv / pointwise (group 1) and depthwise (group = Cin = Cout): requantized `ui8 -> ui8` with
  clip [0, 255] (the batch-norm path `clip8((k*acc + lambda) >> shift)`). A bias is folded into
  lambda (`lambda' = lambda + k*bias` in the width of k), so the kernel's int8 bias is unused;
  this is exact when the accumulator does not overflow int32 (always for i32 k, by modular
  arithmetic). Dilation is lowered onto the dilation-free kernels with a zero-expanded kernel
  of extent `(K-1)*d + 1` (weights expanded here, at compile time); the tiler works on the
  expanded extent (`LayerGeometry.kh_eff`). Depthwise weights are `C x Kh x Kw`.
- linear: requantized as above (`pulp_nn_linear`), or `ui8 -> i32` without requantization
  (`pulp_nn_linear_out_32`, int32 bias).
- add: `qnn.add` with add_a = add_b = 0 and one of shift_a/shift_b zero is exactly
  `(a*m1 + b*m2) >> d` (`m1 = mul_a << shift_b`, ...), which `pulp_nn_add` computes when the
  multipliers are in [0, 32767], the clip is [0, 255], the total shift is below 32 and the
  shifted sum stays below 2^16 (`qnn-legalize-pulp` rewrites other adds into kernel sequences
  where it can). Any other ui8 add (offsets, large multipliers, ...) becomes the generated C
  helper `dory_add_requant` (scalars: the nine `qnn.add` parameters, `add_requant_args`),
  tiled exactly like `pulp_nn_add`.
- maxpool (not wider than its input: the kernel pools rows in place); avgpool with mul, add >= 0 and clip [0, 255] (`flag_requant` unless mul = 1, add =
  shift = 0), and no unsigned overflow of `sum*mul`.

Anything else raises `DoryError` naming the op and the reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from xdsl.dialects.builtin import IntegerType, Signedness, TensorType
from xdsl.ir import Operation, SSAValue

from dory_xdsl.dialects import dory, qnn
from dory_xdsl.errors import DoryError
from dory_xdsl.semantics.pulp_legalize import pulp_add_args
from dory_xdsl.tiling.layer_geometry import LayerGeometry
from dory_xdsl.tensors import to_numpy

LAYER_OPS = (qnn.Conv2dOp, qnn.LinearOp, qnn.AddOp, qnn.MaxPoolOp, qnn.AvgPoolOp)
UI8 = IntegerType(8, Signedness.UNSIGNED)
ADD_REQUANT = dory.AddRequantOp.C_FUNCTION  # the generated C helper


@dataclass
class KernelLayer:
    """One back-end layer: geometry, scalar kernel arguments and L2 parameter arrays."""

    op: Operation
    index: int
    geometry: LayerGeometry
    inputs: list[SSAValue]  # activation operands (two for add)
    scalars: dict[str, int] = field(default_factory=dict)
    params: dict[str, np.ndarray] = field(default_factory=dict)  # weights, bias, k, lambda

    @property
    def name(self) -> str:
        return self.geometry.name

    @property
    def kernel(self) -> str:
        """The C function each tile calls: the geometry's PULP-NN kernel, or the generated
        `dory_add_requant` for an add with no `pulp_nn_add` form."""
        return ADD_REQUANT if "mul_a" in self.scalars else self.geometry.kernel


def layer_name(op: Operation, index: int) -> str:
    hint = op.results[0].name_hint if op.results else None
    return hint or f"layer{index}"


def _fail(op: Operation, name: str, why: str) -> DoryError:
    return DoryError(f"{op.name} (layer '{name}'): {why}")


def _constant(op: Operation, name: str, value: SSAValue | None, what: str) -> np.ndarray | None:
    if value is None:
        return None
    if not isinstance(value.owner, qnn.ConstantOp):
        raise _fail(op, name, f"{what} must be a qnn.constant to be placed in memory")
    return to_numpy(value.owner.value)


def _shape(value: SSAValue) -> tuple[int, ...]:
    assert isinstance(value.type, TensorType)
    return tuple(value.type.get_shape())


def _elem(value: SSAValue):
    assert isinstance(value.type, TensorType)
    return value.type.element_type


def _require_ui8(op: Operation, name: str, values: list[SSAValue]) -> None:
    for v in values:
        if _elem(v) != UI8:
            raise _fail(op, name, f"PULP-NN kernels take and produce ui8 activations, got {_elem(v)}")


def _require_nhwc(op: Operation, name: str) -> None:
    if op.layout.data != "nhwc":  # type: ignore[attr-defined]
        raise _fail(op, name, 'layout must be "nhwc" (run qnn-to-nhwc first)')


def _ints(arr) -> tuple[int, ...]:
    return tuple(int(v) for v in arr.get_values())


def _requant(op: qnn.Conv2dOp | qnn.LinearOp, name: str, bias: np.ndarray | None, cout: int):
    """(k, lambda, shift, bits) of a requantizing layer, with the bias folded into lambda."""
    if op.requant is None:
        raise _fail(op, name, "needs fused requantization (run qnn-fuse-requant first)")
    rq = op.requant
    if (rq.lo.data, rq.hi.data) != (0, 255):
        raise _fail(op, name, f"clip [{rq.lo.data}, {rq.hi.data}] is not the kernels' [0, 255]")
    k = _constant(op, name, op.k, "k")
    lam = _constant(op, name, op.lambda_, "lambda")
    assert k is not None and lam is not None
    bits = k.dtype.itemsize * 8
    dtype = np.int64 if bits == 64 else np.int32
    k = np.broadcast_to(k, (cout,)).astype(np.int64)
    lam = np.broadcast_to(lam, (cout,)).astype(np.int64)
    if bias is not None:
        with np.errstate(over="ignore"):
            lam = lam + k * bias.astype(np.int64)  # int64 wraps modulo 2^64
    if bits == 32:
        lam = ((lam + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)
    return k.astype(dtype), lam.astype(dtype), rq.shift.data, bits


def expand_dilation(w: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """Zero-expand an OHWI kernel: tap (ky, kx) moves to (ky*dy, kx*dx)."""
    co, kh, kw, ci = w.shape
    out = np.zeros((co, (kh - 1) * dy + 1, (kw - 1) * dx + 1, ci), dtype=w.dtype)
    out[:, ::dy, ::dx, :] = w
    return out


def _conv(op: qnn.Conv2dOp, index: int, name: str) -> KernelLayer:
    _require_nhwc(op, name)
    _require_ui8(op, name, [op.input, op.result])
    _, h, w, cin = _shape(op.input)
    cout, kh, kw, cin_g = _shape(op.weight)
    group = op.group.value.data
    weight = _constant(op, name, op.weight, "weight")
    bias = _constant(op, name, op.bias, "bias")
    k, lam, shift, bits = _requant(op, name, bias, cout)
    dy, dx = _ints(op.dilations)
    assert weight is not None
    weight = expand_dilation(weight, dy, dx) if (dy, dx) != (1, 1) else weight
    if group == 1:
        kind = "pointwise" if (kh, kw, _ints(op.strides), _ints(op.pads)) == (1, 1, (1, 1), (0, 0, 0, 0)) else "conv"
    elif group == cin == cout and cin_g == 1:
        kind = "depthwise"
        weight = weight[..., 0]
    else:
        raise _fail(op, name, f"grouped convolution (group {group}) has no PULP-NN kernel")
    g = LayerGeometry(
        kind, h, w, cin, cout, kh, kw, _ints(op.strides), _ints(op.pads), (dy, dx),  # type: ignore[arg-type]
        has_bias=False, requant_bits=bits, name=name,
    )
    return KernelLayer(op, index, g, [op.input], {"out_shift": shift},
                       {"weights": np.ascontiguousarray(weight), "k": k, "lambda": lam})


def _linear(op: qnn.LinearOp, index: int, name: str) -> KernelLayer:
    _require_ui8(op, name, [op.input])
    n, cin = _shape(op.input)
    cout = _shape(op.weight)[0]
    if n != 1:
        raise _fail(op, name, f"batch {n} is not supported (1 expected)")
    weight = _constant(op, name, op.weight, "weight")
    bias = _constant(op, name, op.bias, "bias")
    if op.requant is None:
        if _elem(op.result) != IntegerType(32):
            raise _fail(op, name, "a linear layer without requantization must produce i32")
        params = {"weights": weight}
        if bias is not None:
            params["bias"] = bias.astype(np.int32)
        g = LayerGeometry("linear", 1, 1, cin, cout, has_bias=bias is not None, out_bytes=4,
                          bias_bytes=4, name=name)
        return KernelLayer(op, index, g, [op.input], {}, params)  # type: ignore[arg-type]
    _require_ui8(op, name, [op.result])
    k, lam, shift, bits = _requant(op, name, bias, cout)
    g = LayerGeometry("linear", 1, 1, cin, cout, requant_bits=bits, name=name)
    return KernelLayer(op, index, g, [op.input], {"out_shift": shift},
                       {"weights": weight, "k": k, "lambda": lam})  # type: ignore[dict-item]


def add_multipliers(op: qnn.AddOp) -> tuple[int, int, int] | str:
    """(out_mult1, out_mult2, out_shift) of `pulp_nn_add` computing `op` exactly, or why not."""
    return pulp_add_args({name: op.param(name) for name in qnn.AddOp.PARAMS})


def _add(op: qnn.AddOp, index: int, name: str) -> KernelLayer:
    _require_ui8(op, name, [op.lhs, op.rhs, op.result])
    shape = _shape(op.lhs)
    if len(shape) != 4 or shape[0] != 1:
        raise _fail(op, name, f"add needs a [1, H, W, C] activation, got {list(shape)}")
    _, h, w, c = shape
    g = LayerGeometry("add", h, w, c, c, name=name)
    mults = add_multipliers(op)
    if isinstance(mults, str):
        return KernelLayer(op, index, g, [op.lhs, op.rhs], add_requant_args(op))
    m1, m2, d = mults
    return KernelLayer(op, index, g, [op.lhs, op.rhs], {"out_mult1": m1, "out_mult2": m2, "out_shift": d})


def add_requant_args(op: qnn.AddOp) -> dict[str, int]:
    """The nine `dory_add_requant` arguments of `op`: its parameters with the multipliers and
    offsets reduced to int32 (the semantics wrap them to 32 bits anyway)."""
    args = {name: op.param(name) for name in qnn.AddOp.PARAMS}
    for name in ("mul_a", "add_a", "mul_b", "add_b"):
        args[name] = ((args[name] + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)
    return args


def _pool(op: qnn.MaxPoolOp | qnn.AvgPoolOp, index: int, name: str) -> KernelLayer:
    _require_nhwc(op, name)
    _require_ui8(op, name, [op.input, op.result])
    _, h, w, c = _shape(op.input)
    kh, kw = _ints(op.kernel)
    kind = "maxpool" if isinstance(op, qnn.MaxPoolOp) else "avgpool"
    g = LayerGeometry(kind, h, w, c, c, kh, kw, _ints(op.strides), _ints(op.pads), name=name)  # type: ignore[arg-type]
    scalars: dict[str, int] = {}
    if kind == "maxpool" and g.w_out > w:
        raise _fail(op, name, f"pulp_nn_maxpool pools rows in place: {g.w_out} output columns do not fit "
                              f"the {w} input columns")
    if isinstance(op, qnn.AvgPoolOp):
        mul, add, shift = op.mul.value.data, op.add.value.data, op.shift.value.data
        if (op.lo.value.data, op.hi.value.data) != (0, 255):
            raise _fail(op, name, "avgpool clip must be [0, 255] for pulp_nn_avgpool")
        if mul < 0 or add < 0:
            raise _fail(op, name, "pulp_nn_avgpool computes unsigned: mul and add must be >= 0")
        if 255 * kh * kw * mul >= 1 << 32 or (255 * mul + add) >= 1 << 31:
            raise _fail(op, name, "pulp_nn_avgpool's 32-bit arithmetic would overflow")
        scalars = {"lambda": mul, "out_shift": shift, "out_add": add,
                   "flag_requant": int((mul, add, shift) != (1, 0, 0))}
    return KernelLayer(op, index, g, [op.input], scalars)


def kernel_layer(op: Operation, index: int) -> KernelLayer:
    """The back-end description of layer op `op` (the `index`-th layer of its function)."""
    name = layer_name(op, index)
    if isinstance(op, qnn.Conv2dOp):
        return _conv(op, index, name)
    if isinstance(op, qnn.LinearOp):
        return _linear(op, index, name)
    if isinstance(op, qnn.AddOp):
        return _add(op, index, name)
    if isinstance(op, (qnn.MaxPoolOp, qnn.AvgPoolOp)):
        return _pool(op, index, name)
    raise _fail(op, name, "is not a layer op")
