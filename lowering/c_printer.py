"""Print `dory`-level IR (the output of `convert-qnn-to-dory`) as GAP-8 C.

One `match op:` dispatch per kind of function, in the style of xDSL's CSL printer:

- a *layer function* (`func.func` with `dory.layer`) becomes `static void <name>(void *arg)`,
  run by every core of a `pi_cl_team_fork`. Its tile loop runs on every core; the index
  arithmetic of each block (`arith` ops, printed first in their block since they depend on
  nothing else there) is `const int <name> = <C expression>;` on every core, named after the
  value's name hint (`h_size`, `next_in_ext`, ...; `v<N>` otherwise) with constants inlined.
  DMA commands, waits and `dory.zero`, and the loops / `if`s that hold only those, run on core
  0 only (grouped in `if (core == 0) { ... }` blocks); every kernel-call op becomes
  `pi_cl_team_barrier(0); <PULP-NN call>; pi_cl_team_barrier(0);` so all cores see the data
  core 0 waited for, and core 0 moves the output only after every core finished. `scf.for` is
  a C `for`, `scf.if` a C `if`. Each DMA channel is a FIFO ring (`struct dory_dma_queue`) of
  the function's `dory.dma_queues` command structs, taken from one static array of 16 (the
  MCHAN's transfer counters; nothing on the cluster stacks): a command issued into a full ring
  first waits for the channel's oldest; `dory.dma_wait` waits for all of the channel's pending
  commands. L3 request arrays are function-local `static` arrays of the function's
  `dory.l3_queues` requests (the most pending at once, recorded by `convert-qnn-to-dory`).
- `func.func @main` becomes the body of `network_run` (cluster core 0): the L1 arena, the L2
  buffers at the offsets of `dory_xdsl.lowering.l2_plan` (network inputs and outputs too), the
  parameters (`memref.get_global`: an L3 -> L2 copy into a planned L2 buffer, or the address
  of the L2 C array with `DORY_WEIGHTS_L2`; marked `dory.l3`: its L3 address, and the layer
  streams it with `dory.l3_start` / `dory.l3_wait` = `dory_ram_read` / `dory_ram_wait`), one team fork per `func.call` with per-layer
  cycle counters and golden checksums, and L2 data ops (`dory.copy`, `dory.transpose`,
  `dory.slice`, `dory.concat`, `dory.fill`) as byte/element loops.

Every number in the C comes from the IR; the printer decides only names and L2 placement.
Generated code includes `pmsis.h`, the PMSIS BSP headers of the RAM, flash and file-system APIs
(`bsp/ram.h`, ...: the GAP-8 `pmsis.h` does not declare them) and `pulp_nn_kernels.h`; no libc
headers. k / lambda pointers are `int32_t *` or `int64_t *`, the layer's requant width (the
PULP-NN variant the app is built against).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
from xdsl.dialects import arith, func, memref, scf
from xdsl.dialects.builtin import DictionaryAttr, IntegerAttr, IntegerType, MemRefType, ModuleOp, Signedness, StringAttr
from xdsl.ir import Block, Operation, SSAValue

from dory_xdsl.dialects import dory
from dory_xdsl.tiling.layer_dma import DMA_QUEUES, L3_QUEUES
from dory_xdsl.errors import DoryError
from dory_xdsl.lowering.l2_plan import L2Buffer, L2Plan, plan_l2

DIRECTION = {"l2_to_l1": "PI_CL_DMA_DIR_EXT2LOC", "l1_to_l2": "PI_CL_DMA_DIR_LOC2EXT"}
PARAM_ALIGN = 8
IN_L3 = "dory.l3"  # on a memref.get_global: the parameter stays in L3 (its layer streams it)

# C type of each pointer argument of the PULP-NN calls (by the dialect's buffer names)
POINTER_TYPES = {
    "in": "uint8_t", "in1": "uint8_t", "in2": "uint8_t", "out": "uint8_t", "im2col": "uint8_t",
    "bufferB": "uint8_t", "bufferC": "uint8_t", "weights": "int8_t", "bias": "int8_t",
}
REQUANT_ARGS = ("k", "lambda")  # int32_t * or int64_t *: the PULP-NN variant (32bit/ or 64bit/) of the layer


def c_type(t: MemRefType) -> str:
    """C element type of an integer memref."""
    elem = t.element_type
    if not isinstance(elem, IntegerType) or elem.width.data not in (8, 16, 32, 64):
        raise DoryError(f"memref element type {elem} has no C type")
    unsigned = elem.signedness.data == Signedness.UNSIGNED
    return f"{'u' if unsigned else ''}int{elem.width.data}_t"


def elem_bytes(t: MemRefType) -> int:
    return t.element_type.width.data // 8  # type: ignore[attr-defined]


def num_bytes(t: MemRefType) -> int:
    return dory.memref_bytes(t)


def _int(attr: IntegerAttr) -> int:
    return attr.value.data


class CWriter:
    """Indented lines."""

    def __init__(self, indent: int = 0):
        self.lines: list[str] = []
        self.level = indent

    def line(self, text: str = "") -> None:
        self.lines.append("    " * self.level + text if text else "")

    def directive(self, text: str) -> None:
        """A preprocessor line (always in column 0)."""
        self.lines.append(text)

    def open(self, text: str) -> None:
        self.line(f"{text} {{" if text else "{")
        self.level += 1

    def close(self, text: str = "}") -> None:
        self.level -= 1
        self.line(text)

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


# ----------------------------------------------------------------------------- module view


def layer_functions(module: ModuleOp) -> list[func.FuncOp]:
    return [op for op in module.ops if isinstance(op, func.FuncOp) and "dory.layer" in op.attributes]


def main_of(module: ModuleOp) -> func.FuncOp:
    for op in module.ops:
        if isinstance(op, func.FuncOp) and op.sym_name.data == "main":
            return op
    raise DoryError("the module has no func.func @main (run convert-qnn-to-dory first)")


def globals_of(module: ModuleOp) -> list[memref.GlobalOp]:
    return [op for op in module.ops if isinstance(op, memref.GlobalOp)]


def global_bytes(op: memref.GlobalOp) -> bytes:
    """Little-endian bytes of a global's dense initial value (as GAP-8 and the host store it)."""
    from dory_xdsl.tensors import to_numpy

    array = to_numpy(op.initial_value)  # type: ignore[arg-type]
    return np.ascontiguousarray(array).astype(array.dtype.newbyteorder("<")).tobytes()


