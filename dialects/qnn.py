"""The `qnn` dialect: value-semantics ops on builtin tensors for 8-bit quantized networks.

Every op's integer semantics are fully determined by its operands and properties and are
written in its docstring; `dory_xdsl.reference` implements them bit-exactly with numpy.

Conventions
- Element types: `uiN` is unsigned, signless `iN` is two's-complement signed. Activations are
  `ui8` (or `i8`), weights `i8`, bias and accumulators `i32`, requant constants `i32` or `i64`.
- `x >> s` is an arithmetic (flooring) right shift; `clip(v, lo, hi)` saturates.
- Spatial ops carry `layout`: `"nchw"` (as imported from ONNX; conv weights OIHW) or `"nhwc"`
  (what the GAP-8 kernels use; conv weights OHWI, i.e. Cout x Kh x Kw x Cin/group).
- Every clip bound `[lo, hi]` (requant, add, avgpool) must fit the result element type, so the
  result is exactly the clipped value (no further wrap).
- 1-D networks are 2-D with H = 1.

Requantization is a separate op (`qnn.requant`) at import time, so the importer maps the ONNX
`Mul/Add/Div/Floor/Clip` chains one to one, and it is *also* an optional part of `qnn.conv2d` and
`qnn.linear` (operands `k`, `lambda` plus the `requant` property). The fusion pass moves it into
the compute op because a PULP-NN kernel call computes accumulate + requant in one go: after
fusion one compute op is one layer of the back end, and the tiler sees the requant constants as
operands that must be tiled along output channels together with the weights.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from xdsl.dialects.builtin import (
    DenseArrayBase,
    DenseIntOrFPElementsAttr,
    IntAttr,
    IntegerAttr,
    IntegerType,
    Signedness,
    StringAttr,
    TensorType,
    i64,
)
from xdsl.ir import Attribute, Dialect, ParametrizedAttribute, SSAValue
from xdsl.irdl import (
    AttrSizedOperandSegments,
    IRDLOperation,
    ParsePropInAttrDict,
    irdl_attr_definition,
    irdl_op_definition,
    operand_def,
    opt_operand_def,
    opt_prop_def,
    prop_def,
    result_def,
    traits_def,
    var_operand_def,
)
from xdsl.parser import AttrParser, Parser
from xdsl.printer import Printer
from xdsl.traits import Pure
from xdsl.utils.exceptions import VerifyException

LAYOUTS = ("nchw", "nhwc")


# ----------------------------------------------------------------------------- attributes


@irdl_attr_definition
class RequantAttr(ParametrizedAttribute):
    """Shift and saturation bounds of a requantization: `clip((k*x + lambda) >> shift, lo, hi)`.

    Printed as `#qnn.requant<shift = 12, clip = [0, 255]>`.
    """

    name = "qnn.requant"

    shift: IntAttr
    lo: IntAttr
    hi: IntAttr

    def __init__(self, shift: int, lo: int, hi: int):
        super().__init__(IntAttr(shift), IntAttr(lo), IntAttr(hi))

    @classmethod
    def parse_parameters(cls, parser: AttrParser) -> Sequence[Attribute]:
        with parser.in_angle_brackets():
            parser.parse_keyword("shift")
            parser.parse_punctuation("=")
            shift = parser.parse_integer()
            parser.parse_punctuation(",")
            parser.parse_keyword("clip")
            parser.parse_punctuation("=")
            parser.parse_punctuation("[")
            lo = parser.parse_integer()
            parser.parse_punctuation(",")
            hi = parser.parse_integer()
            parser.parse_punctuation("]")
        return (IntAttr(shift), IntAttr(lo), IntAttr(hi))

    def print_parameters(self, printer: Printer) -> None:
        printer.print_string(
            f"<shift = {self.shift.data}, clip = [{self.lo.data}, {self.hi.data}]>"
        )

    def verify(self) -> None:
        if not 0 <= self.shift.data < 64:
            raise VerifyException(f"requant shift {self.shift.data} is not in [0, 63]")
        if self.lo.data > self.hi.data:
            raise VerifyException(
                f"requant clip bounds [{self.lo.data}, {self.hi.data}] are empty"
            )


# ----------------------------------------------------------------------------- helpers


def i64_array(values: Sequence[int]) -> DenseArrayBase:
    return DenseArrayBase.from_list(i64, list(values))


def int_prop(value: int) -> IntegerAttr:
    return IntegerAttr(value, i64)


def _tensor(value: SSAValue, what: str) -> TensorType:
    if not isinstance(value.type, TensorType):
        raise VerifyException(f"{what} must be a ranked tensor, got {value.type}")
    return value.type


def _int_elem(t: TensorType, what: str) -> IntegerType:
    elem = t.element_type
    if not isinstance(elem, IntegerType):
        raise VerifyException(f"{what} must have an integer element type, got {elem}")
    return elem


def _check_rank(t: TensorType, rank: int, what: str) -> tuple[int, ...]:
    shape = t.get_shape()
    if len(shape) != rank:
        raise VerifyException(f"{what} must have rank {rank}, got shape {list(shape)}")
    return shape


def _check_activation(value: SSAValue, what: str) -> TensorType:
    t = _tensor(value, what)
    elem = _int_elem(t, what)
    if elem.width.data != 8:
        raise VerifyException(f"{what} must hold 8-bit integers, got {elem}")
    return t


def _ints(arr: DenseArrayBase, count: int, what: str, minimum: int) -> tuple[int, ...]:
    values = tuple(arr.get_values())
    if len(values) != count:
        raise VerifyException(f"{what} must have {count} values, got {len(values)}")
    if any(v < minimum for v in values):
        raise VerifyException(f"{what} must be >= {minimum}, got {list(values)}")
    return values  # type: ignore[return-value]


def _layout(attr: StringAttr) -> str:
    if attr.data not in LAYOUTS:
        raise VerifyException(f"layout must be one of {LAYOUTS}, got \"{attr.data}\"")
    return attr.data


def hw_c(shape: Sequence[int], layout: str) -> tuple[int, int, int]:
    """(H, W, C) of an N-first activation shape in the given layout."""
    if layout == "nchw":
        return shape[2], shape[3], shape[1]
    return shape[1], shape[2], shape[3]


def pool_out(size: int, kernel: int, stride: int, pad: int, dilation: int = 1) -> int:
    """Output extent of a sliding window (floor mode); < 1 when the window does not fit.

    `pad` is the sum of both sides' padding, `dilation` spreads the kernel taps. The formula
    lives in the reference semantics (`dory_xdsl.reference.window_out`)."""
    from dory_xdsl.reference import window_out

    return window_out(size, kernel, stride, pad, dilation)


def _check_requant(
    k: SSAValue | None,
    lam: SSAValue | None,
    requant: RequantAttr | None,
    channels: int,
) -> None:
    present = [k is not None, lam is not None, requant is not None]
    if any(present) and not all(present):
        raise VerifyException(
            "requantization needs all of the k and lambda operands and the requant property"
        )
    if k is None or lam is None:
        return
    kt, lt = _tensor(k, "k"), _tensor(lam, "lambda")
    for t, what in ((kt, "k"), (lt, "lambda")):
        elem = _int_elem(t, what)
        if elem.width.data not in (32, 64) or elem.signedness.data != Signedness.SIGNLESS:
            raise VerifyException(f"{what} must be i32 or i64, got {elem}")
        shape = t.get_shape()
        if len(shape) != 1 or shape[0] not in (1, channels):
            raise VerifyException(
                f"{what} must have shape [{channels}] (per channel) or [1], got {list(shape)}"
            )
    if kt.element_type != lt.element_type:
        raise VerifyException(
            f"k and lambda must have the same element type, got {kt.element_type} and {lt.element_type}"
        )
    width = _int_elem(kt, "k").width.data
    if requant is not None and requant.shift.data >= width:
        raise VerifyException(
            f"requant shift {requant.shift.data} must be below the {width}-bit width of k"
        )


def int_range(elem: IntegerType) -> tuple[int, int]:
    """The smallest and largest value an integer element type holds (`iN` is signed)."""
    bits = elem.width.data
    if elem.signedness.data == Signedness.UNSIGNED:
        return 0, (1 << bits) - 1
    return -(1 << (bits - 1)), (1 << (bits - 1)) - 1


def _check_clip_fits(lo: int, hi: int, result: SSAValue) -> None:
    elem = _int_elem(_tensor(result, "result"), "result")
    tmin, tmax = int_range(elem)
    if lo < tmin or hi > tmax:
        raise VerifyException(
            f"clip bounds [{lo}, {hi}] do not fit the result element type {elem} ([{tmin}, {tmax}])"
        )


def _check_result_elem(result: SSAValue, requant: RequantAttr | None) -> None:
    elem = _int_elem(_tensor(result, "result"), "result")
    if requant is None:
        if elem != IntegerType(32):
            raise VerifyException(f"result without requantization must be i32, got {elem}")
        return
    if elem.width.data > 32:
        raise VerifyException(f"requantized result must be at most 32-bit, got {elem}")
    _check_clip_fits(requant.lo.data, requant.hi.data, result)


def _check_shape(result: SSAValue, expected: Sequence[int]) -> None:
    got = list(_tensor(result, "result").get_shape())
    if got != list(expected):
        raise VerifyException(f"result shape {got} does not match the expected {list(expected)}")


class QnnOp(IRDLOperation):
    """Base of the qnn ops: verifier messages name the op and its result, e.g.
    `qnn.conv2d %conv1: group 3 must divide ...`, so a one-line diagnostic is actionable."""

    def check(self) -> None:
        """The op's own verification rules (raise `VerifyException`)."""

    def verify_(self) -> None:
        try:
            self.check()
        except VerifyException as error:
            hints = [f" %{r.name_hint}" for r in self.results if r.name_hint]
            raise VerifyException(f"{self.name}{''.join(hints)}: {error}") from error


