"""Offline L2 memory planner: a fixed offset for every buffer from its liveness (no IR).

Input: the program points (the layers, in execution order) and the buffers, each with a size
in bytes and the first and last program point at which it is live (inclusive). An activation
tensor lives from its producing layer to its last consuming layer, so a residual branch or a
concat input stays allocated exactly as long as it is needed; a layer's weights and constants
live during their layer only, or over the whole program when resident (`resident_buffer`).

Output (`L2Plan`): an offset per buffer, a multiple of the alignment, such that two buffers live
at a common program point never overlap; the peak (the largest end offset) and the liveness
lower bound (the largest number of bytes live at one program point, sizes rounded up to the
alignment), which no plan can beat.

Placing intervals in memory is NP-hard (dynamic storage allocation), so the planner runs
several greedy placements, as offline planners such as TFLite's do: buffers taken in some order
(by size, by lifetime, by size x lifetime, by start, or by the most crowded program point first)
are put in the best-fitting (or lowest) gap left by the already placed buffers they conflict
with. The best of them is then improved by a seeded local search over the order, and, for small
instances whose greedy peak is above the lower bound, by an exact Z3 search (`l2_exact`).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from dory_xdsl.errors import DoryError


@dataclass(frozen=True)
class Buffer:
    """A buffer of `size` bytes, live from program point `first` to `last` (inclusive)."""

    name: str
    size: int
    first: int
    last: int

    def conflicts(self, other: Buffer) -> bool:
        return self.first <= other.last and other.first <= self.last


def resident_buffer(name: str, size: int, points: Sequence[str]) -> Buffer:
    """A buffer live during the whole program (e.g. weights kept in L2 for all inferences)."""
    return Buffer(name, size, 0, len(points) - 1)


def tensor_buffer(name: str, size: int, producer: int | None, consumers: Sequence[int], points: Sequence[str],
                  network_output: bool = False) -> Buffer:
    """The buffer of an activation tensor: live from its producing program point (the start for
    a network input, `producer` None) to its last consumer; a network output stays live to the
    end of the program."""
    first = 0 if producer is None else producer
    last = max([first, *consumers])
    return Buffer(name, size, first, len(points) - 1 if network_output else last)


def align_up(value: int, alignment: int) -> int:
    return -(-value // alignment) * alignment


@dataclass
class L2Plan:
    points: tuple[str, ...]
    buffers: tuple[Buffer, ...]
    alignment: int
    offsets: dict[str, int]
    peak: int
    lower_bound: int
    method: str  # which placement produced the plan

    def size(self, buffer: Buffer) -> int:
        return align_up(buffer.size, self.alignment)

    def end(self, name: str) -> int:
        buffer = next(b for b in self.buffers if b.name == name)
        return self.offsets[name] + self.size(buffer)

    def live_bytes(self) -> list[int]:
        """Bytes (aligned sizes) live at each program point."""
        return live_bytes(self.buffers, len(self.points), self.alignment)

    def top_at(self) -> list[int]:
        """The highest end offset among the buffers live at each program point."""
        tops = [0] * len(self.points)
        for b in self.buffers:
            end = self.offsets[b.name] + self.size(b)
            for p in range(b.first, b.last + 1):
                tops[p] = max(tops[p], end)
        return tops

    def peak_point(self) -> int:
        tops = self.top_at()
        return tops.index(max(tops)) if tops else 0

    @property
    def total(self) -> int:
        """The L2 bytes the plan needs (its peak; a multiple of the alignment)."""
        return self.peak

    @property
    def ratio(self) -> float:
        return self.peak / self.lower_bound if self.lower_bound else 1.0

    def summary(self) -> str:
        return (f"L2 plan: peak {self.peak:,} B, liveness lower bound {self.lower_bound:,} B "
                f"({self.ratio:.3f}x), {len(self.buffers)} buffers, {len(self.points)} program points ({self.method})")

    def check_budget(self, budget: int) -> None:
        """Raise `DoryError` (one line) when the plan does not fit `budget` bytes."""
        if self.peak <= budget:
            return
        live = self.live_bytes()
        if self.lower_bound > budget:
            point = self.points[live.index(self.lower_bound)]
            raise DoryError(f"L2 memory: {self.lower_bound:,} B are live at '{point}', "
                            f"only {budget:,} B are available (short by {self.lower_bound - budget:,} B)")
        point = self.points[self.peak_point()]
        raise DoryError(f"L2 memory: the plan needs {self.peak:,} B at '{point}' (liveness lower bound "
                        f"{self.lower_bound:,} B), only {budget:,} B are available")


def live_bytes(buffers: Sequence[Buffer], n_points: int, alignment: int) -> list[int]:
    delta = [0] * (n_points + 1)
    for b in buffers:
        delta[b.first] += align_up(b.size, alignment)
        delta[b.last + 1] -= align_up(b.size, alignment)
    live, total = [], 0
    for p in range(n_points):
        total += delta[p]
        live.append(total)
    return live


def validate(points: Sequence[str], buffers: Sequence[Buffer], alignment: int) -> None:
    if alignment < 1:
        raise ValueError(f"alignment must be positive, got {alignment}")
    names = set()
    for b in buffers:
        if b.name in names:
            raise ValueError(f"buffer '{b.name}' is given twice")
        names.add(b.name)
        if b.size < 0:
            raise ValueError(f"buffer '{b.name}' has a negative size {b.size}")
        if not 0 <= b.first <= b.last < len(points):
            raise ValueError(f"buffer '{b.name}' is live over [{b.first}, {b.last}], "
                             f"outside the {len(points)} program points")


# ----------------------------------------------------------------------------- greedy placement


def conflict_lists(firsts: Sequence[int], lasts: Sequence[int]) -> list[list[int]]:
    """For each buffer, the buffers live at a common program point with it."""
    n = len(firsts)
    by_first = sorted(range(n), key=lambda b: firsts[b])
    conflicts: list[list[int]] = [[] for _ in range(n)]
    for k, a in enumerate(by_first):
        for b in by_first[k + 1:]:
            if firsts[b] > lasts[a]:
                break
            conflicts[a].append(b)
            conflicts[b].append(a)
    return conflicts


def place(order: Sequence[int], sizes: Sequence[int], conflicts: Sequence[Sequence[int]],
          best_fit: bool = True) -> list[int]:
    """Offsets for the buffers taken in `order`: each goes into the smallest (best fit) or lowest
    gap, among the already placed buffers it conflicts with, that holds it, else on top of them."""
    offsets = [0] * len(sizes)
    placed = [False] * len(sizes)
    for b in order:
        size = sizes[b]
        busy = sorted((offsets[o], offsets[o] + sizes[o]) for o in conflicts[b] if placed[o])
        cursor, chosen, chosen_gap = 0, None, None
        for start, end in busy:
            gap = start - cursor
            if gap >= size and (chosen is None or (best_fit and gap < chosen_gap)):
                chosen, chosen_gap = cursor, gap
                if not best_fit:
                    break
            cursor = max(cursor, end)
        offsets[b] = cursor if chosen is None else chosen
        placed[b] = True
    return offsets


def peak_of(offsets: Sequence[int], sizes: Sequence[int]) -> int:
    return max((o + s for o, s in zip(offsets, sizes)), default=0)


def breadth_order(sizes: Sequence[int], firsts: Sequence[int], lasts: Sequence[int], live: Sequence[int]) -> list[int]:
    """Buffers of the most crowded program point first (largest first), then the next point's."""
    order, seen = [], set()
    for p in sorted(range(len(live)), key=lambda p: (-live[p], p)):
        here = [b for b in range(len(sizes)) if firsts[b] <= p <= lasts[b] and b not in seen]
        here.sort(key=lambda b: (-sizes[b], firsts[b], b))
        order.extend(here)
        seen.update(here)
    return order


