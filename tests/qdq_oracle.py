"""An integer oracle for QDQ graphs (test helper): every `DequantizeLinear -> float op(s) ->
QuantizeLinear` island computed in TensorFlow Lite Micro's integer arithmetic, int64 numpy, so
the result is the same on every CPU (no SIMD kernel, no float accumulation).

- Conv / Gemm / MatMul: int64 accumulator `sum((x - x_zp) * w) + bias`, requantized per output
  channel by `MultiplyByQuantizedMultiplier` (Q31 multiplier + shift of `in_scale * w_scale /
  out_scale`, TFLM's double rounding), plus the zero point, clamped to the activation range
  (`Relu` / `Clip`, or the quantizer folding a Relu into the output range);
- a rescale (`QuantizeLinear` of a dequantized tensor with other parameters): the same
  requantization of `q - zp`; `MaxPool` on the integers (dequantization is monotone);
- `Add` of two dequantized tensors: TFLM's int8 add (`left_shift` 20, three roundings);
- `AveragePool` / `GlobalAveragePool`: with equal input and output parameters TFLM's average
  (the window sum rounded half away from zero); with a rescale (TFLite has no such op) the
  real mean `zp_out + scale_in * (mean - zp_in) / scale_out` rounded half up, computed with
  exact rationals;
- `Pad` pads the integers (of a quantized tensor with its constant, of a dequantized one with
  the real constant quantized with the tensor's parameters); `Flatten` / `Reshape` move integers.

The TFLM primitives are `dory_xdsl.semantics.qdq_requant`'s (`quantize_multiplier`,
`tflite_multiply_array`, checked against their gemmlowp definitions in test_qdq_requant) and
`qdq_exact.tflite_add` (checked against the scalar form in test_qdq_exact); the graph walk, the
convolution and the pooling here are independent of the importer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import onnx
from numpy.lib.stride_tricks import sliding_window_view
from onnx import numpy_helper

from dory_xdsl.semantics.qdq_exact import AddScales, tflite_add
from dory_xdsl.semantics.qdq_requant import quantize_multiplier, tflite_multiply_array


@dataclass
class Q:
    """A quantized tensor: integers in the ONNX domain (int8 or uint8 values, as int64)."""

    q: np.ndarray
    scale: float
    zp: int
    signed: bool


@dataclass
class Pending:
    """A real value not yet quantized: `kind` is 'acc' (q: accumulator, scales per channel on
    axis 1), 'real' (a dequantized `Q`), 'sum' (two), 'mean' (window sums of `q - zp`)."""

    kind: str
    parts: tuple
    lo: float = -math.inf
    hi: float = math.inf


@dataclass
class Weights:
    values: np.ndarray
    scale: np.ndarray
    zp: np.ndarray
    axis: int


def run(model: onnx.ModelProto, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The integer value of every quantized tensor of `model` (by ONNX name; a graph output that
    dequantizes a tensor maps to that tensor's integers). `feeds` holds, for each graph input,
    its quantized integers (a float input's `QuantizeLinear` output is fed through)."""
    env: dict[str, object] = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    env.update({k: np.asarray(v, dtype=np.int64) for k, v in feeds.items()})
    ints: dict[str, np.ndarray] = {}
    for node in model.graph.node:
        value = _visit(node, [env.get(n) if n else None for n in node.input], env)
        env[node.output[0]] = value
        if isinstance(value, Q):
            ints[node.output[0]] = value.q
        elif isinstance(value, Pending) and value.kind == "real" and node.op_type == "DequantizeLinear":
            ints[node.output[0]] = value.parts[0].q
    return ints


def _attr(node, name, default):
    for a in node.attribute:
        if a.name == name:
            return onnx.helper.get_attribute_value(a)
    return default