# ----------------------------------------------------------------------------- ops


@irdl_op_definition
class ConstantOp(QnnOp):
    """Dense integer data (weights, bias, requant constants).

    Build it from raw little-endian bytes (`DenseIntOrFPElementsAttr(type, BytesAttr(...))`);
    `dory_xdsl.tensors.dense_attr` does this for numpy arrays.
    """

    name = "qnn.constant"
    value = prop_def(DenseIntOrFPElementsAttr)
    result = result_def(TensorType)
    traits = traits_def(Pure())

    def __init__(self, value: DenseIntOrFPElementsAttr):
        super().__init__(properties={"value": value}, result_types=[value.type])

    @classmethod
    def parse(cls, parser: Parser) -> ConstantOp:
        start = parser.pos
        value = parser.parse_attribute()
        if not isinstance(value, DenseIntOrFPElementsAttr):
            parser.raise_error(
                f"qnn.constant expects dense integer elements (dense<...> : tensor<...>), got {value}",
                start,
            )
        op = cls(value)
        attrs = parser.parse_optional_attr_dict()
        op.attributes.update(attrs)
        return op

    def print(self, printer: Printer) -> None:
        printer.print_string(" ")
        printer.print_attribute(self.value)
        printer.print_op_attributes(self.attributes)

    def check(self) -> None:
        if self.result.type != self.value.type:
            raise VerifyException(
                f"result type {self.result.type} does not match the value type {self.value.type}"
            )
        _int_elem(_tensor(self.result, "value"), "value")


