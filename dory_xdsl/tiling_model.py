"""The Z3 tiling model: choose the L1 tile sizes of one layer.

Variables are the tile sizes of output rows, output columns and output channels (input channels
are never an independent variable: no 8-bit PULP-NN kernel accumulates partial sums, so conv and
linear keep n_in = Cin, and depthwise/pooling/add tie n_in = n_out; see `dory_xdsl.tiles`).
Input tile sizes follow from geometry (stride, dilation-expanded kernel, per-tile padding).

Encoding (what makes it fast)
- Each axis gets a finite candidate domain and a bounded integer index variable; everything that
  depends on the tile size along one axis (tile count, largest L1 input extent with halo and
  materialised zeros, fetched input extent, parallel rounds, modelled kernel cycles, DORY's
  per-axis bonus) is precomputed in Python from the same span code the lowering uses
  (`dory_xdsl.tiles.axis_stats`) and looked up with an if-chain on the index. Z3 only sees
  products *across* axes, which it solves by case-splitting the small index domains
  (`dory_xdsl.z3_terms`). This integer encoding proved 5-10x faster than a width-minimised
  bit-vector encoding of the same lookups (Z3's bit-vector optimiser alone costs ~0.15 s on a
  two-variable 8-bit problem).
- Domains: for the `dory` objective every tile size 1..N (DORY maximises L1 fill, so any value
  can be optimal); for the `cost` objective the balanced sizes ceil(N/k) for every tile count k
  (for a given count they minimise the largest tile, hence memory, edges and imbalance) plus,
  on the axis the kernel parallelises, the multiples of the core count. Then every candidate
  that overflows L1 whatever the other axes are is dropped (an exact test, see
  `_feasible_domains`). Optima are proved over these domains (`z3.Optimize` returns sat only
  with a proved optimum; on timeout the best model so far is used and `proved_optimal` is
  False).
- Identical layers (same geometry, target, objective, buffering) are solved once (LRU cache; the
  layer name is not part of the key).

Constraints: the exact L1 byte formula of `dory_xdsl.tiles.l1_buffer_specs` (double-buffered
tiles, im2col / bufferC scratch, depthwise slack, alignment) <= the L1 budget. Kernel constraints
are structural: the kernel is chosen from the layer geometry (`LayerGeometry.kernel`: pointwise
only for 1x1 / stride 1 / no padding), the scratch sizes follow it, and the depthwise symmetric
padding rule is met by construction (materialised zeros, counted in the L1 extent). The DMA
limits never make a tile shape infeasible because every copy can be split (see `tiles`), so
they add commands (counted by the cost model), not constraints.

Objectives
- `dory`: maximise L1 bytes used + 1,000,000 for each of rows % 8 == 0, even columns,
  channels % 4 == 0 and >= 16 output pixels per tile (DORY's formulation; its small border-tile
  terms are left out).
- `cost`: minimise modelled cycles. DMA = ceil(bytes / 8) + 10 per command, bytes summed over the
  whole tile grid (input halos per tile, the input re-fetched for every channel tile unless it is
  stationary, weights once per channel tile, the output once); compute = for the axis the kernel
  parallelises (rows or channels) the sum over tiles of ceil(extent / cores) rounds times the
  rest of the work divided by the per-core throughput of the kernel (`Target.speeds`), so
  imbalanced tiles cost what they cost; plus a fixed overhead per tile. With double buffering the
  pipeline approximation is max(total DMA, total compute) + first input load + last output
  store + overheads (it equals the sum over tiles of max(dma, compute) when the tiles are
  uniform); without, DMA + compute + overheads.

A layer whose whole working set fits L1 gets a single tile without a search. A layer that does
not fit even with the smallest tiles raises `DoryError` naming it with the bytes needed and the
budget.
"""

from __future__ import annotations

import functools
import itertools
import math
import time
from dataclasses import dataclass, replace
from types import SimpleNamespace
from typing import Any

import z3