def requant_bits_of(f: func.FuncOp) -> int | None:
    """Width of a layer function's k / lambda arrays, None without any."""
    for arg in f.body.block.args:
        if arg.name_hint in ("k", "lambda_") and isinstance(arg.type, MemRefType):
            return arg.type.element_type.width.data  # type: ignore[attr-defined]
    return None


def requant_bits(module: ModuleOp) -> int | None:
    """Width of the k / lambda arrays (one build-wide PULP-NN variant), None without any."""
    widths = {bits for f in layer_functions(module) if (bits := requant_bits_of(f)) is not None}
    if len(widths) > 1:
        raise DoryError("layers mix 32- and 64-bit requant constants; PULP-NN is built for one "
                        "width (run qnn-widen-requant before qnn-tile)")
    return widths.pop() if widths else None


def weight_layout(module: ModuleOp) -> dict[str, tuple[int, int]]:
    """Global name -> (byte offset in weights.bin / L3, size): in module order, 8-B aligned."""
    layout, offset = {}, 0
    for g in globals_of(module):
        size = num_bytes(g.type)  # type: ignore[arg-type]
        layout[g.sym_name.data] = (offset, size)
        offset = (offset + size + PARAM_ALIGN - 1) // PARAM_ALIGN * PARAM_ALIGN
    return layout


def weights_image(module: ModuleOp) -> bytes:
    """The contents of weights.bin (the L3 image of every parameter)."""
    layout = weight_layout(module)
    total = max((o + s for o, s in layout.values()), default=0)
    image = bytearray(total)
    for g in globals_of(module):
        offset, size = layout[g.sym_name.data]
        image[offset:offset + size] = global_bytes(g)
    return bytes(image)


# ----------------------------------------------------------------------------- layers


class _Names:
    """C names of SSA values: constants inline, others by their name hint (made unique within
    the function: `h_size`, `h_size_2`, ...) or `v<N>`."""

    def __init__(self) -> None:
        self.names: dict[SSAValue, str] = {}
        self.used: set[str] = set()
        self.counter = 0

    def __getitem__(self, value: SSAValue) -> str:
        owner = value.owner
        if isinstance(owner, arith.ConstantOp):
            return str(_int(owner.value))  # type: ignore[arg-type]
        if value not in self.names:
            raise DoryError(f"value {value} is used before it is printed")
        return self.names[value]

    def fresh(self, value: SSAValue, prefix: str = "v") -> str:
        hint = value.name_hint
        if hint:
            name, k = hint, 2
            while name in self.used:
                name, k = f"{hint}_{k}", k + 1
        else:
            name = f"{prefix}{self.counter}"
            self.counter += 1
            while name in self.used:
                name = f"{prefix}{self.counter}"
                self.counter += 1
        self.used.add(name)
        self.names[value] = name
        return name