def constant_array(value: SSAValue):
    """The data (a numpy array) of a `qnn.constant` result, or None when `value` is not one."""
    from dory_xdsl.tensors import to_numpy

    owner = value.owner
    return to_numpy(owner.value) if isinstance(owner, ConstantOp) else None


class _AccumulatingOp(QnnOp):
    """Shared operands of `qnn.conv2d` and `qnn.linear`: input, i8 weights, optional i32 bias,
    optional fused requantization (`k`, `lambda` operands and the `requant` property)."""

    input = operand_def(TensorType)
    weight = operand_def(TensorType)
    bias = opt_operand_def(TensorType)
    k = opt_operand_def(TensorType)
    lambda_ = opt_operand_def(TensorType)
    result = result_def(TensorType)
    requant = opt_prop_def(RequantAttr)

    traits = traits_def(Pure())
    irdl_options = (AttrSizedOperandSegments(as_property=True), ParsePropInAttrDict())
    assembly_format = (
        "$input `,` $weight (`bias` `(` $bias^ `:` type($bias) `)`)? "
        "(`scale` `(` $k^ `,` $lambda_ `:` type($k) `,` type($lambda_) `)`)? "
        "attr-dict `:` type($input) `,` type($weight) `->` type($result)"
    )

    def _weight_type(self) -> TensorType:
        w_t = _tensor(self.weight, "weight")
        if _int_elem(w_t, "weight") != IntegerType(8):
            raise VerifyException(f"weight must hold i8 (signed 8-bit) integers, got {w_t.element_type}")
        return w_t

    def _check_bias_and_requant(self, cout: int) -> None:
        if self.bias is not None:
            b_t = _tensor(self.bias, "bias")
            if b_t.get_shape() != (cout,) or b_t.element_type != IntegerType(32):
                raise VerifyException(f"bias must be tensor<{cout}xi32>, got {b_t}")
        _check_requant(self.k, self.lambda_, self.requant, cout)
        _check_result_elem(self.result, self.requant)