from dory_xdsl import z3_terms as zt
from dory_xdsl.errors import DoryError
from dory_xdsl.layer_geometry import LayerGeometry
from dory_xdsl.target import GAP8, Target
from dory_xdsl.tiles import (
    AXES,
    AxisStats,
    IntArith,
    TileSizes,
    axis_extent,
    axis_stats,
    l1_buffer_specs,
    l1_total,
    parameter_bytes_per_channel,
)

OBJECTIVES = ("dory", "cost")
DORY_BONUS = 1_000_000
DEFAULT_TIMEOUT_S = 20.0


@dataclass(frozen=True)
class TilingResult:
    sizes: TileSizes
    counts: tuple[int, int, int]  # tiles along (h, w, c)
    l1_bytes: int
    objective: str
    objective_value: int
    cycles: int  # modelled cycles of the chosen tiling (whatever the objective)
    proved_optimal: bool
    solve_seconds: float
    single_tile: bool
    search_space: int  # candidate combinations after domain pruning
    from_cache: bool = False

    @property
    def num_tiles(self) -> int:
        return math.prod(self.counts)


# ----------------------------------------------------------------------------- formulas


class _IntOps(IntArith):
    @staticmethod
    def maximum(a: int, b: int) -> int:
        return max(a, b)

    @staticmethod
    def div_ceil(x: int, d: int) -> int:
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
    """Modelled cycles of a tiling (ints or terms; see the module docstring)."""
    tiles = h.count * w.count * c.count
    in_fetch = h.fetched * w.fetched
    row_bytes = g.cin * g.act_bytes * g.num_inputs
    if g.channels_tied:
        in_bytes = in_fetch * row_bytes
        in_cmds = tiles * g.num_inputs
    else:
        fixed = ops.all_one(h.count, w.count)
        in_bytes = ops.ite(fixed, in_fetch, in_fetch * c.count) * row_bytes
        in_cmds = ops.ite(fixed, 1, tiles) * g.num_inputs
    if g.kind == "depthwise":  # CHW gather: one command per channel (and per row if cut)
        in_cmds = ops.ite(ops.all_one(w.count), h.count * g.cin, h.fetched * w.count * g.cin)
    params = parameter_bytes_per_channel(g)
    fixed_bytes = g.cout * sum(params.values()) + g.output_elements * g.out_bytes
    commands = in_cmds + tiles + c.count * len(params)
    dma = ops.div_ceil(in_bytes + fixed_bytes, target.dma_bytes_per_cycle) + commands * target.dma_latency_cycles
    overhead = tiles * target.tile_overhead_cycles
    if not double_buffer:
        return dma + compute + overhead
    sizes = {s.name: s.size for s in specs}
    edges = ops.div_ceil(sizes["in"] + sizes["out"], target.dma_bytes_per_cycle)
    return ops.maximum(dma, compute) + overhead + edges


# ----------------------------------------------------------------------------- domains


