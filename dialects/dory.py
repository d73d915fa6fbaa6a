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

DMA: `dory.dma_start` is one `pi_cl_dma_cmd` (1-D, `length == size`) or `pi_cl_dma_cmd_2d`
(`size / length` lines of `length` bytes, `stride` bytes apart on the L2 side, contiguous in L1)
on a named `channel`; `dory.dma_wait` waits for every command issued on that channel since its
previous wait. Commands must respect the GAP-8 limits (at most 65,535 B; 2-D line and stride
< 32,768), which the verifier checks.

Kernel calls: one op per PULP-NN function (`dory.conv` = `pulp_nn_conv_Ho_parallel`, ...). Its
buffer operands are L1 offsets named after the C parameters they feed (`in`, `out`, `weights`,
`bias`, `k`, `lambda`, scratch buffers); an absent optional buffer is `NULL` in C. Its integer
properties are the C arguments of the same name. `C_FUNCTION` and `C_ARGS` (class variables)
give the C function name and its argument order, so the C printer is a table look-up.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar

from xdsl.dialects.builtin import (
    DenseArrayBase,
    IndexType,
    IntAttr,
    IntegerAttr,
    MemRefType,
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
    prop_def,
    result_def,
    var_operand_def,
)
from xdsl.parser import AttrParser, Parser
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


@irdl_op_definition
class DmaStartOp(IRDLOperation):
    """One DMA command between an L2 memref (at byte offset `ext`) and the L1 arena (at `loc`).

    `size` bytes in total; 1-D when `length == size`, else 2-D: `size / length` lines of `length`
    bytes, `stride` bytes apart in L2, contiguous in L1. `dir` is "l2_to_l1" (EXT2LOC) or
    "l1_to_l2" (LOC2EXT). C: `pi_cl_dma_cmd[_2d](l2 + ext, l1 + loc, size[, stride, length],
    dir, &cmd)` with the command recorded on `channel` for `dory.dma_wait`.
    """

    name = "dory.dma_start"
    l2 = operand_def(MemRefType)
    ext = operand_def(IndexType())
    l1 = operand_def(MemRefType)
    loc = operand_def(IndexType())
    size = prop_def(IntegerAttr)
    length = prop_def(IntegerAttr)
    stride = prop_def(IntegerAttr)
    dir = prop_def(StringAttr)
    channel = prop_def(StringAttr)

    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$l2 `[` $ext `]` `,` $l1 `[` $loc `]` attr-dict `:` type($l2) `,` type($l1)"

    def __init__(self, l2: SSAValue, ext: SSAValue, l1: SSAValue, loc: SSAValue, *, size: int,
                 length: int, stride: int, dir: str, channel: str):
        super().__init__(
            operands=[l2, ext, l1, loc],
            properties={"size": _int(size), "length": _int(length), "stride": _int(stride),
                        "dir": StringAttr(dir), "channel": StringAttr(channel)},
        )

    @property
    def is_2d(self) -> bool:
        return self.length.value.data != self.size.value.data

    def verify_(self) -> None:
        size, length, stride = (a.value.data for a in (self.size, self.length, self.stride))
        if self.dir.data not in DIRECTIONS:
            raise VerifyException(f"dory.dma_start: dir must be one of {DIRECTIONS}, got \"{self.dir.data}\"")
        if not 1 <= size <= DMA_MAX_BYTES:
            raise VerifyException(f"dory.dma_start: size {size} is not in [1, {DMA_MAX_BYTES}]")
        if length != size:
            if not 1 <= length <= DMA_MAX_LINE or not 1 <= stride <= DMA_MAX_STRIDE:
                raise VerifyException(
                    f"dory.dma_start: 2-D line {length} and stride {stride} must be in [1, {DMA_MAX_LINE}]"
                )
            if size % length:
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
class ZeroOp(IRDLOperation):
    """Clear `size` bytes of L1 at `loc` (the zero rows/columns a tile materialises).
    C: `memset(l1 + loc, 0, size)`."""

    name = "dory.zero"
    l1 = operand_def(MemRefType)
    loc = operand_def(IndexType())
    size = prop_def(IntegerAttr)
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$l1 `[` $loc `]` attr-dict `:` type($l1)"

    def __init__(self, l1: SSAValue, loc: SSAValue, size: int):
        super().__init__(operands=[l1, loc], properties={"size": _int(size)})


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


# ----------------------------------------------------------------------------- kernel calls