@irdl_op_definition
class Conv2dOp(_AccumulatingOp):
    """Grouped 2-D convolution with optional bias and optional fused requantization.

    `acc[n, co, y, x] = bias[co] + sum_{ci, ky, kx} in[n, g*Cin_g + ci, y*sy + ky*dy - pad_t,
    x*sx + kx*dx - pad_l] * w[co, ci, ky, kx]` with `g = co // (Cout/group)`, out-of-range
    input = 0, in wrapping 32-bit arithmetic (`in` is read as unsigned for `ui8`, signed for
    `i8`). Without requantization the result is `acc` (i32). With it (`k`, `lambda`, `requant`):
    `out = clip((k[co]*acc + lambda[co]) >> shift, lo, hi)` exactly as `qnn.requant` (W-bit
    wrapping arithmetic, W = width of `k`); `k`/`lambda` of shape [1] broadcast.
    `pads` = (top, left, bottom, right); `group` = 1 or Cin (depthwise) or any divisor.
    Indices above are for layout "nchw" (weights OIHW); "nhwc" holds the same tensors
    transposed (input/result NHWC, weights OHWI = Cout x Kh x Kw x Cin/group).
    """

    name = "qnn.conv2d"

    strides = prop_def(DenseArrayBase)
    pads = prop_def(DenseArrayBase)
    dilations = prop_def(DenseArrayBase)
    group = prop_def(IntegerAttr)
    layout = prop_def(StringAttr)

    def __init__(
        self,
        input: SSAValue,
        weight: SSAValue,
        result_type: Attribute,
        *,
        strides: Sequence[int] = (1, 1),
        pads: Sequence[int] = (0, 0, 0, 0),
        dilations: Sequence[int] = (1, 1),
        group: int = 1,
        layout: str = "nchw",
        bias: SSAValue | None = None,
        k: SSAValue | None = None,
        lambda_: SSAValue | None = None,
        requant: RequantAttr | None = None,
    ):
        props: dict[str, Attribute] = {
            "strides": i64_array(strides),
            "pads": i64_array(pads),
            "dilations": i64_array(dilations),
            "group": int_prop(group),
            "layout": StringAttr(layout),
        }
        if requant is not None:
            props["requant"] = requant
        super().__init__(
            operands=[input, weight, bias, k, lambda_],
            result_types=[result_type],
            properties=props,
        )

    def check(self) -> None:
        layout = _layout(self.layout)
        in_t = _check_activation(self.input, "input")
        w_t = self._weight_type()
        n, (h, w, cin) = _check_rank(in_t, 4, "input")[0], hw_c(in_t.get_shape(), layout)
        wshape = _check_rank(w_t, 4, "weight")
        if layout == "nchw":
            cout, cin_g, kh, kw = wshape
        else:
            cout, kh, kw, cin_g = wshape
        sy, sx = _ints(self.strides, 2, "strides", 1)
        pt, pl, pb, pr = _ints(self.pads, 4, "pads", 0)
        dy, dx = _ints(self.dilations, 2, "dilations", 1)
        group = self.group.value.data
        if group < 1 or cin % group or cout % group:
            raise VerifyException(
                f"group {group} must divide the input channels ({cin}) and output channels ({cout})"
            )
        if cin_g * group != cin:
            raise VerifyException(
                f"weight has {cin_g} input channels per group, expected {cin // group} "
                f"({cin} input channels, group {group})"
            )
        self._check_bias_and_requant(cout)
        ho, wo = pool_out(h, kh, sy, pt + pb, dy), pool_out(w, kw, sx, pl + pr, dx)
        if ho < 1 or wo < 1:
            raise VerifyException(f"kernel {kh}x{kw} does not fit the padded {h}x{w} input")
        _check_shape(self.result, (n, cout, ho, wo) if layout == "nchw" else (n, ho, wo, cout))


