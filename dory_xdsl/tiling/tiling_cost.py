"""The tiling model's formulas, written once over an arithmetic: L1 bytes, modelled cycles and
DORY's score of a tiling, for plain ints, numpy arrays (exhaustive search) and Z3 terms (proof).

The per-axis inputs are `AxisStats`-like objects (from `dory_xdsl.tiling.tiles.axis_stats`) extended
with two per-candidate numbers looked up like the others: `bonus` (DORY's bonus for that axis's
tile size) and `compute` (kernel cycles summed over the tiles when this is the axis the kernel
parallelises). See `dory_xdsl.tiling.tiling_model` for what the objectives mean.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from dory_xdsl.tiling.layer_geometry import LayerGeometry
from dory_xdsl.target import Target
from dory_xdsl.tiling.tiles import IntArith, l1_buffer_specs, l1_total, parameter_bytes_per_channel

DORY_BONUS = 1_000_000
BONUS_MODULUS = {"h": 8, "w": 2, "c": 4}  # DORY's bonus per axis: tile % modulus == 0
MIN_PIXELS = 16  # DORY's bonus: at least this many output pixels per tile
TRANSPOSE_CYCLES_PER_BYTE = 3  # the cores' HWC -> CHW transposition of a depthwise input tile (load, store, index)


class IntOps(IntArith):
    @staticmethod
    def maximum(a: int, b: int) -> int:
        return max(a, b)

    @staticmethod
    def div_ceil(x: int, d: int) -> int:
        return -(-x // d)


class NumpyOps:
    """The same arithmetic over broadcasting int64 arrays (one element per tiling)."""

    @staticmethod
    def all_one(*xs: Any) -> Any:
        out = np.asarray(xs[0]) == 1
        for x in xs[1:]:
            out = out & (np.asarray(x) == 1)
        return out

    @staticmethod
    def ite(cond: Any, a: Any, b: Any) -> Any:
        return np.where(cond, a, b)

    @staticmethod
    def align(x: Any, alignment: int) -> Any:
        return -(-x // alignment) * alignment

    @staticmethod
    def maximum(a: Any, b: Any) -> Any:
        return np.maximum(a, b)

    @staticmethod
    def div_ceil(x: Any, d: int) -> Any:
        return -(-x // d)


def parallel_axis(g: LayerGeometry, target: Target) -> str:
    return "h" if target.speed(g.kernel).parallel_axis == "rows" else "c"


def compute_cycles(g: LayerGeometry, target: Target, rounds: int) -> int:
    """Kernel cycles summed over all tiles, given the rounds on the parallelised axis."""
    speed = target.speed(g.kernel)
    others = g.w_out * g.cout if speed.parallel_axis == "rows" else g.h_out * g.w_out
    per_core = speed.work_per_cycle / target.num_cores
    return math.ceil(rounds * others * g.work_per_output / per_core)


def cycles_formula(g: LayerGeometry, target: Target, h: Any, w: Any, c: Any, compute: Any,
                   specs: list, ops: Any, double_buffer: bool) -> Any:
    """Modelled cycles of a tiling (see the `cost` objective in `dory_xdsl.tiling.tiling_model`)."""
    tiles = h.count * w.count * c.count
    in_fetch = h.fetched * w.fetched
    row_bytes = g.cin * g.act_bytes * g.num_inputs
    # HWC copies are one (2-D) command per tile, except when both the channels and the columns
    # are cut: then one per row (lines of the channel tile, `tile_exprs.copy_plan`)
    whole_rows = ops.all_one(c.count)
    whole_lines = ops.all_one(w.count)
    per_row = ops.ite(whole_rows, tiles, ops.ite(whole_lines, tiles, h.fetched * w.count * c.count))
    out_cmds = ops.ite(whole_rows, tiles, ops.ite(whole_lines, tiles, g.h_out * w.count * c.count))
    if g.channels_tied:
        in_bytes = in_fetch * row_bytes
        in_cmds = per_row * g.num_inputs
    else:
        fixed = ops.all_one(h.count, w.count)
        in_bytes = ops.ite(fixed, in_fetch, in_fetch * c.count) * row_bytes
        in_cmds = ops.ite(fixed, 1, tiles) * g.num_inputs
    if g.kind == "depthwise":
        compute = compute + ops.div_ceil(in_bytes * TRANSPOSE_CYCLES_PER_BYTE, target.num_cores)  # HWC -> CHW in L1
    params = parameter_bytes_per_channel(g)
    fixed_bytes = g.cout * sum(params.values()) + g.output_elements * g.out_bytes
    commands = in_cmds + out_cmds + c.count * len(params)
    dma = ops.div_ceil(in_bytes + fixed_bytes, target.dma_bytes_per_cycle) + commands * target.dma_latency_cycles
    overhead = tiles * target.tile_overhead_cycles
    if not double_buffer:
        return dma + compute + overhead
    sizes = {s.name: s.size for s in specs}
    edges = ops.div_ceil(sizes["in"] + sizes["out"], target.dma_bytes_per_cycle)
    return ops.maximum(dma, compute) + overhead + edges


def layer_terms(g: LayerGeometry, target: Target, h: Any, w: Any, c: Any, ops: Any,
                double_buffer: bool) -> tuple[Any, Any, Any]:
    """(L1 bytes, modelled cycles, DORY score) of a tiling given per-axis lookups."""
    specs = l1_buffer_specs(g, target, h, w, c, ops)
    mem = l1_total(specs, target, ops, double_buffer)
    par = h if parallel_axis(g, target) == "h" else c
    cycles = cycles_formula(g, target, h, w, c, par.compute, specs, ops, double_buffer)
    pixels = ops.ite(h.tile * w.tile >= MIN_PIXELS, DORY_BONUS, 0)
    return mem, cycles, mem + h.bonus + w.bonus + c.bonus + pixels