class KernelOp(IRDLOperation):
    """Base of the PULP-NN call ops.

    Syntax: `dory.conv %l1 (in = %a, out = %b, ...) {dim_in_x = 8 : i64, ...} : memref<Nxi8>`.
    `BUFFERS` lists (name, optional) of the L1 offset operands, `PARAMS` the integer properties,
    `C_ARGS` the C argument order (buffer and parameter names; `lambda` is the `lambda_` field).
    """

    C_FUNCTION: ClassVar[str]
    BUFFERS: ClassVar[tuple[tuple[str, bool], ...]]
    PARAMS: ClassVar[tuple[str, ...]]
    C_ARGS: ClassVar[tuple[str, ...]]

    l1 = operand_def(MemRefType)
    irdl_options = (AttrSizedOperandSegments(as_property=True),)

    def __init__(self, l1: SSAValue, buffers: Mapping[str, SSAValue | None], params: Mapping[str, int]):
        unknown = set(buffers) - {n for n, _ in self.BUFFERS}
        if unknown:
            raise ValueError(f"{self.name}: unknown buffers {sorted(unknown)}")
        missing = set(self.PARAMS) - set(params)
        if missing:
            raise ValueError(f"{self.name}: missing parameters {sorted(missing)}")
        values = {_field(name): value for name, value in buffers.items()}
        values["l1"] = l1
        operands = [values.get(field) for field, _ in self.get_irdl_definition().operands]
        super().__init__(
            operands=operands, properties={_field(p): _int(params[p]) for p in self.PARAMS}
        )

    def buffer(self, name: str) -> SSAValue | None:
        return getattr(self, _field(name))

    def param(self, name: str) -> int:
        return getattr(self, _field(name)).value.data

    def params(self) -> dict[str, int]:
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
        printer.print_string(") {")
        printer.print_string(", ".join(f"{p} = {self.param(p)}" for p in self.PARAMS))
        printer.print_string("} : ")
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
        params: dict[str, int] = {}

        def param() -> None:
            name = parser.parse_identifier()
            parser.parse_punctuation("=")
            params[name] = parser.parse_integer()

        parser.parse_comma_separated_list(parser.Delimiter.BRACES, param)
        parser.parse_punctuation(":")
        l1_type = parser.parse_type()
        index = IndexType()
        l1_value = parser.resolve_operand(l1, l1_type)
        buffers = {n: parser.resolve_operand(v, index) for n, v in unresolved.items()}
        unknown = set(params) - set(cls.PARAMS)
        if unknown:
            parser.raise_error(f"{cls.name} has no parameter(s) {sorted(unknown)}")
        missing = set(cls.PARAMS) - set(params)
        if missing:
            parser.raise_error(f"{cls.name} misses parameter(s) {sorted(missing)}")
        return cls(l1_value, buffers, params)

    def verify_(self) -> None:
        for name, optional in self.BUFFERS:
            if not optional and self.buffer(name) is None:
                raise VerifyException(f"{self.name}: buffer '{name}' is required")
        if "requant_bits" in self.PARAMS and self.param("requant_bits") not in (32, 64):
            raise VerifyException(f"{self.name}: requant_bits must be 32 or 64, got {self.param('requant_bits')}")
        for p in self.PARAMS:
            v = self.param(p)
            lo = -(1 << 31) if p in SIGNED_PARAMS else 0
            hi = (1 << 31) - 1 if p in SIGNED_PARAMS else 0xFFFF
            if not lo <= v <= hi:
                raise VerifyException(f"{self.name}: {p} = {v} does not fit its C type")
        try:
            self.check()
        except VerifyException as error:
            raise VerifyException(f"{self.name}: {error}") from error

    def check(self) -> None:
        """Kernel-specific preconditions (raise VerifyException)."""


def _field(name: str) -> str:
    """Python field of a C argument name (`in` and `lambda` are Python keywords)."""
    return name + "_" if name in ("in", "lambda") else name