def greedy_orders(sizes, firsts, lasts, live) -> dict[str, list[int]]:
    n = range(len(sizes))
    length = [lasts[b] - firsts[b] + 1 for b in n]
    return {
        "size": sorted(n, key=lambda b: (-sizes[b], -length[b], firsts[b], b)),
        "lifetime": sorted(n, key=lambda b: (-length[b], -sizes[b], firsts[b], b)),
        "area": sorted(n, key=lambda b: (-sizes[b] * length[b], -sizes[b], firsts[b], b)),
        "start": sorted(n, key=lambda b: (firsts[b], -sizes[b], b)),
        "breadth": breadth_order(sizes, firsts, lasts, live),
    }


def local_search(order: list[int], evaluate: Callable[[list[int]], int], target: int, iterations: int,
                 seed: int) -> tuple[list[int], int]:
    """Improve a placement order: move one buffer to another position, keep the move when the
    peak does not grow (plateau moves allowed); stops at `target` (the lower bound)."""
    rng = random.Random(seed)
    best_order, best = list(order), evaluate(order)
    n = len(order)
    for _ in range(iterations if n > 1 else 0):
        if best <= target:
            break
        candidate = list(best_order)
        item = candidate.pop(rng.randrange(n))
        candidate.insert(rng.randrange(n), item)
        peak = evaluate(candidate)
        if peak <= best:
            best_order, best = candidate, peak
    return best_order, best


