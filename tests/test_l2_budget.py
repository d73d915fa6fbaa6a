"""The whole-L2 estimate (lowering/l2_budget.py), what network.h carries of it, the WEIGHTS_L2=1
`#error`, `dory compile`'s L2 line and the host runtime's L2 heap limit."""

from __future__ import annotations

import subprocess

import pytest
from golden_apps import golden_app, mobilenet_model

from dory_xdsl.engines import host_build
from dory_xdsl.drivers.compile import report_l2
from dory_xdsl.lowering.pipeline import CompileOptions
from dory_xdsl.errors import DoryError
from dory_xdsl.engines.host_engine import build_and_run
from dory_xdsl.lowering.app import l2_usage_of
from dory_xdsl.lowering.l2_budget import (APP_CODE_BYTES_PER_LINE, CHIP_L2_BYTES, MAIN_CODE_BYTES,
                                          PULP_NN_CODE_BYTES, RUNTIME_RESERVE_BYTES, L2Usage, l2_usage)

NETWORK_C = """#define DORY_DMA_COUNTERS 12
static pi_cl_dma_cmd_t dory_dma_cmds[DORY_DMA_COUNTERS] __attribute__((unused));
static void layer0(void *arg)
{
    static pi_cl_ram_req_t l3_w[2]; /* used by core 0 only */
}
"""


def test_usage_counts_code_lines_static_arrays_inputs_and_tables():
    usage = l2_usage(NETWORK_C, input_bytes=13, plan=1000, layers=3, tables=2, weights_bytes=5)
    assert usage.code == PULP_NN_CODE_BYTES + MAIN_CODE_BYTES + 6 * APP_CODE_BYTES_PER_LINE
    assert usage.static == 16 + 12 * 32 + 2 * 160 + 3 * 4 + 2 * 8 + 8  # 8-B aligned input and weights
    assert usage.plan == 1000 and usage.reserve == RUNTIME_RESERVE_BYTES
    assert usage.total == usage.beside_plan + 1000
    assert usage.line().endswith(f"= {usage.total} B of {CHIP_L2_BYTES} B")


def test_network_h_holds_the_estimate_and_dory_compile_prints_it(capsys):
    app = golden_app(mobilenet_model(0.25, 96)).app
    usage = l2_usage_of(app.files)
    assert usage.plan == app.l2_bytes and usage.total <= CHIP_L2_BYTES
    header = app.files["network.h"].decode()
    assert f"#define NETWORK_L2_OTHER_BYTES {usage.beside_plan}\n" in header
    with_weights = l2_usage_of(app.files, weights_l2=True)
    assert with_weights.static == usage.static + len(app.files["weights.bin"])
    report_l2(app.files, "mb")
    captured = capsys.readouterr()
    over = with_weights.total - CHIP_L2_BYTES
    assert captured.out == f"L2 estimate: {usage.line()}; WEIGHTS_L2=1 does not fit ({over} B over)\n"
    assert captured.err == ""


def test_dory_compile_warns_when_the_default_build_does_not_fit(capsys):
    files = {"network.h": b"#define NETWORK_WEIGHTS_BYTES 0\n#define NETWORK_L2_BYTES 500000\n"
             b"#define NETWORK_L2_CODE_ESTIMATE 30000\n#define NETWORK_L2_STATIC_ESTIMATE 100\n"
             b"#define NETWORK_L2_RUNTIME_RESERVE 32768\n"}
    report_l2(files, "app")
    over = 500000 + 30000 + 100 + 32768 - CHIP_L2_BYTES
    assert capsys.readouterr().err == (f"dory: warning: app: L2: {over} B over GAP-8's {CHIP_L2_BYTES} B "
                                       "(estimate: lower the L2 plan with --l2-code-reserved)\n")


def test_weights_l2_build_that_does_not_fit_stops_at_compile_time(tmp_path):
    app = golden_app(mobilenet_model(0.25, 96)).app  # 489,488 B of weights
    assert l2_usage_of(app.files, weights_l2=True).total > CHIP_L2_BYTES
    with pytest.raises(DoryError, match="WEIGHTS_L2=1: the weights do not fit L2"):
        build_and_run(app.files, tmp_path, CompileOptions().l1_bytes, weights_l2=True)


def test_host_runtime_l2_heap_limit_fails_loudly(tmp_path):
    source = tmp_path / "heap.c"
    source.write_text('#include "pmsis.h"\n'
                      "static void app(void) { dory_host_l2_heap(4000); pi_l2_malloc(3000); pi_l2_malloc(2000);"
                      " pmsis_exit(0); }\n"
                      "int main(void) { return pmsis_kickoff((void *)app); }\n")
    binary = host_build.compile_host([source], tmp_path / "heap")
    proc = subprocess.run([str(binary)], capture_output=True, text=True, env=host_build.run_env())
    assert proc.returncode != 0
    assert "pi_l2_malloc: L2 heap (GAP-8 L2 minus code, static data, runtime) arena exhausted: cannot allocate " \
           "2000 bytes (3000 of 4000 bytes in use)" in proc.stderr
