"""The accumulating and requantizing ops of the `qnn` dialect: conv2d, linear, requant and add.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from xdsl.dialects.builtin import (
    DenseArrayBase,
    IntegerAttr,
    IntegerType,
    StringAttr,
    TensorType,
)
from xdsl.ir import Attribute, SSAValue
from xdsl.irdl import (
    AttrSizedOperandSegments,
    ParsePropInAttrDict,
    irdl_op_definition,
    operand_def,
    opt_operand_def,
    opt_prop_def,
    prop_def,
    result_def,
    traits_def,
)
from xdsl.traits import Pure
from xdsl.utils.exceptions import VerifyException
from dory_xdsl.dialects.qnn_base import QnnOp, RequantAttr, _check_activation, _check_clip_fits, _check_rank, _check_requant, _check_result_elem, _check_shape, _int_elem, _ints, _layout, _tensor, hw_c, i64_array, int_prop, pool_out


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