@dataclass
class Placement:
    """Offsets (of the non-empty buffers), their peak, and how they were found."""

    offsets: list[int]
    peak: int
    method: str
    order: list[int]
    best_fit: bool


def best_greedy(sizes, firsts, lasts, conflicts, live) -> Placement:
    """The lowest-peak placement over the greedy orders and both fit rules (first wins ties)."""
    candidates = []
    for name, order in greedy_orders(sizes, firsts, lasts, live).items():
        for best_fit in (True, False):
            offsets = place(order, sizes, conflicts, best_fit)
            method = f"greedy by {name}, {'best' if best_fit else 'first'} fit"
            candidates.append(Placement(offsets, peak_of(offsets, sizes), method, order, best_fit))
    return min(candidates, key=lambda c: c.peak)


def plan_l2(points: Sequence[str], buffers: Sequence[Buffer], alignment: int = 4, budget: int | None = None,
            search_iterations: int = 300, exact_max_buffers: int = 14, seed: int = 0) -> L2Plan:
    """Plan `buffers` over `points`; with a `budget`, raise `DoryError` when the plan exceeds it.

    `search_iterations` bounds the local search (ten times longer when the plan would otherwise
    miss the budget), `exact_max_buffers` the size of the instances given to Z3 (both only run
    while the peak is above the lower bound)."""
    validate(points, buffers, alignment)
    buffers = tuple(buffers)
    active = [i for i, b in enumerate(buffers) if b.size > 0]
    sizes = [align_up(buffers[i].size, alignment) for i in active]
    firsts = [buffers[i].first for i in active]
    lasts = [buffers[i].last for i in active]
    conflicts = conflict_lists(firsts, lasts)
    live = live_bytes(buffers, len(points), alignment)
    lower = max(live, default=0)

    best = best_greedy(sizes, firsts, lasts, conflicts, live)

    def improve(best: Placement, iterations: int, seed: int) -> Placement:
        def evaluate(order: list[int]) -> int:
            return peak_of(place(order, sizes, conflicts, best.best_fit), sizes)

        order, peak = local_search(best.order, evaluate, lower, iterations, seed)
        if peak >= best.peak:
            return best
        method = best.method if best.method.endswith("local search") else best.method + " + local search"
        return Placement(place(order, sizes, conflicts, best.best_fit), peak, method, order, best.best_fit)

    if best.peak > lower and search_iterations:
        best = improve(best, search_iterations, seed)
    if budget is not None and best.peak > budget >= lower and search_iterations:
        best = improve(best, 10 * search_iterations, seed + 1)  # fitting is worth a longer search
    if best.peak > lower and len(active) <= exact_max_buffers:
        from dory_xdsl.tiling.l2_exact import exact_offsets

        exact = exact_offsets(sizes, firsts, lasts, alignment, lower, best.peak)
        if exact is not None:
            best = Placement(exact, peak_of(exact, sizes), "exact (Z3)", best.order, best.best_fit)
    offsets = {b.name: 0 for b in buffers}
    offsets.update({buffers[i].name: best.offsets[k] for k, i in enumerate(active)})
    plan = L2Plan(tuple(points), buffers, alignment, offsets, best.peak, lower, best.method)
    if budget is not None:
        plan.check_budget(budget)
    return plan
