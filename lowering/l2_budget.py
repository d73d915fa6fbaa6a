"""All of GAP-8's L2 at run time: code + static data + the L2 plan + a runtime reserve.

GAP-8 has 524,288 B of L2 (`gap8/rtos/pulp/pulp-os/rules/gap_rev1/link.ld`: region L2, 0x80000)
for everything the fabric controller places there: the linked code and static data of the app
and of PULP-NN, the pulp-os runtime, and the heap from which the app takes its L2 plan
(`pi_l2_malloc(NETWORK_L2_BYTES)`). The planner budgets only the plan; `l2_usage` estimates the
rest from the printed application (`lowering.app` writes it into network.h; `dory compile`
prints it and warns when the default build does not fit; a `WEIGHTS_L2=1` build that does not
fit stops with `#error`, and its host run has only the L2 heap the chip would leave).

The estimate (an rv32 link estimate, figures measured on 2026-12-02 with riscv64-unknown-elf-gcc
12.2, `-O3 -march=rv32imc_zicsr -mabi=ilp32`, against the real gap_sdk GAP-8 headers):
- PULP-NN code: `PULP_NN_CODE_BYTES`. Every source of `32bit/` is 21,314 B of text, of `64bit/`
  21,714 B, compiled with the Xpulp builtins written in plain C (the real Xpulp build is smaller).
- the app's code and read-only tables: `APP_CODE_BYTES_PER_LINE` per line of `network.c` plus
  `MAIN_CODE_BYTES`. Measured text per line of network.c: 15.3 (MobileNetV1 1.0-128), 25.0
  (Quantlab Dronet), 26.7 (dronet_2.0), 30.0 (PenguiNet_64), 31.0 (NAS_Frontnet), 31.8
  (Residual_connection_test_1), 35.8 (TCN_T); main.o is 611-615 B. So the code figure is an upper
  estimate (for MobileNetV1 1.0-128 about twice the measured 67,282 B).
- static data, counted from the printed C: the embedded inputs (`input.c`), the static DMA
  command and L3 request arrays at the real SDK's sizes (`pi_cl_dma_cmd_t` 32 B,
  `pi_cl_ram_req_t` 160 B), the per-layer cycle counters and offset tables, and with
  `WEIGHTS_L2=1` the weights array.
- the runtime reserve, stated (not measured: no pulp-os build here): `RUNTIME_RESERVE_BYTES`
  for the pulp-os kernel's code and data, the device and task structures of the FC side and the
  heap allocator's headers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


CHIP_L2_BYTES = 524_288
PULP_NN_CODE_BYTES = 22_528
APP_CODE_BYTES_PER_LINE = 40
MAIN_CODE_BYTES = 1_024
RUNTIME_RESERVE_BYTES = 32_768
SDK_STRUCT_BYTES = {"pi_cl_dma_cmd_t": 32, "pi_cl_ram_req_t": 160}
STATIC_ARRAY = re.compile(r"^\s*static (pi_cl_dma_cmd_t|pi_cl_ram_req_t) \w+\[(\w+)\]", re.M)
DEFINE = re.compile(r"^#define (\w+) (\d+)$", re.M)


@dataclass(frozen=True)
class L2Usage:
    """Bytes of L2 per use; `total` <= `CHIP_L2_BYTES` on the chip."""

    code: int
    static: int
    plan: int
    reserve: int = RUNTIME_RESERVE_BYTES

    @property
    def total(self) -> int:
        return self.code + self.static + self.plan + self.reserve

    @property
    def beside_plan(self) -> int:
        """What the app needs besides its L2 plan: the heap left for the plan is CHIP_L2_BYTES - this."""
        return self.code + self.static + self.reserve

    def line(self) -> str:
        return (f"code ~{self.code} B + static data {self.static} B + L2 plan {self.plan} B + runtime reserve "
                f"{self.reserve} B = {self.total} B of {CHIP_L2_BYTES} B")


def _aligned(n: int) -> int:
    return -(-n // 8) * 8


def l2_usage(network_c: str, input_bytes: int, plan: int, layers: int, tables: int,
             weights_bytes: int = 0) -> L2Usage:
    """The estimate for an app whose network.c is `network_c` (see the module docstring):
    `input_bytes` embedded input bytes, `plan` the L2 plan, `layers` layer count, `tables` number
    of offset-table entries (inputs + outputs); `weights_bytes` for a `WEIGHTS_L2=1` build."""
    code = PULP_NN_CODE_BYTES + MAIN_CODE_BYTES + APP_CODE_BYTES_PER_LINE * network_c.count("\n")
    defines = dict(DEFINE.findall(network_c))
    arrays = sum(SDK_STRUCT_BYTES[kind] * int(defines.get(n, n)) for kind, n in STATIC_ARRAY.findall(network_c))
    static = _aligned(input_bytes) + arrays + 4 * layers + 8 * tables + _aligned(weights_bytes)
    return L2Usage(code, static, plan)
