"""The Z3 tiling model: choose the L1 tile sizes of one layer, with a Z3 proof of optimality.

Variables are the tile sizes of output rows, output columns and output channels (input channels
are never an independent variable: no 8-bit PULP-NN kernel accumulates partial sums, so conv and
linear keep n_in = Cin, and depthwise/pooling/add tie n_in = n_out; see `dory_xdsl.tiling.tiles`).
Input tile sizes follow from geometry (stride, dilation-expanded kernel, per-tile padding).

Search (deterministic: the answer never depends on machine load or on what was solved before)
1. Domains (`dory_xdsl.tiling.tiling_search.candidates`): for the `dory` objective every tile size
   1..N; for `cost` the balanced sizes ceil(N/k) for every tile count k plus, on the axis the
   kernel parallelises, the multiples of the core count. Everything that depends on the tile
   size along one axis (tile count, largest L1 input extent with halo and materialised zeros,
   fetched input extent, parallel rounds, kernel cycles, DORY's per-axis bonus) is precomputed
   per candidate from the same span code the lowering uses (`dory_xdsl.tiling.tiles.axis_stats`).
2. Exact exhaustive search (`dory_xdsl.tiling.tiling_search.exhaustive_search`): every combination of
   candidates is evaluated with numpy from the same formulas (`dory_xdsl.tiling.tiling_cost`), which
   gives the optimum with a fixed tie-break, and, per axis, the candidates that take part in at
   least one feasible tiling (the others are dropped: this removes no feasible tiling). For
   `cost`, candidates dominated on their axis are dropped first (`undominated`: no smaller in
   every quantity the L1 bytes and the cycles grow with). Measured: 5,016 tilings in 1 ms
   (`cost`) and 320,000 in 0.17 s (`dory`) for the dronet 5x5 stride-2 layer.
3. Z3 proof: the constraints (exact L1 bytes <= budget) and the objective are rebuilt as Z3
   terms over bounded index variables into the pruned candidate tables (each per-axis quantity
   an if-chain lookup, so Z3 only sees products *across* axes, which it solves by case-splitting
   the index domains; see `dory_xdsl.tiling.z3_terms`). Z3 then decides (a) that the chosen tiling
   satisfies the constraints with exactly the objective value found, and (b) that no tiling
   satisfies them with a strictly better value (unsat). Both hold: `proved_optimal` (over the
   candidates left after step 2's dropping, which is exact for infeasible ones and rests on the
   monotonicity argument of `undominated` for dominated ones; the tests compare with brute
   force over the full domains). Z3 runs in a
   fresh context with a fixed random seed and a deterministic resource limit (`rlimit`, counted
   by Z3 in its own work units, not time): exhausting it gives the same answer, marked not
   proved, on every machine. A wall-clock limit per layer (`timeout_s`) remains only as a safety net: if
   it fires the result could depend on load, so the layer fails loudly (`DoryError`) instead.
   Z3 disagreeing with the search (a better tiling, or the chosen one rejected) is a bug in
   one of the encodings and raises AssertionError.
- Identical layers (same geometry, target, objective, buffering, resource limit) are solved once
  (the layer name is not part of the key; `clear_cache` empties it).

Constraints: the exact L1 byte formula of `dory_xdsl.tiling.tiles.l1_buffer_specs` (double-buffered
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
  stationary, weights once per channel tile, the output once); commands: one per copy of a tile,
  except one per row for HWC activations cut along both channels and columns (lines of the
  channel tile); compute = for the axis the kernel
  parallelises (rows or channels) the sum over tiles of ceil(extent / cores) rounds times the
  rest of the work divided by the per-core throughput of the kernel (`Target.speeds`), so
  imbalanced tiles cost what they cost (depthwise: plus the cores' HWC -> CHW transposition of
  every fetched input byte); plus a fixed overhead per tile. With double buffering the
  pipeline approximation is max(total DMA, total compute) + first input load + last output
  store + overheads (it equals the sum over tiles of max(dma, compute) when the tiles are
  uniform); without, DMA + compute + overheads.

A layer whose whole working set fits L1 gets a single tile without a search. A layer that does
not fit even with the smallest tiles raises `DoryError` naming it with the bytes needed and the
budget.
"""

from __future__ import annotations