def _visit(node, args, env):
    op = node.op_type
    if op == "QuantizeLinear":
        scale, zp, signed = float(args[1].reshape(-1)[0]), int(args[2].reshape(-1)[0]), args[2].dtype == np.int8
        if isinstance(args[0], np.ndarray):  # a graph input, fed quantized
            return Q(args[0], scale, zp, signed)
        return quantize(args[0], scale, zp, signed)
    if op == "DequantizeLinear":
        x, scale, zp = args[0], args[1], args[2]
        if isinstance(x, Q):
            return Pending("real", (x,))
        return Weights(x, scale.reshape(-1).astype(np.float32), zp.reshape(-1).astype(np.int64),
                       int(_attr(node, "axis", 1)))
    if op == "Conv":
        return _conv(node, *args)
    if op in ("Gemm", "MatMul"):
        return _gemm(node, *args)
    if op == "Relu":
        return _clamp(args[0], 0.0, math.inf)
    if op == "Clip":
        lo = float(args[1]) if len(args) > 1 and args[1] is not None else -math.inf
        hi = float(args[2]) if len(args) > 2 and args[2] is not None else math.inf
        return _clamp(args[0], lo, hi)
    if op == "MaxPool":
        x = _real(args[0])
        return Pending("real", (Q(_maxpool(node, x.q), x.scale, x.zp, x.signed),))
    if op in ("AveragePool", "GlobalAveragePool"):
        x = _real(args[0])
        sums, count = _window_sums(node, x.q - x.zp, op == "GlobalAveragePool")
        return Pending("mean", (x, sums, count))
    if op == "Add":
        return Pending("sum", (_real(args[0]), _real(args[1])))
    if op == "Pad":
        return _pad(args)
    if op in ("Flatten", "Reshape"):
        x = _real(args[0]) if isinstance(args[0], Pending) else args[0]
        if op == "Flatten":
            axis = int(_attr(node, "axis", 1))
            shape = (int(np.prod(x.q.shape[:axis])), -1)
        else:
            shape = tuple(int(d) for d in args[1])
        moved = Q(x.q.reshape(shape), x.scale, x.zp, x.signed)
        return Pending("real", (moved,)) if isinstance(args[0], Pending) else moved
    raise NotImplementedError(f"oracle: {op}")


def _pad(args) -> Q | Pending:
    """`Pad` of the integers (a quantized tensor, padded with the constant as it is) or of the
    dequantized reals (padded with the real constant, which TFLite's PADV2 holds quantized with
    the tensor's parameters: the integer `zp + constant / scale`)."""
    x, pads = args[0], [int(v) for v in args[1]]
    rank = len(pads) // 2
    widths = list(zip(pads[:rank], pads[rank:]))
    value = args[2] if len(args) > 2 else None
    if isinstance(x, Q):
        fill = 0 if value is None else int(np.asarray(value).reshape(-1)[0])
        return Q(np.pad(x.q, widths, constant_values=fill), x.scale, x.zp, x.signed)
    q = _real(x)
    if value is None:
        real = 0.0
    elif isinstance(value, Weights):
        real = float(value.scale[0]) * (int(value.values.reshape(-1)[0]) - int(value.zp[0]))
    else:
        real = float(np.asarray(value).reshape(-1)[0])
    fill = q.zp + round(real / q.scale)
    return Pending("real", (Q(np.pad(q.q, widths, constant_values=fill), q.scale, q.zp, q.signed),))


def _real(value) -> Q:
    assert isinstance(value, Pending) and value.kind == "real" and math.isinf(value.lo) and math.isinf(value.hi), value
    return value.parts[0]


def _clamp(value: Pending, lo: float, hi: float) -> Pending:
    return Pending(value.kind, value.parts, max(value.lo, lo), min(value.hi, hi))


def _per_tensor(w: Weights, count: int) -> tuple[np.ndarray, np.ndarray]:
    assert np.all(w.zp == 0), "asymmetric weights"
    return w.values.astype(np.int64), np.broadcast_to(w.scale.astype(np.float64), (count,))


def _conv(node, x_pending, w: Weights, b: Weights | None = None) -> Pending:
    x = _real(x_pending)
    group = int(_attr(node, "group", 1))
    kh, kw = w.values.shape[2:]
    sy, sx = _attr(node, "strides", [1, 1])
    dy, dx = _attr(node, "dilations", [1, 1])
    pt, pl, pb, pr = _attr(node, "pads", [0, 0, 0, 0])
    weights, w_scales = _per_tensor(w, w.values.shape[0])
    xs = np.pad(x.q - x.zp, ((0, 0), (0, 0), (pt, pb), (pl, pr)))  # pad with the zero point (real 0)
    windows = sliding_window_view(xs, (dy * (kh - 1) + 1, dx * (kw - 1) + 1), axis=(2, 3))
    windows = windows[:, :, ::sy, ::sx, ::dy, ::dx]  # n, cin, ho, wo, kh, kw
    cout, cin_g = weights.shape[:2]
    per = cout // group
    acc = np.concatenate([
        np.einsum("nchwij,ocij->nohw", windows[:, g * cin_g:(g + 1) * cin_g], weights[g * per:(g + 1) * per])
        for g in range(group)], axis=1)
    if b is not None:
        acc = acc + b.values.astype(np.int64).reshape(1, -1, 1, 1)
    return Pending("acc", (acc, x.scale * w_scales))


