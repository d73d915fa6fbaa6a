"""The memory ops of the `dory` dialect: the L1 arena, cluster DMA and L3 transfers, and the L2
data ops (transpose, slice, concat, copy, fill) that run outside a layer's tile loop.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from xdsl.dialects.builtin import (
    ArrayAttr,
    DenseArrayBase,
    IndexType,
    IntegerAttr,
    IntegerType,
    MemRefType,
    Signedness,
    StringAttr,
    i64,
)
from xdsl.ir import SSAValue
from xdsl.irdl import (
    IRDLOperation,
    ParsePropInAttrDict,
    irdl_op_definition,
    operand_def,
    opt_prop_def,
    prop_def,
    result_def,
    var_operand_def,
)
from xdsl.parser import Parser
from xdsl.printer import Printer
from xdsl.utils.exceptions import VerifyException
from dory_xdsl.dialects.dory_base import (
    DIRECTIONS,
    DMA_MAX_BYTES,
    DMA_MAX_LINE,
    Mixed,
    MixedParams,
    _byte_memref,
    _int,
    _parse_indexed,
    _print_indexed,
    _resolve_mixed,
    memref_bytes,
    parse_mixed_dict,
    print_mixed_dict,
    split_mixed,
)

L3_DIRECTIONS = ("l3_to_l2", "l2_to_l3")



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
        if size is not None and not self.is_2d and size > DMA_MAX_LINE:
            raise VerifyException(f"dory.dma_start: a 1-D command of {size} B (must be < 32768: use 2-D lines)")
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
