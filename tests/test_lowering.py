"""Structure of the lowered IR, and the shared DORY networks run through the tiled engine."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from xdsl.dialects import func, scf

from dory_xdsl.dialects import dory
from dory_xdsl.tiled_engine import compile_tiled

from test_tiled_engine import conv_module, pool_module

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "models" / "dory_examples"


def _layer_functions(module):
    return [op for op in module.ops if isinstance(op, func.FuncOp) and "dory.layer" in op.attributes]


def test_every_dma_respects_gap8_limits_and_l1_buffers_fit_the_budget():
    rng = np.random.default_rng(0)
    module = compile_tiled(conv_module(rng, 20, 20, 16, 32, (3, 3), (2, 2), (1, 1, 0, 0), (1, 1), True, False),
                           l1_bytes=3000)
    (layer,) = _layer_functions(module)
    for name, spec in layer.attributes["dory.l1_buffers"].data.items():
        size, *offsets = spec.get_values()
        assert all(0 <= o and o + size <= 3000 for o in offsets), name
    for op in layer.walk():
        if isinstance(op, dory.DmaStartOp):
            size, line, stride = op.size.value.data, op.length.value.data, op.stride.value.data
            assert size <= 65_535 and (line == size or (line < 32_768 and stride < 32_768))


def test_single_tile_layer_has_no_loop_and_one_call():
    rng = np.random.default_rng(1)
    module = compile_tiled(pool_module(rng, 8, 8, 4, (2, 2), (2, 2), (0, 0, 0, 0), "max"))
    (layer,) = _layer_functions(module)
    ops = list(layer.walk())
    assert not any(isinstance(op, scf.ForOp) for op in ops)
    assert sum(isinstance(op, dory.KernelOp) for op in ops) == 1


NETWORKS = ["Nemo/PenguiNet_64", "Nemo/Residual_connection_test_1", "Nemo/dronet_2.0", "Nemo/dronet_complete",
            "Nemo/dscnn_test", "Nemo/eegnetDW_1d_8b_Hx1", "Nemo/eegnet_1d_8b_1xW",
            "Nemo/TCN_T", "Quantlab/Dronet"]  # the last two need qnn-legalize-pulp


@pytest.mark.parametrize("network", NETWORKS)
def test_shared_network_tiled_is_bit_exact(network, capsys):
    if not SHARED.is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{SHARED} is missing")
        pytest.skip("../shared/models is not available")
    from dory_xdsl.cli import main

    folder = SHARED / network
    model = next(p for p in sorted(folder.glob("*.onnx")) if "ortcompat" not in p.name)
    assert main(["run", str(model), "--golden", str(folder), "--engine", "tiled"]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    done, total = last.split()[1].split("/")
    assert done == total and int(total) > 0
