"""`dory run --engine qemu-rv32`: the generated app cross-compiled for rv32imc and run on QEMU.

The same app as `--engine host` (`host_engine.prepare_app`: lowered, tiled and printed once,
`input.c` per input, `-DDORY_DUMP_LAYERS`), built by `dory_xdsl.engines.rv32_build` with picolibc
against the shared runtime on its rv32 platform (8 cluster cores as coroutines on one hart; DMA,
L3 and limit checks as on the host), with our kernels or the real PULP-NN sources
(`--pulp-nn DIR`), and run on `qemu-system-riscv32` with semihosting. The cluster stacks are
measured on the same objects (`stack_usage`) and checked by the runtime when the cluster task
starts. Besides the engine result it prints the host engine's summary line and the retired
instructions per layer (minstret under `-icount shift=0`; all 8 cores' work, run one after
the other), as `qemu-rv32: retired instructions per layer: <n0> <n1> ... (total <n>)`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from xdsl.dialects.builtin import ModuleOp

from dory_xdsl.engines import rv32_build
from dory_xdsl.engines.result import EngineResult, Prepared
from dory_xdsl.errors import DoryError
from dory_xdsl.engines.host_engine import APP_SOURCES, HostRun, app_build_setup, app_defines, parse_run, prepare_app

NAME = "qemu-rv32"
RUN_TIMEOUT = 900
_LAYER_COUNT = re.compile(r"^layer (\d+): (\d+) cycles$", re.MULTILINE)


def layer_instructions(stdout: str) -> list[int]:
    """Retired instructions per layer from the app's `layer <i>: <n> cycles` report lines."""
    counts = {int(i): int(n) for i, n in _LAYER_COUNT.findall(stdout)}
    return [counts[i] for i in sorted(counts)]


def build_and_run(files: Mapping[str, bytes], directory: Path, l1_bytes: int,
                  pulp_nn: Path | str | None = None) -> HostRun:
    """Write, cross-compile, link and run an app on QEMU in `directory`; parse its outputs."""
    from dory_xdsl.lowering.app import write_app

    rv32_build.require_tools(f"--engine {NAME}")
    write_app(files, directory)
    defines = app_defines(files, l1_bytes)
    checkout, includes, app_only = app_build_setup(files, directory, pulp_nn)
    app_objects = rv32_build.compile_sources([directory / s for s in APP_SOURCES], directory / "obj",
                                             includes, {**defines, **app_only})
    kernels = rv32_build.kernel_objects(defines, checkout)
    stacks = rv32_build.measure_cluster_stacks(files, directory, defines, checkout, app_objects=directory / "obj")
    table = rv32_build.compile_sources([rv32_build.write_stack_table(stacks, directory)], directory / "obj", [],
                                       defines)
    elf = rv32_build.link([*app_objects, *table, *kernels, *rv32_build.runtime_objects(defines)],
                          directory / "app.elf")
    proc = rv32_build.run_qemu(elf, directory, RUN_TIMEOUT)
    output = proc.stdout + proc.stderr  # QEMU's semihosting console mixes the app's stdout and stderr
    if proc.returncode != 0:
        last = ([ln.strip() for ln in output.splitlines() if ln.strip()] or [""])[-1]
        raise DoryError(f"the {NAME} app failed (exit {proc.returncode}): {last}")
    run = parse_run(directory, output)
    counts = layer_instructions(output)
    print(f"{NAME}: retired instructions per layer: {' '.join(map(str, counts))} (total {sum(counts)})")
    return run


def prepare_qemu(module: ModuleOp, options) -> Prepared:
    """`dory run --engine qemu-rv32 [--pulp-nn DIR]`."""
    pulp_nn = getattr(options, "pulp_nn", None)
    return prepare_app(module, options, NAME,
                       lambda files, folder: build_and_run(files, folder, options.l1_bytes, pulp_nn))


def qemu_engine(module: ModuleOp, inputs: Sequence[np.ndarray]) -> EngineResult:
    """Engine entry (see `dory_xdsl.engines`) at the default budgets."""
    from dory_xdsl.lowering.pipeline import CompileOptions

    return prepare_qemu(module, CompileOptions())(inputs)