def arg_names(f: func.FuncOp) -> list[str]:
    """C identifiers of a layer function's arguments (`lambda_` -> `lambda_`)."""
    names = []
    for i, arg in enumerate(f.body.block.args):
        hint = arg.name_hint or f"arg{i}"
        names.append(hint if hint not in names else f"{hint}{i}")
    return names


def dma_channels(f: func.FuncOp) -> dict[str, int]:
    """The cluster-DMA channels a layer function issues on and the command structs of each
    channel's ring (`dory.dma_queues`, from `dory_xdsl.tiling.layer_dma.dma_queues`)."""
    queues = f.attributes.get(DMA_QUEUES)
    sizes = {name: _int(attr) for name, attr in queues.data.items()} if isinstance(queues, DictionaryAttr) else {}
    used = {op.channel.data for op in f.walk() if isinstance(op, dory.DmaStartOp)}
    missing = sorted(used - {ch for ch, size in sizes.items() if size > 0})
    if missing:
        raise DoryError(f"@{f.sym_name.data}: DMA channel(s) {', '.join(missing)} have no command structs in "
                        f"{DMA_QUEUES}")
    return {ch: size for ch, size in sizes.items() if ch in used}


def queue_sizes(f: func.FuncOp, attr: str = L3_QUEUES) -> dict[str, int]:
    """The request array size of each L3 channel of a layer function, as `convert-qnn-to-dory`
    recorded it (`L3_QUEUES`), sorted by channel name."""
    queues = f.attributes.get(attr)
    sizes = {name: _int(v) for name, v in sorted(queues.data.items())} if isinstance(queues, DictionaryAttr) else {}
    used = {op.channel.data for op in f.walk() if isinstance(op, dory.L3StartOp)}
    missing = sorted(used - {ch for ch, size in sizes.items() if size > 0})
    if missing:
        raise DoryError(f"@{f.sym_name.data}: L3 channel(s) {', '.join(missing)} have no requests in {attr}")
    return sizes  # type: ignore[return-value]


def _is_arith(op: Operation) -> bool:
    return op.dialect_name() == "arith"


# C of the index arithmetic (`int` operands; comparisons and logic on 0/1)
BINARY_C = {
    arith.AddiOp: "{} + {}", arith.SubiOp: "{} - {}", arith.MuliOp: "{} * {}", arith.DivSIOp: "{} / {}",
    arith.RemSIOp: "{} % {}", arith.AndIOp: "{} && {}", arith.OrIOp: "{} || {}",
    arith.MinSIOp: "{0} < {1} ? {0} : {1}", arith.MaxSIOp: "{0} > {1} ? {0} : {1}",
}
COMPARE_C = {0: "==", 1: "!=", 2: "<", 3: "<=", 4: ">", 5: ">="}


def _runs_on_all_cores(op: Operation) -> bool:
    """Kernel calls, and loops / conditionals around them, run on every core."""
    return any(isinstance(o, dory.KernelOp) for o in op.walk())


@dataclass
class LayerC:
    """The C of one layer function and what the network needs to call it."""

    name: str
    index: int
    kernel: str
    args: list[str]
    code: str
    tiles: int
    dma_structs: int = 0  # command structs its DMA channels use (of the shared static array)


