"""Shared pieces of the `qnn` dialect (see `dory_xdsl.dialects.qnn`): the `#qnn.requant` attribute,
the verifier helpers (shapes, element types, requant and clip checks) and the base op class.
"""

from __future__ import annotations

from collections.abc import Sequence

from xdsl.dialects.builtin import (
    DenseArrayBase,
    IntAttr,
    IntegerAttr,
    IntegerType,
    Signedness,
    StringAttr,
    TensorType,
    i64,
)
from xdsl.ir import Attribute, ParametrizedAttribute, SSAValue
from xdsl.irdl import (
    IRDLOperation,
    irdl_attr_definition,
)
from xdsl.parser import AttrParser
from xdsl.printer import Printer
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
    lives in the reference semantics (`dory_xdsl.semantics.reference.window_out`)."""
    from dory_xdsl.semantics.reference import window_out

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