@irdl_op_definition
class LinearOp(_AccumulatingOp):
    """Fully connected layer: `acc[n, o] = bias[o] + sum_i in[n, i] * w[o, i]` (32-bit wrap).

    Optional fused requantization exactly as `qnn.conv2d` (per output neuron).
    """

    name = "qnn.linear"

    def __init__(
        self,
        input: SSAValue,
        weight: SSAValue,
        result_type: Attribute,
        *,
        bias: SSAValue | None = None,
        k: SSAValue | None = None,
        lambda_: SSAValue | None = None,
        requant: RequantAttr | None = None,
    ):
        super().__init__(
            operands=[input, weight, bias, k, lambda_],
            result_types=[result_type],
            properties={"requant": requant} if requant is not None else {},
        )

    def check(self) -> None:
        in_t = _check_activation(self.input, "input")
        w_t = self._weight_type()
        n, cin = _check_rank(in_t, 2, "input")
        cout, win = _check_rank(w_t, 2, "weight")
        if win != cin:
            raise VerifyException(f"weight has {win} input features, the input has {cin}")
        self._check_bias_and_requant(cout)
        _check_shape(self.result, (n, cout))


@irdl_op_definition
class RequantOp(QnnOp):
    """Requantization: `out = clip((k[c]*x + lambda[c]) >> shift, lo, hi)`.

    `c` indexes dimension `axis`; `k`, `lambda` have shape [C] or [1] (broadcast). With W the
    width of `k` (32 for i32, 64 for i64), `k*x + lambda` is computed modulo 2^W as a W-bit
    two's-complement value (`x` is taken modulo 2^W first; i32 accumulators are unchanged by
    that), then shifted arithmetically and clipped. `x` is any integer tensor.
    """

    name = "qnn.requant"
    input = operand_def(TensorType)
    k = operand_def(TensorType)
    lambda_ = operand_def(TensorType)
    result = result_def(TensorType)
    requant = prop_def(RequantAttr)
    axis = prop_def(IntegerAttr)

    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = (
        "$input `,` $k `,` $lambda_ attr-dict `:` functional-type(operands, results)"
    )

    def __init__(
        self,
        input: SSAValue,
        k: SSAValue,
        lambda_: SSAValue,
        requant: RequantAttr,
        axis: int,
        result_type: Attribute,
    ):
        super().__init__(
            operands=[input, k, lambda_],
            result_types=[result_type],
            properties={"requant": requant, "axis": int_prop(axis)},
        )

    def check(self) -> None:
        in_t = _tensor(self.input, "input")
        _int_elem(in_t, "input")
        shape = in_t.get_shape()
        axis = self.axis.value.data
        if not 0 <= axis < len(shape):
            raise VerifyException(f"axis {axis} is out of range for rank {len(shape)}")
        _check_requant(self.k, self.lambda_, self.requant, shape[axis])
        _check_clip_fits(self.requant.lo.data, self.requant.hi.data, self.result)
        _check_shape(self.result, shape)


