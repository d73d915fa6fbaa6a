"""The final softmax in generated C (`lowering.softmax_c`): the C routine `dory_softmax_int8`
against `qdq_softmax.softmax_int8` (TFLM's fixed-point kernel) on random logits, built with the
host flags (-Wall -Werror, ASan + UBSan) and for RISC-V. The app end to end: ResNet-8 on the
host engine in `test_qdq_models` (exact vs TFLM; `dory run` applies no Python softmax after the
host engine, `engines.APPLIES_SOFTMAX_TAIL`)."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

from dory_xdsl.engines import host_build
from dory_xdsl.lowering.softmax_c import SOFTMAX_HELPER, softmax_call
from dory_xdsl.semantics.qdq_softmax import SoftmaxTail, softmax_int8

from test_riscv_compile import require_riscv


def _cases() -> list[tuple[np.ndarray, float, float, bool]]:
    """(int8 logits rows x cols, input scale, beta, signed bytes)."""
    rng = np.random.default_rng(7)
    cases = []
    for i in range(40):
        rows, cols = int(rng.integers(1, 4)), int(rng.integers(1, 80))
        scale = float(10 ** rng.uniform(-3, 0.5))
        logits = rng.integers(-128, 128, size=(rows, cols)).astype(np.int8)
        cases.append((logits, scale, float(rng.choice([1.0, 0.5, 2.0])), bool(i % 2)))
    cases.append((np.full((1, 1024), 5, dtype=np.int8), 0.1, 1.0, False))  # sum >= 2^28: shift past 31
    cases.append((np.array([[-128, 127, 127, -128]], dtype=np.int8), 0.25, 1.0, False))
    cases.append((np.array([[0, 1, 2, 3]], dtype=np.int8), 1e-6, 1.0, True))  # tiny scale: all near 1/4
    return cases


def _driver(cases) -> str:
    lines = ["#include <stdint.h>", "#include <stdio.h>", SOFTMAX_HELPER, "int main(void)", "{"]
    for i, (logits, scale, beta, signed) in enumerate(cases):
        offset = 0 if signed else 128
        raw = (logits.astype(np.int64) + offset) & 0xFF
        lines.append(f"    static uint8_t c{i}[] = {{{', '.join(str(int(v)) for v in raw.ravel())}}};")
        lines.append("    " + softmax_call(f"c{i}", logits.shape, offset, signed, scale, beta))
        lines.append(f"    for (unsigned i = 0; i < sizeof c{i}; i++) printf(\"%u \", (unsigned)c{i}[i]);")
        lines.append('    printf("\\n");')
    lines += ["    return 0;", "}"]
    return "\n".join(lines) + "\n"


def test_c_softmax_is_bit_exact_with_tflm_fixed_point(tmp_path):
    cases = _cases()
    source = tmp_path / "softmax_driver.c"
    source.write_text(_driver(cases))
    binary = host_build.compile_host([source], tmp_path / "driver", with_runtime=False)
    out = subprocess.run([str(binary)], capture_output=True, text=True, env=host_build.run_env(), check=True)
    rows = out.stdout.splitlines()
    assert len(rows) == len(cases)
    saturated = 0
    for (logits, scale, beta, signed), row in zip(cases, rows):
        offset = 0 if signed else 128
        got = np.array([int(v) for v in row.split()], dtype=np.int64)
        got = (got.astype(np.uint8).view(np.int8).astype(np.int64) if signed else got - offset)
        want = softmax_int8(logits, SoftmaxTail(scale, beta)).astype(np.int64).ravel()
        assert np.array_equal(got, want), (logits.tolist(), scale, beta, got.tolist(), want.tolist())
        saturated += int(np.sum(want == -128))
    assert saturated > 0  # the diff_min cut-off path is exercised


def test_c_softmax_compiles_for_riscv(tmp_path):
    require_riscv()
    source = tmp_path / "softmax_rv.c"
    source.write_text("#include <stdint.h>\n" + SOFTMAX_HELPER
                      + "void run(uint8_t *p)\n{\n    " + softmax_call("p", (1, 10), 128, False, 0.1, 1.0) + "\n}\n")
    assert host_build.compile_riscv([source], tmp_path / "obj")[0].is_file()

