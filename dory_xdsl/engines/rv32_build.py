"""Cross-build the generated app for rv32imc + picolibc and run it on qemu-system-riscv32.

Toolchain (Debian packages `gcc-riscv64-unknown-elf`, `picolibc-riscv64-unknown-elf`,
`qemu-system-misc`): `-march=rv32imc -mabi=ilp32 --specs=picolibc.specs` selects picolibc's
rv32im/ilp32 multilib. The app is linked for QEMU's `virt` board (flash at 0x80000000, RAM at
0x81000000) with semihosting: stdout, stderr and `fopen` / `fread` / `fwrite` go to the host
(the app reads `weights.bin` and writes `layers.bin` in the run folder), and QEMU exits with the
program's exit code. `-icount shift=0` makes `minstret` count retired instructions, which the
runtime reports as cycles (`pi_perf_read`).

The runtime is the host runtime's shared C (`runtime/pmsis_host.c`) with the rv32 platform
(`runtime/platform_rv32.c`: cluster cores as coroutines); the kernels are ours
(`pulp_nn_host.c`) or a PULP-NN checkout's (`host_build.PulpNN`, Xpulp emulated). Every object
is compiled with `-fstack-usage -fcallgraph-info=su` (`STACK_FLAGS`): `.su` / `.ci` files beside
the objects feed `dory_xdsl.engines.stack_usage`.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from dory_xdsl.engines import host_build
from dory_xdsl.errors import DoryError

RV32_CC = "riscv64-unknown-elf-gcc"
QEMU = "qemu-system-riscv32"
ARCH = ("-march=rv32imc", "-mabi=ilp32")
CFLAGS = (*ARCH, "--specs=picolibc.specs", "-std=gnu11", "-O2", "-Wall", "-Werror")
STACK_FLAGS = ("-fstack-usage", "-fcallgraph-info=su")
CSR_FLAGS = ("-march=rv32imc_zicsr",)
"""For `platform_rv32.c` only (csrr minstret): on the link line it would break multilib selection."""
LDFLAGS = (*ARCH, "--specs=picolibc.specs", "--oslib=semihost", "--crt0=semihost",
           "-Wl,--defsym=__flash=0x80000000", "-Wl,--defsym=__flash_size=0x1000000",
           "-Wl,--defsym=__ram=0x81000000", "-Wl,--defsym=__ram_size=0x7000000",
           "-Wl,--defsym=__stack_size=0x40000")
QEMU_ARGS = ("-M", "virt", "-m", "128M", "-bios", "none", "-display", "none", "-serial", "none",
             "-monitor", "none", "-icount", "shift=0")
SEMIHOSTING = "enable=on,target=native"
RUNTIME_SOURCES = ("pmsis_host.c", "fs_host.c")  # + PLATFORM_SOURCE, compiled with CSR_FLAGS
PLATFORM_SOURCE = "platform_rv32.c"
PACKAGES = "gcc-riscv64-unknown-elf picolibc-riscv64-unknown-elf qemu-system-misc"


def missing_tools(need_qemu: bool = True) -> str | None:
    """What of the rv32 toolchain is not installed (None when everything is)."""
    if shutil.which(RV32_CC) is None:
        return RV32_CC
    specs = subprocess.run([RV32_CC, "-print-file-name=picolibc.specs"], capture_output=True, text=True)
    if not Path(specs.stdout.strip()).is_absolute():
        return "picolibc for riscv64-unknown-elf"
    if need_qemu and shutil.which(QEMU) is None:
        return QEMU
    return None


def require_tools(what: str, need_qemu: bool = True) -> None:
    missing = missing_tools(need_qemu)
    if missing is not None:
        raise DoryError(f"{what} needs {missing} (Debian packages: {PACKAGES})")


def _define_flags(defines: Mapping[str, str | None]) -> list[str]:
    return [f"-D{k}" if v is None else f"-D{k}={v}" for k, v in sorted(defines.items())]


def kernel_objects(defines: Mapping[str, str | None], pulp_nn: host_build.PulpNN | None) -> list[Path]:
    """The PULP-NN kernels for rv32 (ours, or the checkout's with Xpulp emulated), cached, with
    their `.su` / `.ci` files."""
    headers = sorted(host_build.RUNTIME_DIR.rglob("*.h"))
    base = [RV32_CC, *CFLAGS, *STACK_FLAGS, *_define_flags(defines)]
    if pulp_nn is None:
        return host_build.compile_cached([*base, f"-I{host_build.RUNTIME_DIR}"],
                                         [host_build.RUNTIME_DIR / host_build.PULP_NN_HOST],
                                         depends=headers, what="rv32 kernel compilation")
    flags = [flag for flag in base if flag not in ("-Wall", "-Werror")]
    return host_build.compile_cached([*flags, "-w", *host_build.PULP_NN_CFLAGS, f"-I{pulp_nn.include_dir}",
                                      f"-I{host_build.RUNTIME_DIR}"], pulp_nn.sources,
                                     depends=[*headers, *sorted(pulp_nn.include_dir.glob("*.h"))],
                                     what="rv32 PULP-NN compilation")


def runtime_objects(defines: Mapping[str, str | None]) -> list[Path]:
    """The shared runtime + the rv32 platform (coroutine cores), cached."""
    headers = sorted(host_build.RUNTIME_DIR.rglob("*.h"))
    base = [RV32_CC, *CFLAGS, *_define_flags(defines), f"-I{host_build.RUNTIME_DIR}"]
    shared = host_build.compile_cached(base, [host_build.RUNTIME_DIR / name for name in RUNTIME_SOURCES],
                                       depends=headers, what="rv32 runtime compilation")
    platform = host_build.compile_cached([*base, *CSR_FLAGS], [host_build.RUNTIME_DIR / PLATFORM_SOURCE],
                                         depends=headers, what="rv32 runtime compilation")
    return shared + platform


def compile_sources(sources: Sequence[Path], out_dir: Path, include_dirs: Sequence[Path],
                    defines: Mapping[str, str | None], extra_flags: Sequence[str] = ()) -> list[Path]:
    """Compile app sources into `out_dir` (objects + `.su` / `.ci` files), not cached."""
    out_dir.mkdir(parents=True, exist_ok=True)
    objects = []
    for src in sources:
        obj = out_dir / (src.stem + ".o")
        cmd = [RV32_CC, *CFLAGS, *STACK_FLAGS, *[f"-I{d}" for d in include_dirs],
               *[f"-Wa,-I{d}" for d in include_dirs], f"-I{host_build.RUNTIME_DIR}",
               *_define_flags(defines), *extra_flags, "-c", str(src), "-o", str(obj)]
        host_build.run_compiler(cmd, f"rv32 compilation of {src.name}")
        objects.append(obj)
    return objects


def link(objects: Sequence[Path], elf: Path) -> Path:
    host_build.run_compiler([RV32_CC, *LDFLAGS, *map(str, objects), "-o", str(elf)], "rv32 link")
    return elf


def run_qemu(elf: Path, cwd: Path, timeout: float, args: Sequence[str] = ()) -> subprocess.CompletedProcess:
    """Run `elf` on QEMU in `cwd` (semihosting files are relative to it); picolibc passes `args`
    as argv[1:] (no commas: they separate QEMU's semihosting options)."""
    config = SEMIHOSTING + "".join(f",arg={a}" for a in args)
    try:
        return subprocess.run([QEMU, *QEMU_ARGS, "-semihosting-config", config, "-kernel", str(elf)], cwd=cwd,
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise DoryError(f"the rv32 app did not finish in {timeout:.0f} s on QEMU") from None


def measure_cluster_stacks(files: Mapping[str, bytes], directory: Path, defines: Mapping[str, str | None],
                           pulp_nn: host_build.PulpNN | None = None, include_dirs: Sequence[Path] = (),
                           app_objects: Path | None = None):
    """The stack needs (`stack_usage.ClusterStacks`: per cluster function its own frame, per
    layer function its deepest call chain) of the app in `files`, written in `directory`, on
    the rv32 build: network.c compiled with `-fstack-usage -fcallgraph-info=su` into
    `directory/rv32-stack` (or taken from `app_objects`, a folder where it already was), with
    the kernels it runs (ours, or `pulp_nn`'s sources)."""
    from dory_xdsl.engines.stack_usage import cluster_stacks

    require_tools("measuring cluster stacks", need_qemu=False)
    if app_objects is None:
        app_objects = directory / "rv32-stack"
        compile_sources([directory / "network.c"], app_objects, [directory, *include_dirs], defines)
    kernels = kernel_objects({k: v for k, v in defines.items() if not k.startswith("DORY_")}, pulp_nn)
    return cluster_stacks(files, [app_objects, kernels[0].parent])


def write_stack_table(stacks, directory: Path) -> Path:
    """`directory/dory_stack_needs.c`: the table the runtime checks the cluster stacks with."""
    from dory_xdsl.engines.stack_usage import stack_table_source

    path = directory / "dory_stack_needs.c"
    path.write_text(stack_table_source(stacks))
    return path