SIGNED_PARAMS = ("lambda", "out_add")  # the avgpool's int32 arguments

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
    requant_bits = prop_def(IntegerAttr)
    out_mult = prop_def(IntegerAttr)
    out_shift = prop_def(IntegerAttr)
    dim_in_x = prop_def(IntegerAttr)
    dim_in_y = prop_def(IntegerAttr)
    ch_in = prop_def(IntegerAttr)
    dim_out_x = prop_def(IntegerAttr)
    dim_out_y = prop_def(IntegerAttr)
    ch_out = prop_def(IntegerAttr)
    dim_kernel_x = prop_def(IntegerAttr)
    dim_kernel_y = prop_def(IntegerAttr)
    padding_y_top = prop_def(IntegerAttr)
    padding_y_bottom = prop_def(IntegerAttr)
    padding_x_left = prop_def(IntegerAttr)
    padding_x_right = prop_def(IntegerAttr)
    stride_x = prop_def(IntegerAttr)
    stride_y = prop_def(IntegerAttr)
    flag_relu = prop_def(IntegerAttr)
    flag_batch_norm = prop_def(IntegerAttr)

    def check(self) -> None:
        p = self.params()
        for axis, size, k, s, lo, hi, out in (
            ("y", p["dim_in_y"], p["dim_kernel_y"], p["stride_y"], p["padding_y_top"], p["padding_y_bottom"], p["dim_out_y"]),
            ("x", p["dim_in_x"], p["dim_kernel_x"], p["stride_x"], p["padding_x_left"], p["padding_x_right"], p["dim_out_x"]),
        ):
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

    def check(self) -> None:
        super().check()
        p = self.params()
        if (p["dim_kernel_x"], p["dim_kernel_y"], p["stride_x"], p["stride_y"]) != (1, 1, 1, 1) or any(
            p[n] for n in ("padding_y_top", "padding_y_bottom", "padding_x_left", "padding_x_right")
        ):
            raise VerifyException("the pointwise kernel needs a 1x1 kernel, stride 1 and no padding")
        if (p["dim_in_x"], p["dim_in_y"]) != (p["dim_out_x"], p["dim_out_y"]):
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

    def check(self) -> None:
        super().check()
        p = self.params()
        if p["ch_in"] != p["ch_out"]:
            raise VerifyException("depthwise needs ch_in == ch_out")
        for lo, hi, k in (("padding_y_top", "padding_y_bottom", "dim_kernel_y"),
                          ("padding_x_left", "padding_x_right", "dim_kernel_x")):
            if (p[lo], p[hi]) not in ((0, 0), (p[k] // 2, p[k] // 2)):
                raise VerifyException(
                    f"depthwise padding ({lo} = {p[lo]}, {hi} = {p[hi]}) must be zero or symmetric kernel/2"
                )
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
    requant_bits = prop_def(IntegerAttr)
    in_ = operand_def(IndexType())
    bias = opt_operand_def(IndexType())
    out = operand_def(IndexType())
    weights = operand_def(IndexType())
    k = opt_operand_def(IndexType())
    lambda_ = opt_operand_def(IndexType())
    out_mult = prop_def(IntegerAttr)
    out_shift = prop_def(IntegerAttr)
    dim_vec = prop_def(IntegerAttr)
    num_o_neurons = prop_def(IntegerAttr)
    flag_relu = prop_def(IntegerAttr)
    flag_batch_norm = prop_def(IntegerAttr)


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
    dim_vec = prop_def(IntegerAttr)
    num_o_neurons = prop_def(IntegerAttr)


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
    out_mult1 = prop_def(IntegerAttr)
    out_mult2 = prop_def(IntegerAttr)
    out_shift = prop_def(IntegerAttr)
    dim_im_in_h = prop_def(IntegerAttr)
    dim_im_in_w = prop_def(IntegerAttr)
    ch_im_in = prop_def(IntegerAttr)


POOL_DIMS = (
    "dim_im_in_x", "dim_im_in_y", "ch_im_in", "dim_im_out_x", "dim_im_out_y", "dim_kernel_x",
    "dim_kernel_y", "padding_t", "padding_b", "padding_l", "padding_r", "stride_x", "stride_y",
)


class _PoolBase(KernelOp):
    BUFFERS: ClassVar[tuple[tuple[str, bool], ...]] = (("in", False), ("out", False))
    in_ = operand_def(IndexType())
    out = operand_def(IndexType())
    dim_im_in_x = prop_def(IntegerAttr)
    dim_im_in_y = prop_def(IntegerAttr)
    ch_im_in = prop_def(IntegerAttr)
    dim_im_out_x = prop_def(IntegerAttr)
    dim_im_out_y = prop_def(IntegerAttr)
    dim_kernel_x = prop_def(IntegerAttr)
    dim_kernel_y = prop_def(IntegerAttr)
    padding_t = prop_def(IntegerAttr)
    padding_b = prop_def(IntegerAttr)
    padding_l = prop_def(IntegerAttr)
    padding_r = prop_def(IntegerAttr)
    stride_x = prop_def(IntegerAttr)
    stride_y = prop_def(IntegerAttr)


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
    lambda_ = prop_def(IntegerAttr)
    out_shift = prop_def(IntegerAttr)
    out_add = prop_def(IntegerAttr)
    flag_requant = prop_def(IntegerAttr)


KERNEL_OPS: tuple[type[KernelOp], ...] = (
    ConvOp, PointwiseOp, DepthwiseOp, DepthwiseLess4Op, LinearOp, LinearOut32Op, AddOp, MaxPoolOp, AvgPoolOp,
)

Dory = Dialect(
    "dory",
    [L1ArenaOp, DmaStartOp, DmaWaitOp, ZeroOp, TransposeOp, SliceOp, ConcatOp, CopyOp, *KERNEL_OPS],
    [TilingAttr],
)
