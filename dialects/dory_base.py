"""Shared pieces of the `dory` dialect (see `dory_xdsl.dialects.dory`): the GAP-8 DMA limits, the
`#dory.tiling` attribute, mixed constant-or-SSA integer parameters and byte-memref helpers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar

from xdsl.dialects.builtin import (
    ArrayAttr,
    DenseArrayBase,
    IndexType,
    IntAttr,
    IntegerAttr,
    MemRefType,
    StringAttr,
    i64,
)
from xdsl.ir import Attribute, ParametrizedAttribute, SSAValue
from xdsl.irdl import (
    irdl_attr_definition,
)
from xdsl.parser import AttrParser, Parser, UnresolvedOperand
from xdsl.printer import Printer
from xdsl.utils.exceptions import VerifyException


DMA_MAX_BYTES = 65_535
DMA_MAX_LINE = 32_767
DMA_MAX_STRIDE = 32_767
DIRECTIONS = ("l2_to_l1", "l1_to_l2")


# ----------------------------------------------------------------------------- attributes


@irdl_attr_definition
class TilingAttr(ParametrizedAttribute):
    """The tiling `qnn-tile` chose for one layer.

    `#dory.tiling<tile = [h, w, c], count = [nh, nw, nc], l1 = B, budget = L, double_buffer = true,
    objective = "cost", cycles = N, proved = true, solve_us = T>`: output tile sizes (rows,
    columns, channels), tiles per axis, L1 bytes used of the budget, buffering, objective,
    modelled cycles, whether Z3 proved the optimum, and the solve time in microseconds.
    """

    name = "dory.tiling"

    tile: DenseArrayBase
    count: DenseArrayBase
    l1: IntAttr
    budget: IntAttr
    double_buffer: IntAttr
    objective: StringAttr
    cycles: IntAttr
    proved: IntAttr
    solve_us: IntAttr

    FIELDS: ClassVar[tuple[str, ...]] = (
        "tile", "count", "l1", "budget", "double_buffer", "objective", "cycles", "proved", "solve_us"
    )
    BOOLS: ClassVar[tuple[str, ...]] = ("double_buffer", "proved")

    def __init__(self, tile: Sequence[int], count: Sequence[int], l1: int, budget: int,
                 double_buffer: bool, objective: str, cycles: int, proved: bool, solve_us: int):
        super().__init__(
            DenseArrayBase.from_list(i64, list(tile)), DenseArrayBase.from_list(i64, list(count)),
            IntAttr(l1), IntAttr(budget), IntAttr(int(double_buffer)), StringAttr(objective),
            IntAttr(cycles), IntAttr(int(proved)), IntAttr(solve_us),
        )

    @property
    def sizes(self) -> tuple[int, int, int]:
        return tuple(int(v) for v in self.tile.get_values())  # type: ignore[return-value]

    @property
    def counts(self) -> tuple[int, int, int]:
        return tuple(int(v) for v in self.count.get_values())  # type: ignore[return-value]

    @classmethod
    def parse_parameters(cls, parser: AttrParser) -> Sequence[Attribute]:
        values: list[Attribute] = []
        with parser.in_angle_brackets():
            for i, field in enumerate(cls.FIELDS):
                if i:
                    parser.parse_punctuation(",")
                parser.parse_keyword(field)
                parser.parse_punctuation("=")
                if field in ("tile", "count"):
                    ints = parser.parse_comma_separated_list(
                        parser.Delimiter.SQUARE, parser.parse_integer
                    )
                    values.append(DenseArrayBase.from_list(i64, ints))
                elif field == "objective":
                    values.append(StringAttr(parser.parse_str_literal()))
                elif field in cls.BOOLS:
                    values.append(IntAttr(int(parser.parse_boolean())))
                else:
                    values.append(IntAttr(parser.parse_integer()))
        return values

    def print_parameters(self, printer: Printer) -> None:
        parts = []
        for field in self.FIELDS:
            value = getattr(self, field)
            if isinstance(value, DenseArrayBase):
                text = f"[{', '.join(str(int(v)) for v in value.get_values())}]"
            elif isinstance(value, StringAttr):
                text = f'"{value.data}"'
            elif field in self.BOOLS:
                text = "true" if value.data else "false"
            else:
                text = str(value.data)
            parts.append(f"{field} = {text}")
        printer.print_string(f"<{', '.join(parts)}>")

    def verify(self) -> None:
        if len(self.tile.get_values()) != 3 or len(self.count.get_values()) != 3:
            raise VerifyException("tiling tile and count must have 3 values (h, w, c)")
        if any(v < 1 for v in (*self.sizes, *self.counts)):
            raise VerifyException("tiling tile sizes and counts must be positive")
        if self.l1.data > self.budget.data:
            raise VerifyException(
                f"tiling uses {self.l1.data} B of L1, more than the {self.budget.data} B budget"
            )


# ----------------------------------------------------------------------------- int-or-index parameters

Mixed = int | SSAValue
"""A parameter that is a constant (an `i64` property) or computed per tile (an `index` operand)."""


def _field(name: str) -> str:
    """Python field of a C argument name (`in` and `lambda` are Python keywords)."""
    return name + "_" if name in ("in", "lambda") else name



class MixedParams:
    """Ops whose integer parameters are static properties or dynamic `index` operands.

    A dynamic parameter is an operand of the variadic `dynamic` list, named by the same position
    in the `dynamic_params` property (an array of parameter names); a static one is the property
    of its own name. Syntax inside the op's braces: `name = 72` or `name = %v`.
    """

    MIXED: ClassVar[tuple[str, ...]] = ()

    def mixed_names(self) -> tuple[str, ...]:
        return self.MIXED

    def dynamic_names(self) -> list[str]:
        attr = self.properties.get("dynamic_params")  # type: ignore[attr-defined]
        return [] if attr is None else [s.data for s in attr.data]  # type: ignore[union-attr]

    def mixed(self, name: str) -> Mixed:
        """The parameter's value: an int when static, the `index` SSA value when dynamic."""
        names = self.dynamic_names()
        if name in names:
            return self.dynamic[names.index(name)]  # type: ignore[attr-defined]
        attr = self.properties.get(_field(name))  # type: ignore[attr-defined]
        assert isinstance(attr, IntegerAttr), name
        return attr.value.data

    def static(self, name: str) -> int | None:
        value = self.mixed(name)
        return value if isinstance(value, int) else None

    def verify_mixed(self) -> None:
        names = self.dynamic_names()
        if len(names) != len(self.dynamic):  # type: ignore[attr-defined]
            raise VerifyException(f"{self.name}: {len(names)} dynamic parameter names for "  # type: ignore[attr-defined]
                                  f"{len(self.dynamic)} operands")  # type: ignore[attr-defined]
        for name in self.mixed_names():
            given = _field(name) in self.properties  # type: ignore[attr-defined]
            if given == (name in names):
                raise VerifyException(f"{self.name}: parameter '{name}' must be given exactly once "  # type: ignore[attr-defined]
                                      "(a constant or an index operand)")
        unknown = set(names) - set(self.mixed_names())
        if unknown:
            raise VerifyException(f"{self.name}: unknown dynamic parameter(s) {sorted(unknown)}")  # type: ignore[attr-defined]


