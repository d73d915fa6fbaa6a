"""`dory run --engine host`: compile the generated GAP-8 application for this machine and run it.

The app of `dory_xdsl.lowering.pipeline.compile_module` (the same C `dory compile` writes, with the input
embedded) is built with gcc against the host runtime (`dory_xdsl.runtime`: PMSIS subset and
PULP-NN kernels) with `dory_xdsl.engines.host_build`'s flags (gnu11, -O2, -Wall -Werror,
AddressSanitizer + UBSan, -no-pie), in its default variant (weights.bin read at start-up
through the emulated HyperFlash file system, `runtime/fs_host.c`, into the emulated HyperRAM,
and copied to L2 per layer), and with `-DDORY_DUMP_LAYERS`: the app then writes every
layer output and network output to `layers.bin` (records `<L|O> <index> <bytes>\\n` + raw
bytes), which the engine reads back. The runtime is compiled once per flag set and cached
(`$DORY_CACHE_DIR`, default `~/.cache/dory-xdsl`).

Besides the engine result, it prints one line: layers, how many needed more than one tile, the
DMA bytes moved per direction and the L3 bytes read, from the runtime's counters.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
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


def cache_dir() -> Path:
    root = os.environ.get("DORY_CACHE_DIR") or Path.home() / ".cache" / "dory-xdsl"
    return Path(root)


def runtime_objects(defines: Mapping[str, str | None]) -> list[Path]:
    """The runtime compiled (-c) with `defines`, cached by source contents and flags."""
    key = hashlib.sha256()
    for src in host_build.runtime_sources():
        key.update(src.read_bytes())
    for header in sorted(host_build.RUNTIME_DIR.rglob("*.h")):
        key.update(header.read_bytes())
    key.update(repr((host_build.HOST_CC, host_build.HOST_CFLAGS, sorted(defines.items()))).encode())
    directory = cache_dir() / f"runtime-{key.hexdigest()[:16]}"
    objects = [directory / (src.stem + ".o") for src in host_build.runtime_sources()]
    if all(o.is_file() for o in objects):
        return objects
    directory.mkdir(parents=True, exist_ok=True)
    flags = [f"-D{k}" if v is None else f"-D{k}={v}" for k, v in sorted(defines.items())]
    for src, obj in zip(host_build.runtime_sources(), objects):
        tmp = obj.with_suffix(f".{os.getpid()}.tmp.o")
        cmd = [host_build.HOST_CC, *host_build.HOST_CFLAGS, f"-I{host_build.RUNTIME_DIR}", *flags,
               "-c", str(src), "-o", str(tmp)]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise DoryError(f"host runtime compilation failed: {(proc.stderr.strip().splitlines() or ['?'])[0]}")
        tmp.replace(obj)  # atomic: parallel sessions never see half-written objects
    return objects


def app_defines(files: Mapping[str, bytes], l1_bytes: int) -> dict[str, str | None]:
    """Runtime configuration of an app: cores, L1 budget, requant width (from its Makefile)."""
    defines: dict[str, str | None] = {"NUM_CORES": "8", "L1_SIZE": str(l1_bytes)}
    if b"-DPULP_NN_REQUANT_64" in files["Makefile"]:
        defines["PULP_NN_REQUANT_64"] = None
    return defines


def build_and_run(files: Mapping[str, bytes], directory: Path, l1_bytes: int, weights_l2: bool = False) -> HostRun:
    """Write, compile and run an app in `directory`; parse its dumps and counters.

    By default the app reads weights.bin (written beside it) through the emulated flash file
    system into the emulated HyperRAM, as on the board; `weights_l2` builds the `WEIGHTS_L2=1`
    variant instead (weights.c linked, `-DDORY_WEIGHTS_L2`)."""
    from dory_xdsl.lowering.app import write_app

    write_app(files, directory)
    defines = app_defines(files, l1_bytes)
    objects = runtime_objects(defines)
    binary = directory / "app"
    sources = [directory / s for s in APP_SOURCES + (("weights.c",) if weights_l2 else ())]
    extra: dict[str, str | None] = {"DORY_DUMP_LAYERS": None, **({"DORY_WEIGHTS_L2": None} if weights_l2 else {})}
    host_build.compile_host(sources + objects, binary, include_dirs=[directory], defines={**defines, **extra},
                            with_runtime=False)
    try:
        proc = subprocess.run([str(binary)], cwd=directory, capture_output=True, text=True,
                              env=host_build.run_env(), timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise DoryError(f"the host app did not finish in {RUN_TIMEOUT} s") from None
    if proc.returncode != 0:
        failure = [ln.strip() for ln in proc.stderr.splitlines() if ln.strip()]
        first = next((ln for ln in failure if "ERROR" in ln or "runtime error" in ln), failure[0] if failure else "")
        raise DoryError(f"the host app failed (exit {proc.returncode}): {first}")
    layers, outputs = parse_dump((directory / "layers.bin").read_bytes())
    counters = _COUNTERS.search(proc.stdout)
    if counters is None:
        raise DoryError("the host app printed no DMA counters")
    ext2loc, n_in, loc2ext, n_out, l3_read, l3_reads, l3_write, l3_writes = (int(g) for g in counters.groups())
    peaks = _DMA_PEAKS.search(proc.stdout)
    if peaks is None:
        raise DoryError("the host app printed no DMA outstanding peaks")
    return HostRun(layers, outputs, proc.stdout, ext2loc, loc2ext, n_in + n_out, l3_read, n_in, n_out, l3_reads,
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


def host_result(app, l1_bytes: int) -> EngineResult:
    """Build and run a compiled app (`lowering.pipeline.compile_module`) as an engine."""
    from dory_xdsl.lowering.pipeline import layer_out_types
    from dory_xdsl.analysis.interpreter import NHWC_TO_NCHW
    from dory_xdsl.lowering.c_printer import count_inputs, main_of
    from dory_xdsl.transforms.qnn_legalize_pulp import lowered_layer_of

    with tempfile.TemporaryDirectory(prefix="dory-host-") as tmp:
        run = build_and_run(app.files, Path(tmp), l1_bytes)
    out_types = layer_out_types(app.module)
    layers = []
    for number, index in sorted(lowered_layer_of(app.module, len(out_types)).items()):
        if index not in run.layers:
            raise DoryError(f"the host app dumped no output for layer {index}")
        array = _array(run.layers[index], out_types[index])
        layers.append(array.transpose(NHWC_TO_NCHW) if array.ndim == 4 else array)
    main = main_of(app.module)
    out_args = list(main.body.block.args)[count_inputs(main):]
    outputs = [_array(raw, arg.type) for raw, arg in zip(run.outputs, out_args)]  # type: ignore[arg-type]
    print(f"host: {len(out_types)} layers, {app.multi_tile_layers} with more than one tile; "
          f"DMA L2->L1 {run.dma_in} B, L1->L2 {run.dma_out} B ({run.dma_commands} commands, at most "
          f"{max(run.dma_peaks, default=0)} outstanding); L3 read {run.l3_read} B / {run.l3_reads} reqs, write {run.l3_write} B / {run.l3_writes} reqs")
    return EngineResult(outputs, layers)


def prepare_host(module: ModuleOp, options) -> Prepared:
    """Lower, tile and print once (`lowering.pipeline.compile_module`); per input only `input.c` is
    printed again and the app rebuilt (runtime objects are cached) and run. Inputs and results in
    the imported module's types (`analysis.signed_io`)."""
    import dataclasses

    from dory_xdsl.analysis.signed_io import SignedBoundary
    from dory_xdsl.lowering.app import input_bytes, input_source
    from dory_xdsl.lowering.c_printer import num_bytes
    from dory_xdsl.lowering.pipeline import compile_module, main_input_types
    from dory_xdsl.tensors import numpy_dtype

    boundary = SignedBoundary.of(module)
    app = compile_module(module.clone(), options=options)
    types = main_input_types(app.module)
    dtypes = [numpy_dtype(t.element_type) for t in types]
    sizes = [num_bytes(t) for t in types]

    def run(inputs: Sequence[np.ndarray]) -> EngineResult:
        if len(inputs) != len(types):
            raise DoryError(f"{len(inputs)} input(s) given, the network takes {len(types)}")
        data = input_bytes(boundary.stored_inputs(inputs), dtypes)
        source = input_source("network", sizes, data).encode()
        result = host_result(dataclasses.replace(app, files={**app.files, "input.c": source}), options.l1_bytes)
        return boundary.result(result)

    return run