import itertools
import math
import time
from dataclasses import dataclass, replace
from types import SimpleNamespace

import z3

from dory_xdsl.tiling import z3_terms as zt
from dory_xdsl.errors import DoryError
from dory_xdsl.tiling.layer_geometry import LayerGeometry
from dory_xdsl.target import GAP8, Target
from dory_xdsl.tiling.tiles import AXES, TileSizes, axis_extent
from dory_xdsl.tiling.tiling_cost import (  # noqa: F401  (re-exported: the model's public formulas)
    DORY_BONUS,
    IntOps,
    compute_cycles,
    cycles_formula,
    layer_terms,
    parallel_axis,
)
from dory_xdsl.tiling.tiling_search import (  # noqa: F401
    FIELDS,
    AxisTable,
    axis_row,
    axis_tables,
    candidates,
    exhaustive_search,
    undominated,
)

OBJECTIVES = ("dory", "cost")
DEFAULT_TIMEOUT_S = 20.0  # wall-clock safety net per layer: exceeding it is an error
DEFAULT_RLIMIT = 50_000_000  # Z3 resource units per layer proof (25x the largest measured, 1.8M)
Z3_SEED = 0


@dataclass(frozen=True)
class TilingResult:
    sizes: TileSizes
    counts: tuple[int, int, int]  # tiles along (h, w, c)
    l1_bytes: int
    objective: str
    objective_value: int
    cycles: int  # modelled cycles of the chosen tiling (whatever the objective)
    proved_optimal: bool
    solve_seconds: float  # wall time (reporting only: it never influences the result)
    single_tile: bool
    search_space: int  # candidate combinations evaluated by the exhaustive search
    proof_space: int = 0  # candidate combinations in the Z3 proof (after dropping infeasible ones)
    z3_work: int = 0  # Z3 resource units spent on the proof (deterministic)
    from_cache: bool = False
    double_buffer: bool = True  # two copies of every tile buffer (DMA overlaps compute)

    @property
    def num_tiles(self) -> int:
        return math.prod(self.counts)


def evaluate(g: LayerGeometry, sizes: TileSizes, target: Target = GAP8,
             double_buffer: bool = True) -> dict[str, int]:
    """L1 bytes, modelled cycles and DORY score of a tiling, computed in plain Python."""
    h, w, c = (SimpleNamespace(**dict(zip(FIELDS, axis_row(g, target, a, getattr(sizes, a)))))
               for a in AXES)
    mem, cycles, dory = layer_terms(g, target, h, w, c, IntOps, double_buffer)
    return {"l1_bytes": mem, "cycles": cycles, "dory": dory, "tiles": h.count * w.count * c.count}


# ----------------------------------------------------------------------------- solve


_CACHE: dict[tuple, TilingResult] = {}
# wall time spent in this process on the exhaustive search and on the Z3 proofs (reporting only:
# the compile report's "tiling search" / "Z3 proofs" stages)
SECONDS = {"search": 0.0, "proof": 0.0}


def clear_cache() -> None:
    _CACHE.clear()


def tile_layer(g: LayerGeometry, target: Target = GAP8, objective: str = "cost",
               double_buffer: bool = True, timeout_s: float = DEFAULT_TIMEOUT_S,
               rlimit: int = DEFAULT_RLIMIT, cache_dir: str | None = None) -> TilingResult:
    """Choose the tile sizes of one layer (cached for identical layers; see the module doc).
    With `cache_dir`, proved results are also kept on disk (`dory_xdsl.tiling.tiling_cache`)."""
    if objective not in OBJECTIVES:
        raise DoryError(f"unknown tiling objective '{objective}' (expected one of {OBJECTIVES})")
    key = (g, target, objective, double_buffer, rlimit)
    start = time.perf_counter()
    if key in _CACHE:
        return replace(_CACHE[key], from_cache=True, solve_seconds=time.perf_counter() - start)
    if cache_dir:
        from dory_xdsl.tiling import tiling_cache

        disk_key = tiling_cache.problem_key(g, target, objective, double_buffer, rlimit)
        fields = tiling_cache.load(cache_dir, disk_key)
        if fields is not None:
            cached = TilingResult(**{**fields, "from_cache": True})
            _CACHE[key] = cached
            return replace(cached, solve_seconds=time.perf_counter() - start)
    what = f"layer '{g.name}' ({g.describe().split(': ', 1)[1]})"
    try:
        result = _solve(g, target, objective, double_buffer, timeout_s, rlimit, start)
        SECONDS["search"] += time.perf_counter() - start
    except _DoesNotFit as e:
        raise DoesNotFitL1(what, {"double-buffered" if double_buffer else "single-buffered": e.needed},
                           target.l1_bytes) from None
    except _WallClock:
        raise DoryError(
            f"{what}: the search and Z3 proof of its tiling did not finish within the {timeout_s:g} s wall-clock "
            "safety limit (overloaded machine?); stopping rather than emitting a load-dependent "
            "tiling: raise the qnn-tile 'timeout' option"
        ) from None
    _CACHE[key] = result
    if cache_dir:
        tiling_cache.store(cache_dir, disk_key, result)
    return result


