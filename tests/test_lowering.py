"""Structure of the lowered IR, and the shared DORY networks run through the tiled engine."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from xdsl.dialects import func, scf

from dory_xdsl.dialects import dory
from dory_xdsl.analysis.index_eval import execute
from dory_xdsl.engines.tiled_engine import compile_tiled

from test_tiled_engine import conv_module, pool_module

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "models" / "dory_examples"


def _layer_functions(module):
    return [op for op in module.ops if isinstance(op, func.FuncOp) and "dory.layer" in op.attributes]


def _executed_commands(layer):
    """(size, length, stride, 2-D) of every DMA command the layer issues, by running its loops."""
    commands = []

    def visit(op, env):
        if isinstance(op, dory.DmaStartOp):
            size, length, stride = (v if isinstance(v, int) else env[v] for v in
                                    (op.mixed("size"), op.mixed("length"), op.mixed("stride")))
            commands.append((size, length, stride, op.is_2d))

    execute(layer.body.block, {}, visit)
    return commands


def test_every_dma_respects_gap8_limits_and_l1_buffers_fit_the_budget():
    rng = np.random.default_rng(0)
    module = compile_tiled(conv_module(rng, 20, 20, 16, 32, (3, 3), (2, 2), (1, 1, 0, 0), (1, 1), True, False),
                           l1_bytes=3000)
    (layer,) = _layer_functions(module)
    for name, spec in layer.attributes["dory.l1_buffers"].data.items():
        size, *offsets = spec.get_values()
        assert all(0 <= o and o + size <= 3000 for o in offsets), name
    commands = _executed_commands(layer)
    assert len(commands) > 20
    for size, line, stride, two_d in commands:
        assert 1 <= size <= 65_535
        assert not two_d or (1 <= line < 32_768 and 1 <= stride < 32_768 and size % line == 0)


def test_tiled_layer_is_one_loop_with_one_kernel_call():
    """Many tiles, one `scf.for` over them, one kernel-call op: the IR does not grow with the tiles."""
    rng = np.random.default_rng(5)
    module = compile_tiled(conv_module(rng, 16, 16, 8, 16, (3, 3), (1, 1), (1, 1, 1, 1), (1, 1), False, False),
                           l1_bytes=1500)
    (layer,) = _layer_functions(module)
    nh, nw, nc = layer.attributes["dory.tiling"].counts
    assert nh * nw * nc > 10
    loops = [op for op in layer.body.block.ops if isinstance(op, scf.ForOp)]
    tile_loop = next(op for op in loops if op.body.block.args[0].name_hint == "t")
    assert tile_loop.ub.owner.value.value.data == nh * nw * nc
    assert sum(isinstance(op, dory.KernelOp) for op in layer.walk()) == 1
    assert sum(1 for _ in layer.walk()) < 250


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
    from dory_xdsl.drivers.cli import main

    folder = SHARED / network
    model = next(p for p in sorted(folder.glob("*.onnx")) if "ortcompat" not in p.name)
    assert main(["run", "--drop-float-tail", str(model), "--golden", str(folder), "--engine", "tiled"]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    done, total = last.split()[1].split("/")
    assert done == total and int(total) > 0
