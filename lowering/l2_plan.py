"""Static L2 placement: pack buffers with known live ranges into one L2 area.

A plain algorithm (no IR): each `L2Buffer` has a size and the half-open range of program
steps `[start, end)` during which it holds data. `plan_l2` places the buffers in order of
decreasing size (ties: by start, then name) at the lowest aligned offset that overlaps no
already-placed buffer whose live range intersects its own, and returns the offsets and the
total size. The result depends only on the input, so repeated compiles are byte-identical.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class L2Buffer:
    name: str
    size: int
    start: int
    end: int

    def overlaps_in_time(self, other: L2Buffer) -> bool:
        return self.start < other.end and other.start < self.end


@dataclass(frozen=True)
class L2Plan:
    offsets: dict[str, int]
    total: int


def _align(value: int, alignment: int) -> int:
    return (value + alignment - 1) // alignment * alignment


def plan_l2(buffers: Sequence[L2Buffer], alignment: int = 8) -> L2Plan:
    """First-fit placement by decreasing size; buffers alive at the same time never overlap."""
    names = [b.name for b in buffers]
    if len(set(names)) != len(names):
        raise ValueError("L2 buffer names must be unique")
    placed: list[tuple[L2Buffer, int]] = []
    offsets: dict[str, int] = {}
    for buf in sorted(buffers, key=lambda b: (-b.size, b.start, b.name)):
        busy = sorted((off, off + b.size) for b, off in placed if b.overlaps_in_time(buf))
        offset = 0
        for lo, hi in busy:
            if offset + buf.size <= lo:
                break
            offset = max(offset, _align(hi, alignment))
        offsets[buf.name] = offset
        placed.append((buf, offset))
    total = max((off + b.size for b, off in placed), default=0)
    return L2Plan({n: offsets[n] for n in names}, _align(total, alignment))
