"""Compile C against the dory-xdsl host runtime (gcc) or the GAP-8 prototype headers (RISC-V).

Host builds use `HOST_CFLAGS` (gnu11, -O2, -Wall -Werror, AddressSanitizer + UBSan) plus
`-no-pie`: generated code passes L1/L2 addresses to the DMA API as `uint32_t`, so the runtime
maps its arenas below 4 GB and the program's static data (L2 on GAP-8) must be there too.

`--pulp-nn DIR` builds against a real PULP-NN checkout instead of `pulp_nn_host.c`
(`PulpNN`: DIR/32bit or DIR/64bit, `src/*.c` + `include/`), its Xpulp builtins and vector types
emulated by `runtime/xpulp_emul.h` (force-included, with `-flax-vector-conversions`).

Objects that do not depend on the app (runtime, kernels) are compiled once per source contents
and flags and cached (`compile_cached`, `$DORY_CACHE_DIR`, default `~/.cache/dory-xdsl`).

The RISC-V check compiles with `RISCV_CFLAGS` against an include directory whose `pmsis.h`
is `runtime/pmsis_api.h` alone (plus the BSP headers `runtime/bsp/`), so generated code may use nothing the GAP-8 SDK lacks. The
Debian cross compiler ships no C library: that directory also holds a `stdint.h` forwarding to
gcc's own `stdint-gcc.h` (printf is declared by `pmsis_api.h`, as the SDK's pmsis.h does).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from dory_xdsl.errors import DoryError

RUNTIME_DIR = Path(__file__).resolve().parent / "runtime"
RUNTIME_SOURCES = ("pmsis_host.c", "fs_host.c", "platform_host.c", "pulp_nn_host.c")
PULP_NN_HOST = "pulp_nn_host.c"  # our kernels; replaced by a checkout's sources with --pulp-nn
XPULP_HEADER = RUNTIME_DIR / "xpulp_emul.h"
PULP_NN_CFLAGS = ("-flax-vector-conversions", "-include", str(XPULP_HEADER))
"""Extra flags for a PULP-NN checkout's sources (third-party code: warnings are not errors)."""
PULP_NN_HOST_CFLAGS = ("-fno-sanitize=alignment",)
"""On the host, for a checkout's sources only: PULP-NN loads int64 k/lambda from 4-byte aligned
addresses (two word loads on RV32) and words from any byte address (RI5CY allows misaligned
accesses); x86 does too, UBSan's alignment check would reject them. The other checks stay."""

HOST_CC = "gcc"
HOST_CFLAGS = (
    "-std=gnu11",
    "-O2",
    "-Wall",
    "-Werror",
    "-fsanitize=address,undefined",
    "-fno-sanitize-recover=all",
    "-pthread",
)
HOST_LDFLAGS = ("-no-pie",)

RISCV_CC = "riscv64-unknown-elf-gcc"
RISCV_CFLAGS = ("-march=rv32imc", "-mabi=ilp32", "-std=gnu11", "-Wall", "-Werror")

# Sanitizer settings for running host binaries: fail loudly, no interleaved reports.
RUN_ENV = {
    "ASAN_OPTIONS": "abort_on_error=0:detect_leaks=1:halt_on_error=1",
    "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1",
}


def runtime_sources() -> list[Path]:
    """The C files of the host runtime (PMSIS subset + PULP-NN kernels)."""
    return [RUNTIME_DIR / name for name in RUNTIME_SOURCES]


@dataclass(frozen=True)
class PulpNN:
    """One variant (`32bit` / `64bit`: width of k and lambda) of a PULP-NN checkout."""

    root: Path
    variant: str

    @property
    def include_dir(self) -> Path:
        return self.root / self.variant / "include"

    @property
    def sources(self) -> list[Path]:
        return sorted((self.root / self.variant / "src").glob("*.c"))


def pulp_nn_checkout(root: Path | str, requant64: bool) -> PulpNN:
    """The variant of the checkout at `root` an app generated with 64-bit (or 32-bit) requant
    constants needs; a one-line `DoryError` when the checkout does not have it."""
    checkout = PulpNN(Path(root).resolve(), "64bit" if requant64 else "32bit")
    if not (checkout.include_dir / "pulp_nn_kernels.h").is_file() or not checkout.sources:
        raise DoryError(f"--pulp-nn {root}: not a PULP-NN checkout with {checkout.variant}/include/"
                        f"pulp_nn_kernels.h and {checkout.variant}/src/*.c")
    return checkout


def cache_dir() -> Path:
    root = os.environ.get("DORY_CACHE_DIR") or Path.home() / ".cache" / "dory-xdsl"
    return Path(root)


def compile_cached(command: Sequence[str], sources: Sequence[Path], *, depends: Sequence[Path] = (),
                   what: str = "compilation") -> list[Path]:
    """`command + [-c src -o obj]` for each source, cached by the contents of `sources` and
    `depends` (headers) and by `command`; the objects (and any `.su` / `.ci` files the command
    writes beside them) live in one cache folder. Parallel sessions never see half-written
    objects (each is renamed into place)."""
    key = hashlib.sha256(repr(list(command)).encode())
    for path in [*sources, *depends]:
        key.update(str(path).encode() + b"\0" + Path(path).read_bytes())
    directory = cache_dir() / f"objects-{key.hexdigest()[:16]}"
    objects = [directory / (Path(src).stem + ".o") for src in sources]
    if all(o.is_file() for o in objects):
        return objects
    tmp_dir = directory / f"tmp-{os.getpid()}"
    tmp_dir.mkdir(parents=True, exist_ok=True)
    try:
        for src, obj in zip(sources, objects):
            tmp = tmp_dir / obj.name
            run_compiler([*command, "-c", str(src), "-o", str(tmp)], f"{what} of {Path(src).name}")
            for side in sorted(tmp_dir.glob(f"{Path(src).stem}.*")):
                if side != tmp:
                    side.replace(directory / side.name)
            tmp.replace(obj)  # last: its presence means the rest is there
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)
    return objects