class DoesNotFitL1(DoryError):
    """No tiling of a layer fits the L1 budget: the message names the layer and the bytes its
    smallest tiles need with each buffering tried (`needed`: buffering -> bytes)."""

    def __init__(self, what: str, needed: dict[str, int], budget: int):
        self.what, self.needed, self.budget = what, needed, budget
        tried = "; ".join(f"{n} B {how}" for how, n in needed.items())
        super().__init__(f"{what} does not fit L1: needs at least {tried} with the smallest tiles, "
                         f"but the L1 budget is {budget} B")


def tile_layer_buffered(g: LayerGeometry, target: Target = GAP8, objective: str = "cost",
                        double_buffer: bool = True, timeout_s: float = DEFAULT_TIMEOUT_S,
                        rlimit: int = DEFAULT_RLIMIT, cache_dir: str | None = None) -> TilingResult:
    """`tile_layer`, double-buffered when `double_buffer` and some tiling fits that way, else
    single-buffered: one copy of every tile buffer halves the L1 a tile needs (the DMA of the next
    tile then waits for the kernel instead of overlapping it), so a layer whose smallest
    double-buffered tiles do not fit L1 still gets the optimal single-buffered tiles. Fails with
    `DoesNotFitL1` when neither fits."""
    if not double_buffer:
        return tile_layer(g, target, objective, False, timeout_s, rlimit, cache_dir)
    try:
        return tile_layer(g, target, objective, True, timeout_s, rlimit, cache_dir)
    except DoesNotFitL1 as double:
        try:
            return tile_layer(g, target, objective, False, timeout_s, rlimit, cache_dir)
        except DoesNotFitL1 as single:
            raise DoesNotFitL1(single.what, {**double.needed, **single.needed}, single.budget) from None


class _DoesNotFit(Exception):
    def __init__(self, needed: int):
        self.needed = needed


class _WallClock(Exception):
    pass


def _solve(g: LayerGeometry, target: Target, objective: str, double_buffer: bool,
           timeout_s: float, rlimit: int, start: float) -> TilingResult:
    full = TileSizes(g.h_out, g.w_out, g.cout)
    if evaluate(g, full, target, double_buffer)["l1_bytes"] <= target.l1_bytes:
        return _result(g, target, objective, double_buffer, full, True, start)
    tables = axis_tables(g, target, objective)
    found = exhaustive_search(g, target, objective, double_buffer, tables)
    if found is None:
        needed = min(evaluate(g, TileSizes(*s), target, double_buffer)["l1_bytes"] for s in _corner_sizes(g))
        if needed <= target.l1_bytes:  # the corners are candidates (or dominated by ones no larger)
            raise AssertionError(f"no candidate tiling of {g.describe()} fits, yet the smallest does")
        raise _DoesNotFit(needed)
    pruned = tuple(t.subset(list(keep)) for t, keep in zip(tables, found.used))
    best = tuple(keep.index(b) for keep, b in zip(found.used, found.best))
    proving = time.perf_counter()
    proved, work = _prove(g, target, objective, double_buffer, pruned, best, found.value,
                          timeout_s - (proving - start), rlimit)
    SECONDS["proof"] += time.perf_counter() - proving
    SECONDS["search"] -= time.perf_counter() - proving  # tile_layer adds the whole solve
    sizes = TileSizes(*(t.rows[b][0] for t, b in zip(pruned, best)))
    return _result(g, target, objective, double_buffer, sizes, proved, start,
                   math.prod(map(len, tables)), math.prod(map(len, pruned)), work)