@irdl_op_definition
class AddOp(QnnOp):
    """Requantizing element-wise add of two equally shaped tensors.

    `out = clip(((((a*mul_a + add_a) >> shift_a) + ((b*mul_b + add_b) >> shift_b)) >> shift),
    lo, hi)` in wrapping int32 arithmetic (`a`, `b` read as unsigned for `ui8`, signed for `i8`);
    the clip bounds must fit the result element type. NEMO's residual add is `shift_a = shift_b = 0, add = 0`;
    Quantlab's requantizing add is `shift = 0`.
    """

    name = "qnn.add"
    lhs = operand_def(TensorType)
    rhs = operand_def(TensorType)
    result = result_def(TensorType)
    mul_a = prop_def(IntegerAttr)
    add_a = prop_def(IntegerAttr)
    shift_a = prop_def(IntegerAttr)
    mul_b = prop_def(IntegerAttr)
    add_b = prop_def(IntegerAttr)
    shift_b = prop_def(IntegerAttr)
    shift = prop_def(IntegerAttr)
    lo = prop_def(IntegerAttr)
    hi = prop_def(IntegerAttr)

    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$lhs `,` $rhs attr-dict `:` functional-type(operands, results)"

    PARAMS: ClassVar[tuple[str, ...]] = ("mul_a", "add_a", "shift_a", "mul_b", "add_b", "shift_b", "shift", "lo", "hi")

    def __init__(self, lhs: SSAValue, rhs: SSAValue, result_type: Attribute, **params: int):
        missing = set(self.PARAMS) - set(params)
        if missing:
            raise ValueError(f"qnn.add needs {sorted(missing)}")
        super().__init__(
            operands=[lhs, rhs],
            result_types=[result_type],
            properties={name: int_prop(params[name]) for name in self.PARAMS},
        )

    def param(self, name: str) -> int:
        return self.properties[name].value.data  # type: ignore[union-attr]

    def check(self) -> None:
        a = _check_activation(self.lhs, "lhs")
        b = _check_activation(self.rhs, "rhs")
        if a.get_shape() != b.get_shape():
            raise VerifyException(
                f"operand shapes {list(a.get_shape())} and {list(b.get_shape())} differ"
            )
        for name in ("shift_a", "shift_b", "shift"):
            if not 0 <= self.param(name) < 32:
                raise VerifyException(f"{name} {self.param(name)} is not in [0, 31]")
        if self.param("lo") > self.param("hi"):
            raise VerifyException(f"clip bounds [{self.param('lo')}, {self.param('hi')}] are empty")
        _check_activation(self.result, "result")
        _check_clip_fits(self.param("lo"), self.param("hi"), self.result)
        _check_shape(self.result, a.get_shape())


class _PoolBase(QnnOp):
    input = operand_def(TensorType)
    result = result_def(TensorType)
    kernel = prop_def(DenseArrayBase)
    strides = prop_def(DenseArrayBase)
    pads = prop_def(DenseArrayBase)
    layout = prop_def(StringAttr)

    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$input attr-dict `:` functional-type(operands, results)"


    def check(self) -> None:
        layout = _layout(self.layout)
        in_t = _check_activation(self.input, "input")
        n = _check_rank(in_t, 4, "input")[0]
        h, w, c = hw_c(in_t.get_shape(), layout)
        kh, kw = _ints(self.kernel, 2, "kernel", 1)
        sy, sx = _ints(self.strides, 2, "strides", 1)
        pt, pl, pb, pr = _ints(self.pads, 4, "pads", 0)
        if max(pt, pb) >= kh or max(pl, pr) >= kw:
            raise VerifyException(
                f"pads {[pt, pl, pb, pr]} must be smaller than the {kh}x{kw} window "
                "(a window must not lie entirely in the padding)"
            )
        ho, wo = pool_out(h, kh, sy, pt + pb), pool_out(w, kw, sx, pl + pr)
        if ho < 1 or wo < 1:
            raise VerifyException(f"window {kh}x{kw} does not fit the padded {h}x{w} input")
        _check_activation(self.result, "result")
        _check_shape(self.result, (n, c, ho, wo) if layout == "nchw" else (n, ho, wo, c))


def _pool_properties(
    kernel: Sequence[int], strides: Sequence[int], pads: Sequence[int], layout: str
) -> dict[str, Attribute]:
    return {
        "kernel": i64_array(kernel),
        "strides": i64_array(strides),
        "pads": i64_array(pads),
        "layout": StringAttr(layout),
    }


