"""The pooling, constant and data-movement ops of the `qnn` dialect: maxpool, avgpool, constant,
concat, reshape, transpose and slice.
"""

from __future__ import annotations

from collections.abc import Sequence

from xdsl.dialects.builtin import (
    DenseArrayBase,
    DenseIntOrFPElementsAttr,
    IntegerAttr,
    StringAttr,
    TensorType,
)
from xdsl.ir import Attribute, SSAValue
from xdsl.irdl import (
    ParsePropInAttrDict,
    irdl_op_definition,
    operand_def,
    prop_def,
    result_def,
    traits_def,
    var_operand_def,
)
from xdsl.parser import Parser
from xdsl.printer import Printer
from xdsl.traits import Pure
from xdsl.utils.exceptions import VerifyException
from dory_xdsl.dialects.qnn_base import QnnOp, _check_activation, _check_clip_fits, _check_rank, _check_shape, _int_elem, _ints, _layout, _tensor, hw_c, i64_array, int_prop, pool_out


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
