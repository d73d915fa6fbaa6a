"""The L2 plan of the C printer: buffers with half-open live ranges, placed by `dory_xdsl.tiling.l2_planner`.

The printer describes each L2 buffer of `@main` (network inputs and outputs, activations,
parameters staged from L3) as an `L2Buffer`: a size and the half-open range of program steps
`[start, end)` (positions of `@main`'s top-level ops) during which it holds data. `plan_l2`
turns these into the planner's inclusive ranges over the steps and returns its `L2Plan`
(`offsets`, `peak` = `total`, the liveness lower bound, the method). There is one placement
algorithm, the offline planner's; this module only adapts the printer's view to it.

Plans are cached by their input (buffers and alignment are immutable), so the printer and the
compile driver asking for the same plan pay for it once. Planning is deterministic: the same
buffers give the same offsets, hence byte-identical compiles.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

from dory_xdsl.tiling import l2_planner
from dory_xdsl.tiling.l2_planner import L2Plan

__all__ = ["L2Buffer", "L2Plan", "plan_l2", "step_names"]


@dataclass(frozen=True)
class L2Buffer:
    name: str
    size: int
    start: int
    end: int  # exclusive

    def overlaps_in_time(self, other: L2Buffer) -> bool:
        return self.start < other.end and other.start < self.end


def step_names(steps: int) -> list[str]:
    """Default names of the program steps (the compile driver relabels them with op names)."""
    return [f"step {i}" for i in range(steps)]


def plan_l2(buffers: Sequence[L2Buffer], alignment: int = 8) -> L2Plan:
    """Offsets for `buffers` such that buffers alive at a common step never overlap."""
    return _plan(tuple(buffers), alignment)


@functools.lru_cache(maxsize=16)
def _plan(buffers: tuple[L2Buffer, ...], alignment: int) -> L2Plan:
    for b in buffers:
        if b.end <= b.start:
            raise ValueError(f"L2 buffer '{b.name}' has an empty live range [{b.start}, {b.end})")
    steps = max((b.end for b in buffers), default=1)
    planned = [l2_planner.Buffer(b.name, b.size, b.start, b.end - 1) for b in buffers]
    return l2_planner.plan_l2(step_names(steps), planned, alignment=alignment)