def split_mixed(values: Mapping[str, Mixed]) -> tuple[list[SSAValue], dict[str, Attribute]]:
    """(dynamic operands, properties) of the parameter values of a `MixedParams` op."""
    dynamic: list[SSAValue] = []
    names: list[StringAttr] = []
    props: dict[str, Attribute] = {}
    for name, value in values.items():
        if isinstance(value, SSAValue):
            dynamic.append(value)
            names.append(StringAttr(name))
        else:
            props[_field(name)] = _int(int(value))
    if names:
        props["dynamic_params"] = ArrayAttr(names)
    return dynamic, props


def print_mixed_dict(printer: Printer, entries: Sequence[tuple[str, Mixed | str]]) -> None:
    """`{a = 3, b = %v, c = "text"}`."""
    printer.print_string("{")
    for i, (name, value) in enumerate(entries):
        if i:
            printer.print_string(", ")
        printer.print_string(f"{name} = ")
        if isinstance(value, SSAValue):
            printer.print_operand(value)
        elif isinstance(value, str):
            printer.print_string_literal(value)
        else:
            printer.print_string(str(value))
    printer.print_string("}")


def parse_mixed_dict(parser: Parser, op_name: str) -> dict[str, object]:
    """Entries of `{a = 3, b = %v, c = "text"}`: ints, unresolved operands or strings."""
    entries: dict[str, object] = {}

    def entry() -> None:
        name = parser.parse_identifier()
        parser.parse_punctuation("=")
        if name in entries:
            parser.raise_error(f"{op_name}: '{name}' is given twice")
        operand = parser.parse_optional_unresolved_operand()
        if operand is not None:
            entries[name] = operand
            return
        text = parser.parse_optional_str_literal()
        entries[name] = text if text is not None else parser.parse_integer()

    parser.parse_comma_separated_list(parser.Delimiter.BRACES, entry)
    return entries


def _print_indexed(printer: Printer, memref: SSAValue, offset: SSAValue) -> None:
    """` %buf[%offset]`."""
    printer.print_string(" ")
    printer.print_operand(memref)
    printer.print_string("[")
    printer.print_operand(offset)
    printer.print_string("]")


def _parse_indexed(parser: Parser) -> tuple[UnresolvedOperand, UnresolvedOperand]:
    """`%buf[%offset]` as unresolved operands."""
    memref = parser.parse_unresolved_operand()
    parser.parse_punctuation("[")
    offset = parser.parse_unresolved_operand()
    parser.parse_punctuation("]")
    return memref, offset


def _resolve_mixed(parser: Parser, entries: Mapping[str, object], names: Sequence[str],
                   op_name: str) -> dict[str, Mixed]:
    out: dict[str, Mixed] = {}
    for name in names:
        if name not in entries:
            parser.raise_error(f"{op_name} misses parameter '{name}'")
        value = entries[name]
        if isinstance(value, str):
            parser.raise_error(f"{op_name}: '{name}' must be an integer or an index value")
        out[name] = value if isinstance(value, int) else parser.resolve_operand(value, IndexType())  # type: ignore[arg-type]
    return out


# ----------------------------------------------------------------------------- memory and DMA


def _int(value: int) -> IntegerAttr:
    return IntegerAttr(value, i64)


def _byte_memref(value: SSAValue, what: str) -> MemRefType:
    t = value.type
    if not isinstance(t, MemRefType):
        raise VerifyException(f"{what} must be a memref, got {t}")
    return t


def memref_bytes(t: MemRefType) -> int:
    """Size in bytes of a static memref of integers."""
    elem = t.element_type
    width = getattr(elem, "width", None)
    if width is None:
        raise VerifyException(f"memref element type {elem} is not an integer")
    count = 1
    for d in t.get_shape():
        count *= d
    return count * (width.data // 8)
