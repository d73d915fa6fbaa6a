"""Test helpers: require the rv32 toolchain + QEMU, build a C driver for rv32 and run it on QEMU."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from dory_xdsl.engines import rv32_build


def require_rv32(need_qemu: bool = True) -> None:
    missing = rv32_build.missing_tools(need_qemu)
    if missing is None:
        return
    message = f"{missing} not installed (Debian: {rv32_build.PACKAGES})"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def build_rv32(sources: Sequence[Path], out_dir: Path, *, include_dirs: Sequence[Path] = (),
               defines: Mapping[str, str | None] | None = None, with_runtime: bool = False,
               extra_objects: Sequence[Path] = (), extra_flags: Sequence[str] = ()) -> Path:
    """Compile and link `sources` (+ the rv32 runtime and our kernels) to `out_dir/driver.elf`."""
    defines = dict(defines or {})
    objects = rv32_build.compile_sources(list(sources), out_dir, include_dirs, defines, extra_flags)
    if with_runtime:
        objects += rv32_build.kernel_objects(defines, None) + rv32_build.runtime_objects(defines)
    return rv32_build.link([*objects, *extra_objects], out_dir / "driver.elf")


def run_qemu(elf: Path, *args, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run on QEMU with argv[1:] = `args`; the app's stdout and stderr both come back in `.stdout`."""
    proc = rv32_build.run_qemu(elf, cwd or elf.parent, 120, [str(a) for a in args])
    return subprocess.CompletedProcess(proc.args, proc.returncode, proc.stdout + proc.stderr, "")
