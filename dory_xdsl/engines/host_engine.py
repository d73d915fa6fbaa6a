"""`dory run --engine host`: compile the generated GAP-8 application for this machine and run it.

The app of `dory_xdsl.lowering.pipeline.compile_module` (the same C `dory compile` writes, with the input
embedded) is built with gcc against the host runtime (`dory_xdsl.runtime`: PMSIS subset and
PULP-NN kernels) with `dory_xdsl.engines.host_build`'s flags (gnu11, -O2, -Wall -Werror,
AddressSanitizer + UBSan, -no-pie), in its default variant (weights.bin read at start-up
through the emulated HyperFlash file system, `runtime/fs_host.c`, into the emulated HyperRAM,
and copied to L2 per layer), and with `-DDORY_DUMP_LAYERS`: the app then writes every
layer output and network output to `layers.bin` (records `<L|O> <index> <bytes>\\n` + raw
bytes), which the engine reads back. The runtime is compiled once per flag set and cached
(`host_build.compile_cached`). With `pulp_nn` (`dory run --pulp-nn DIR`) the kernels are the
real PULP-NN sources of that checkout (`host_build.PulpNN`, Xpulp emulated) and the app is
compiled against the checkout's `pulp_nn_kernels.h`. The cluster stacks are measured on the rv32
build (`rv32_build.measure_cluster_stacks`, when the cross toolchain is installed) and the table
linked in, so the runtime checks the task's stacks as on `qemu-rv32`.

Besides the engine result, it prints one line: layers, how many needed more than one tile, the
DMA bytes moved per direction and the L3 bytes read, from the runtime's counters.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from xdsl.dialects.builtin import MemRefType, ModuleOp

from dory_xdsl.engines import host_build
from dory_xdsl.engines.result import EngineResult, Prepared
from dory_xdsl.errors import DoryError

APP_SOURCES = ("main.c", "network.c", "input.c")
RUN_TIMEOUT = 600
_COUNTERS = re.compile(r"dma: ext2loc (\d+) B / (\d+) cmds, loc2ext (\d+) B / (\d+) cmds; "
                       r"l3: read (\d+) B / (\d+) reqs, write (\d+) B / (\d+) reqs")
_DMA_PEAKS = re.compile(r"dma outstanding peak per layer:((?: \d+)*)")


@dataclass
class HostRun:
    """What one host run produced."""

    layers: dict[int, bytes]
    outputs: list[bytes]
    stdout: str
    dma_in: int
    dma_out: int
    dma_commands: int
    l3_read: int
    dma_in_commands: int = 0  # L2 -> L1 (ext2loc)
    dma_out_commands: int = 0  # L1 -> L2 (loc2ext)
    l3_reads: int = 0  # L3 read requests
    l3_write: int = 0  # bytes written L2 -> L3
    l3_writes: int = 0  # L3 write requests
    dma_peaks: tuple[int, ...] = ()  # per layer: most cluster-DMA commands outstanding at once


def requant64(files: Mapping[str, bytes]) -> bool:
    """Whether the app was generated for 64-bit requant constants (PULP-NN's `64bit` variant)."""
    return b"-DPULP_NN_REQUANT_64" in files["Makefile"]


def app_defines(files: Mapping[str, bytes], l1_bytes: int) -> dict[str, str | None]:
    """Runtime configuration of an app: cores, L1 budget, requant width (from its Makefile)."""
    defines: dict[str, str | None] = {"NUM_CORES": "8", "L1_SIZE": str(l1_bytes)}
    if requant64(files):
        defines["PULP_NN_REQUANT_64"] = None
    return defines


def app_build_setup(files: Mapping[str, bytes], directory: Path,
                    pulp_nn: Path | str | None) -> tuple[host_build.PulpNN | None, list[Path], dict[str, str | None]]:
    """For building the app in `directory`: the PULP-NN checkout variant (or None: ours), the
    include folders of the app sources and the defines they need beyond the runtime's."""
    if pulp_nn is None:
        return None, [directory], {"DORY_DUMP_LAYERS": None}
    checkout = host_build.pulp_nn_checkout(pulp_nn, requant64(files))
    return checkout, [directory, checkout.include_dir], {"DORY_DUMP_LAYERS": None}


def stack_table(files: Mapping[str, bytes], directory: Path, defines: Mapping[str, str | None],
                checkout: host_build.PulpNN | None, include_dirs: Sequence[Path]) -> list[Path]:
    """[the cluster stack needs table] measured on the rv32 build (`rv32_build`), for the runtime
    to check the task's stacks with; [] and a note when the rv32 toolchain is missing."""
    from dory_xdsl.engines import rv32_build

    missing = rv32_build.missing_tools(need_qemu=False)
    if missing is not None:
        print(f"host: cluster stacks not checked ({missing} is not installed)")
        return []
    stacks = rv32_build.measure_cluster_stacks(files, directory, defines, checkout, include_dirs)
    return [rv32_build.write_stack_table(stacks, directory)]


def run_failure(what: str, returncode: int, stderr: str) -> DoryError:
    """The one-line error for an app that exited with `returncode` (its first diagnostic)."""
    failure = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    first = next((ln for ln in failure if "ERROR" in ln or "runtime error" in ln), failure[0] if failure else "")
    return DoryError(f"the {what} app failed (exit {returncode}): {first}")


def build_and_run(files: Mapping[str, bytes], directory: Path, l1_bytes: int, weights_l2: bool = False,
                  pulp_nn: Path | str | None = None) -> HostRun:
    """Write, compile and run an app in `directory`; parse its dumps and counters.

    By default the app reads weights.bin (written beside it) through the emulated flash file
    system into the emulated HyperRAM, as on the board; `weights_l2` builds the `WEIGHTS_L2=1`
    variant instead (weights.c linked, `-DDORY_WEIGHTS_L2`). `pulp_nn`: a PULP-NN checkout
    whose kernels replace ours."""
    from dory_xdsl.lowering.app import write_app

    write_app(files, directory)
    defines = app_defines(files, l1_bytes)
    checkout, includes, app_only = app_build_setup(files, directory, pulp_nn)
    objects = host_build.host_runtime_objects(defines, checkout)
    binary = directory / "app"
    sources = [directory / s for s in APP_SOURCES + (("weights.c",) if weights_l2 else ())]
    extra: dict[str, str | None] = {**app_only, **({"DORY_WEIGHTS_L2": None} if weights_l2 else {})}
    sources += stack_table(files, directory, {**defines, **extra}, checkout, includes[1:])
    host_build.compile_host(sources + objects, binary, include_dirs=includes, defines={**defines, **extra},
                            with_runtime=False)
    try:
        proc = subprocess.run([str(binary)], cwd=directory, capture_output=True, text=True,
                              env=host_build.run_env(), timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise DoryError(f"the host app did not finish in {RUN_TIMEOUT} s") from None
    if proc.returncode != 0:
        raise run_failure("host", proc.returncode, proc.stderr)
    return parse_run(directory, proc.stdout)


def parse_run(directory: Path, stdout: str) -> HostRun:
    """The layer dumps (`layers.bin` in `directory`) and memory counters of a finished app."""
    layers, outputs = parse_dump((directory / "layers.bin").read_bytes())
    counters = _COUNTERS.search(stdout)
    if counters is None:
        raise DoryError("the app printed no DMA counters")
    ext2loc, n_in, loc2ext, n_out, l3_read, l3_reads, l3_write, l3_writes = (int(g) for g in counters.groups())
    peaks = _DMA_PEAKS.search(stdout)
    if peaks is None:
        raise DoryError("the app printed no DMA outstanding peaks")
    return HostRun(layers, outputs, stdout, ext2loc, loc2ext, n_in + n_out, l3_read, n_in, n_out, l3_reads,
                   l3_write, l3_writes, tuple(int(x) for x in peaks.group(1).split()))


def parse_dump(data: bytes) -> tuple[dict[int, bytes], list[bytes]]:
    """Records `<kind> <index> <bytes>\\n<raw>` of layers.bin: layer outputs and network outputs."""
    layers: dict[int, bytes] = {}
    outputs: dict[int, bytes] = {}
    pos = 0
    while pos < len(data):
        end = data.index(b"\n", pos)
        kind, index, size = data[pos:end].decode().split()
        raw = data[end + 1:end + 1 + int(size)]
        if len(raw) != int(size):
            raise DoryError("layers.bin is truncated")
        (layers if kind == "L" else outputs)[int(index)] = raw
        pos = end + 1 + int(size)
    return layers, [outputs[i] for i in sorted(outputs)]


def _array(raw: bytes, t: MemRefType) -> np.ndarray:
    from dory_xdsl.tensors import numpy_dtype

    dtype = numpy_dtype(t.element_type).newbyteorder("<")
    return np.frombuffer(raw, dtype=dtype).reshape(tuple(t.get_shape())).astype(dtype.newbyteorder("="))


def host_engine(module: ModuleOp, inputs: Sequence[np.ndarray]) -> EngineResult:
    """Engine entry (see `dory_xdsl.engines.registry`): lower, print, build and run on the host."""
    from dory_xdsl.lowering.pipeline import CompileOptions

    return prepare_host(module, CompileOptions())(inputs)


AppRunner = Callable[[Mapping[str, bytes], Path], HostRun]
"""Builds and runs an app's files in a fresh folder: the host's or QEMU's `build_and_run`."""


class AppBuild:
    """A module lowered, tiled and printed once (`lowering.pipeline.compile_module` under `options`); per
    input only `input.c` is printed again and the app rebuilt (runtime objects are cached)."""

    def __init__(self, module: ModuleOp, options):
        from dory_xdsl.analysis.signed_io import SignedBoundary
        from dory_xdsl.lowering.c_printer import num_bytes
        from dory_xdsl.lowering.pipeline import compile_module, main_input_types
        from dory_xdsl.tensors import numpy_dtype

        self.boundary = SignedBoundary.of(module)  # signed 8-bit tensors are stored as byte + 128
        self.app = compile_module(module.clone(), options=options)
        types = main_input_types(self.app.module)
        self._dtypes = [numpy_dtype(t.element_type) for t in types]
        self._sizes = [num_bytes(t) for t in types]

    def files(self, inputs: Sequence[np.ndarray]) -> dict[str, bytes]:
        """The app's files with `input.c` holding `inputs`."""
        from dory_xdsl.lowering.app import input_bytes, input_source

        if len(inputs) != len(self._sizes):
            raise DoryError(f"{len(inputs)} input(s) given, the network takes {len(self._sizes)}")
        data = input_bytes(self.boundary.stored_inputs(inputs), self._dtypes)
        source = input_source("network", self._sizes, data).encode()
        return {**self.app.files, "input.c": source}

    def run(self, inputs: Sequence[np.ndarray], name: str, runner: AppRunner) -> EngineResult:
        """Build and run the app on `inputs` with `runner` in a fresh folder; `name` prefixes
        the summary line."""
        import dataclasses

        files = self.files(inputs)
        with tempfile.TemporaryDirectory(prefix=f"dory-{name}-") as tmp:
            result = runner(files, Path(tmp))
        return self.boundary.result(app_result(dataclasses.replace(self.app, files=files), result, name))


def prepare_app(module: ModuleOp, options, name: str, runner: AppRunner) -> Prepared:
    """`run(inputs)` of an engine that builds the app with `runner` (see `AppBuild`)."""
    build = AppBuild(module, options)
    return lambda inputs: build.run(inputs, name, runner)


def prepare_host(module: ModuleOp, options) -> Prepared:
    """`dory run --engine host [--pulp-nn DIR]`: the app built with gcc for this machine."""
    pulp_nn = getattr(options, "pulp_nn", None)
    return prepare_app(module, options, "host",
                       lambda files, folder: build_and_run(files, folder, options.l1_bytes, pulp_nn=pulp_nn))


def host_result(app, l1_bytes: int, pulp_nn: Path | str | None = None) -> EngineResult:
    """Build and run a compiled app (`lowering.pipeline.compile_module`) on the host as an engine."""
    with tempfile.TemporaryDirectory(prefix="dory-host-") as tmp:
        run = build_and_run(app.files, Path(tmp), l1_bytes, pulp_nn=pulp_nn)
    return app_result(app, run, "host")


def app_result(app, run: HostRun, name: str) -> EngineResult:
    """The engine result of a finished run of a compiled app (`lowering.pipeline.compile_module`); prints
    one summary line `<name>: ...` from the runtime's counters."""
    from dory_xdsl.analysis.interpreter import NHWC_TO_NCHW
    from dory_xdsl.lowering.pipeline import layer_out_types
    from dory_xdsl.lowering.c_printer import count_inputs, main_of
    from dory_xdsl.transforms.qnn_legalize_pulp import lowered_layer_of

    out_types = layer_out_types(app.module)
    layers = []
    for number, index in sorted(lowered_layer_of(app.module, len(out_types)).items()):
        if index not in run.layers:
            raise DoryError(f"the {name} app dumped no output for layer {index}")
        array = _array(run.layers[index], out_types[index])
        layers.append(array.transpose(NHWC_TO_NCHW) if array.ndim == 4 else array)
    main = main_of(app.module)
    out_args = list(main.body.block.args)[count_inputs(main):]
    outputs = [_array(raw, arg.type) for raw, arg in zip(run.outputs, out_args)]  # type: ignore[arg-type]
    print(f"{name}: {len(out_types)} layers, {app.multi_tile_layers} with more than one tile; "
          f"DMA L2->L1 {run.dma_in} B, L1->L2 {run.dma_out} B ({run.dma_commands} commands, at most "
          f"{max(run.dma_peaks, default=0)} outstanding); L3 read {run.l3_read} B / {run.l3_reads} reqs, "
          f"write {run.l3_write} B / {run.l3_writes} reqs")
    return EngineResult(outputs, layers)