def candidates(extent: int, align: int, objective: str) -> list[int]:
    """Tile sizes searched along one axis (`align` 0: no kernel-friendly multiples)."""
    if objective == "dory":
        return list(range(1, extent + 1))
    values = {-(-extent // k) for k in range(1, extent + 1)}
    if align:
        values.update(range(align, extent + 1, align))
    return sorted(values)


def _stats(g: LayerGeometry, target: Target, sizes: TileSizes) -> tuple[AxisStats, ...]:
    return tuple(axis_stats(g, a, getattr(sizes, a), target.num_cores) for a in AXES)


def evaluate(g: LayerGeometry, sizes: TileSizes, target: Target = GAP8,
             double_buffer: bool = True) -> dict[str, int]:
    """L1 bytes, modelled cycles and DORY score of a tiling, computed in plain Python."""
    h, w, c = _stats(g, target, sizes)
    specs = l1_buffer_specs(g, target, h, w, c, _IntOps)
    mem = l1_total(specs, target, _IntOps, double_buffer)
    par = {"h": h, "c": c}[parallel_axis(g, target)]
    compute = compute_cycles(g, target, par.rounds)
    cycles = cycles_formula(g, target, h, w, c, compute, specs, _IntOps, double_buffer)
    bonus = DORY_BONUS * ((sizes.h % 8 == 0) + (sizes.w % 2 == 0) + (sizes.c % 4 == 0)
                          + (sizes.h * sizes.w >= 16))
    return {"l1_bytes": mem, "cycles": cycles, "dory": mem + bonus,
            "tiles": h.count * w.count * c.count}


# ----------------------------------------------------------------------------- solve


def tile_layer(g: LayerGeometry, target: Target = GAP8, objective: str = "cost",
               double_buffer: bool = True, timeout_s: float = DEFAULT_TIMEOUT_S) -> TilingResult:
    """Choose the tile sizes of one layer (cached for identical layers)."""
    if objective not in OBJECTIVES:
        raise DoryError(f"unknown tiling objective '{objective}' (expected one of {OBJECTIVES})")
    hits = _solve.cache_info().hits
    try:
        result = _solve(g, target, objective, double_buffer, timeout_s)
    except _DoesNotFit as e:
        raise DoryError(
            f"layer '{g.name}' ({g.describe().split(': ', 1)[1]}) does not fit L1: needs at least "
            f"{e.needed} B with the smallest tiles{' (double-buffered)' if double_buffer else ''}, "
            f"but the L1 budget is {target.l1_bytes} B"
        ) from None
    if _solve.cache_info().hits > hits:
        result = replace(result, from_cache=True)
    return result


class _DoesNotFit(Exception):
    def __init__(self, needed: int):
        self.needed = needed


@functools.lru_cache(maxsize=4096)
def _solve(g: LayerGeometry, target: Target, objective: str, double_buffer: bool,
           timeout_s: float) -> TilingResult:
    start = time.perf_counter()
    full = TileSizes(g.h_out, g.w_out, g.cout)
    whole = evaluate(g, full, target, double_buffer)
    if whole["l1_bytes"] <= target.l1_bytes:
        return _result(g, target, objective, double_buffer, full, True, start, 1)
    needed = min(evaluate(g, TileSizes(*s), target, double_buffer)["l1_bytes"] for s in _corner_sizes(g))
    if needed > target.l1_bytes:
        raise _DoesNotFit(needed)
    return _optimise(g, target, objective, double_buffer, timeout_s, start)


def _corner_sizes(g: LayerGeometry) -> list[tuple[int, int, int]]:
    """Smallest and full size per axis: the minimum L1 use is at one of these corners (per-copy
    sizes grow with the tile; only the copy count drops, at full size)."""
    return list(itertools.product(*((1, axis_extent(g, a)) for a in AXES)))


def _optimise(g: LayerGeometry, target: Target, objective: str, double_buffer: bool,
              timeout_s: float, start: float) -> TilingResult:
    par_axis = parallel_axis(g, target)
    opt = z3.Optimize()
    opt.set("timeout", int(timeout_s * 1000))
    domains = _feasible_domains(g, target, objective, double_buffer)
    axes: dict[str, Any] = {}
    index: dict[str, z3.ArithRef] = {}
    bonus: Any = 0
    for a in AXES:
        stats = domains[a]
        if len(stats) == 1:
            axes[a] = stats[0]
        else:
            idx = index[a] = z3.Int(f"idx_{a}")
            opt.add(idx >= 0, idx < len(stats))
            axes[a] = SimpleNamespace(**{f: zt.lookup(idx, [getattr(s, f) for s in stats])
                                         for f in _STAT_FIELDS})
        modulus = {"h": 8, "w": 2, "c": 4}[a]
        bonus = bonus + _axis_table(index.get(a), [DORY_BONUS * (s.tile % modulus == 0) for s in stats])
        if a == par_axis:
            compute = _axis_table(index.get(a), [compute_cycles(g, target, s.rounds) for s in stats])
    h, w, c = axes["h"], axes["w"], axes["c"]
    ops = zt.Z3Arith()
    specs = l1_buffer_specs(g, target, h, w, c, ops)
    mem = l1_total(specs, target, ops, double_buffer)
    opt.add(zt.lift(mem) <= target.l1_bytes)
    if objective == "dory":
        pixels = zt.lift(h.tile) * zt.lift(w.tile)
        opt.maximize(zt.lift(mem + bonus + z3.If(pixels >= 16, DORY_BONUS, 0)))
    else:
        opt.minimize(zt.lift(cycles_formula(g, target, h, w, c, compute, specs, ops, double_buffer)))
    status = opt.check()
    if status == z3.unsat:  # cannot happen: the smallest tiles were checked to fit
        raise AssertionError(f"tiling model of {g.describe()} is unsatisfiable")
    model = opt.model() if status == z3.sat else _best_so_far(opt)
    chosen = {}
    for a in AXES:
        pick = 0  # the smallest candidate always fits
        if a in index and model is not None:
            pick = model.eval(index[a], model_completion=True).as_long()
        chosen[a] = domains[a][pick].tile
    space = math.prod(len(d) for d in domains.values())
    return _result(g, target, objective, double_buffer, TileSizes(**chosen), status == z3.sat,
                   start, space)


_STAT_FIELDS = ("tile", "count", "l1_extent", "window_extent", "fetched", "rounds")


def _axis_table(idx: z3.ArithRef | None, values: list[int]) -> Any:
    return values[0] if idx is None else zt.lookup(idx, values)


def _feasible_domains(g: LayerGeometry, target: Target, objective: str,
                      double_buffer: bool) -> dict[str, list[AxisStats]]:
    """Candidate tile sizes per axis, without those that overflow L1 whatever the other axes are.

    The exact test: the L1 use with the other axes at their memory-minimal corner (smallest or
    full size, see `_corner_sizes`) must fit. This removes no feasible tiling.
    """
    cores = target.num_cores
    par_axis = parallel_axis(g, target)
    corners = {a: [axis_stats(g, a, 1, cores), axis_stats(g, a, axis_extent(g, a), cores)]
               for a in AXES}
    domains = {}
    for a in AXES:
        align = cores if a == par_axis else 0
        kept = []
        for t in candidates(axis_extent(g, a), align, objective):
            st = axis_stats(g, a, t, cores)
            others = [corners[b] if b != a else [st] for b in AXES]
            if any(_l1_of(g, target, double_buffer, *combo) <= target.l1_bytes
                   for combo in itertools.product(*others)):
                kept.append(st)
        domains[a] = kept
    return domains


def _l1_of(g: LayerGeometry, target: Target, double_buffer: bool, h: AxisStats, w: AxisStats,
           c: AxisStats) -> int:
    return l1_total(l1_buffer_specs(g, target, h, w, c, _IntOps), target, _IntOps, double_buffer)


def _best_so_far(opt: z3.Optimize) -> z3.ModelRef | None:
    """After a timeout Z3 may still hold the best model found; None if it has none."""
    try:
        return opt.model()
    except z3.Z3Exception:
        return None


def _result(g: LayerGeometry, target: Target, objective: str, double_buffer: bool,
            sizes: TileSizes, proved: bool, start: float, space: int) -> TilingResult:
    ev = evaluate(g, sizes, target, double_buffer)
    if ev["l1_bytes"] > target.l1_bytes:
        raise AssertionError(f"chosen tiles {sizes} of {g.describe()} exceed L1")
    h, w, c = _stats(g, target, sizes)
    return TilingResult(
        sizes=sizes, counts=(h.count, w.count, c.count), l1_bytes=ev["l1_bytes"],
        objective=objective, objective_value=ev["dory" if objective == "dory" else "cycles"],
        cycles=ev["cycles"], proved_optimal=proved, solve_seconds=time.perf_counter() - start,
        single_tile=ev["tiles"] == 1, search_space=space,
    )