class LayerPrinter:
    """Prints one layer function (see the module docstring)."""

    def __init__(self, f: func.FuncOp):
        self.f = f
        self.names = _Names()
        self.w = CWriter()
        self.in_core0 = False
        self.kernel_calls = 0

    def print(self) -> LayerC:
        f, w = self.f, self.w
        name = f.sym_name.data
        args = arg_names(f)
        index = _int(f.attributes["dory.layer"])  # type: ignore[arg-type]
        kernel = f.attributes["dory.kernel"]
        tiling = f.attributes.get("dory.tiling")
        w.line(f"/* layer {index}: {kernel.data if isinstance(kernel, StringAttr) else '?'}"
               + (f", tiles {list(tiling.sizes)} x {list(tiling.counts)}, L1 {tiling.l1.data} of "
                  f"{tiling.budget.data} B */" if isinstance(tiling, dory.TilingAttr) else " */"))
        w.open(f"static void {name}(void *arg)")
        w.line(f"struct {name}_args *a = (struct {name}_args *)arg;")
        for value, arg in zip(f.body.block.args, args):
            self.names.names[value] = arg
            w.line(f"uint8_t *{arg} = a->{arg};")
        w.line("const int core = pi_core_id();")
        for channel, size in queue_sizes(f).items():
            w.line(f"static pi_cl_ram_req_t l3_{channel}[{size}]; /* used by core 0 only */")
            w.line(f"int l3_{channel}_n = 0;")
        self.dma_channels = dma_channels(f)
        base = 0
        for channel, size in self.dma_channels.items():
            w.line(f"struct dory_dma_queue dma_{channel} = {{dory_dma_cmds + {base}, {size}, 0, 0}};")
            base += size
        self.dma_structs = base
        for value, arg in zip(f.body.block.args, args):
            if not value.uses:
                w.line(f"(void){arg};")
        self.block(f.body.block)
        self.leave_core0()
        w.close()
        tiles = self.kernel_calls
        if isinstance(tiling, dory.TilingAttr):
            nh, nw, nc = tiling.counts
            tiles = nh * nw * nc
        return LayerC(name, index, kernel.data if isinstance(kernel, StringAttr) else "", args, w.text(), tiles,
                      self.dma_structs)

    def enter_core0(self) -> None:
        if not self.in_core0:
            self.w.open("if (core == 0)")
            self.in_core0 = True

    def leave_core0(self) -> None:
        if self.in_core0:
            self.w.close()
            self.in_core0 = False

    def block(self, block: Block) -> None:
        """Index arithmetic first (it depends on nothing else in the block), then the rest."""
        ops = list(block.ops)
        for op in ops:
            if _is_arith(op):
                self.arith(op)
        for op in ops:
            if not _is_arith(op):
                self.op(op)

    def arith(self, op: Operation) -> None:
        n = self.names
        if isinstance(op, arith.ConstantOp):
            return
        if isinstance(op, arith.CmpiOp):
            predicate = op.predicate.value.data
            if predicate not in COMPARE_C:
                raise DoryError(f"arith.cmpi: predicate {predicate} is not printed (signed only)")
            expr = f"{n[op.lhs]} {COMPARE_C[predicate]} {n[op.rhs]}"
        elif isinstance(op, arith.SelectOp):
            expr = f"{n[op.cond]} ? {n[op.lhs]} : {n[op.rhs]}"
        else:
            expr = BINARY_C[type(op)].format(n[op.operands[0]], n[op.operands[1]])
        self.w.line(f"const int {n.fresh(op.results[0])} = {expr};")

    def op(self, op: Operation) -> None:
        w, n = self.w, self.names
        if isinstance(op, scf.ForOp | scf.IfOp) and _runs_on_all_cores(op):
            self.leave_core0()
        match op:
            case scf.ForOp():
                if op.iter_args:
                    raise DoryError("scf.for with iter_args is not supported by the C printer")
                if not _runs_on_all_cores(op):
                    self.enter_core0()
                iv = n.fresh(op.body.block.args[0], "i")
                step = n[op.step]
                w.open(f"for (int {iv} = {n[op.lb]}; {iv} < {n[op.ub]}; "
                       + (f"{iv}++)" if step == "1" else f"{iv} += {step})"))
                self.nested(op.body.block)
                w.close()
            case scf.IfOp():
                if op.output:
                    raise DoryError("scf.if with results is not supported by the C printer")
                if not _runs_on_all_cores(op):
                    self.enter_core0()
                w.open(f"if ({n[op.cond]})")
                self.nested(op.true_region.block)
                if op.false_region.blocks:
                    w.close("} else {")
                    w.level += 1
                    self.nested(op.false_region.block)
                w.close()
            case scf.YieldOp():
                pass
            case dory.DmaStartOp():
                self.enter_core0()
                ch = op.channel.data
                ext = f"(uint32_t)(uintptr_t)({n[op.l2]} + {n[op.ext]})"
                loc = f"(uint32_t)(uintptr_t)({n[op.l1]} + {n[op.loc]})"
                size = self.mixed(op.mixed("size"))
                cmd = f"dory_dma_next(&dma_{ch})"
                if op.is_2d:
                    w.line(f"pi_cl_dma_cmd_2d({ext}, {loc}, {size}, {self.mixed(op.mixed('stride'))}, "
                           f"{self.mixed(op.mixed('length'))}, {DIRECTION[op.dir.data]}, {cmd});")
                else:
                    w.line(f"pi_cl_dma_cmd({ext}, {loc}, {size}, {DIRECTION[op.dir.data]}, {cmd});")
            case dory.DmaWaitOp():
                ch = op.channel.data
                if ch in self.dma_channels:  # a channel that never issues has nothing to wait for
                    self.enter_core0()
                    w.line(f"dory_dma_wait(&dma_{ch});")
            case dory.L3StartOp():
                self.enter_core0()
                ch = op.channel.data
                size = self.mixed(op.mixed("size"))
                shape = (f"{size}, {self.mixed(op.mixed('stride'))}, {self.mixed(op.mixed('length'))}"
                         if op.is_2d else f"{size}, {size}, {size}")
                if op.dir.data != "l3_to_l2":
                    raise DoryError("dory.l3_start: L2 -> L3 requests (activations in L3) are not printed yet")
                w.line(f"dory_ram_read((uint32_t)(uintptr_t){n[op.l3]} + {n[op.ext]}, {n[op.l2]} + {n[op.loc]}, "
                       f"{shape}, &l3_{ch}[l3_{ch}_n++]);")
            case dory.L3WaitOp():
                self.enter_core0()
                ch = op.channel.data
                w.line(f"dory_ram_wait(l3_{ch}, &l3_{ch}_n);")
            case dory.ZeroOp():
                self.enter_core0()
                w.line(f"dory_zero({n[op.l1]} + {n[op.loc]}, {self.mixed(op.mixed('size'))});")
            case dory.KernelOp():
                self.leave_core0()
                w.line("pi_cl_team_barrier(0);")
                w.line(f"{op.C_FUNCTION}({', '.join(self.kernel_args(op))});")
                w.line("pi_cl_team_barrier(0);")
                self.kernel_calls += 1
            case func.ReturnOp():
                pass
            case _:
                raise DoryError(f"{op.name}: the GAP-8 C printer does not handle this op in a layer function")

    def nested(self, block: Block) -> None:
        """A loop or `if` body: on every core if it calls a kernel, else inside core 0's block."""
        if any(_runs_on_all_cores(op) for op in block.ops):
            self.block(block)
            self.leave_core0()
        else:
            was = self.in_core0
            self.block(block)
            self.in_core0 = was

    def mixed(self, value: dory.Mixed) -> str:
        return str(value) if isinstance(value, int) else self.names[value]

    def kernel_args(self, op: dory.KernelOp) -> Iterator[str]:
        buffers = {name for name, _ in op.BUFFERS}
        l1 = self.names[op.l1]
        for arg in op.C_ARGS:
            if arg in buffers:
                value = op.buffer(arg)
                if value is None:
                    yield "NULL"
                else:
                    if arg in REQUANT_ARGS:
                        ctype = f"int{requant_bits_of(self.f) or 32}_t"
                    elif arg == "out" and isinstance(op, dory.LinearOut32Op):
                        ctype = "int32_t"
                    else:
                        ctype = POINTER_TYPES[arg]
                    yield f"({ctype} *)({l1} + {self.names[value]})"
            else:
                yield self.mixed(op.param(arg))


