"""The kernel-call ops of the `dory` dialect: one op per PULP-NN function (and the generic C add),
with the C function name and argument order as class variables.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from xdsl.dialects.builtin import (
    ArrayAttr,
    IndexType,
    IntegerAttr,
    MemRefType,
)
from xdsl.ir import SSAValue
from xdsl.irdl import (
    AttrSizedOperandSegments,
    IRDLOperation,
    irdl_op_definition,
    operand_def,
    opt_operand_def,
    opt_prop_def,
    var_operand_def,
)
from xdsl.parser import Parser
from xdsl.printer import Printer
from xdsl.utils.exceptions import VerifyException
from dory_xdsl.dialects.dory_base import (
    Mixed,
    MixedParams,
    _field,
    _resolve_mixed,
    parse_mixed_dict,
    print_mixed_dict,
    split_mixed,
)


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


HWC_TO_CHW_PARAMS = ("rows", "cols", "chans", "top", "left", "dst_rows", "dst_cols")


@irdl_op_definition
class HwcToChwOp(KernelOp):
    """`dory_hwc_to_chw`: the cores transpose a depthwise input tile in L1, from the fetched HWC
    region (`rows x cols x chans`, dense, at `in`) to the CHW tile the depthwise kernel reads
    (`chans x dst_rows x dst_cols` at `out`, the region at row `top` and column `left`, zeros
    around it). Not a PULP-NN function: a `static` C helper of the generated `network.c`, run
    SPMD (each core every NUM_CORES-th channel). It lets the DMA move the tile in a few long
    lines instead of one 1-byte-line gather per channel."""

    name = "dory.hwc_to_chw"
    C_FUNCTION: ClassVar[str] = "dory_hwc_to_chw"
    BUFFERS: ClassVar[tuple[tuple[str, bool], ...]] = (("in", False), ("out", False))
    PARAMS: ClassVar[tuple[str, ...]] = HWC_TO_CHW_PARAMS
    C_ARGS: ClassVar[tuple[str, ...]] = ("in", "out", *PARAMS)
    in_ = operand_def(IndexType())
    out = operand_def(IndexType())
    rows = opt_prop_def(IntegerAttr)
    cols = opt_prop_def(IntegerAttr)
    chans = opt_prop_def(IntegerAttr)
    top = opt_prop_def(IntegerAttr)
    left = opt_prop_def(IntegerAttr)
    dst_rows = opt_prop_def(IntegerAttr)
    dst_cols = opt_prop_def(IntegerAttr)

    def check_params(self, p: Mapping[str, Mixed]) -> None:
        known = {name: value for name, value in p.items() if isinstance(value, int)}
        for size, start, extent in (("rows", "top", "dst_rows"), ("cols", "left", "dst_cols")):
            if all(n in known for n in (size, start, extent)) and known[start] + known[size] > known[extent]:
                raise VerifyException(f"{size} {known[size]} at {start} {known[start]} overflow {extent} {known[extent]}")


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
    ConvOp, PointwiseOp, DepthwiseOp, DepthwiseLess4Op, LinearOp, LinearOut32Op, AddOp, AddRequantOp, HwcToChwOp, MaxPoolOp,
    AvgPoolOp,
)