def _corner_sizes(g: LayerGeometry) -> list[tuple[int, int, int]]:
    """Smallest and full size per axis: the minimum L1 use is at one of these corners (per-copy
    sizes grow with the tile; only the copy count drops, at full size)."""
    return list(itertools.product(*((1, axis_extent(g, a)) for a in AXES)))


def _prove(g: LayerGeometry, target: Target, objective: str, double_buffer: bool,
           tables: tuple[AxisTable, ...], best: tuple[int, ...], value: int, timeout_s: float,
           rlimit: int) -> tuple[bool, int]:
    """Z3: the tiling `best` reaches `value` and no tiling beats it, within `timeout_s` seconds
    of wall time in all. Returns (proved, resource units)."""
    deadline = time.perf_counter() + timeout_s
    ctx = z3.Context()
    solver = z3.Solver(ctx=ctx)
    solver.set("random_seed", Z3_SEED)
    solver.set("rlimit", rlimit)
    ops = zt.Z3Arith(ctx)
    views, chosen = [], []
    for table, b in zip(tables, best):
        if len(table) == 1:
            views.append(table.at(0))
            continue
        idx = z3.Int(f"idx_{table.axis}", ctx)
        solver.add(idx >= 0, idx < len(table))
        chosen.append(idx == b)
        views.append(zt.LazyLookups(idx, {f: table.column(f) for f in FIELDS}))
    mem, cycles, dory = layer_terms(g, target, *views, ops, double_buffer)
    solver.add(ops.lift(mem) <= target.l1_bytes)
    score = ops.lift(cycles if objective == "cost" else dory)
    better = score < value if objective == "cost" else score > value
    solver.push()
    solver.add(*chosen, score == value)
    attained = _check(solver, rlimit, deadline)
    solver.pop()
    solver.add(better)
    improved = z3.unknown if attained == z3.unknown else _check(solver, rlimit, deadline)
    work = _rlimit_count(solver)
    if z3.unknown in (attained, improved):
        return False, work
    if attained != z3.sat or improved != z3.unsat:
        raise AssertionError(f"Z3 and the exhaustive search disagree on {g.describe()} "
                             f"(chosen tiling {attained}, better tiling {improved})")
    return True, work


def _rlimit_count(solver: z3.Solver) -> int:
    stats = solver.statistics()
    return stats.get_key_value("rlimit count") if "rlimit count" in stats.keys() else 0


def _check(solver: z3.Solver, rlimit: int, deadline: float) -> z3.CheckSatResult:
    """One check. `unknown` only when the (deterministic) resource limit ran out; any other
    interruption (the wall-clock safety net; Z3 reports both as 'canceled') raises _WallClock."""
    remaining = deadline - time.perf_counter()
    if remaining <= 0:
        raise _WallClock()
    solver.set("timeout", max(1, math.ceil(remaining * 1000)))
    before = _rlimit_count(solver)
    status = solver.check()
    if status == z3.unknown:
        spent = _rlimit_count(solver) - before  # the limit applies to each check afresh
        if spent < rlimit or time.perf_counter() >= deadline:
            raise _WallClock()
    return status


def _result(g: LayerGeometry, target: Target, objective: str, double_buffer: bool,
            sizes: TileSizes, proved: bool, start: float, space: int = 1, proof_space: int = 0,
            work: int = 0) -> TilingResult:
    ev = evaluate(g, sizes, target, double_buffer)
    if ev["l1_bytes"] > target.l1_bytes:
        raise AssertionError(f"chosen tiles {sizes} of {g.describe()} exceed L1")
    counts = tuple(-(-axis_extent(g, a) // getattr(sizes, a)) for a in AXES)
    return TilingResult(
        sizes=sizes, counts=counts, l1_bytes=ev["l1_bytes"],  # type: ignore[arg-type]
        objective=objective, objective_value=ev["dory" if objective == "dory" else "cycles"],
        cycles=ev["cycles"], proved_optimal=proved, solve_seconds=time.perf_counter() - start,
        single_tile=ev["tiles"] == 1, search_space=space, proof_space=proof_space, z3_work=work,
        double_buffer=double_buffer,
    )