@irdl_op_definition
class MaxPoolOp(_PoolBase):
    """Max pooling: `out = max over the window of in`; padded positions never win (they are
    skipped). `pads` = (top, left, bottom, right)."""

    name = "qnn.maxpool"

    def check(self) -> None:
        super().check()
        elem, in_elem = _tensor(self.result, "result").element_type, self.input.type.element_type  # type: ignore[union-attr]
        if elem != in_elem:
            raise VerifyException(
                f"result element type {elem} must match the input element type {in_elem}"
            )

    def __init__(
        self,
        input: SSAValue,
        result_type: Attribute,
        *,
        kernel: Sequence[int],
        strides: Sequence[int],
        pads: Sequence[int] = (0, 0, 0, 0),
        layout: str = "nchw",
    ):
        super().__init__(
            operands=[input],
            result_types=[result_type],
            properties=_pool_properties(kernel, strides, pads, layout),
        )


@irdl_op_definition
class AvgPoolOp(_PoolBase):
    """Average pooling with integer requantization, as PULP-NN's `avgpool`.

    `sum` = sum of the window (padding counts as 0), `count` = kh*kw (the full window).
    `out = clip((sum*mul // count + add) >> shift, lo, hi)` where `//` is floor division; with
    the defaults mul = 1, add = 0, shift = 0 this is `floor(mean)`. All arithmetic is exact
    (the operands are non-negative for the GAP-8 kernel, which the back end checks).
    """

    name = "qnn.avgpool"
    mul = prop_def(IntegerAttr)
    add = prop_def(IntegerAttr)
    shift = prop_def(IntegerAttr)
    lo = prop_def(IntegerAttr)
    hi = prop_def(IntegerAttr)

    def __init__(
        self,
        input: SSAValue,
        result_type: Attribute,
        *,
        kernel: Sequence[int],
        strides: Sequence[int],
        pads: Sequence[int] = (0, 0, 0, 0),
        layout: str = "nchw",
        mul: int = 1,
        add: int = 0,
        shift: int = 0,
        lo: int = 0,
        hi: int = 255,
    ):
        props = _pool_properties(kernel, strides, pads, layout)
        props.update(
            mul=int_prop(mul), add=int_prop(add), shift=int_prop(shift), lo=int_prop(lo), hi=int_prop(hi)
        )
        super().__init__(operands=[input], result_types=[result_type], properties=props)

    def check(self) -> None:
        super().check()
        if not 0 <= self.shift.value.data < 32:
            raise VerifyException(f"shift {self.shift.value.data} is not in [0, 31]")
        if self.lo.value.data > self.hi.value.data:
            raise VerifyException(
                f"clip bounds [{self.lo.value.data}, {self.hi.value.data}] are empty"
            )
        _check_clip_fits(self.lo.value.data, self.hi.value.data, self.result)


@irdl_op_definition
class ConcatOp(QnnOp):
    """Concatenation along `axis`; all other dimensions and the element types must agree."""

    name = "qnn.concat"
    inputs = var_operand_def(TensorType)
    result = result_def(TensorType)
    axis = prop_def(IntegerAttr)

    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$inputs attr-dict `:` functional-type(operands, results)"

    def __init__(self, inputs: Sequence[SSAValue], axis: int, result_type: Attribute):
        super().__init__(
            operands=[inputs], result_types=[result_type], properties={"axis": int_prop(axis)}
        )

    def check(self) -> None:
        if not self.inputs:
            raise VerifyException("concat needs at least one input")
        types = [_tensor(v, "input") for v in self.inputs]
        rank = len(types[0].get_shape())
        axis = self.axis.value.data
        if not 0 <= axis < rank:
            raise VerifyException(f"axis {axis} is out of range for rank {rank}")
        shape = list(types[0].get_shape())
        for t in types[1:]:
            other = list(t.get_shape())
            if len(other) != rank or any(
                a != b for i, (a, b) in enumerate(zip(shape, other)) if i != axis
            ):
                raise VerifyException(
                    f"input shapes {list(types[0].get_shape())} and {other} differ outside axis {axis}"
                )
            if t.element_type != types[0].element_type:
                raise VerifyException("all inputs must have the same element type")
            shape[axis] += other[axis]
        if _tensor(self.result, "result").element_type != types[0].element_type:
            raise VerifyException("result element type must match the inputs")
        _check_shape(self.result, shape)


