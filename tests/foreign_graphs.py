"""Small integer networks in the forms other exporters give them (issue 13), with their oracle.

Each builder returns a `Case`: the ONNX model the importer reads, the model onnxruntime runs
as the oracle (the same graph, or for Deeploy's custom `RequantShift` its expansion into
`Mul`, `Add`, `Div`, `Floor`, `Clip`, which is its definition), and seeded inputs. Every tensor
holds integers below 2^24 in magnitude, so onnxruntime's float32 arithmetic is exact
(`oracle` checks it on every intermediate tensor). Requantization constants are calibrated on
the partial graph (onnxruntime on the calibration input) so outputs spread over [0, 255]
instead of saturating.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import onnx
from onnx import helper
from onnx_graphs import make_graph

FLOAT32_EXACT = 2**24


@dataclass
class Case:
    model: onnx.ModelProto  # what the importer reads
    oracle_model: onnx.ModelProto  # what onnxruntime runs (same semantics, standard ops only)
    inputs: list[np.ndarray]  # NCHW integer inputs (each one a separate run)


def ort_all(model: onnx.ModelProto, x: np.ndarray) -> dict[str, np.ndarray]:
    """Every node output of `model` on input `x`, checked to stay below 2^24 in magnitude (the
    graphs divide only by powers of two, so float32 is exact) and integer at the outputs."""
    import onnxruntime as ort

    model = onnx.ModelProto.FromString(model.SerializeToString())
    existing = {o.name for o in model.graph.output}
    names = [o for n in model.graph.node for o in n.output if o and n.op_type != "Constant"]
    for name in names:
        if name not in existing:
            model.graph.output.append(helper.make_empty_tensor_value_info(name))
    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    feed = {model.graph.input[0].name: x.astype(np.float32)}
    values = dict(zip(names, session.run(names, feed)))
    for name, value in values.items():
        value = np.asarray(value, dtype=np.float64)
        assert np.abs(value).max(initial=0) < FLOAT32_EXACT, f"{name}: values beyond 2^24 (float32 not exact)"
        if name in existing:
            assert np.array_equal(value, np.floor(value)), f"{name}: non-integer values"
    return values


def oracle(case: Case, x: np.ndarray) -> list[np.ndarray]:
    """The graph outputs of `case` on `x` (int64), from onnxruntime on `case.oracle_model`."""
    values = ort_all(case.oracle_model, x)
    return [values[o.name].astype(np.int64) for o in case.oracle_model.graph.output]


class Calibrated(make_graph.GraphBuilder):
    """A graph builder that picks requantization constants from the partial graph's values."""

    def __init__(self, shape: tuple[int, ...], seed: int, opset: int = 11):
        super().__init__(opset=opset, seed=seed)
        self.shape, self.seed = shape, seed
        self.x = self.rng.integers(0, 256, size=shape)
        self.custom: list[tuple[int, int, onnx.NodeProto]] = []

    def values(self, name: str) -> np.ndarray:
        model = self.model([("x", list(self.shape))], [name])
        return ort_all(model, self.x)[name].astype(np.int64)

    def scale(self, y: str, per_channel: bool, levels: int = 256) -> tuple[np.ndarray, np.ndarray, int]:
        """(mul, add, shift) mapping the observed [5%, 95%] range of `y` (per channel or whole)
        onto [0, levels - 1] after a division by 2^shift, the largest shift (up to 12) keeping
        `y*mul + add` below 2^22 in magnitude on the observed values."""
        v = self.values(y)
        flat = np.moveaxis(v, 1, 0).reshape(v.shape[1], -1) if per_channel else v.reshape(1, -1)
        if flat.shape[1] < 4:  # one value per channel (after a Gemm): spread it with the others
            flat = np.broadcast_to(v.reshape(1, -1), (flat.shape[0], v.size))
        lo, hi = np.quantile(flat, 0.05, axis=1), np.quantile(flat, 0.95, axis=1)
        for shift in range(12, -1, -1):
            mul = np.maximum(1, np.round((levels - 1) * 2.0**shift / np.maximum(hi - lo, 1))).astype(np.int64)
            add = -np.round(lo * mul).astype(np.int64)
            if (np.abs(flat) * mul[:, None] + np.abs(add)[:, None] + 2**shift).max() < 2**22:
                return mul, add, shift
        raise AssertionError(f"{y}: no requantization keeps float32 exact")

    @staticmethod
    def _shaped(values: np.ndarray, shape) -> np.ndarray:
        """`values` in `shape` (one per channel), or their median everywhere (per tensor)."""
        if values.size == int(np.prod(shape)):
            return values.reshape(shape)
        return np.full(shape, int(np.median(values)))

    def requant(self, y: str, k_shape, lam_shape, clip=(0.0, 255.0)) -> str:
        """`Clip(Floor((y*k + lam) / 2^shift))` with `k`, `lam` initializers of the given shapes
        (per channel when the shape holds more than one value)."""
        per_channel = int(np.prod(k_shape)) > 1 or int(np.prod(lam_shape)) > 1
        mul, add, shift = self.scale(y, per_channel)
        y = self.op("Add", [self.op("Mul", [y, self.const(self._shaped(mul, k_shape))]),
                            self.const(self._shaped(add, lam_shape))])
        y = self.op("Floor", [self.op("Div", [y, self.const(np.array(float(2**shift)))])])
        return self.clip(y, *clip)

    def requant_shift(self, y: str, mul_shape, add_shape, levels: int = 256, signed: int = 0, **attrs) -> str:
        """Deeploy's `RequantShift(y, mul, add)`, built as its expansion `Clip(Floor((y*mul + add
        + div/2) / div))`; `deeploy_model` swaps the expansion for the custom node."""
        mul, add, shift = self.scale(y, int(np.prod(mul_shape)) > 1, levels)
        if signed:
            add = add - ((levels // 2) << shift)
        mul_v, add_v = self._shaped(mul, mul_shape), self._shaped(add, add_shape)
        mul_name, add_name = self.const(mul_v), self.const(add_v)
        # The custom node indexes mul/add by channel whatever their shape; ONNX broadcasting
        # needs them shaped [1, C, 1, ...] in the expansion.
        channel = (1, -1) + (1,) * (self.values(y).ndim - 2)
        first = len(self.nodes)
        z = self.op("Mul", [y, self.const(mul_v.reshape(channel) if mul_v.size > 1 else mul_v)])
        rounding = add_v + 2**shift // 2
        z = self.op("Add", [z, self.const(rounding.reshape(channel) if rounding.size > 1 else rounding)])
        z = self.op("Floor", [self.op("Div", [z, self.const(np.array(float(2**shift)))])])
        lo, hi = (-(levels // 2), levels // 2 - 1) if signed else (0, levels - 1)
        out = self.clip(z, float(lo), float(hi))
        node = helper.make_node("RequantShift", [y, mul_name, add_name], [out], name=f"RequantShift_{first}",
                                div=2**shift, signed=signed, **({"n_levels_out": levels} | attrs))
        self.custom.append((first, len(self.nodes), node))
        return out

    def deeploy_model(self, inputs, outputs, domain: str = "") -> onnx.ModelProto:
        """The model with every `requant_shift` expansion replaced by a `RequantShift` node."""
        nodes, start = [], 0
        for first, end, node in self.custom:
            nodes += self.nodes[start:first]
            node.domain = domain
            nodes.append(node)
            start = end
        nodes += self.nodes[start:]
        expanded, self.nodes = self.nodes, nodes
        try:
            model = self.model(inputs, outputs)
        finally:
            self.nodes = expanded
        if domain:
            model.opset_import.append(helper.make_opsetid(domain, 1))
        return model


def _inputs(b: Calibrated, count: int = 2) -> list[np.ndarray]:
    rng = np.random.default_rng(b.seed + 100)
    return [b.x] + [rng.integers(0, 256, size=b.shape) for _ in range(count)]


def requant_shapes() -> Case:
    """Class 1: requantization constants shaped `[C,1,1]`, `[1]`, `[1,C,1,1]` after convs and
    `[1,N]`, `[N]`, `[1]` after Gemms, each followed by a Clip."""
    b = Calibrated(shape=(1, 3, 8, 8), seed=11)
    y = b.requant(b.conv("x", 3, 8, bias=True), (8, 1, 1), (1,))
    y = b.requant(b.conv(y, 8, 8, group=8), (1,), (1, 8, 1, 1))
    y = b.requant(b.conv(y, 8, 6, k=(1, 1), pads=(0, 0, 0, 0)), (1, 1, 1, 1), (6, 1, 1))
    y = b.op("Flatten", [y], axis=1)
    y = b.op("Gemm", [y, b.weights((10, 6 * 64), -3, 3), b.const(b.rng.integers(-50, 50, size=10))], transB=1)
    y = b.requant(y, (1, 10), (10,))
    y = b.op("Gemm", [y, b.weights((4, 10))], transB=1)
    y = b.requant(y, (1,), (1,))
    model = b.model([("x", list(b.shape))], [y])
    return Case(model, model, _inputs(b))


def requant_shift(domain: str = "") -> Case:
    """Class 3: Deeploy's `RequantShift` after a conv (mul/add `[C]`), a depthwise conv
    (`[1,C,1,1]`, attribute `n_levels`), a 1x1 conv (per-tensor `[1]`) and a Gemm (`[N]`)."""
    b = Calibrated(shape=(1, 4, 8, 8), seed=12)
    y = b.requant_shift(b.conv("x", 4, 8), (8,), (8,))
    y = b.requant_shift(b.conv(y, 8, 8, group=8), (1, 8, 1, 1), (1, 8, 1, 1))
    y = b.requant_shift(b.conv(y, 8, 6, k=(1, 1), pads=(0, 0, 0, 0)), (1,), (1,))
    y = b.op("Flatten", [y], axis=1)
    y = b.op("Gemm", [y, b.weights((5, 6 * 64), -3, 3)], transB=1)
    y = b.requant_shift(y, (5,), (5,))
    io = ([("x", list(b.shape))], [y])
    for _, _, node in b.custom[1:2]:  # Quantlab spells the attribute n_levels
        levels = next(a for a in node.attribute if a.name == "n_levels_out")
        levels.name = "n_levels"
    return Case(b.deeploy_model(*io, domain=domain), b.model(*io), _inputs(b))


def requant_shift_signed() -> Case:
    """Class 3, signed: `RequantShift(signed=1)` gives int8 activations read by the next conv."""
    b = Calibrated(shape=(1, 3, 8, 8), seed=16)
    y = b.requant_shift(b.conv("x", 3, 8), (8, 1, 1), (8, 1, 1), signed=1)
    y = b.requant_shift(b.conv(y, 8, 4), (4,), (4,))
    io = ([("x", list(b.shape))], [y])
    return Case(b.deeploy_model(*io), b.model(*io), _inputs(b))


def pool_shape_floor() -> Case:
    """Class 4: shape-only ops between an average pooling's pending division and its Floor:
    `GlobalAveragePool -> Flatten -> Floor -> MatMul`, and a second head through
    `Mul -> Transpose -> Reshape -> Div -> Unsqueeze -> Squeeze -> Floor -> Clip -> MatMul`."""
    b = Calibrated(shape=(1, 3, 8, 8), seed=13)
    y = b.requant(b.conv("x", 3, 8), (1, 8, 1, 1), (1, 8, 1, 1))
    pooled = b.op("GlobalAveragePool", [y])
    head = b.op("Floor", [b.op("Flatten", [pooled], axis=1)])
    out1 = b.op("MatMul", [head, b.weights((8, 5))])
    z = b.op("Mul", [pooled, b.const(np.array(3.0))])
    z = b.op("Transpose", [z], perm=[0, 1, 3, 2])
    z = b.op("Reshape", [z, b.const(np.array([1, 8]), np.int64)])
    z = b.op("Div", [z, b.const(np.array(4.0))])
    z = b.op("Unsqueeze", [z], axes=[2])
    z = b.op("Squeeze", [z], axes=[2])
    z = b.clip(b.op("Floor", [z]))
    out2 = b.op("MatMul", [z, b.weights((8, 3))])
    model = b.model([("x", list(b.shape))], [out1, out2])
    return Case(model, model, _inputs(b))


def wide_residual() -> tuple[Case, list[str]]:
    """Class 8: NEMO's residual add with no Clip, `floor((32*a + 16*c) / 32)` = a + c/2, whose
    values exceed 255, read by a conv. Returns the case and the ONNX tensor of each DORY layer."""
    b = Calibrated(shape=(1, 2, 8, 8), seed=14)
    a = b.requant(b.conv("x", 2, 4), (1, 4, 1, 1), (1, 4, 1, 1))
    c = b.requant(b.conv(a, 4, 4), (1, 4, 1, 1), (1, 4, 1, 1))
    s = b.op("Add", [b.op("Mul", [a, b.const(np.array(32.0))]), b.op("Mul", [c, b.const(np.array(16.0))])])
    s = b.op("Floor", [b.op("Div", [s, b.const(np.array(32.0))])])
    y = b.requant(b.conv(s, 4, 3), (1, 3, 1, 1), (1, 3, 1, 1))
    model = b.model([("x", list(b.shape))], [y])
    return Case(model, model, _inputs(b)), [a, c, s, y]


def dory_cases(signed_bits: int | None = None) -> tuple[Case, list[str]]:
    """Class 5: a network for golden folders with several cases (`input_<i>.txt`), its input
    either 8-bit unsigned or `signed_bits`-bit signed (declared in DORY's config JSON)."""
    b = Calibrated(shape=(1, 3, 8, 8), seed=15)
    if signed_bits:
        half = 2 ** (signed_bits - 1)
        b.x = b.rng.integers(-half, half, size=b.shape)
    y = b.requant(b.conv("x", 3, 6, bias=True), (1, 6, 1, 1), (1, 6, 1, 1))
    p = b.op("MaxPool", [y], kernel_shape=[2, 2], strides=[2, 2])
    z = b.requant(b.conv(p, 6, 4), (1, 4, 1, 1), (1, 4, 1, 1))
    model = b.model([("x", list(b.shape))], [z])
    rng = np.random.default_rng(b.seed + 100)
    inputs = [b.x]
    for _ in range(2):
        inputs.append(rng.integers(-half, half, size=b.shape) if signed_bits else rng.integers(0, 256, size=b.shape))
    return Case(model, model, inputs), [y, p, z]


def write_golden(folder, case: Case, layers: list[str], x: np.ndarray, prefix: str = "") -> None:
    """DORY golden files for input `x`: `<prefix>input.txt` style names are the caller's choice
    through `prefix` ("" for input.txt / out_layer<N>.txt, "0" for input_0.txt /
    out_0_layer<N>.txt); the layer tensors come from onnxruntime."""
    from dory_xdsl.golden.writer import write_golden_file

    values = ort_all(case.oracle_model, x)
    folder.mkdir(parents=True, exist_ok=True)
    input_name = f"input_{prefix}.txt" if prefix else "input.txt"
    write_golden_file(folder / input_name, "input", x)
    for index, name in enumerate(layers):
        out = f"out_{prefix}_layer{index}.txt" if prefix else f"out_layer{index}.txt"
        write_golden_file(folder / out, name, values[name].astype(np.int64))


CASES = {"requant_shapes": requant_shapes, "requant_shift": requant_shift, "requant_shift_signed": requant_shift_signed,
         "requant_shift_domain": lambda: requant_shift("com.example.deeploy"), "pool_shape_floor": pool_shape_floor}