# ----------------------------------------------------------------------------- network


@dataclass
class NetworkC:
    """Everything `network.c` / `network.h` need, printed from the IR."""

    layers: list[LayerC]
    structs: str
    run_body: str
    l2_bytes: int
    inputs: list[tuple[int, int]]  # (L2 offset, bytes) of each network input
    outputs: list[tuple[int, int]]
    weights: dict[str, tuple[int, int]]
    weights_bytes: int
    requant_bits: int | None
    layer_output_bytes: dict[int, int] = field(default_factory=dict)
    l1_bytes: int = 0
    l3_bytes: int = 0  # HyperRAM the app allocates: weights.bin + activations in L3
    plan: L2Plan | None = None  # the L2 plan the buffers are placed by (for the compile report)

    @property
    def dma_counters(self) -> int:
        """Size of the static array of DMA command structs the layers share (at least 1)."""
        return max([1, *(layer.dma_structs for layer in self.layers)])


def count_inputs(main: func.FuncOp) -> int:
    """Network inputs are the leading arguments of @main that nothing writes; the outputs
    (written by a layer call or an L2 data op) follow them."""
    args = list(main.body.block.args)
    for i, arg in enumerate(args):
        if any(_writes(u.operation, u.index) for u in arg.uses):
            if not all(any(_writes(u.operation, u.index) for u in a.uses) or not a.uses for a in args[i:]):
                raise DoryError("@main: network inputs must precede the output buffers")
            return i
    return len(args)