def host_runtime_objects(defines: Mapping[str, str | None], pulp_nn: PulpNN | None = None) -> list[Path]:
    """The host runtime compiled with `defines`; the kernels are ours or `pulp_nn`'s sources."""
    headers = sorted(RUNTIME_DIR.rglob("*.h"))
    base = [HOST_CC, *HOST_CFLAGS, *_define_flags(defines)]
    ours = [s for s in runtime_sources() if pulp_nn is None or s.name != PULP_NN_HOST]
    objects = compile_cached([*base, f"-I{RUNTIME_DIR}"], ours, depends=headers, what="host runtime compilation")
    if pulp_nn is not None:
        flags = [flag for flag in base if flag not in ("-Wall", "-Werror")]
        objects += compile_cached([*flags, "-w", *PULP_NN_HOST_CFLAGS, *PULP_NN_CFLAGS, f"-I{pulp_nn.include_dir}", f"-I{RUNTIME_DIR}"],
                                  pulp_nn.sources, depends=[*headers, *sorted(pulp_nn.include_dir.glob("*.h"))],
                                  what="PULP-NN compilation")
    return objects


def memory_defines(l1_size: int | None = None, l2_size: int | None = None,
                   l3_size: int | None = None, requant64: bool = False) -> dict[str, str | None]:
    """`-D` definitions configuring the runtime: arena sizes and the requant-constant width."""
    defines: dict[str, str | None] = {}
    for name, value in (("L1_SIZE", l1_size), ("L2_SIZE", l2_size), ("L3_SIZE", l3_size)):
        if value is not None:
            defines[name] = str(int(value))
    if requant64:
        defines["PULP_NN_REQUANT_64"] = None
    return defines


def _define_flags(defines: Mapping[str, str | None]) -> list[str]:
    return [f"-D{k}" if v is None else f"-D{k}={v}" for k, v in sorted(defines.items())]


def run_compiler(cmd: list[str], what: str) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        lines = [ln for ln in (proc.stderr + proc.stdout).splitlines() if "error" in ln]
        first = lines[0] if lines else (proc.stderr.strip().splitlines() or ["no output"])[0]
        raise DoryError(f"{what} failed: {first}")


def compile_host(sources: Sequence[Path | str], output: Path | str, *,
                 include_dirs: Sequence[Path | str] = (),
                 defines: Mapping[str, str | None] | None = None,
                 with_runtime: bool = True, extra_flags: Sequence[str] = ()) -> Path:
    """Compile and link `sources` (plus the runtime unless `with_runtime=False`) to `output`."""
    if shutil.which(HOST_CC) is None:
        raise DoryError(f"host build needs '{HOST_CC}', which is not on PATH")
    srcs = [str(s) for s in sources] + ([str(s) for s in runtime_sources()] if with_runtime else [])
    includes = [f"-I{d}" for d in include_dirs] + [f"-Wa,-I{d}" for d in include_dirs] + [f"-I{RUNTIME_DIR}"]
    cmd = [HOST_CC, *HOST_CFLAGS, *extra_flags, *includes, *_define_flags(defines or {}), *srcs,
           *HOST_LDFLAGS, "-o", str(output)]
    run_compiler(cmd, "host compilation")
    return Path(output)


def run_env() -> dict[str, str]:
    """Environment for running a sanitized host binary."""
    return {**os.environ, **RUN_ENV}


def riscv_compiler() -> str | None:
    """Path of the 32-bit RISC-V cross compiler, or None when it is not installed."""
    return shutil.which(RISCV_CC)


def riscv_include_dir(dest: Path | str) -> Path:
    """Make `dest` an include directory whose `pmsis.h` declares only the GAP-8 API subset."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("pmsis_api.h", "pulp_nn_kernels.h"):
        shutil.copyfile(RUNTIME_DIR / name, dest / name)
    shutil.copytree(RUNTIME_DIR / "bsp", dest / "bsp", dirs_exist_ok=True)  # RAM, flash, FS APIs
    (dest / "pmsis.h").write_text('/* GAP-8 API subset only (dory-xdsl RISC-V check). */\n'
                                  '#include "pmsis_api.h"\n')
    (dest / "stdint.h").write_text("/* The cross compiler has no libc: gcc's freestanding types. */\n"
                                   "#include <stdint-gcc.h>\n")
    return dest


def compile_riscv(sources: Sequence[Path | str], out_dir: Path | str, *,
                  include_dirs: Sequence[Path | str] = (),
                  defines: Mapping[str, str | None] | None = None) -> list[Path]:
    """Compile (-c, no link) each source for rv32imc/ilp32 against the GAP-8 prototypes only."""
    cc = riscv_compiler()
    if cc is None:
        raise DoryError(f"RISC-V check needs '{RISCV_CC}' (Debian package gcc-riscv64-unknown-elf)")
    out_dir = Path(out_dir)
    proto = riscv_include_dir(out_dir / "gap8_include")
    includes = [f"-I{d}" for d in include_dirs] + [f"-Wa,-I{d}" for d in include_dirs] + [f"-I{proto}"]
    objects = []
    for src in sources:
        obj = out_dir / (Path(src).stem + ".o")
        run_compiler([cc, *RISCV_CFLAGS, *includes, *_define_flags(defines or {}), "-c",
                       str(src), "-o", str(obj)], f"RISC-V compilation of {Path(src).name}")
        objects.append(obj)
    return objects