def _gemm(node, x_pending, w: Weights, b: Weights | None = None) -> Pending:
    x = _real(x_pending)
    if node.op_type == "Gemm":
        assert _attr(node, "alpha", 1.0) == 1.0 and _attr(node, "beta", 1.0) == 1.0 and not _attr(node, "transA", 0)
        trans_b = int(_attr(node, "transB", 0))
    else:
        trans_b = 0
    values = w.values.T if trans_b else w.values  # (in, out)
    weights, w_scales = _per_tensor(Weights(values, w.scale, w.zp, w.axis), values.shape[1])
    acc = (x.q - x.zp) @ weights
    if b is not None:
        acc = acc + b.values.astype(np.int64).reshape(1, -1)
    return Pending("acc", (acc, x.scale * w_scales))


def _maxpool(node, q: np.ndarray) -> np.ndarray:
    kh, kw = _attr(node, "kernel_shape", None)
    sy, sx = _attr(node, "strides", [1, 1])
    pt, pl, pb, pr = _attr(node, "pads", [0, 0, 0, 0])
    xs = np.pad(q, ((0, 0), (0, 0), (pt, pb), (pl, pr)), constant_values=np.iinfo(np.int64).min)
    return sliding_window_view(xs, (kh, kw), axis=(2, 3))[:, :, ::sy, ::sx].max(axis=(4, 5))


def _window_sums(node, values: np.ndarray, global_pool: bool) -> tuple[np.ndarray, int]:
    if global_pool:
        return values.sum(axis=(2, 3), keepdims=True), values.shape[2] * values.shape[3]
    kh, kw = _attr(node, "kernel_shape", None)
    sy, sx = _attr(node, "strides", [1, 1])
    assert not any(_attr(node, "pads", [0, 0, 0, 0])), "oracle: padded average pooling"
    return sliding_window_view(values, (kh, kw), axis=(2, 3))[:, :, ::sy, ::sx].sum(axis=(4, 5)), kh * kw


def _round_half_away(value: float) -> int:
    return int(math.copysign(math.floor(abs(value) + 0.5), value))


def quantize(value: Pending, scale: float, zp: int, signed: bool) -> Q:
    """`QuantizeLinear` of a pending real value, TFLM arithmetic (module doc)."""
    qmin, qmax = (-128, 127) if signed else (0, 255)
    # TFLite's activation range: the real bounds quantized (float32, half away from zero).
    lo = qmin if math.isinf(value.lo) else max(qmin, zp + _round_half_away(float(np.float32(value.lo) / np.float32(scale))))
    hi = qmax if math.isinf(value.hi) else min(qmax, zp + _round_half_away(float(np.float32(value.hi) / np.float32(scale))))
    if value.kind == "acc":
        acc, scales = value.parts
        out = np.empty_like(acc)
        for c, s in enumerate(scales.tolist()):
            m, shift = quantize_multiplier(float(s) / float(scale))
            out[:, c] = tflite_multiply_array(acc[:, c], m, shift)
        return Q(np.clip(out + zp, lo, hi), scale, zp, signed)
    if value.kind == "real":
        (x,) = value.parts
        if float(x.scale) == float(scale) and x.zp == zp:
            return Q(np.clip(x.q, lo, hi), scale, zp, signed)
        m, shift = quantize_multiplier(float(x.scale) / float(scale))
        return Q(np.clip(tflite_multiply_array(x.q - x.zp, m, shift) + zp, lo, hi), scale, zp, signed)
    if value.kind == "sum":
        a, b = value.parts
        return Q(tflite_add(a.q, b.q, AddScales(a.scale, a.zp, b.scale, b.zp, scale, zp), lo, hi), scale, zp, signed)
    if value.kind == "mean":
        x, sums, count = value.parts
        if float(x.scale) == float(scale) and x.zp == zp:  # TFLM: the sum of the 8-bit values
            total, half = sums + x.zp * count, count // 2
            mean = np.where(total > 0, (total + half) // count, -((-total + half) // count)) - zp
        else:
            ratio = Fraction(float(x.scale)) / (Fraction(float(scale)) * count)
            mean = np.array([math.floor(ratio * int(s) + Fraction(1, 2)) for s in sums.reshape(-1)],
                            dtype=np.int64).reshape(sums.shape)
        return Q(np.clip(mean + zp, lo, hi), scale, zp, signed)
    raise AssertionError(value.kind)
