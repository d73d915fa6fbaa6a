"""Exact L2 placement for small instances with Z3 (used by `dory_xdsl.tiling.l2_planner`).

Offsets are integers in units of the alignment; two buffers live at a common program point are
ordered (one ends before the other starts). A binary search over the peak, between the
liveness lower bound and the best greedy peak, asks Z3 for a placement under each candidate;
each query has a time limit, and a query that times out counts as infeasible, so the result is
always a valid placement, optimal when no query timed out.
"""

from __future__ import annotations

from collections.abc import Sequence

import z3


def exact_offsets(sizes: Sequence[int], firsts: Sequence[int], lasts: Sequence[int], alignment: int,
                  lower: int, upper: int, timeout_ms: int = 500) -> list[int] | None:
    """Offsets with a peak below `upper` (bytes; sizes are multiples of `alignment`), the
    smallest Z3 finds in the time limits, or None when it finds none."""
    units = [s // alignment for s in sizes]
    offsets = [z3.Int(f"o{i}") for i in range(len(sizes))]
    peak = z3.Int("peak")
    solver = z3.Solver()
    solver.set("timeout", timeout_ms)
    for o, u in zip(offsets, units):
        solver.add(o >= 0, o + u <= peak)
    for i in range(len(sizes)):
        for j in range(i + 1, len(sizes)):
            if firsts[i] <= lasts[j] and firsts[j] <= lasts[i]:
                solver.add(z3.Or(offsets[i] + units[i] <= offsets[j], offsets[j] + units[j] <= offsets[i]))
    lo, hi = -(-lower // alignment), upper // alignment - 1  # feasible peaks searched in [lo, hi]
    best = None
    while lo <= hi:
        mid = (lo + hi) // 2
        solver.push()
        solver.add(peak == mid)
        if solver.check() == z3.sat:
            model = solver.model()
            best = [model.eval(o, model_completion=True).as_long() * alignment for o in offsets]
            hi = mid - 1
        else:
            lo = mid + 1
        solver.pop()
    return best
