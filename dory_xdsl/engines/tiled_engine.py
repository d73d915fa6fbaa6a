"""Execute lowered (`dory` dialect) IR exactly as the GAP-8 would, with numpy.

`run_tiled(module, inputs)` runs `func.func @main` of a module produced by
`convert-qnn-to-dory`: the L1 arena is a byte array of exactly the budget (filled with a garbage
pattern, so reading data that never arrived shows), L2 buffers are numpy arrays,
`scf` loops and conditionals and `arith` index arithmetic run as the C would
(`dory_xdsl.analysis.index_eval`), every `dory.dma_start` is one DMA command (sizes and offsets as
computed for the tile) checked against the GAP-8 limits (at most 65,535 B; 2-D
line and stride < 32,768; L1 side contiguous; both sides inside their buffers), and every
kernel op calls the numpy model of its PULP-NN function (`dory_xdsl.semantics.kernels`) on the L1 bytes,
after checking the kernel's preconditions on the values of this call (`KernelOp.check_params`).

Asynchrony is modelled pessimistically: a command's copy happens at the `dory.dma_wait` of its
channel (the latest moment the hardware may move the data), and a kernel call or `dory.zero`
touching the L1 range of a command still in flight is an error. So a schedule that reads a tile
before waiting for it, or overwrites a buffer still being transferred, fails here instead of
giving plausible numbers. L3 requests (`dory.l3_start`, parameters streamed from L3) are
modelled the same way: performed at their `dory.l3_wait`, counted in `DmaStats.l3_bytes_in`, and an
L3 read into an L2 range a DMA command in flight still uses is an error. `compile_tiled` runs the qnn pipeline (fuse, NHWC, legalize, tile,
lower) in process.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from xdsl.context import Context
from xdsl.dialects import func, memref
from xdsl.dialects.builtin import DenseArrayBase, DenseIntOrFPElementsAttr, DictionaryAttr, MemRefType, ModuleOp
from xdsl.ir import Operation, SSAValue
from xdsl.utils.exceptions import VerifyException

from dory_xdsl.semantics import kernels

from dory_xdsl.semantics import reference
from dory_xdsl.dialects import dory
from dory_xdsl.engines.result import EngineResult, Prepared
from dory_xdsl.errors import DoryError
from dory_xdsl.analysis.index_eval import execute
from dory_xdsl.tiling.layer_dma import DMA_QUEUES
from dory_xdsl.target import DmaLimits
from dory_xdsl.tensors import numpy_dtype, to_numpy

GARBAGE = 0xA5


class EngineError(AssertionError):
    """The lowered IR did something the hardware would not allow (a compiler bug)."""


@dataclass
class DmaStats:
    commands: int = 0
    bytes_in: int = 0  # L2 -> L1
    bytes_out: int = 0  # L1 -> L2
    commands_in: int = 0  # L2 -> L1 (of `commands`)
    commands_out: int = 0  # L1 -> L2
    l3_bytes_in: int = 0  # L3 -> L2
    l3_bytes_out: int = 0  # L2 -> L3


@dataclass
class TiledRun:
    outputs: list[np.ndarray]
    layers: dict[int, np.ndarray] = field(default_factory=dict)  # golden layer number -> output
    tiles: dict[int, int] = field(default_factory=dict)  # layer number -> kernel calls
    dma: DmaStats = field(default_factory=DmaStats)
    dma_peaks: dict[int, int] = field(default_factory=dict)  # layer number -> most DMA commands outstanding

    @property
    def multi_tile_layers(self) -> int:
        return sum(1 for n in self.tiles.values() if n > 1)


@dataclass
class _Pending:
    op: dory.DmaStartOp
    l2: np.ndarray
    ext: int
    loc: int
    size: int
    line: int
    stride: int

    @property
    def l1_range(self) -> tuple[int, int]:
        return self.loc, self.loc + self.size


def _resolve(value: dory.Mixed, env: dict) -> int:
    """A `MixedParams` parameter's value: the constant, or the SSA value's current value."""
    return value if isinstance(value, int) else env[value]  # type: ignore[return-value]


def _bytes(array: np.ndarray) -> np.ndarray:
    return array.reshape(-1).view(np.uint8)


class _Machine:
    def __init__(self, module: ModuleOp):
        self.functions = {op.sym_name.data: op for op in module.ops if isinstance(op, func.FuncOp)}
        self.globals = {op.sym_name.data: op for op in module.ops if isinstance(op, memref.GlobalOp)}
        self.run = TiledRun(outputs=[])
        self.calls = 0

    # ------------------------------------------------------------------ functions

    def call(self, f: func.FuncOp, args: Sequence[object]) -> None:
        env: dict[SSAValue, object] = dict(zip(f.body.block.args, args))
        pending: dict[str, list[_Pending]] = {}
        queues = f.attributes.get(DMA_QUEUES)
        self.capacity = ({name: attr.value.data for name, attr in queues.data.items()}  # type: ignore[attr-defined]
                         if isinstance(queues, DictionaryAttr) else {})
        self.peak = 0
        self.l3_pending: dict[str, list[tuple[dory.L3StartOp, np.ndarray, np.ndarray, tuple[int, ...]]]] = {}
        execute(f.body.block, env, lambda op, env: self.op(op, env, pending))  # type: ignore[arg-type]
        left = [c for c, cmds in pending.items() if cmds] + [c for c, r in self.l3_pending.items() if r]
        if left:
            raise EngineError(f"@{f.sym_name.data} returns with DMA in flight on channel(s) {left}")

    def op(self, op: Operation, env: dict, pending: dict[str, list[_Pending]]) -> None:
        if isinstance(op, func.ReturnOp):
            return
        elif isinstance(op, dory.DmaStartOp):
            self.dma_start(op, env, pending)
        elif isinstance(op, dory.DmaWaitOp):
            for cmd in pending.pop(op.channel.data, []):
                self.transfer(cmd, env[cmd.op.l1])  # type: ignore[arg-type]
        elif isinstance(op, dory.L3StartOp):
            self.l3_start(op, env, pending)
        elif isinstance(op, dory.L3WaitOp):
            for request in self.l3_pending.pop(op.channel.data, []):
                self.l3_transfer(*request)
        elif isinstance(op, dory.ZeroOp):
            lo = env[op.loc]
            size = _resolve(op.mixed("size"), env)
            if size < 1:
                raise EngineError(f"dory.zero of {size} B")
            self.check_free(op, pending, [(lo, lo + size)], env[op.l1])  # type: ignore[arg-type]
            env[op.l1][lo:lo + size] = 0  # type: ignore[index]
        elif isinstance(op, dory.KernelOp):
            self.kernel(op, env, pending)
        elif isinstance(op, dory.L1ArenaOp):
            size = op.result.type.get_shape()[0]  # type: ignore[union-attr]
            env[op.result] = np.full(size, GARBAGE, dtype=np.uint8)
        elif isinstance(op, memref.AllocOp):
            t = op.memref.type
            assert isinstance(t, MemRefType)
            env[op.memref] = np.full(t.get_shape(), GARBAGE, dtype=numpy_dtype(t.element_type))
        elif isinstance(op, memref.GetGlobalOp):
            g = self.globals[op.name_.root_reference.data]
            value = g.initial_value
            assert isinstance(value, DenseIntOrFPElementsAttr)
            env[op.memref] = np.array(to_numpy(value))
        elif isinstance(op, func.CallOp):
            self.call_op(op, env)
        elif isinstance(op, dory.CopyOp):
            _bytes(env[op.dst])[:] = _bytes(np.ascontiguousarray(env[op.src]))  # type: ignore[arg-type]
        elif isinstance(op, dory.TransposeOp):
            env[op.dst][...] = np.transpose(env[op.src], [int(p) for p in op.perm.get_values()])  # type: ignore[index]
        elif isinstance(op, dory.SliceOp):
            dst = env[op.dst]
            index = tuple(slice(o, o + s) for o, s in zip(op.offsets.get_values(), dst.shape))  # type: ignore[union-attr]
            dst[...] = env[op.src][index]  # type: ignore[index]
        elif isinstance(op, dory.FillOp):
            env[op.dst][...] = op.value.value.data  # type: ignore[index]
        elif isinstance(op, dory.ConcatOp):
            env[op.dst][...] = np.concatenate([env[s] for s in op.srcs], axis=op.axis.value.data)  # type: ignore[index]
        else:
            raise DoryError(f"{op.name}: the tiled engine cannot execute this op")

    def call_op(self, op: func.CallOp, env: dict) -> None:
        callee = self.functions[op.callee.root_reference.data]
        args = [env[a] for a in op.arguments]
        kernel_calls = self.calls
        self.call(callee, args)
        layer = callee.attributes.get("dory.layer")
        if layer is not None:
            n = layer.value.data  # type: ignore[attr-defined]
            self.run.dma_peaks[n] = self.peak
            self.run.layers[n] = np.array(args[-1])
            self.run.tiles[n] = self.calls - kernel_calls

    # ------------------------------------------------------------------ DMA

    def dma_start(self, op: dory.DmaStartOp, env: dict, pending: dict[str, list[_Pending]]) -> None:
        size, line, stride = (_resolve(op.mixed(n), env) for n in ("size", "length", "stride"))
        if not op.is_2d:
            line = stride = size
        if not 1 <= size <= dory.DMA_MAX_BYTES:
            raise EngineError(f"DMA of {size} B is outside [1, {dory.DMA_MAX_BYTES}] B")
        if not op.is_2d and size > DmaLimits().max_bytes_1d:
            raise EngineError(f"1-D DMA of {size} B: the MCHAN's 1-D commands are < 32,768 B")
        if op.is_2d and not (1 <= line <= dory.DMA_MAX_LINE and 1 <= stride <= dory.DMA_MAX_STRIDE
                             and size % line == 0):
            raise EngineError(f"2-D DMA line {line} / stride {stride} / size {size} outside the GAP-8 limits")
        cmd = _Pending(op, env[op.l2], env[op.ext], env[op.loc], size, line, stride)  # type: ignore[arg-type]
        l2_bytes = _bytes(cmd.l2).size
        lines = size // line
        last = cmd.ext + (lines - 1) * stride + line
        if cmd.ext < 0 or last > l2_bytes:
            raise EngineError(f"DMA reaches L2 bytes [{cmd.ext}, {last}) of a {l2_bytes} B buffer")
        arena = env[op.l1]
        if cmd.loc < 0 or cmd.loc + size > arena.size:  # type: ignore[union-attr]
            raise EngineError(f"DMA reaches L1 bytes [{cmd.loc}, {cmd.loc + size}) of the {arena.size} B arena")  # type: ignore[union-attr]
        queue = pending.setdefault(op.channel.data, [])
        ring = self.capacity.get(op.channel.data, 0)
        if ring < 1:
            raise EngineError(f"DMA channel '{op.channel.data}' has no command structs in {DMA_QUEUES}")
        if len(queue) == ring:  # the ring is full: the channel's oldest command is waited for first
            oldest = queue.pop(0)
            self.transfer(oldest, env[oldest.op.l1])  # type: ignore[arg-type]
        queue.append(cmd)
        outstanding = sum(len(q) for q in pending.values())
        if outstanding > DmaLimits().counters:
            raise EngineError(f"{outstanding} DMA commands outstanding, the MCHAN has {DmaLimits().counters} counters")
        self.peak = max(self.peak, outstanding)
        self.run.dma.commands += 1
        if op.dir.data == "l2_to_l1":
            self.run.dma.bytes_in += size
            self.run.dma.commands_in += 1
        else:
            self.run.dma.bytes_out += size
            self.run.dma.commands_out += 1

    def l3_start(self, op: dory.L3StartOp, env: dict, pending: dict[str, list[_Pending]]) -> None:
        """An L3 request: checked now, performed at its `dory.l3_wait` (like a DMA command). The
        L2 range it writes (or reads) must not be in use by a DMA command still in flight."""
        size, line, stride = (_resolve(op.mixed(n), env) for n in ("size", "length", "stride"))
        if not op.is_2d:
            line = stride = size
        ext, loc = env[op.ext], env[op.loc]
        l3, l2 = _bytes(env[op.l3]), _bytes(env[op.l2])
        lines = size // line if line else 0
        if size < 1 or line < 1 or size % line or (lines > 1 and stride < line):
            raise EngineError(f"L3 request of {size} B in lines of {line} B, stride {stride}")
        if ext < 0 or ext + (lines - 1) * stride + line > l3.size or loc < 0 or loc + size > l2.size:
            raise EngineError(f"L3 request [{ext}, +{size}) -> L2 [{loc}, +{size}) leaves its buffers "
                              f"({l3.size} B in L3, {l2.size} B in L2)")
        for channel, cmds in pending.items():
            for cmd in cmds:
                end = cmd.ext + (cmd.size // cmd.line - 1) * cmd.stride + cmd.line
                if np.may_share_memory(cmd.l2, env[op.l2]) and cmd.ext < loc + size and loc < end:
                    raise EngineError(f"L3 request into L2 [{loc}, {loc + size}) while a DMA on channel "
                                      f"'{channel}' still uses it")
        self.l3_pending.setdefault(op.channel.data, []).append((op, l3, l2, (ext, loc, size, line, stride)))
        if op.dir.data == "l3_to_l2":
            self.run.dma.l3_bytes_in += size
        else:
            self.run.dma.l3_bytes_out += size

    @staticmethod
    def l3_transfer(op: dory.L3StartOp, l3: np.ndarray, l2: np.ndarray, shape: tuple[int, ...]) -> None:
        ext, loc, size, line, stride = shape
        for k in range(size // line):
            far = slice(ext + k * stride, ext + k * stride + line)
            near = slice(loc + k * line, loc + (k + 1) * line)
            if op.dir.data == "l3_to_l2":
                l2[near] = l3[far]
            else:
                l3[far] = l2[near]

    @staticmethod
    def transfer(cmd: _Pending, arena: np.ndarray) -> None:
        op = cmd.op
        size, line, stride = cmd.size, cmd.line, cmd.stride
        l2 = _bytes(cmd.l2)
        lines = size // line
        step = stride if lines > 1 else line
        rows = np.lib.stride_tricks.as_strided(l2[cmd.ext:], shape=(lines, line), strides=(step, 1))
        l1 = arena[cmd.loc:cmd.loc + size].reshape(lines, line)
        if op.dir.data == "l2_to_l1":
            l1[...] = rows
        else:
            view = np.lib.stride_tricks.as_strided(l2[cmd.ext:], shape=(lines, line), strides=(step, 1),
                                                   writeable=True)
            view[...] = l1

    @staticmethod
    def check_free(op: Operation, pending: dict[str, list[_Pending]], ranges: list[tuple[int, int]],
                   arena: np.ndarray) -> None:
        for lo, hi in ranges:
            if lo < 0 or hi > arena.size:
                raise EngineError(f"{op.name} touches L1 [{lo}, {hi}) outside the {arena.size} B arena")
            for channel, cmds in pending.items():
                for cmd in cmds:
                    a, b = cmd.l1_range
                    if a < hi and lo < b:
                        raise EngineError(
                            f"{op.name} touches L1 [{lo}, {hi}) while a DMA on channel '{channel}' "
                            f"still transfers [{a}, {b})"
                        )

    # ------------------------------------------------------------------ kernels

    def kernel(self, op: dory.KernelOp, env: dict, pending: dict[str, list[_Pending]]) -> None:
        arena: np.ndarray = env[op.l1]
        p = {name: _resolve(value, env) for name, value in op.params().items()}
        try:
            op.check_params(p)
        except VerifyException as error:
            raise EngineError(f"{op.name} called with {p}: {error}") from None
        offsets = {name: env[v] for name, _ in op.BUFFERS if (v := op.buffer(name)) is not None}
        reads: dict[str, tuple[int, np.dtype]] = {}

        def region(name: str, count: int, dtype=np.uint8, shape=None) -> np.ndarray:
            start = offsets[name]
            nbytes = count * np.dtype(dtype).itemsize
            reads[name] = (nbytes, np.dtype(dtype))
            self.check_free(op, pending, [(start, start + nbytes)], arena)
            data = arena[start:start + nbytes].copy().view(dtype)
            return data.reshape(shape) if shape is not None else data

        def write(name: str, value: np.ndarray) -> None:
            start = offsets[name]
            raw = np.ascontiguousarray(value).reshape(-1).view(np.uint8)
            self.check_free(op, pending, [(start, start + raw.size)], arena)
            arena[start:start + raw.size] = raw

        def optional(name: str, count: int, dtype) -> np.ndarray | None:
            return region(name, count, dtype) if name in offsets else None

        if isinstance(op, dory.HwcToChwOp):  # a transposition inside the tile, not a kernel call
            shape = (p["rows"], p["cols"], p["chans"])
            x = region("in", shape[0] * shape[1] * shape[2], shape=shape)
            write("out", kernels.hwc_to_chw(x, top=p["top"], left=p["left"], out_hw=(p["dst_rows"], p["dst_cols"])))
            return
        self.calls += 1
        rq = {32: np.int32, 64: np.int64}.get(p.get("requant_bits", 32), np.int32)
        if isinstance(op, (dory.ConvOp, dory.PointwiseOp, dory.DepthwiseOp, dory.DepthwiseLess4Op)):
            kx, ky, ci, co = p["dim_kernel_x"], p["dim_kernel_y"], p["ch_in"], p["ch_out"]
            hw_in, hw_out = (p["dim_in_y"], p["dim_in_x"]), (p["dim_out_y"], p["dim_out_x"])
            bias = optional("bias", co, np.int8)
            k, lam = optional("k", co, rq), optional("lambda", co, rq)
            args = dict(out_mult=p["out_mult"], out_shift=p["out_shift"], relu=bool(p["flag_relu"]),
                        batch_norm=bool(p["flag_batch_norm"]))
            pads = (p["padding_y_top"], p["padding_y_bottom"], p["padding_x_left"], p["padding_x_right"])
            if isinstance(op, (dory.DepthwiseOp, dory.DepthwiseLess4Op)):
                x = region("in", ci * hw_in[0] * hw_in[1], shape=(ci, *hw_in))
                self.check_free(op, pending, [(offsets["in"], offsets["in"] + x.size + 2)], arena)
                w = region("weights", co * ky * kx, np.int8, (co, ky, kx))
                y = kernels.depthwise_generic(x, w, bias, k, lam, out_hw=hw_out, pads=pads,
                                              strides=(p["stride_y"], p["stride_x"]), **args)
            else:
                x = region("in", hw_in[0] * hw_in[1] * ci, shape=(*hw_in, ci))
                w = region("weights", co * ky * kx * ci, np.int8, (co, ky, kx, ci))
                if isinstance(op, dory.PointwiseOp):
                    y = kernels.pointwise_howo_parallel(x, w, bias, k, lam, **args)
                else:
                    y = kernels.conv_ho_parallel(x, w, bias, k, lam, out_hw=hw_out, pads=pads,
                                                 strides=(p["stride_y"], p["stride_x"]), **args)
            write("out", y)
        elif isinstance(op, dory.LinearOp):
            n, dim = p["num_o_neurons"], p["dim_vec"]
            x = region("in", dim)
            w = region("weights", n * dim, np.int8, (n, dim))
            y = kernels.linear(x, w, optional("bias", n, np.int8), optional("k", n, rq), optional("lambda", n, rq),
                               out_mult=p["out_mult"], out_shift=p["out_shift"], relu=bool(p["flag_relu"]),
                               batch_norm=bool(p["flag_batch_norm"]))
            write("out", y)
        elif isinstance(op, dory.LinearOut32Op):
            n, dim = p["num_o_neurons"], p["dim_vec"]
            y = kernels.linear_out_32(region("in", dim), region("weights", n * dim, np.int8, (n, dim)),
                                      optional("bias", n, np.int32))
            write("out", y.astype(np.int32))
        elif isinstance(op, dory.AddOp):
            shape = (p["dim_im_in_h"], p["dim_im_in_w"], p["ch_im_in"])
            count = shape[0] * shape[1] * shape[2]
            y = kernels.add(region("in1", count, shape=shape), region("in2", count, shape=shape),
                            out_mult1=p["out_mult1"], out_mult2=p["out_mult2"], out_shift=p["out_shift"])
            write("out", y)
        elif isinstance(op, dory.AddRequantOp):
            shape = (p["dim_im_in_h"], p["dim_im_in_w"], p["ch_im_in"])
            count = shape[0] * shape[1] * shape[2]
            y = kernels.add_requant(region("in1", count, shape=shape), region("in2", count, shape=shape),
                                    **{name: p[name] for name in dory.ADD_REQUANT_PARAMS})
            write("out", y)
        elif isinstance(op, (dory.MaxPoolOp, dory.AvgPoolOp)):
            shape = (p["dim_im_in_y"], p["dim_im_in_x"], p["ch_im_in"])
            x = region("in", shape[0] * shape[1] * shape[2], shape=shape)
            geometry = dict(kernel_hw=(p["dim_kernel_y"], p["dim_kernel_x"]),
                            out_hw=(p["dim_im_out_y"], p["dim_im_out_x"]),
                            pads=(p["padding_t"], p["padding_b"], p["padding_l"], p["padding_r"]),
                            strides=(p["stride_y"], p["stride_x"]))
            if isinstance(op, dory.MaxPoolOp):
                y, after = kernels.maxpool(x, **geometry)
                write("in", after)
            else:
                y = kernels.avgpool(x, lambda_=p["lambda"], out_shift=p["out_shift"], out_add=p["out_add"],
                                    requant=bool(p["flag_requant"]), **geometry)
            write("out", y)
        else:
            raise DoryError(f"{op.name}: the tiled engine has no model of this kernel")


def run_tiled(module: ModuleOp, inputs: Sequence[np.ndarray]) -> TiledRun:
    """Run `@main` of a lowered module; inputs as for the reference interpreter."""
    machine = _Machine(module)
    main = machine.functions.get("main")
    if main is None:
        raise DoryError("lowered module has no func.func @main")
    arg_types = list(main.function_type.inputs.data)
    if len(inputs) > len(arg_types):
        raise DoryError(f"the model takes fewer inputs than the {len(inputs)} given")
    args: list[np.ndarray] = []
    for i, (array, t) in enumerate(zip(inputs, arg_types)):
        assert isinstance(t, MemRefType)
        array = np.asarray(array)
        shape = tuple(t.get_shape())
        if array.shape != shape:
            raise DoryError(f"input {i}: shape {list(array.shape)} does not match the model input {list(shape)}")
        if array.dtype.kind == "f":
            if not np.array_equal(array, np.floor(array)):
                raise DoryError(f"input {i}: float input holds non-integer values")
            array = array.astype(np.int64)
        try:
            args.append(np.ascontiguousarray(reference.cast_exact(array, numpy_dtype(t.element_type), f"input {i}")))
        except ValueError as error:
            raise DoryError(str(error)) from None
    outputs = [np.full(t.get_shape(), GARBAGE, dtype=numpy_dtype(t.element_type))  # type: ignore[union-attr]
               for t in arg_types[len(inputs):]]
    machine.call(main, [*args, *outputs])
    machine.run.outputs = outputs
    return machine.run


def compile_tiled(module: ModuleOp, *, l1_bytes: int | None = None, objective: str = "cost",
                  double_buffer: bool = True, l2_code_reserved: int | None = None) -> ModuleOp:
    """qnn module (as imported) -> lowered dory module, in process (the module is modified).
    Budgets default to GAP-8's (`dory_xdsl.target.GAP8`)."""
    from dory_xdsl.lowering.pipeline import CompileOptions, backend_pass
    from dory_xdsl.target import GAP8

    options = CompileOptions(
        l1_bytes=GAP8.l1_bytes if l1_bytes is None else l1_bytes,
        l2_code_reserved=GAP8.l2_code_reserved if l2_code_reserved is None else l2_code_reserved,
        objective=objective, double_buffer=double_buffer)
    backend_pass(options).apply(Context(), module)
    module.verify()
    return module


