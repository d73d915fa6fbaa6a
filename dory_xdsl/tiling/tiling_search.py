"""Candidate tables and the exact exhaustive search of the tiling model.

Each axis (output rows h, columns w, channels c) gets a finite, ascending list of candidate tile
sizes (`candidates`) and, per candidate, every number the formulas of `dory_xdsl.tiling.tiling_cost`
need (`AxisTable`: the `dory_xdsl.tiling.tiles.axis_stats` of that size plus DORY's bonus and the
kernel cycles on the parallelised axis). The same table feeds three evaluators: one candidate
as ints (`AxisTable.at`), whole blocks of the candidate grid as broadcasting numpy arrays
(`exhaustive_search`) and Z3 lookups (`dory_xdsl.tiling.tiling_model`).

`exhaustive_search` evaluates every combination of candidates (in blocks of at most
`BLOCK` tilings, vectorised) and returns the best feasible one with a deterministic tie-break:
for `cost`, fewest cycles, then fewest L1 bytes; for `dory`, highest score, then fewest cycles;
then the smallest (h, w, c) candidate indices. It also reports, per axis, which candidates take
part in at least one feasible tiling (the others can be dropped without losing any tiling).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np

from dory_xdsl.tiling.layer_geometry import LayerGeometry
from dory_xdsl.target import Target
from dory_xdsl.tiling.tiles import AXES, axis_extent, axis_stats
from dory_xdsl.tiling.tiling_cost import (
    BONUS_MODULUS,
    DORY_BONUS,
    NumpyOps,
    compute_cycles,
    layer_terms,
    parallel_axis,
)

FIELDS = ("tile", "count", "l1_extent", "window_extent", "fetched", "rounds", "bonus", "compute")
BLOCK = 1 << 17  # tilings evaluated per numpy block
_NONE = np.iinfo(np.int64).max


def candidates(extent: int, align: int, objective: str) -> list[int]:
    """Tile sizes searched along one axis (`align` 0: no kernel-friendly multiples).

    `dory`: every size 1..N (DORY maximises L1 fill, so any value can be optimal). `cost`: the
    balanced sizes ceil(N/k) for every tile count k (for a given count they minimise the largest
    tile, hence memory, edges and imbalance) plus the multiples of `align` (the core count, on
    the axis the kernel parallelises).
    """
    if objective == "dory":
        return list(range(1, extent + 1))
    values = {-(-extent // k) for k in range(1, extent + 1)}
    if align:
        values.update(range(align, extent + 1, align))
    return sorted(values)


@dataclass(frozen=True)
class AxisTable:
    """Candidate tile sizes of one axis, one row of `FIELDS` values per candidate."""

    axis: str
    rows: tuple[tuple[int, ...], ...]

    def __len__(self) -> int:
        return len(self.rows)

    def column(self, field: str) -> list[int]:
        i = FIELDS.index(field)
        return [r[i] for r in self.rows]

    def at(self, i: int) -> SimpleNamespace:
        return SimpleNamespace(**dict(zip(FIELDS, self.rows[i])))

    def subset(self, keep: list[int]) -> AxisTable:
        return AxisTable(self.axis, tuple(self.rows[i] for i in keep))

    def arrays(self, start: int, stop: int, position: int) -> SimpleNamespace:
        """Candidates [start, stop) as int64 arrays along dimension `position` of a 3-D grid."""
        shape = [1, 1, 1]
        shape[position] = stop - start
        block = np.asarray(self.rows[start:stop], dtype=np.int64)
        return SimpleNamespace(**{f: block[:, i].reshape(shape) for i, f in enumerate(FIELDS)})


def axis_row(g: LayerGeometry, target: Target, axis: str, tile: int) -> tuple[int, ...]:
    st = axis_stats(g, axis, tile, target.num_cores)
    bonus = DORY_BONUS * (tile % BONUS_MODULUS[axis] == 0)
    compute = compute_cycles(g, target, st.rounds) if axis == parallel_axis(g, target) else 0
    return (st.tile, st.count, st.l1_extent, st.window_extent, st.fetched, st.rounds, bonus, compute)


def axis_tables(g: LayerGeometry, target: Target, objective: str) -> tuple[AxisTable, ...]:
    """The candidate table of every axis, in `AXES` order (undominated ones only for `cost`)."""
    par = parallel_axis(g, target)
    tables = tuple(
        AxisTable(a, tuple(axis_row(g, target, a, t) for t in
                           candidates(axis_extent(g, a), target.num_cores if a == par else 0, objective)))
        for a in AXES
    )
    return tables if objective == "dory" else tuple(t.subset(undominated(t)) for t in tables)


# Fields the L1 bytes and the modelled cycles grow with (each monotone non-decreasing in each of
# them, the others fixed; a count of 1 only ever removes copies, commands and re-fetches).
COST_FIELDS = ("tile", "count", "l1_extent", "window_extent", "fetched", "compute")


def undominated(table: AxisTable) -> list[int]:
    """Candidates not dominated for the `cost` objective, ascending.

    Candidate j dominates i when every `COST_FIELDS` value of j is <= that of i (and they differ,
    or j comes first): whatever the other axes are, swapping i for j then uses no more L1 and
    no more cycles, so dropping i keeps a tiling of optimal cost feasible. (E.g. 40 of 64 rows
    on 8 cores: two tiles, 8 rounds, like 32 but with larger buffers.)
    """
    rows = np.asarray([[r[FIELDS.index(f)] for f in COST_FIELDS] for r in table.rows], dtype=np.int64)
    no_worse = (rows[None, :, :] <= rows[:, None, :]).all(axis=2)  # [i, j]: j no worse than i
    differs = (rows[None, :, :] != rows[:, None, :]).any(axis=2)
    earlier = np.arange(len(rows))[None, :] < np.arange(len(rows))[:, None]
    dominated = (no_worse & (differs | earlier)).any(axis=1)
    return np.flatnonzero(~dominated).tolist()


@dataclass(frozen=True)
class SearchResult:
    best: tuple[int, int, int]  # candidate index per axis
    value: int  # objective value: cycles (cost) or DORY score (dory)
    used: tuple[tuple[int, ...], ...]  # per axis: candidates in at least one feasible tiling
    feasible: int  # number of feasible tilings


def exhaustive_search(g: LayerGeometry, target: Target, objective: str, double_buffer: bool,
                      tables: tuple[AxisTable, ...]) -> SearchResult | None:
    """The best feasible tiling over all candidate combinations; None if none fits."""
    th, tw, tc = tables
    nw, nc = len(tw), len(tc)
    w, c = tw.arrays(0, nw, 1), tc.arrays(0, nc, 2)
    used = [np.zeros(len(t), dtype=bool) for t in tables]
    step = max(1, BLOCK // (nw * nc))
    best_key: tuple[int, int] | None = None
    best: tuple[int, int, int] = (0, 0, 0)
    feasible = 0
    for start in range(0, len(th), step):
        stop = min(len(th), start + step)
        shape = (stop - start, nw, nc)
        mem, cycles, dory = (np.broadcast_to(x, shape) for x in
                             layer_terms(g, target, th.arrays(start, stop, 0), w, c, NumpyOps, double_buffer))
        ok = mem <= target.l1_bytes
        count = int(ok.sum())
        if not count:
            continue
        feasible += count
        used[0][start:stop] |= ok.any(axis=(1, 2))
        used[1] |= ok.any(axis=(0, 2))
        used[2] |= ok.any(axis=(0, 1))
        first, second = (cycles, mem) if objective == "cost" else (-dory, cycles)
        f_min = int(np.where(ok, first, _NONE).min())
        tied = ok & (first == f_min)
        s_min = int(np.where(tied, second, _NONE).min())
        flat = int(np.flatnonzero(tied & (second == s_min))[0])
        i, j, k = np.unravel_index(flat, shape)
        if best_key is None or (f_min, s_min) < best_key:
            best_key, best = (f_min, s_min), (start + int(i), int(j), int(k))
    if best_key is None:
        return None
    value = best_key[0] if objective == "cost" else -best_key[0]
    return SearchResult(best, value, tuple(tuple(np.flatnonzero(u).tolist()) for u in used), feasible)
