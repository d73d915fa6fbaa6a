"""The runtime on its rv32 platform (runtime/platform_rv32.c: picolibc, QEMU, cluster cores as
coroutines): the host runtime's driver scenarios give the same results and the same one-line
failures; barriers, deadlock detection; the cluster stack check (also on the host)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from rv32_tools import build_rv32, require_rv32, run_qemu

from dory_xdsl.engines import host_build

C_DIR = Path(__file__).resolve().parent / "c"
L1 = 70000  # as tests/test_host_runtime.py
DEFINES = {"L1_SIZE": str(L1), "NUM_CORES": "8"}


@pytest.fixture(scope="module")
def driver(tmp_path_factory):
    require_rv32()
    return build_rv32([C_DIR / "runtime_driver.c"], tmp_path_factory.mktemp("rv32rd"), defines=DEFINES,
                      with_runtime=True)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    require_rv32()
    return build_rv32([C_DIR / "cluster_driver.c"], tmp_path_factory.mktemp("rv32cd"), with_runtime=True)


def counters(stdout: str) -> tuple[int, ...]:
    m = re.search(r"dma: ext2loc (\d+) B / (\d+) cmds, loc2ext (\d+) B / (\d+) cmds; "
                  r"l3: read (\d+) B / (\d+) reqs, write (\d+) B / (\d+) reqs", stdout)
    assert m, stdout
    return tuple(map(int, m.groups()))


def last_line(proc) -> str:
    return proc.stdout.strip().splitlines()[-1]


@pytest.mark.parametrize("args,expected", [
    (("dma1d", 32767, 1), (32767, 1, 0, 0)),
    (("dma2d", 65535, 13107, 13107, 1), (65535, 1, 0, 0)),
    (("dma1d", 777, 0), (0, 0, 777, 1)),
    (("dma2d", 4096, 64, 16, 0), (0, 0, 4096, 1)),
    (("dma2d", 1000, 3000, 100, 1), (1000, 1, 0, 0)),
])
def test_dma_moves_and_counts_as_on_the_host(driver, args, expected):
    proc = run_qemu(driver, *args)
    assert proc.returncode == 0, proc.stdout[-2000:]
    assert counters(proc.stdout)[:4] == expected


@pytest.mark.parametrize("args,message", [
    (("dma1d", 32768, 1), "pi_cl_dma_cmd: 1-D size must be < 32768 (one MCHAN command)"),
    (("mchan_outstanding", 17), "pi_cl_dma_cmd: layer 3 (layer3_test): a 17th cluster-DMA command outstanding, "
                                "the MCHAN has 16 transfer counters (the core would stall for ever)"),
    (("mchan_wait_twice",), "pi_cl_dma_cmd_wait: the command is not outstanding (never issued, or already waited)"),
    (("dma2d", 1000, 32768, 100, 0), "pi_cl_dma_cmd_2d: 2-D stride must be < 32768"),
    (("dma_l1_overrun",), "pi_cl_dma_cmd: local (L1) side is not inside an allocated L1 block"),
    (("dma_ext_outside",), "pi_cl_dma_cmd: external side is not inside L2 (an allocated L2 block or static data)"),
    (("l1_budget", L1 - 700, 701),
     f"pi_cl_l1_malloc: L1 arena exhausted: cannot allocate 701 bytes ({L1 - 700} of {L1} bytes in use)"),
    (("ram", 8 * 1024 * 1024 - 999, 1000, 0, 0), "pi_cl_ram_read: L3 range is out of bounds"),
    (("nested_fork",), "pi_cl_team_fork: must be called by core 0 of a cluster task, outside a team"),
])
def test_limits_fail_with_the_host_messages(driver, args, message):
    proc = run_qemu(driver, *args)
    assert proc.returncode != 0 and last_line(proc) == message, proc.stdout[-2000:]


def test_mchan_peak_as_on_the_host(driver):
    assert "peak 16\n" in run_qemu(driver, "mchan_outstanding", 16).stdout


def test_static_data_l3_and_exit_code(driver):
    assert "static ok" in run_qemu(driver, "dma_static").stdout
    proc = run_qemu(driver, "ram", 3, 999, 300, 111)
    assert proc.returncode == 0 and counters(proc.stdout)[4:6] == (999, 1)
    assert run_qemu(driver, "fc_exit", 3).returncode == 3


def test_barrier_rounds_on_coroutines(driver, cluster):
    assert "barrier rounds=300 errors=0 ids=0xff" in run_qemu(driver, "barrier", 300).stdout
    proc = run_qemu(cluster, "rounds", 50)
    assert proc.returncode == 0 and "rounds ok errors=0" in proc.stdout, proc.stdout[-2000:]


def test_a_core_leaving_the_team_early_is_a_deadlock(cluster):
    proc = run_qemu(cluster, "early_return")
    assert proc.returncode != 0
    assert last_line(proc) == ("pi_cl_team_barrier: a core returned from the team entry while others wait "
                               "at a barrier (a deadlock on GAP-8)")


STACK_CASES = [
    ((1700, 1500), "stacks ok errors=0"),
    ((1599, 1500), "pi_cluster_send_task_to_cl: layer_a needs 1600 B of stack on top of the task entry's "
                   "(deepest call chain, rv32 -fstack-usage), the master stack (stack_size) is 1599 B"),
    ((4096, 1499), "pi_cluster_send_task_to_cl: layer_a needs 1500 B of stack (deepest call chain, rv32 "
                   "-fstack-usage), each worker stack (slave_stack_size) is 1499 B"),
    ((8192, 4096), "pi_cluster_send_task_to_cl: cluster stacks (8192 B master + 7 x 4096 B) + L1 arena "
                   "36700 B = 73564 B exceed the 65536 B of L1"),
]


@pytest.mark.parametrize("stacks,line", STACK_CASES)
def test_cluster_stacks_are_checked_on_rv32(cluster, stacks, line):
    assert last_line(run_qemu(cluster, "stacks", *stacks)) == line


@pytest.fixture(scope="module")
def host_cluster(tmp_path_factory):
    return host_build.compile_host([C_DIR / "cluster_driver.c"], tmp_path_factory.mktemp("cd") / "cluster_driver")


@pytest.mark.parametrize("stacks,line", STACK_CASES)
def test_cluster_stacks_are_checked_on_the_host(host_cluster, stacks, line):
    proc = subprocess.run([str(host_cluster), "stacks", *map(str, stacks)], capture_output=True, text=True,
                          env=host_build.run_env(), timeout=60)
    assert (proc.stdout + proc.stderr).strip().splitlines()[0] == line