def tiled_engine(module: ModuleOp, inputs: Sequence[np.ndarray]):
    """`dory run --engine tiled`: compile to tiled IR at the default GAP-8 budgets and run it
    (`engines.prepare_tiled`: inputs and results in the imported module's types)."""
    from dory_xdsl.lowering.pipeline import CompileOptions

    return prepare_tiled(module, CompileOptions())(inputs)


def tiled_result(lowered: ModuleOp, inputs: Sequence[np.ndarray]):
    """Run an already lowered module (`compile_tiled`) as an engine (see `dory_xdsl.engines.registry`)."""
    from dory_xdsl.transforms.qnn_legalize_pulp import lowered_layer_of

    run = run_tiled(lowered, inputs)
    by_number = {n: run.layers[i] for n, i in lowered_layer_of(lowered, len(run.layers)).items()
                 if i in run.layers}
    layers = []
    for n in range(len(by_number)):
        if n not in by_number:
            raise DoryError(f"layer {n} was not executed")
        array = by_number[n]
        layers.append(array.transpose(0, 3, 1, 2) if array.ndim == 4 else array)
    return EngineResult(run.outputs, layers)


def prepare_tiled(module: ModuleOp, options) -> Prepared:
    """Lower and tile once (`compile_tiled`), run each input on the lowered IR; inputs and results
    in the imported module's types (`analysis.signed_io`)."""
    from dory_xdsl.analysis.signed_io import SignedBoundary

    boundary = SignedBoundary.of(module)
    lowered = compile_tiled(module.clone(), l1_bytes=options.l1_bytes, objective=options.objective,
                            double_buffer=options.double_buffer, l2_code_reserved=options.l2_code_reserved)
    return lambda inputs: boundary.result(tiled_result(lowered, boundary.stored_inputs(inputs)))
