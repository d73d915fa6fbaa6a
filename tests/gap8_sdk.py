"""The generated app against the real GAP-8 SDK headers and PULP-NN (../shared/third_party).

`sdk_command(app_dir, variant_include)` is the command of ../shared/third_party/README.md (the
include order and macro set of an installed gap_sdk building a GAP-8 / pulp-os app);
`makefile_flags(app_dir, pulp_nn_dir, ...)` evaluates the app's own Makefile with make (a stub
`pmsis_rules.mk` prints APP_SRCS / APP_CFLAGS / READFS_FILES instead of building), so the test uses
the flags and sources the Makefile really sets; `app_diagnostics` keeps the diagnostics that point
into the app's own files (the SDK headers warn on their own with -Wall).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

THIRD_PARTY = Path(__file__).resolve().parents[1].parent / "shared" / "third_party"
SDK = THIRD_PARTY / "gap_sdk"
PULP_NN = THIRD_PARTY / "pulp-nn"
CC = "riscv64-unknown-elf-gcc"


def require_sdk() -> None:
    """Skip without the cross compiler or the third-party copies, unless CI is set (then fail)."""
    missing = [what for what, ok in ((CC, shutil.which(CC)), (str(SDK), SDK.is_dir()),
                                     (str(PULP_NN), PULP_NN.is_dir()), ("make", shutil.which("make"))) if not ok]
    if missing:
        message = f"missing: {', '.join(missing)} (Debian: gcc-riscv64-unknown-elf picolibc-riscv64-unknown-elf)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def sdk_command(extra: list[str]) -> list[str]:
    s = SDK
    return [
        CC, "-march=rv32imc", "-mabi=ilp32", "--specs=picolibc.specs", "-std=gnu11", "-fsyntax-only",
        "-D__riscv__", "-D__GAP__", "-D__GAP8__", "-DCHIP_VERSION=3", "-D__pulp__", "-DCONFIG_GAP",
        "-D__PULP_OS__", "-DCONFIG_GAPUINO", "-D__PLATFORM_BOARD__", "-DRT_FC_STACK_SIZE=2048",
        "-D__RT_IODEV__=2",
        "-include", f"{s}/gap8/rtos/pulp/pulp-os/include/rt/chips/gap8_revc/config.h",
        f"-I{s}/gap8/rtos/pulp/pulp-os/include", f"-I{s}/rtos/pmsis/api/include",
        f"-I{s}/rtos/pmsis/bsp/include", f"-I{s}/gap8/rtos/pulp/archi_pulp/include",
        f"-I{s}/gap8/rtos/pulp/hal_pulp/include", *extra,
    ]


def makefile_flags(app: Path, pulp_nn_dir: Path, weights_l2: bool = False) -> dict[str, list[str]]:
    """APP_SRCS, APP_CFLAGS, READFS_FILES as the app's Makefile sets them (make, stub rules)."""
    rules = app / "stub_rules"
    rules.mkdir(exist_ok=True)
    (rules / "pmsis_rules.mk").write_text(
        "print:\n\t@echo 'APP_SRCS=$(APP_SRCS)'\n\t@echo 'APP_CFLAGS=$(APP_CFLAGS)'\n"
        "\t@echo 'READFS_FILES=$(READFS_FILES)'\n")
    cmd = ["make", "-s", "-C", str(app), f"RULES_DIR={rules}", f"PULP_NN_DIR={pulp_nn_dir}", "print"]
    if weights_l2:
        cmd.append("WEIGHTS_L2=1")
    proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
    values = dict(line.split("=", 1) for line in proc.stdout.splitlines() if "=" in line)
    return {k: v.split() for k, v in values.items()}


DIAGNOSTIC = re.compile(r"^(?P<file>[^:\s]+):\d+:\d+: (?P<kind>error|warning): (?P<text>.*)$", re.M)
APP_HEADERS = {"network.h"}


def app_diagnostics(app: Path, flags: dict[str, list[str]]) -> list[str]:
    """Errors and warnings (-Wall) in the app's own files, compiled as the SDK would."""
    own = [s for s in flags["APP_SRCS"] if "/" not in s]
    cmd = sdk_command(["-Wall", *flags["APP_CFLAGS"], *own])
    proc = subprocess.run(cmd, cwd=app, capture_output=True, text=True)
    found = [m.group(0) for m in DIAGNOSTIC.finditer(proc.stderr) if m.group("file") in own
             or m.group("file") in APP_HEADERS]
    if proc.returncode != 0 and not found:
        found = [f"compiler failed: {proc.stderr.strip().splitlines()[-1:]}"]
    return found
