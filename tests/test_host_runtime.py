"""Host PMSIS runtime (runtime/pmsis_host.c): arenas, DMA limits and counters, L3, team, barrier,
and the 32-bit RISC-V compile check against the GAP-8 prototypes only."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from dory_xdsl.engines import host_build
from dory_xdsl.errors import DoryError

C_DIR = Path(__file__).resolve().parent / "c"
L1 = 70000  # big enough for a 65,535-byte DMA command into L1


@pytest.fixture(scope="module")
def driver(tmp_path_factory):
    out = tmp_path_factory.mktemp("rd") / "runtime_driver"
    defines = host_build.memory_defines(l1_size=L1)
    return host_build.compile_host([C_DIR / "runtime_driver.c"], out, defines=defines)


def run(driver, *args, code=0):
    proc = subprocess.run([str(driver), *map(str, args)], capture_output=True, text=True,
                          env=host_build.run_env(), timeout=60)
    assert proc.returncode == code, (proc.returncode, proc.stdout, proc.stderr[-2000:])
    return proc


def counters(stdout: str) -> dict[str, int]:
    m = re.search(r"dma: ext2loc (\d+) B / (\d+) cmds, loc2ext (\d+) B / (\d+) cmds; "
                  r"l3: read (\d+) B / (\d+) reqs, write (\d+) B / (\d+) reqs", stdout)
    assert m, stdout
    keys = ["in_bytes", "in_cmds", "out_bytes", "out_cmds", "l3_read", "l3_reads", "l3_write", "l3_writes"]
    return dict(zip(keys, map(int, m.groups())))


def aborts(driver, *args, message):
    proc = subprocess.run([str(driver), *map(str, args)], capture_output=True, text=True,
                          env=host_build.run_env(), timeout=60)
    assert proc.returncode != 0
    first = proc.stderr.strip().splitlines()[0] if proc.stderr.strip() else ""
    assert first == message, proc.stderr[-2000:]


@pytest.mark.parametrize("size,direction", [(1, 1), (32767, 1), (20000, 0), (777, 0)])
def test_dma_1d_moves_and_counts_bytes(driver, size, direction):
    c = counters(run(driver, "dma1d", size, direction).stdout)
    moved, cmds = (c["in_bytes"], c["in_cmds"]) if direction else (c["out_bytes"], c["out_cmds"])
    other = c["out_bytes"] if direction else c["in_bytes"]
    assert (moved, cmds, other) == (size, 1, 0)


@pytest.mark.parametrize("size,stride,length,direction",
                         [(1000, 3000, 100, 1), (32767, 32767, 32767, 1), (4096, 64, 16, 0), (60, 7, 3, 1),
                          (65535, 13107, 13107, 1)])
def test_dma_2d_moves_strided_lines(driver, size, stride, length, direction):
    c = counters(run(driver, "dma2d", size, stride, length, direction).stdout)
    assert (c["in_bytes"] if direction else c["out_bytes"]) == size


@pytest.mark.parametrize("args,message", [
    (("dma2d", 65536, 4096, 4096, 1), "pi_cl_dma_cmd_2d: size exceeds 65535 bytes per command"),
    (("dma1d", 32768, 1), "pi_cl_dma_cmd: 1-D size must be < 32768 (one MCHAN command)"),
    (("mchan_outstanding", 17), "pi_cl_dma_cmd: layer 3 (layer3_test): a 17th cluster-DMA command outstanding, "
                                "the MCHAN has 16 transfer counters (the core would stall for ever)"),
    (("mchan_wait_twice",), "pi_cl_dma_cmd_wait: the command is not outstanding (never issued, or already waited)"),
    (("mchan_reuse",), "pi_cl_dma_cmd_2d: the command struct is reused while its transfer is outstanding"),
    (("dma1d", 0, 1), "pi_cl_dma_cmd: size is 0"),
    (("dma2d", 32768, 32768, 32768, 1), "pi_cl_dma_cmd_2d: 2-D line length must be < 32768"),
    (("dma2d", 1000, 32768, 100, 0), "pi_cl_dma_cmd_2d: 2-D stride must be < 32768"),
    (("dma2d", 1000, 300, 300, 1), "pi_cl_dma_cmd_2d: size is not a multiple of the 2-D line length"),
    (("dma_l1_outside",), "pi_cl_dma_cmd: local (L1) side is not inside an allocated L1 block"),
    (("dma_l1_overrun",), "pi_cl_dma_cmd: local (L1) side is not inside an allocated L1 block"),
    (("dma_l1_freed",), "pi_cl_dma_cmd: local (L1) side is not inside an allocated L1 block"),
    (("dma_ext_outside",), "pi_cl_dma_cmd: external side is not inside L2 (an allocated L2 block or static data)"),
    (("fc_dma",), "pi_cl_dma_cmd: called outside a cluster task"),
])
def test_dma_limits_abort(driver, args, message):
    aborts(driver, *args, message=message)


@pytest.mark.parametrize("n", [1, 5, 16])
def test_mchan_counters_are_freed_by_waits_and_the_peak_is_recorded(driver, n):
    assert f"peak {n}\n" in run(driver, "mchan_outstanding", n).stdout


def test_dma_from_static_data_is_l2(driver):
    assert "static ok" in run(driver, "dma_static").stdout


def test_l1_arena_is_exactly_the_budget(driver):
    run(driver, "l1_budget", L1 - 700, 700)
    aborts(driver, "l1_budget", L1 - 700, 701, message=(
        f"pi_cl_l1_malloc: L1 arena exhausted: cannot allocate 701 bytes ({L1 - 700} of {L1} bytes in use)"))


def test_l1_free_checks_size_and_reuses_space(driver):
    aborts(driver, "l1_free_wrong", message="pi_cl_l1_free: freeing a 100-byte L1 block with size 96")
    assert "reuse ok" in run(driver, "l1_reuse").stdout


def test_l2_arena_default_budget(driver):
    run(driver, "l2_budget", 500000, 12000)
    aborts(driver, "l2_budget", 500000, 12001, message=(
        "pi_l2_malloc: L2 arena exhausted: cannot allocate 12001 bytes (500000 of 512000 bytes in use)"))


@pytest.mark.parametrize("at,size,stride,length", [(100, 1000, 0, 0), (3, 999, 300, 111), (0, 65536, 0, 0)])
def test_l3_reads_written_data_and_counts(driver, at, size, stride, length):
    c = counters(run(driver, "ram", at, size, stride, length).stdout)
    assert (c["l3_read"], c["l3_reads"]) == (size, 1)


def test_l3_bounds(driver):
    aborts(driver, "ram", 8 * 1024 * 1024 - 999, 1000, 0, 0,
           message="pi_cl_ram_read: L3 range is out of bounds")


def test_barrier_synchronises_eight_threads(driver):
    out = run(driver, "barrier", 3000).stdout
    assert "barrier rounds=3000 errors=0 ids=0xff" in out


def test_nested_fork_and_exit_code(driver):
    aborts(driver, "nested_fork",
           message="pi_cl_team_fork: must be called by core 0 of a cluster task, outside a team")
    run(driver, "fc_exit", 3, code=3)


# ------------------------------------------------------------------- RISC-V compile check


def _riscv_or_skip():
    if host_build.riscv_compiler() is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{host_build.RISCV_CC} is required in CI (Debian gcc-riscv64-unknown-elf)")
        pytest.skip(f"{host_build.RISCV_CC} not installed (apt-get install gcc-riscv64-unknown-elf)")


@pytest.mark.parametrize("requant64", [False, True])
def test_every_kernel_call_compiles_for_rv32(tmp_path, requant64):
    _riscv_or_skip()
    defines = host_build.memory_defines(requant64=requant64)
    (obj,) = host_build.compile_riscv([C_DIR / "gap8_calls.c"], tmp_path, defines=defines)
    header = obj.read_bytes()[:20]
    assert header[:4] == b"\x7fELF" and header[4] == 1  # ELFCLASS32
    assert int.from_bytes(header[18:20], "little") == 243  # EM_RISCV


def test_same_calls_build_against_the_host_runtime(tmp_path):
    host_build.compile_host([C_DIR / "gap8_calls.c"], tmp_path / "gap8_calls")


def test_rv32_check_rejects_host_only_api(tmp_path):
    _riscv_or_skip()
    src = tmp_path / "uses_host_extra.c"
    src.write_text('#include "pmsis.h"\nvoid f(void) { dory_host_counters_reset(); }\n')
    with pytest.raises(DoryError, match="RISC-V compilation of uses_host_extra.c failed"):
        host_build.compile_riscv([src], tmp_path)