@irdl_op_definition
class ReshapeOp(QnnOp):
    """Reshape (ONNX `Flatten`/`Reshape`/`Unsqueeze`): same elements in the same row-major order."""

    name = "qnn.reshape"
    input = operand_def(TensorType)
    result = result_def(TensorType)

    traits = traits_def(Pure())
    assembly_format = "$input attr-dict `:` functional-type(operands, results)"

    def __init__(self, input: SSAValue, result_type: Attribute):
        super().__init__(operands=[input], result_types=[result_type])

    def check(self) -> None:
        a, b = _tensor(self.input, "input"), _tensor(self.result, "result")
        if a.element_type != b.element_type:
            raise VerifyException("reshape must keep the element type")
        if a.element_count() != b.element_count():
            raise VerifyException(
                f"reshape from {list(a.get_shape())} to {list(b.get_shape())} changes the element count"
            )


@irdl_op_definition
class TransposeOp(QnnOp):
    """Transpose (numpy `transpose(perm)`): `out.shape[d] = in.shape[perm[d]]` and
    `out[i_0, ..., i_{r-1}] = in[j]` with `j[perm[d]] = i_d`."""

    name = "qnn.transpose"
    input = operand_def(TensorType)
    result = result_def(TensorType)
    perm = prop_def(DenseArrayBase)

    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$input attr-dict `:` functional-type(operands, results)"

    def __init__(self, input: SSAValue, perm: Sequence[int], result_type: Attribute):
        super().__init__(
            operands=[input], result_types=[result_type], properties={"perm": i64_array(perm)}
        )

    def check(self) -> None:
        a, b = _tensor(self.input, "input"), _tensor(self.result, "result")
        perm = list(self.perm.get_values())
        shape = a.get_shape()
        if sorted(perm) != list(range(len(shape))):
            raise VerifyException(f"perm {perm} is not a permutation of 0..{len(shape) - 1}")
        if a.element_type != b.element_type:
            raise VerifyException("transpose must keep the element type")
        _check_shape(self.result, [shape[p] for p in perm])


@irdl_op_definition
class SliceOp(QnnOp):
    """Static slice: `out[i] = in[offsets + i]` with unit strides (ONNX `Gather` of one index,
    followed by a reshape that drops the axis)."""

    name = "qnn.slice"
    input = operand_def(TensorType)
    result = result_def(TensorType)
    offsets = prop_def(DenseArrayBase)

    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$input attr-dict `:` functional-type(operands, results)"

    def __init__(self, input: SSAValue, offsets: Sequence[int], result_type: Attribute):
        super().__init__(
            operands=[input], result_types=[result_type], properties={"offsets": i64_array(offsets)}
        )

    def check(self) -> None:
        a, b = _tensor(self.input, "input"), _tensor(self.result, "result")
        shape, sizes = a.get_shape(), b.get_shape()
        offsets = list(self.offsets.get_values())
        if len(offsets) != len(shape) or len(sizes) != len(shape):
            raise VerifyException(
                f"offsets and result must have the input rank {len(shape)}"
            )
        for o, s, d in zip(offsets, sizes, shape):
            if o < 0 or o + s > d:
                raise VerifyException(
                    f"slice at offsets {offsets} with sizes {list(sizes)} leaves the input {list(shape)}"
                )
        if a.element_type != b.element_type:
            raise VerifyException("slice must keep the element type")


Qnn = Dialect(
    "qnn",
    [
        ConstantOp,
        Conv2dOp,
        LinearOp,
        RequantOp,
        AddOp,
        MaxPoolOp,
        AvgPoolOp,
        ConcatOp,
        ReshapeOp,
        TransposeOp,
        SliceOp,
    ],
    [RequantAttr],
)
