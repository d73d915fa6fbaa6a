"""`dory_xdsl.tiling.l3_schedule`: simulate the L3 <-> L2 requests and the window-relative L2 <-> L1
copies of every L2 tile with numpy, in the emitted order, and check that every L1 tile receives
exactly the bytes the untiled (whole-tensor) copies give it and that the output written back to
L3 is the whole output tensor."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from dory_xdsl.tiling.l3_schedule import L3Transfer, chunk_copy, steps, window_transfer
from dory_xdsl.tiling.l3_tiling import LayerPlacement, candidates, evaluate
from dory_xdsl.tiling.layer_geometry import LayerGeometry, conv_layer
from dory_xdsl.target import GAP8
from dory_xdsl.tiling.tiles import (
    CopyPlan,
    TileSizes,
    Window,
    enumerate_tiles,
    input_copy,
    output_copy,
    parameter_bytes_per_channel,
)

LAYERS = [
    (conv_layer("conv", 13, 7, 5, 12, 3, stride=2, pad=1, requant_bits=32), TileSizes(2, 4, 4)),
    (LayerGeometry("depthwise", 11, 6, 16, 16, 3, 3, (1, 1), (1, 1, 1, 1), requant_bits=32), TileSizes(3, 6, 4)),
    (LayerGeometry("pointwise", 9, 5, 8, 24, requant_bits=32), TileSizes(2, 5, 8)),
    (LayerGeometry("add", 7, 4, 12, 12), TileSizes(2, 4, 4)),
    (LayerGeometry("linear", 1, 1, 32, 40, requant_bits=32), TileSizes(1, 1, 8)),
]


def l3_read(l3: np.ndarray, l2: np.ndarray, t: L3Transfer) -> None:
    lines = t.size // t.line
    for k in range(lines):
        l2[t.l2 + k * t.line:t.l2 + (k + 1) * t.line] = l3[t.l3 + k * t.stride:t.l3 + k * t.stride + t.line]


def l3_write(l2: np.ndarray, l3: np.ndarray, t: L3Transfer) -> None:
    lines = t.size // t.line
    for k in range(lines):
        l3[t.l3 + k * t.stride:t.l3 + k * t.stride + t.line] = l2[t.l2 + k * t.line:t.l2 + (k + 1) * t.line]


def dma(plan: CopyPlan, src: np.ndarray, dst: np.ndarray, to_l1: bool) -> None:
    """Run a CopyPlan between an L2 buffer (`src` when `to_l1`) and an L1 buffer."""
    for t in plan.transfers():
        lines = t.size // t.line
        for k in range(lines):
            l2 = t.l2 + k * t.stride
            l1 = t.l1 + k * t.line
            if to_l1:
                dst[l1:l1 + t.line] = src[l2:l2 + t.line]
            else:
                dst[l2:l2 + t.line] = src[l1:l1 + t.line]


def placements(g: LayerGeometry) -> list[LayerPlacement]:
    n = g.num_inputs
    return [LayerPlacement(ins, out) for ins in itertools.product((False, True), repeat=n)
            for out in (False, True)]


@pytest.mark.parametrize("g, l1", LAYERS, ids=lambda x: getattr(x, "kind", ""))
def test_windows_give_every_l1_tile_its_bytes(g: LayerGeometry, l1: TileSizes) -> None:
    rng = np.random.default_rng(0)
    in_bytes = g.h * g.w * g.cin * g.act_bytes
    inputs = [rng.integers(0, 256, in_bytes, dtype=np.uint8) for _ in range(g.num_inputs)]
    expected_out = rng.integers(0, 256, g.output_elements * g.out_bytes, dtype=np.uint8)
    params = {name: rng.integers(0, 256, g.cout * b, dtype=np.uint8)
              for name, b in parameter_bytes_per_channel(g).items()}
    checked = 0
    for placement in placements(g):
        for tiling in candidates(g, l1, placement, 0):
            result_l3 = np.zeros_like(expected_out)
            result_l2 = np.zeros_like(expected_out)
            buffers: dict[tuple[str, int], np.ndarray] = {}
            plan = steps(g, l1, tiling)
            assert len(plan) == tiling.num_tiles
            assert sorted(x.index for s in plan for x in s.l1_tiles) == sorted(x.index for x in enumerate_tiles(g, l1))

            def fetch(step) -> None:
                for f in step.fetches:
                    src = inputs[int(f.buffer[2:])] if f.buffer.startswith("in") else params[f.buffer]
                    buf = buffers.setdefault((f.buffer, f.copy), np.full(1 << 16, 0xA5, dtype=np.uint8))
                    l3_read(src, buf, f.transfer)

            fetch(plan[0])
            for i, step in enumerate(plan):
                if i + 1 < len(plan):
                    fetch(plan[i + 1])  # issued before this step computes: must not clobber it
                for x in step.l1_tiles:
                    for k, window in enumerate(step.inputs):
                        src = inputs[k] if window is None else buffers[(f"in{k}", step.input_copies[k])]
                        got = np.zeros(1 << 14, dtype=np.uint8)
                        want = np.zeros(1 << 14, dtype=np.uint8)
                        dma(input_copy(g, x, GAP8, window), src, got, True)
                        dma(input_copy(g, x, GAP8), inputs[k], want, True)
                        assert np.array_equal(got, want)
                    for name, per_channel in parameter_bytes_per_channel(g).items():
                        src = params[name] if step.chunk is None else buffers[(name, step.chunk_copy)]
                        got = np.zeros(1 << 14, dtype=np.uint8)
                        dma(chunk_copy(x, step.chunk, per_channel, GAP8), src, got, True)
                        want = params[name][x.out_c[0] * per_channel:x.out_c[1] * per_channel]
                        assert np.array_equal(got[:len(want)], want)
                    # the kernel's output tile: the expected bytes of its region
                    tile_out = np.zeros(1 << 14, dtype=np.uint8)
                    dma(output_copy(g, x, GAP8), expected_out, tile_out, True)
                    if step.output is None:
                        dma(output_copy(g, x, GAP8), tile_out, result_l2, False)
                    else:
                        buf = buffers.setdefault(("out", step.output_copy), np.full(1 << 16, 0xA5, dtype=np.uint8))
                        dma(output_copy(g, x, GAP8, step.output), tile_out, buf, False)
                if step.write is not None:
                    l3_write(buffers[("out", step.output_copy)], result_l3, step.write)
            final = result_l3 if placement.output_l3 else result_l2
            assert np.array_equal(final, expected_out), (placement, tiling.rows, tiling.channels, tiling.order)
            traffic = sum(f.transfer.size for s in plan for f in s.fetches)
            whole_params = 0 if tiling.counts[1] > 1 else g.cout * sum(parameter_bytes_per_channel(g).values())
            assert traffic + whole_params == tiling.l3_read
            assert sum(s.write.size for s in plan if s.write) == tiling.l3_write
            checked += 1
    assert checked > 10


def test_window_requests() -> None:
    whole_rows = window_transfer(Window((2, 5), (0, 8)), 10, 4, 8, 1)
    assert (whole_rows.l3, whole_rows.size, whole_rows.is_2d) == (2 * 4 * 8, 3 * 4 * 8, False)
    channels = window_transfer(Window((2, 5), (3, 7)), 10, 4, 8, 1)
    assert (channels.l3, channels.size, channels.line, channels.stride) == (2 * 32 + 3, 12 * 4, 4, 8)


def test_a_window_is_reused_while_the_next_tile_needs_it() -> None:
    g = conv_layer("c", 16, 8, 8, 32, 3, pad=1, requant_bits=32)
    tiling = evaluate(g, 4, 8, "rows", LayerPlacement((True,), False), 0)
    plan = steps(g, TileSizes(4, 8, 8), tiling)
    inputs_fetched = [sum(1 for f in s.fetches if f.buffer == "in0") for s in plan]
    assert inputs_fetched == [1, 0, 0, 0] * 4  # rows outer: one window per row tile
    chunks = [sum(1 for f in s.fetches if f.buffer == "weights") for s in plan]
    assert chunks == [1] * 16  # ... and a new weight chunk for every tile