def _writes(op: Operation, index: int) -> bool:
    if isinstance(op, func.CallOp):
        return index == len(op.operands) - 1
    if isinstance(op, dory.CopyOp | dory.TransposeOp | dory.SliceOp | dory.ConcatOp | dory.FillOp):
        return op.operands[index] is op.dst
    return False


def _top(op: Operation, block: Block) -> Operation:
    while op.parent_block() is not block:
        parent = op.parent_op()
        assert parent is not None
        op = parent
    return op


class NetworkPrinter:
    """Prints `func.func @main` as the body of `network_run` (see the module docstring)."""

    def __init__(self, module: ModuleOp, golden_checksums: dict[int, int] | None = None):
        self.module = module
        self.main = main_of(module)
        self.n_inputs = count_inputs(self.main)
        self.golden = golden_checksums or {}
        self.weights = weight_layout(module)

    @functools.cached_property
    def layers(self) -> dict[str, LayerC]:
        """The C of every layer function, by name (printed on first use: `plan` does not need it)."""
        return {f.sym_name.data: LayerPrinter(f).print() for f in layer_functions(self.module)}

    # ------------------------------------------------------------------ L2 plan

    def plan(self) -> tuple[L2Plan, dict[SSAValue, str]]:
        block = self.main.body.block
        ops = list(block.ops)
        position = {op: i for i, op in enumerate(ops)}
        end = len(ops) + 1
        names: dict[SSAValue, str] = {}
        buffers: list[L2Buffer] = []

        def last_use(value: SSAValue) -> int:
            return max((position[_top(u.operation, block)] + 1 for u in value.uses), default=0)

        for i, arg in enumerate(block.args):
            is_input = i < self.n_inputs
            name = f"input{i}" if is_input else f"output{i - self.n_inputs}"
            names[arg] = name
            start, stop = (0, max(last_use(arg), 1)) if is_input else (0, end)
            buffers.append(L2Buffer(name, num_bytes(arg.type), start, stop))  # type: ignore[arg-type]
        self.l3_offsets: dict[str, int] = {}
        l3_next = -(-max((o + s for o, s in self.weights.values()), default=0) // PARAM_ALIGN) * PARAM_ALIGN
        for op in ops:
            if isinstance(op, memref.AllocOp) and IN_L3 in op.attributes:  # an activation in L3
                name = names[op.memref] = f"l3buf{len(names)}"
                self.l3_offsets[name] = l3_next
                l3_next += -(-num_bytes(op.memref.type) // PARAM_ALIGN) * PARAM_ALIGN  # type: ignore[arg-type]
            elif isinstance(op, memref.GetGlobalOp) and IN_L3 in op.attributes:
                names[op.results[0]] = f"par{len(names)}"  # an L3 address: no L2 buffer
            elif isinstance(op, memref.AllocOp | memref.GetGlobalOp):
                value = op.results[0]
                name = f"buf{len(names)}" if isinstance(op, memref.AllocOp) else f"par{len(names)}"
                names[value] = name
                stop = max(last_use(value), position[op] + 1)
                buffers.append(L2Buffer(name, num_bytes(value.type), position[op], stop))  # type: ignore[arg-type]
        self.l3_bytes = l3_next  # weights.bin, then the activations placed in L3
        return plan_l2(buffers, PARAM_ALIGN), names

    # ------------------------------------------------------------------ printing

    def print(self) -> NetworkC:
        plan, names = self.plan()
        self.names = names
        self.offsets = plan.offsets
        w = CWriter(1)
        self.w = w
        self.layer_output_bytes: dict[int, int] = {}
        block = self.main.body.block
        for arg in block.args:
            w.line(f"uint8_t *{names[arg]} = l2 + {plan.offsets[names[arg]]};")
        for op in block.ops:
            self.op(op)
        args = list(block.args)
        inputs = [(plan.offsets[names[a]], num_bytes(a.type)) for a in args[:self.n_inputs]]  # type: ignore[arg-type]
        outputs = [(plan.offsets[names[a]], num_bytes(a.type)) for a in args[self.n_inputs:]]  # type: ignore[arg-type]
        image_bytes = max((o + s for o, s in self.weights.values()), default=0)
        return NetworkC(list(self.layers.values()), self.structs(), w.text(), plan.total, inputs, outputs,
                        self.weights, image_bytes, requant_bits(self.module), self.layer_output_bytes,
                        getattr(self, "l1_size", 0), self.l3_bytes, plan)

    def structs(self) -> str:
        w = CWriter()
        for layer in self.layers.values():
            w.open(f"struct {layer.name}_args")
            for arg in layer.args:
                w.line(f"uint8_t *{arg};")
            w.close("};")
            w.line()
        return w.text()

    def ref(self, value: SSAValue) -> str:
        if value not in self.names:
            raise DoryError(f"value {value} has no L2 buffer")
        return self.names[value]

    def op(self, op: Operation) -> None:
        w = self.w
        match op:
            case dory.L1ArenaOp():
                size = num_bytes(op.result.type)  # type: ignore[arg-type]
                self.names[op.result] = "l1"
                w.line(f"uint8_t *l1 = (uint8_t *)pi_cl_l1_malloc(NULL, {size});")
                self.l1_size = size
            case memref.AllocOp() if IN_L3 in op.attributes:
                name = self.names[op.memref]
                w.directive("#ifdef DORY_WEIGHTS_L2")
                w.directive('#error "activations in L3 need the L3 build (no DORY_WEIGHTS_L2)"')
                w.directive("#endif")
                w.line(f"uint8_t *{name} = (uint8_t *)(uintptr_t){self.l3_offsets[name]}; /* an activation in L3 */")
            case arith.ConstantOp():
                pass
            case dory.L3StartOp() if op.dir.data == "l2_to_l3" and not op.is_2d:
                ext, loc = (_const_index(v) for v in (op.ext, op.loc))
                w.line(f"dory_ram_store((uint32_t)(uintptr_t){self.ref(op.l3)} + {ext}, {self.ref(op.l2)} + {loc}, "
                       f"{_const_size(op)}); /* blocking: the spill completes before the next layer */")
            case dory.L3WaitOp():
                pass
            case memref.AllocOp():
                name = self.names[op.memref]
                w.line(f"uint8_t *{name} = l2 + {self.offsets[name]};")
            case memref.GetGlobalOp() if IN_L3 in op.attributes:
                name = self.names[op.memref]
                gname = op.name_.root_reference.data
                offset, _ = self.weights[gname]
                w.line(f"uint8_t *{name} = (uint8_t *)(uintptr_t){offset}; /* {gname}: stays in L3 (streamed) */")
            case memref.GetGlobalOp():
                name = self.names[op.memref]
                gname = op.name_.root_reference.data
                offset, size = self.weights[gname]
                w.directive("#ifdef DORY_WEIGHTS_L2")
                w.line(f"uint8_t *{name} = network_weights + {offset}; /* {gname} */")
                w.directive("#else")
                w.line(f"uint8_t *{name} = l2 + {self.offsets[name]};")
                w.line(f"dory_l3_read(net, {offset}, {name}, {size}); /* {gname} */")
                w.directive("#endif")
            case func.CallOp():
                self.call(op)
            case dory.CopyOp():
                w.line(f"dory_copy({self.ref(op.dst)}, {self.ref(op.src)}, {num_bytes(op.src.type)});")  # type: ignore[arg-type]
            case dory.TransposeOp():
                src_t, dst_t = op.src.type, op.dst.type
                perm = [int(p) for p in op.perm.get_values()]
                src_shape = list(src_t.get_shape())  # type: ignore[union-attr]
                dst_shape = list(dst_t.get_shape())  # type: ignore[union-attr]
                strides = _strides(src_shape)
                src_terms = [(d, strides[perm[d]]) for d in range(len(dst_shape))]
                self.element_loops(op.dst, op.src, dst_shape, src_terms, None, 0)
            case dory.SliceOp():
                dst_shape = list(op.dst.type.get_shape())  # type: ignore[union-attr]
                strides = _strides(list(op.src.type.get_shape()))  # type: ignore[union-attr]
                base = sum(o * s for o, s in zip(op.offsets.get_values(), strides))
                self.element_loops(op.dst, op.src, dst_shape, list(enumerate(strides)), None, base)
            case dory.ConcatOp():
                axis = _int(op.axis)
                dst_strides = _strides(list(op.dst.type.get_shape()))  # type: ignore[union-attr]
                start = 0
                for src in op.srcs:
                    shape = list(src.type.get_shape())  # type: ignore[union-attr]
                    src_terms = list(enumerate(_strides(shape)))
                    self.element_loops(op.dst, src, shape, src_terms, dst_strides, 0, start * dst_strides[axis])
                    start += shape[axis]
            case dory.FillOp():
                count = num_bytes(op.dst.type) // elem_bytes(op.dst.type)  # type: ignore[arg-type]
                w.open(f"for (uint32_t d0 = 0; d0 < {count}; d0++)")
                w.line(f"(({c_type(op.dst.type)} *){self.ref(op.dst)})[d0] = {_int(op.value)};")  # type: ignore[arg-type]
                w.close()
            case func.ReturnOp():
                w.line("pi_cl_l1_free(NULL, l1, %d);" % self.l1_size)
            case _:
                raise DoryError(f"{op.name}: the GAP-8 C printer does not handle this op in @main")

    def element_loops(self, dst: SSAValue, src: SSAValue, shape: Sequence[int],
                      src_terms: Sequence[tuple[int, int]], dst_strides: Sequence[int] | None,
                      src_base: int, dst_base: int = 0) -> None:
        """`dst[dst_base + sum(i_d * dst_stride_d)] = src[src_base + sum(i_d * src_stride)]`
        over the index space `shape` (dst_strides None: row-major over `shape`)."""
        w = self.w
        ctype = c_type(dst.type)  # type: ignore[arg-type]
        if dst_strides is None:
            dst_strides = _strides(list(shape))
        w.open("")
        for d, extent in enumerate(shape):
            w.open(f"for (uint32_t d{d} = 0; d{d} < {extent}; d{d}++)")
        src_index = " + ".join([str(src_base)] + [f"d{d} * {s}" for d, s in src_terms])
        dst_index = " + ".join([str(dst_base)] + [f"d{d} * {s}" for d, s in enumerate(dst_strides)])
        w.line(f"(({ctype} *){self.ref(dst)})[{dst_index}] = (({ctype} *){self.ref(src)})[{src_index}];")
        for _ in shape:
            w.close()
        w.close()

    def call(self, op: func.CallOp) -> None:
        w = self.w
        callee = op.callee.root_reference.data
        layer = self.layers.get(callee)
        if layer is None:
            raise DoryError(f"func.call @{callee}: not a layer function (no dory.layer)")
        values = []
        for arg in op.arguments:
            values.append("l1" if self.names.get(arg) == "l1" else self.ref(arg))
        out = op.arguments[-1]
        out_bytes = num_bytes(out.type)  # type: ignore[arg-type]
        self.layer_output_bytes[layer.index] = out_bytes
        w.open("")
        w.line(f"struct {layer.name}_args args = {{{', '.join(values)}}};")
        w.directive("#ifdef DORY_HOST_RUNTIME")
        w.line(f'dory_host_layer({layer.index}, "{layer.name}"); /* names the layer in MCHAN counter checks */')
        w.directive("#endif")
        w.line("pi_perf_reset();")
        w.line("pi_perf_start();")
        w.line(f"pi_cl_team_fork(NUM_CORES, {layer.name}, &args);")
        w.line("pi_perf_stop();")
        w.line(f"network_cycles[{layer.index}] = pi_perf_read(PI_PERF_CYCLES);")
        golden = self.golden.get(layer.index)
        check = "1" if golden is not None else "0"
        w.line(f"errors += dory_check_layer({layer.index}, {self.ref(out)}, {out_bytes}, {check}, "
               f"{golden if golden is not None else 0}u);")
        w.close()


def _const_index(value: SSAValue) -> int:
    owner = value.owner
    if not isinstance(owner, arith.ConstantOp):
        raise DoryError("dory.l3_start in @main: offsets must be constants")
    return owner.value.value.data  # type: ignore[union-attr]


def _const_size(op: dory.L3StartOp) -> int:
    size = op.mixed("size")
    if not isinstance(size, int):
        raise DoryError("dory.l3_start in @main: the size must be a constant")
    return size


def _strides(shape: Sequence[int]) -> list[int]:
    strides = [1] * len(shape)
    for d in range(len(shape) - 2, -1, -1):
        strides[d] = strides[d + 1] * shape[d + 1]
    return strides


def byte_checksum(data: bytes) -> int:
    """The checksum the generated code compares: the 32-bit sum of the bytes."""
    return int(np.frombuffer(data, dtype=np.uint8).sum(dtype=np.uint64)) & 0xFFFFFFFF
