"""The `dory` dialect: tiled layers as explicit L1 buffers, DMA commands and PULP-NN calls.

This is the level the C printer reads: every op maps 1:1 onto a C statement of the GAP-8
application (PMSIS DMA calls, a `memset`, or one PULP-NN function call), and every number the C
needs is in the IR.

Memory model
- L2 tensors are `memref`s (activations HWC `ui8`, weights `i8`, `k`/`lambda` `i32`/`i64`,
  bias `i32` for `linear_out_32`); a DMA's `ext` offset is a byte offset from the memref's base.
- L1 is one byte arena per layer (`dory.l1_arena`, a `memref<Nxi8>` of exactly the L1 budget);
  every L1 buffer is a byte offset (an `index` SSA value) into it. The offsets come from
  `dory_xdsl.tiles.l1_layout` and are recorded on the layer function (`dory.l1_buffers`).

Per-tile numbers: a tiled layer is a loop over its tiles (`scf.for` + `arith` index arithmetic,
see `convert-qnn-to-dory`), so DMA sizes and kernel arguments that differ between tiles (border
tiles, per-tile padding) are `index` SSA operands, and those equal on every tile are integer
properties (`MixedParams`: `{size = 64, length = %line, ...}` in the custom syntax).

DMA: `dory.dma_start` is one `pi_cl_dma_cmd` (1-D, `length` is `size`) or `pi_cl_dma_cmd_2d`
(`size / length` lines of `length` bytes, `stride` bytes apart on the L2 side, contiguous in L1)
on a named `channel`; `dory.dma_wait` waits for every command issued on that channel since its
previous wait. Commands must respect the GAP-8 limits (at most 65,535 B; 2-D line and stride
< 32,768), which the verifier checks.

Kernel calls: one op per PULP-NN function (`dory.conv` = `pulp_nn_conv_Ho_parallel`, ...). Its
buffer operands are L1 offsets named after the C parameters they feed (`in`, `out`, `weights`,
`bias`, `k`, `lambda`, scratch buffers); an absent optional buffer is `NULL` in C. Its integer
parameters (constants or `index` values) are the C arguments of the same name. `C_FUNCTION` and `C_ARGS` (class variables)
give the C function name and its argument order, so the C printer is a table look-up.
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
    IntegerType,
    MemRefType,
    Signedness,
    StringAttr,
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
    var_operand_def,
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


@irdl_op_definition
class L1ArenaOp(IRDLOperation):
    """The cluster L1 area given to the layers: `memref<Nxi8>`, N = the L1 budget.

    C: `uint8_t *l1 = pi_cl_l1_malloc(NULL, N);` (once per network run)."""

    name = "dory.l1_arena"
    result = result_def(MemRefType)
    assembly_format = "attr-dict `:` type($result)"

    def __init__(self, size: int):
        from xdsl.dialects.builtin import i8

        super().__init__(result_types=[MemRefType(i8, [size])])


class _TransferOp(MixedParams):
    """What `dory.dma_start` and `dory.l3_start` share: operands `%far[%ext], %near[%loc]` (the
    first two operands and the next two), `size` / `length` / `stride` (constants or `index`
    values), `dir` and `channel`; the syntax `op %far[%ext], %near[%loc] {size = .., length = ..,
    stride = .., dir = "..", channel = ".."} : type(far), type(near)`."""

    MIXED: ClassVar[tuple[str, ...]] = ("size", "length", "stride")
    size = opt_prop_def(IntegerAttr)
    length = opt_prop_def(IntegerAttr)
    stride = opt_prop_def(IntegerAttr)
    dir = prop_def(StringAttr)
    channel = prop_def(StringAttr)
    dynamic_params = opt_prop_def(ArrayAttr)

    def __init__(self, far: SSAValue, ext: SSAValue, near: SSAValue, loc: SSAValue, *, size: Mixed,
                 length: Mixed, stride: Mixed, dir: str, channel: str):
        dynamic, props = split_mixed({"size": size, "length": length, "stride": stride})
        super().__init__(  # type: ignore[call-arg]
            operands=[far, ext, near, loc, dynamic],
            properties={**props, "dir": StringAttr(dir), "channel": StringAttr(channel)},
        )

    @property
    def is_2d(self) -> bool:
        size, length = self.mixed("size"), self.mixed("length")
        return not (size is length or (isinstance(size, int) and size == length))

    def print(self, printer: Printer) -> None:
        far, ext, near, loc = self.operands[:4]  # type: ignore[attr-defined]
        _print_indexed(printer, far, ext)
        printer.print_string(",")
        _print_indexed(printer, near, loc)
        printer.print_string(" ")
        print_mixed_dict(printer, [*((n, self.mixed(n)) for n in self.MIXED), ("dir", self.dir.data),  # type: ignore[attr-defined]
                                   ("channel", self.channel.data)])  # type: ignore[attr-defined]
        printer.print_string(" : ")
        printer.print_attribute(far.type)
        printer.print_string(", ")
        printer.print_attribute(near.type)

    @classmethod
    def parse(cls, parser: Parser):  # type: ignore[override]
        name = cls.name  # type: ignore[attr-defined]
        far, ext = _parse_indexed(parser)
        parser.parse_punctuation(",")
        near, loc = _parse_indexed(parser)
        entries = parse_mixed_dict(parser, name)
        extra = set(entries) - {*cls.MIXED, "dir", "channel"}
        if extra:
            parser.raise_error(f"{name} has no parameter(s) {sorted(extra)}")
        parser.parse_punctuation(":")
        far_type = parser.parse_type()
        parser.parse_punctuation(",")
        near_type = parser.parse_type()
        values = _resolve_mixed(parser, entries, cls.MIXED, name)
        for key in ("dir", "channel"):
            if not isinstance(entries.get(key), str):
                parser.raise_error(f"{name}: '{key}' must be a string")
        index = IndexType()
        return cls(parser.resolve_operand(far, far_type), parser.resolve_operand(ext, index),
                   parser.resolve_operand(near, near_type), parser.resolve_operand(loc, index),
                   dir=entries["dir"], channel=entries["channel"], **values)  # type: ignore[arg-type]


@irdl_op_definition
class DmaStartOp(_TransferOp, IRDLOperation):
    """One DMA command between an L2 memref (at byte offset `ext`) and the L1 arena (at `loc`).

    `size` bytes in total; 1-D when `length` is `size` (the same constant or the same SSA
    value), else 2-D: `size / length` lines of `length` bytes, `stride` bytes apart in L2,
    contiguous in L1 (a 2-D command of one line is legal). `size`, `length` and `stride` are
    constants or per-tile `index` values (`MixedParams`). `dir` is "l2_to_l1" (EXT2LOC) or
    "l1_to_l2" (LOC2EXT). C: `pi_cl_dma_cmd[_2d](l2 + ext, l1 + loc, size[, stride, length],
    dir, &cmd)` with the command recorded on `channel` for `dory.dma_wait`.

    Syntax: `dory.dma_start %x[%ext], %l1[%loc] {size = 64, length = %n, stride = 32,
    dir = "l2_to_l1", channel = "in"} : memref<...>, memref<...>`.
    """

    name = "dory.dma_start"
    l2 = operand_def(MemRefType)
    ext = operand_def(IndexType())
    l1 = operand_def(MemRefType)
    loc = operand_def(IndexType())
    dynamic = var_operand_def(IndexType())

    def verify_(self) -> None:
        self.verify_mixed()
        size, length, stride = (self.static(n) for n in self.MIXED)
        if self.dir.data not in DIRECTIONS:
            raise VerifyException(f"dory.dma_start: dir must be one of {DIRECTIONS}, got \"{self.dir.data}\"")
        if size is not None and not 1 <= size <= DMA_MAX_BYTES:
            raise VerifyException(f"dory.dma_start: size {size} is not in [1, {DMA_MAX_BYTES}]")
        if self.is_2d:
            for what, value in (("line", length), ("stride", stride)):
                if value is not None and not 1 <= value <= DMA_MAX_LINE:
                    raise VerifyException(
                        f"dory.dma_start: 2-D line {length} and stride {stride} must be in [1, {DMA_MAX_LINE}]"
                    )
            if size is not None and length is not None and size % length:
                raise VerifyException(f"dory.dma_start: size {size} is not a multiple of the line {length}")
        _byte_memref(self.l2, "l2")
        _byte_memref(self.l1, "l1")


@irdl_op_definition
class DmaWaitOp(IRDLOperation):
    """Wait for every command issued on `channel` since the previous wait on it."""

    name = "dory.dma_wait"
    channel = prop_def(StringAttr)
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "attr-dict"

    def __init__(self, channel: str):
        super().__init__(properties={"channel": StringAttr(channel)})


@irdl_op_definition
class ZeroOp(MixedParams, IRDLOperation):
    """Clear `size` bytes of L1 at `loc` (the zero rows/columns a tile materialises); `size` is
    a constant or an `index` value. C: `memset(l1 + loc, 0, size)` (a byte loop)."""

    name = "dory.zero"
    MIXED: ClassVar[tuple[str, ...]] = ("size",)
    l1 = operand_def(MemRefType)
    loc = operand_def(IndexType())
    dynamic = var_operand_def(IndexType())
    size = opt_prop_def(IntegerAttr)
    dynamic_params = opt_prop_def(ArrayAttr)

    def __init__(self, l1: SSAValue, loc: SSAValue, size: Mixed):
        dynamic, props = split_mixed({"size": size})
        super().__init__(operands=[l1, loc, dynamic], properties=props)

    def print(self, printer: Printer) -> None:
        _print_indexed(printer, self.l1, self.loc)
        printer.print_string(" ")
        print_mixed_dict(printer, [("size", self.mixed("size"))])
        printer.print_string(" : ")
        printer.print_attribute(self.l1.type)

    @classmethod
    def parse(cls, parser: Parser) -> ZeroOp:
        l1, loc = _parse_indexed(parser)
        entries = parse_mixed_dict(parser, cls.name)
        if set(entries) != {"size"}:
            parser.raise_error(f"{cls.name} takes exactly one parameter, size")
        parser.parse_punctuation(":")
        l1_type = parser.parse_type()
        values = _resolve_mixed(parser, entries, cls.MIXED, cls.name)
        return cls(parser.resolve_operand(l1, l1_type), parser.resolve_operand(loc, IndexType()), values["size"])

    def verify_(self) -> None:
        self.verify_mixed()
        size = self.static("size")
        if size is not None and size < 1:
            raise VerifyException(f"dory.zero: size {size} must be positive")


# ----------------------------------------------------------------------------- L2 data ops


@irdl_op_definition
class TransposeOp(IRDLOperation):
    """`dst = transpose(src, perm)` between L2 buffers (network boundaries: NCHW <-> NHWC)."""

    name = "dory.transpose"
    src = operand_def(MemRefType)
    dst = operand_def(MemRefType)
    perm = prop_def(DenseArrayBase)
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$src `,` $dst attr-dict `:` type($src) `,` type($dst)"

    def __init__(self, src: SSAValue, dst: SSAValue, perm: Sequence[int]):
        super().__init__(operands=[src, dst], properties={"perm": DenseArrayBase.from_list(i64, list(perm))})


@irdl_op_definition
class SliceOp(IRDLOperation):
    """`dst = src[offsets : offsets + shape(dst)]` between L2 buffers."""

    name = "dory.slice"
    src = operand_def(MemRefType)
    dst = operand_def(MemRefType)
    offsets = prop_def(DenseArrayBase)
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$src `,` $dst attr-dict `:` type($src) `,` type($dst)"

    def __init__(self, src: SSAValue, dst: SSAValue, offsets: Sequence[int]):
        super().__init__(operands=[src, dst], properties={"offsets": DenseArrayBase.from_list(i64, list(offsets))})


@irdl_op_definition
class ConcatOp(IRDLOperation):
    """`dst = concat(srcs, axis)` between L2 buffers."""

    name = "dory.concat"
    srcs = var_operand_def(MemRefType)
    dst = operand_def(MemRefType)
    axis = prop_def(IntegerAttr)
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "`(` $srcs `:` type($srcs) `)` `into` $dst attr-dict `:` type($dst)"

    def __init__(self, srcs: Sequence[SSAValue], dst: SSAValue, axis: int):
        super().__init__(operands=[srcs, dst], properties={"axis": _int(axis)})


@irdl_op_definition
class CopyOp(IRDLOperation):
    """Copy the bytes of `src` to `dst` (same byte size; a reshape). C: `memcpy`."""

    name = "dory.copy"
    src = operand_def(MemRefType)
    dst = operand_def(MemRefType)
    assembly_format = "$src `,` $dst attr-dict `:` type($src) `,` type($dst)"

    def __init__(self, src: SSAValue, dst: SSAValue):
        super().__init__(operands=[src, dst])

    def verify_(self) -> None:
        a, b = _byte_memref(self.src, "src"), _byte_memref(self.dst, "dst")
        if memref_bytes(a) != memref_bytes(b):
            raise VerifyException(f"dory.copy: {a} and {b} differ in size")


@irdl_op_definition
class FillOp(IRDLOperation):
    """Set every element of the L2 buffer `dst` to `value` (a constant block, e.g. the zero-point
    padding of a `qnn.concat`: no bytes stored in the weights image). C: an element loop."""

    name = "dory.fill"
    dst = operand_def(MemRefType)
    value = prop_def(IntegerAttr)
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$dst attr-dict `:` type($dst)"

    def __init__(self, dst: SSAValue, value: int):
        super().__init__(operands=[dst], properties={"value": _int(value)})

    def verify_(self) -> None:
        t = _byte_memref(self.dst, "dst")
        elem = t.element_type
        if not isinstance(elem, IntegerType):
            raise VerifyException(f"dory.fill: {t} is not a memref of integers")
        bits, value = elem.width.data, self.value.value.data
        unsigned = elem.signedness.data == Signedness.UNSIGNED
        lo, hi = (0, 2**bits - 1) if unsigned else (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
        if not lo <= value <= hi:
            raise VerifyException(f"dory.fill: value {value} does not fit {t.element_type}")


# ----------------------------------------------------------------------------- kernel calls


class KernelOp(MixedParams, IRDLOperation):
    """Base of the PULP-NN call ops.

    Syntax: `dory.conv %l1 (in = %a, out = %b, ...) {dim_in_x = 8, dim_in_y = %rows, ...} :
    memref<Nxi8>`. `BUFFERS` lists (name, optional) of the L1 offset operands, `PARAMS` the
    integer parameters (each a constant or a per-tile `index` value, see `MixedParams`; the
    `STATIC` ones are always constants), `C_ARGS` the C argument order (buffer and parameter
    names; `lambda` is the `lambda_` field).
    """

    C_FUNCTION: ClassVar[str]
    BUFFERS: ClassVar[tuple[tuple[str, bool], ...]]
    PARAMS: ClassVar[tuple[str, ...]]
    C_ARGS: ClassVar[tuple[str, ...]]
    STATIC: ClassVar[tuple[str, ...]] = ("requant_bits", "flag_relu", "flag_batch_norm", "flag_requant")

    l1 = operand_def(MemRefType)
    dynamic = var_operand_def(IndexType())
    dynamic_params = opt_prop_def(ArrayAttr)
    irdl_options = (AttrSizedOperandSegments(as_property=True),)

    def mixed_names(self) -> tuple[str, ...]:
        return self.PARAMS

    def __init__(self, l1: SSAValue, buffers: Mapping[str, SSAValue | None], params: Mapping[str, Mixed]):
        unknown = set(buffers) - {n for n, _ in self.BUFFERS}
        if unknown:
            raise ValueError(f"{self.name}: unknown buffers {sorted(unknown)}")
        missing = set(self.PARAMS) - set(params)
        if missing:
            raise ValueError(f"{self.name}: missing parameters {sorted(missing)}")
        dynamic, props = split_mixed({p: params[p] for p in self.PARAMS})
        values: dict[str, object] = {_field(name): value for name, value in buffers.items()}
        values["l1"] = l1
        values["dynamic"] = dynamic
        operands = [values.get(field) for field, _ in self.get_irdl_definition().operands]
        super().__init__(operands=operands, properties=props)  # type: ignore[arg-type]

    def buffer(self, name: str) -> SSAValue | None:
        return getattr(self, _field(name))

    def param(self, name: str) -> Mixed:
        return self.mixed(name)

    def params(self) -> dict[str, Mixed]:
        return {p: self.param(p) for p in self.PARAMS}

    def print(self, printer: Printer) -> None:
        printer.print_string(" ")
        printer.print_operand(self.l1)
        parts = [(name, self.buffer(name)) for name, _ in self.BUFFERS]
        printer.print_string(" (")
        first = True
        for name, value in parts:
            if value is None:
                continue
            if not first:
                printer.print_string(", ")
            first = False
            printer.print_string(f"{name} = ")
            printer.print_operand(value)
        printer.print_string(") ")
        print_mixed_dict(printer, [(p, self.param(p)) for p in self.PARAMS])
        printer.print_string(" : ")
        printer.print_attribute(self.l1.type)

    @classmethod
    def parse(cls, parser: Parser) -> KernelOp:
        l1 = parser.parse_unresolved_operand()
        names = {n for n, _ in cls.BUFFERS}
        unresolved = {}

        def buffer() -> None:
            name = parser.parse_identifier()
            if name not in names:
                parser.raise_error(f"{cls.name} has no buffer '{name}' (expected one of {sorted(names)})")
            parser.parse_punctuation("=")
            unresolved[name] = parser.parse_unresolved_operand()

        parser.parse_comma_separated_list(parser.Delimiter.PAREN, buffer)
        entries = parse_mixed_dict(parser, cls.name)
        parser.parse_punctuation(":")
        l1_type = parser.parse_type()
        index = IndexType()
        l1_value = parser.resolve_operand(l1, l1_type)
        buffers = {n: parser.resolve_operand(v, index) for n, v in unresolved.items()}
        unknown = set(entries) - set(cls.PARAMS)
        if unknown:
            parser.raise_error(f"{cls.name} has no parameter(s) {sorted(unknown)}")
        missing = set(cls.PARAMS) - set(entries)
        if missing:
            parser.raise_error(f"{cls.name} misses parameter(s) {sorted(missing)}")
        return cls(l1_value, buffers, _resolve_mixed(parser, entries, cls.PARAMS, cls.name))

    def verify_(self) -> None:
        self.verify_mixed()
        for name, optional in self.BUFFERS:
            if not optional and self.buffer(name) is None:
                raise VerifyException(f"{self.name}: buffer '{name}' is required")
        for p in self.PARAMS:
            if p in self.STATIC and self.static(p) is None:
                raise VerifyException(f"{self.name}: {p} must be a constant")
        if "requant_bits" in self.PARAMS and self.param("requant_bits") not in (32, 64):
            raise VerifyException(f"{self.name}: requant_bits must be 32 or 64, got {self.param('requant_bits')}")
        for p in self.PARAMS:
            v = self.static(p)
            lo = -(1 << 31) if p in SIGNED_PARAMS else 0
            hi = (1 << 31) - 1 if p in SIGNED_PARAMS else 0xFFFF
            if v is not None and not lo <= v <= hi:
                raise VerifyException(f"{self.name}: {p} = {v} does not fit its C type")
        try:
            self.check()
        except VerifyException as error:
            raise VerifyException(f"{self.name}: {error}") from error

    def check(self) -> None:
        self.check_params(self.params())

    def check_params(self, p: Mapping[str, Mixed]) -> None:
        """Kernel-specific preconditions on parameter values (raise VerifyException). The
        verifier passes the op's parameters, skipping checks that involve a per-tile value; the
        engines pass the values of each call."""


def _known(*values: Mixed) -> bool:
    """True when every value is a constant (checks on per-tile values are left to the engines)."""
    return all(isinstance(v, int) for v in values)


def _same(a: Mixed, b: Mixed) -> bool | None:
    """Whether two parameters are equal: None when that depends on per-tile values."""
    if a is b:
        return True
    return a == b if _known(a, b) else None


def _field(name: str) -> str:
    """Python field of a C argument name (`in` and `lambda` are Python keywords)."""
    return name + "_" if name in ("in", "lambda") else name


SIGNED_PARAMS = ("lambda", "out_add",  # the avgpool's int32 arguments
                 "mul_a", "add_a", "mul_b", "add_b", "lo", "hi")  # dory.add_requant's

CONV_PARAMS = (
    "out_mult", "out_shift", "dim_in_x", "dim_in_y", "ch_in", "dim_out_x", "dim_out_y", "ch_out",
    "dim_kernel_x", "dim_kernel_y", "padding_y_top", "padding_y_bottom", "padding_x_left",
    "padding_x_right", "stride_x", "stride_y", "flag_relu", "flag_batch_norm",
)


class _ConvLike(KernelOp):
    """Fields shared by the conv, pointwise and depthwise calls.

    `requant_bits` (32 or 64) is not a C argument: it selects the PULP-NN variant whose `k` and
    `lambda` are `int32_t*` or `int64_t*`."""

    PARAMS: ClassVar[tuple[str, ...]] = (*CONV_PARAMS, "requant_bits")
    requant_bits = opt_prop_def(IntegerAttr)
    out_mult = opt_prop_def(IntegerAttr)
    out_shift = opt_prop_def(IntegerAttr)
    dim_in_x = opt_prop_def(IntegerAttr)
    dim_in_y = opt_prop_def(IntegerAttr)
    ch_in = opt_prop_def(IntegerAttr)
    dim_out_x = opt_prop_def(IntegerAttr)
    dim_out_y = opt_prop_def(IntegerAttr)
    ch_out = opt_prop_def(IntegerAttr)
    dim_kernel_x = opt_prop_def(IntegerAttr)
    dim_kernel_y = opt_prop_def(IntegerAttr)
    padding_y_top = opt_prop_def(IntegerAttr)
    padding_y_bottom = opt_prop_def(IntegerAttr)
    padding_x_left = opt_prop_def(IntegerAttr)
    padding_x_right = opt_prop_def(IntegerAttr)
    stride_x = opt_prop_def(IntegerAttr)
    stride_y = opt_prop_def(IntegerAttr)
    flag_relu = opt_prop_def(IntegerAttr)
    flag_batch_norm = opt_prop_def(IntegerAttr)

    def check_params(self, p: Mapping[str, Mixed]) -> None:
        for axis, size, k, s, lo, hi, out in (
            ("y", p["dim_in_y"], p["dim_kernel_y"], p["stride_y"], p["padding_y_top"], p["padding_y_bottom"], p["dim_out_y"]),
            ("x", p["dim_in_x"], p["dim_kernel_x"], p["stride_x"], p["padding_x_left"], p["padding_x_right"], p["dim_out_x"]),
        ):
            if not _known(size, k, s, lo, hi, out):
                continue
            if min(size, k, s, out) < 1:
                raise VerifyException(f"dims, kernel and stride along {axis} must be positive")
            if (size + lo + hi - k) // s + 1 < out:
                raise VerifyException(
                    f"{out} outputs along {axis} do not fit the padded input {size}+{lo}+{hi} "
                    f"with kernel {k}, stride {s}"
                )
        if p["flag_batch_norm"] and p["flag_relu"] and (self.buffer("k") is None or self.buffer("lambda") is None):
            raise VerifyException("the batch-norm path needs the k and lambda buffers")


@irdl_op_definition
class ConvOp(_ConvLike):
    """`pulp_nn_conv_Ho_parallel`: HWC input tile, im2col scratch, HWC output tile."""

    name = "dory.conv"
    C_FUNCTION: ClassVar[str] = "pulp_nn_conv_Ho_parallel"
    BUFFERS: ClassVar[tuple[tuple[str, bool], ...]] = (("in", False), ("im2col", False), ("bias", True), ("out", False),
               ("weights", False), ("k", True), ("lambda", True))
    C_ARGS: ClassVar[tuple[str, ...]] = ("in", "im2col", "bias", "out", "weights", "k", "lambda", *CONV_PARAMS)
    in_ = operand_def(IndexType())
    im2col = operand_def(IndexType())
    bias = opt_operand_def(IndexType())
    out = operand_def(IndexType())
    weights = operand_def(IndexType())
    k = opt_operand_def(IndexType())
    lambda_ = opt_operand_def(IndexType())


@irdl_op_definition
class PointwiseOp(_ConvLike):
    """`pulp_nn_pointwise_HoWo_parallel`: 1x1 kernel, stride 1, no padding; no im2col (NULL)."""

    name = "dory.pointwise"
    C_FUNCTION: ClassVar[str] = "pulp_nn_pointwise_HoWo_parallel"
    BUFFERS: ClassVar[tuple[tuple[str, bool], ...]] = (("in", False), ("im2col", True), ("bias", True), ("out", False),
               ("weights", False), ("k", True), ("lambda", True))
    C_ARGS: ClassVar[tuple[str, ...]] = ConvOp.C_ARGS
    in_ = operand_def(IndexType())
    im2col = opt_operand_def(IndexType())
    bias = opt_operand_def(IndexType())
    out = operand_def(IndexType())
    weights = operand_def(IndexType())
    k = opt_operand_def(IndexType())
    lambda_ = opt_operand_def(IndexType())

    def check_params(self, p: Mapping[str, Mixed]) -> None:
        super().check_params(p)
        if (p["dim_kernel_x"], p["dim_kernel_y"], p["stride_x"], p["stride_y"]) != (1, 1, 1, 1) or any(
            p[n] != 0 for n in ("padding_y_top", "padding_y_bottom", "padding_x_left", "padding_x_right")
        ):
            raise VerifyException("the pointwise kernel needs a 1x1 kernel, stride 1 and no padding")
        if _same(p["dim_in_x"], p["dim_out_x"]) is False or _same(p["dim_in_y"], p["dim_out_y"]) is False:
            raise VerifyException("the pointwise kernel's output size must equal its input size")


class _DepthwiseBase(_ConvLike):
    BUFFERS: ClassVar[tuple[tuple[str, bool], ...]] = (("in", False), ("bufferC", False), ("bias", True), ("out", False),
               ("weights", False), ("bufferB", True), ("k", True), ("lambda", True))
    C_ARGS: ClassVar[tuple[str, ...]] = ("in", "bufferC", "bias", "out", "weights", "bufferB", "k", "lambda", *CONV_PARAMS)
    in_ = operand_def(IndexType())
    bufferC = operand_def(IndexType())
    bias = opt_operand_def(IndexType())
    out = operand_def(IndexType())
    weights = operand_def(IndexType())
    bufferB = opt_operand_def(IndexType())
    k = opt_operand_def(IndexType())
    lambda_ = opt_operand_def(IndexType())

    def check_params(self, p: Mapping[str, Mixed]) -> None:
        super().check_params(p)
        if _same(p["ch_in"], p["ch_out"]) is False:
            raise VerifyException("depthwise needs ch_in == ch_out")
        for lo, hi, k in (("padding_y_top", "padding_y_bottom", "dim_kernel_y"),
                          ("padding_x_left", "padding_x_right", "dim_kernel_x")):
            if _known(p[lo], p[hi], p[k]) and (p[lo], p[hi]) not in ((0, 0), (p[k] // 2, p[k] // 2)):
                raise VerifyException(
                    f"depthwise padding ({lo} = {p[lo]}, {hi} = {p[hi]}) must be zero or symmetric kernel/2"
                )
        if not _known(p["dim_kernel_x"], p["dim_kernel_y"]):
            raise VerifyException("the kernel size must be a constant")
        less_4 = p["dim_kernel_x"] * p["dim_kernel_y"] < 4
        if less_4 != (self.C_FUNCTION == DepthwiseLess4Op.C_FUNCTION):
            raise VerifyException("kernels with fewer than 4 weights need dory.depthwise_less_4, others dory.depthwise")


@irdl_op_definition
class DepthwiseOp(_DepthwiseBase):
    """`pulp_nn_depthwise_generic`: CHW input tile (>= 4 B slack after it), HWC output tile."""

    name = "dory.depthwise"
    C_FUNCTION: ClassVar[str] = "pulp_nn_depthwise_generic"


@irdl_op_definition
class DepthwiseLess4Op(_DepthwiseBase):
    """`pulp_nn_depthwise_generic_less_4_weights`: as dory.depthwise for kx*ky < 4."""

    name = "dory.depthwise_less_4"
    C_FUNCTION: ClassVar[str] = "pulp_nn_depthwise_generic_less_4_weights"


@irdl_op_definition
class LinearOp(KernelOp):
    """`pulp_nn_linear`: uint8 vector times int8 (num_o_neurons x dim_vec) weights, requantized."""

    name = "dory.linear"
    C_FUNCTION: ClassVar[str] = "pulp_nn_linear"
    BUFFERS: ClassVar[tuple[tuple[str, bool], ...]] = (("in", False), ("bias", True), ("out", False), ("weights", False), ("k", True), ("lambda", True))
    PARAMS: ClassVar[tuple[str, ...]] = ("out_mult", "out_shift", "dim_vec", "num_o_neurons", "flag_relu",
                                         "flag_batch_norm", "requant_bits")
    C_ARGS: ClassVar[tuple[str, ...]] = ("in", "bias", "out", "weights", "k", "lambda", *PARAMS[:-1])
    requant_bits = opt_prop_def(IntegerAttr)
    in_ = operand_def(IndexType())
    bias = opt_operand_def(IndexType())
    out = operand_def(IndexType())
    weights = operand_def(IndexType())
    k = opt_operand_def(IndexType())
    lambda_ = opt_operand_def(IndexType())
    out_mult = opt_prop_def(IntegerAttr)
    out_shift = opt_prop_def(IntegerAttr)
    dim_vec = opt_prop_def(IntegerAttr)
    num_o_neurons = opt_prop_def(IntegerAttr)
    flag_relu = opt_prop_def(IntegerAttr)
    flag_batch_norm = opt_prop_def(IntegerAttr)


@irdl_op_definition
class LinearOut32Op(KernelOp):
    """`pulp_nn_linear_out_32`: int32 outputs `bias[o] + sum(x*w)` (int32 bias), no requant."""

    name = "dory.linear_out_32"
    C_FUNCTION: ClassVar[str] = "pulp_nn_linear_out_32"
    BUFFERS: ClassVar[tuple[tuple[str, bool], ...]] = (("in", False), ("bias", True), ("out", False), ("weights", False))
    PARAMS: ClassVar[tuple[str, ...]] = ("dim_vec", "num_o_neurons")
    C_ARGS: ClassVar[tuple[str, ...]] = ("in", "bias", "out", "weights", *PARAMS)
    in_ = operand_def(IndexType())
    bias = opt_operand_def(IndexType())
    out = operand_def(IndexType())
    weights = operand_def(IndexType())
    dim_vec = opt_prop_def(IntegerAttr)
    num_o_neurons = opt_prop_def(IntegerAttr)


@irdl_op_definition
class AddOp(KernelOp):
    """`pulp_nn_add`: `clip8((uint16)((uint32)(in1*m1 + in2*m2) >> out_shift))` on HWC tiles."""

    name = "dory.add"
    C_FUNCTION: ClassVar[str] = "pulp_nn_add"
    BUFFERS: ClassVar[tuple[tuple[str, bool], ...]] = (("in1", False), ("in2", False), ("out", False))
    PARAMS: ClassVar[tuple[str, ...]] = ("out_mult1", "out_mult2", "out_shift", "dim_im_in_h", "dim_im_in_w", "ch_im_in")
    C_ARGS: ClassVar[tuple[str, ...]] = ("in1", "in2", "out", *PARAMS)
    in1 = operand_def(IndexType())
    in2 = operand_def(IndexType())
    out = operand_def(IndexType())
    out_mult1 = opt_prop_def(IntegerAttr)
    out_mult2 = opt_prop_def(IntegerAttr)
    out_shift = opt_prop_def(IntegerAttr)
    dim_im_in_h = opt_prop_def(IntegerAttr)
    dim_im_in_w = opt_prop_def(IntegerAttr)
    ch_im_in = opt_prop_def(IntegerAttr)



ADD_REQUANT_PARAMS = ("mul_a", "add_a", "shift_a", "mul_b", "add_b", "shift_b", "shift", "lo", "hi")


@irdl_op_definition
class AddRequantOp(KernelOp):
    """`dory_add_requant`: the `qnn.add` semantics on HWC ui8 tiles, for adds `pulp_nn_add` cannot
    compute (offsets, large multipliers, ...). Not a PULP-NN function: a `static` C helper of the
    generated `network.c`, run SPMD (each core a contiguous chunk of the tile).

    `out = clip(((((in1*mul_a + add_a) >> shift_a) + ((in2*mul_b + add_b) >> shift_b)) >> shift),
    lo, hi)` in wrapping int32 arithmetic with arithmetic shifts; `mul_*`, `add_*` are int32,
    the shifts in [0, 31], the clip within [0, 255]."""

    name = "dory.add_requant"
    C_FUNCTION: ClassVar[str] = "dory_add_requant"
    BUFFERS: ClassVar[tuple[tuple[str, bool], ...]] = (("in1", False), ("in2", False), ("out", False))
    PARAMS: ClassVar[tuple[str, ...]] = (*ADD_REQUANT_PARAMS, "dim_im_in_h", "dim_im_in_w", "ch_im_in")
    C_ARGS: ClassVar[tuple[str, ...]] = ("in1", "in2", "out", *PARAMS)
    STATIC: ClassVar[tuple[str, ...]] = ADD_REQUANT_PARAMS
    in1 = operand_def(IndexType())
    in2 = operand_def(IndexType())
    out = operand_def(IndexType())
    mul_a = opt_prop_def(IntegerAttr)
    add_a = opt_prop_def(IntegerAttr)
    shift_a = opt_prop_def(IntegerAttr)
    mul_b = opt_prop_def(IntegerAttr)
    add_b = opt_prop_def(IntegerAttr)
    shift_b = opt_prop_def(IntegerAttr)
    shift = opt_prop_def(IntegerAttr)
    lo = opt_prop_def(IntegerAttr)
    hi = opt_prop_def(IntegerAttr)
    dim_im_in_h = opt_prop_def(IntegerAttr)
    dim_im_in_w = opt_prop_def(IntegerAttr)
    ch_im_in = opt_prop_def(IntegerAttr)

    def check_params(self, p: Mapping[str, Mixed]) -> None:
        for name in ("shift_a", "shift_b", "shift"):
            if not 0 <= p[name] <= 31:  # type: ignore[operator]
                raise VerifyException(f"{name} {p[name]} is not in [0, 31]")
        if not 0 <= p["lo"] <= p["hi"] <= 255:  # type: ignore[operator]
            raise VerifyException(f"clip [{p['lo']}, {p['hi']}] is not a non-empty range within [0, 255]")


POOL_DIMS = (
    "dim_im_in_x", "dim_im_in_y", "ch_im_in", "dim_im_out_x", "dim_im_out_y", "dim_kernel_x",
    "dim_kernel_y", "padding_t", "padding_b", "padding_l", "padding_r", "stride_x", "stride_y",
)


class _PoolBase(KernelOp):
    BUFFERS: ClassVar[tuple[tuple[str, bool], ...]] = (("in", False), ("out", False))
    in_ = operand_def(IndexType())
    out = operand_def(IndexType())
    dim_im_in_x = opt_prop_def(IntegerAttr)
    dim_im_in_y = opt_prop_def(IntegerAttr)
    ch_im_in = opt_prop_def(IntegerAttr)
    dim_im_out_x = opt_prop_def(IntegerAttr)
    dim_im_out_y = opt_prop_def(IntegerAttr)
    dim_kernel_x = opt_prop_def(IntegerAttr)
    dim_kernel_y = opt_prop_def(IntegerAttr)
    padding_t = opt_prop_def(IntegerAttr)
    padding_b = opt_prop_def(IntegerAttr)
    padding_l = opt_prop_def(IntegerAttr)
    padding_r = opt_prop_def(IntegerAttr)
    stride_x = opt_prop_def(IntegerAttr)
    stride_y = opt_prop_def(IntegerAttr)


@irdl_op_definition
class MaxPoolOp(_PoolBase):
    """`pulp_nn_maxpool` (HWC; overwrites its input tile)."""

    name = "dory.maxpool"
    C_FUNCTION: ClassVar[str] = "pulp_nn_maxpool"
    PARAMS: ClassVar[tuple[str, ...]] = POOL_DIMS
    C_ARGS: ClassVar[tuple[str, ...]] = ("in", "out", *POOL_DIMS)


@irdl_op_definition
class AvgPoolOp(_PoolBase):
    """`pulp_nn_avgpool` (HWC; full-window count; `flag_requant` selects the lambda/shift path)."""

    name = "dory.avgpool"
    C_FUNCTION: ClassVar[str] = "pulp_nn_avgpool"
    PARAMS: ClassVar[tuple[str, ...]] = ("lambda", "out_shift", "out_add", *POOL_DIMS, "flag_requant")
    C_ARGS: ClassVar[tuple[str, ...]] = ("in", "out", *PARAMS)
    lambda_ = opt_prop_def(IntegerAttr)
    out_shift = opt_prop_def(IntegerAttr)
    out_add = opt_prop_def(IntegerAttr)
    flag_requant = opt_prop_def(IntegerAttr)


KERNEL_OPS: tuple[type[KernelOp], ...] = (
    ConvOp, PointwiseOp, DepthwiseOp, DepthwiseLess4Op, LinearOp, LinearOut32Op, AddOp, AddRequantOp, MaxPoolOp,
    AvgPoolOp,
)


L3_DIRECTIONS = ("l3_to_l2", "l2_to_l3")


@irdl_op_definition
class L3StartOp(_TransferOp, IRDLOperation):
    """One L3 (HyperRAM) request between an L3-resident memref (at byte offset `ext`) and an L2
    memref (at byte offset `loc`), issued from the cluster.

    `size` bytes; 1-D when `length` is `size`, else 2-D: `size / length` lines of `length` bytes,
    `stride` bytes apart in L3, contiguous in L2. `dir` is "l3_to_l2" or "l2_to_l3". The L3 memref
    is a parameter kept in L3 (`memref.get_global` marked `dory.l3`) or an activation placed in L3.
    C: `pi_cl_ram_read[_2d]` / `pi_cl_ram_write[_2d]` with the request recorded on `channel` for
    `dory.l3_wait` (every request of a channel goes the same direction).

    Syntax: `dory.l3_start %w[%ext], %buf[%loc] {size = 64, length = 64, stride = 64,
    dir = "l3_to_l2", channel = "params"} : memref<...>, memref<...>`.
    """

    name = "dory.l3_start"
    l3 = operand_def(MemRefType)
    ext = operand_def(IndexType())
    l2 = operand_def(MemRefType)
    loc = operand_def(IndexType())
    dynamic = var_operand_def(IndexType())

    def verify_(self) -> None:
        self.verify_mixed()
        size, length, stride = (self.static(n) for n in self.MIXED)
        if self.dir.data not in L3_DIRECTIONS:
            raise VerifyException(f"dory.l3_start: dir must be one of {L3_DIRECTIONS}, got \"{self.dir.data}\"")
        if size is not None and size < 1:
            raise VerifyException(f"dory.l3_start: size {size} must be positive")
        if self.is_2d and size is not None and length is not None and (length < 1 or size % length):
            raise VerifyException(f"dory.l3_start: size {size} is not a multiple of the line {length}")
        if self.is_2d and stride is not None and length is not None and stride < length:
            raise VerifyException(f"dory.l3_start: 2-D stride {stride} is smaller than the line {length}")
        _byte_memref(self.l3, "l3")
        _byte_memref(self.l2, "l2")


@irdl_op_definition
class L3WaitOp(IRDLOperation):
    """Wait for every L3 request issued on `channel` since the previous wait on it.
    C: `pi_cl_ram_read_wait` / `pi_cl_ram_write_wait` on each recorded request."""

    name = "dory.l3_wait"
    channel = prop_def(StringAttr)
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "attr-dict"

    def __init__(self, channel: str):
        super().__init__(properties={"channel": StringAttr(channel)})


Dory = Dialect(
    "dory",
    [L1ArenaOp, DmaStartOp, DmaWaitOp, L3StartOp, L3WaitOp, ZeroOp, TransposeOp, SliceOp, ConcatOp,
     CopyOp, FillOp, *KERNEL_OPS],
    [TilingAttr],
)
