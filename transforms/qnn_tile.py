"""`qnn-tile`: choose the L1 tiles of every layer with the Z3 model and record them on the op.

Expects fused, NHWC qnn IR (after `qnn-fuse-requant` and `qnn-to-nhwc`): every layer op
(`qnn.conv2d`, `qnn.linear`, `qnn.add`, `qnn.maxpool`, `qnn.avgpool`) must map onto one PULP-NN
kernel (`dory_xdsl.analysis.kernel_layers` says which and why not). For each layer, in program order, it
builds the layer's `LayerGeometry`, solves `dory_xdsl.tiling.tiling_model.tile_layer` (identical layers
are solved once: the model caches them; distinct layers on one thread per core, see
`solve_all`) and sets the attribute

    dory.tiling = #dory.tiling<tile = [h, w, c], count = [nh, nw, nc], l1 = B, budget = L, ...>

with the output tile sizes, tile counts, L1 bytes used, the budget, buffering, objective,
modelled cycles, whether the optimum was proved, and the solve time. Tiles are double-buffered
(DMA overlaps compute) where any double-buffered tiling fits; a layer whose smallest
double-buffered tiles do not fit L1 gets single-buffered tiles (`buffers = 1` in the attribute;
`tiling_model.tile_layer_buffered`). A layer that does not fit even single-buffered with the
smallest tiles fails the pass with a one-line message naming the layer and the bytes needed
versus available.

Options: `l1-bytes` (L1 budget per layer, default 36,700 as DORY), `objective` ("cost": modelled
cycles, or "dory": DORY's L1-fill objective), `double-buffer` (default true), `timeout` (seconds
per layer: a wall-clock safety net only. The search is deterministic, bounded by Z3 resource
units rather than time, so the same model always gets the same tiles; if this limit fires, the
pass fails naming the layer rather than emitting load-dependent tiles), `cache` (a folder of
proved tilings kept between compiles, `dory_xdsl.tiling.tiling_cache`; empty by default: none).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass

from dory_xdsl.dialects.dory import TilingAttr
from dory_xdsl.analysis.kernel_layers import LAYER_OPS, kernel_layer
from dory_xdsl.tiling.layer_geometry import LayerGeometry
from dory_xdsl.target import GAP8, Target
from dory_xdsl.tiling.tiling_model import TilingResult, tile_layer_buffered

TILING = "dory.tiling"
_PROGRESS: list[Callable[[int, int, str], None]] = []


@contextmanager
def reporting_progress(callback: Callable[[int, int, str], None]) -> Iterator[None]:
    """Within the block, `callback(k, n, name)` runs before the pass tiles layer k of n (from 1)."""
    _PROGRESS.append(callback)
    try:
        yield
    finally:
        _PROGRESS.remove(callback)


def check_tiling_options(pass_name: str, l1_bytes: int, objective: str, timeout: float) -> None:
    """The tiling options a pass was given, each refusal naming its option."""
    from dory_xdsl.errors import DoryError

    if l1_bytes < 1:
        raise DoryError(f"{pass_name}: option l1-bytes={l1_bytes} must be a positive number of bytes")
    if objective not in ("cost", "dory"):
        raise DoryError(f'{pass_name}: option objective="{objective}" must be "cost" or "dory"')
    if not timeout > 0:
        raise DoryError(f"{pass_name}: option timeout={timeout} must be a positive number of seconds")


@dataclass(frozen=True)
class QnnTilePass(ModulePass):
    name = "qnn-tile"

    l1_bytes: int = GAP8.l1_bytes
    """L1 budget per layer in bytes (DORY's 36,700 by default)."""
    objective: str = "cost"
    """Tiling objective: "cost" (modelled cycles) or "dory" (DORY's L1-fill objective)."""
    double_buffer: bool = True
    """Two copies of every tile buffer, so DMA overlaps compute (single-buffered where nothing
    fits double-buffered); false: single-buffered everywhere."""
    timeout: float = 20.0
    """Wall-clock safety net per layer in seconds (the search itself is bounded by Z3 resource units)."""
    cache: str = ""
    """Folder of an on-disk cache of proved tilings (`dory_xdsl.tiling.tiling_cache`); empty: none."""

    def __post_init__(self) -> None:
        check_tiling_options(self.name, self.l1_bytes, self.objective, self.timeout)

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        target = GAP8.with_budget(l1_bytes=self.l1_bytes)
        for function in op.ops:
            if not isinstance(function, func.FuncOp):
                continue
            layer_ops = [o for o in function.body.walk() if isinstance(o, LAYER_OPS)]
            geometries = [kernel_layer(o, index).geometry for index, o in enumerate(layer_ops)]
            for layer_op, result in zip(layer_ops, self.solve_all(geometries, target)):
                layer_op.attributes[TILING] = TilingAttr(
                    tile=(result.sizes.h, result.sizes.w, result.sizes.c), count=result.counts,
                    l1=result.l1_bytes, budget=target.l1_bytes, double_buffer=result.double_buffer,
                    objective=self.objective, cycles=result.cycles, proved=result.proved_optimal,
                    solve_us=round(result.solve_seconds * 1e6),
                )

    def solve_all(self, geometries: list[LayerGeometry], target: Target) -> list[TilingResult]:
        """The tiling of every layer. Distinct problems are solved on one thread per core (Z3 and
        numpy release the GIL); each solve is deterministic and independent of the others, so
        the answers do not depend on the threads. A layer identical to an earlier one reuses
        its answer (`tile_layer`'s cache). Errors are raised for the first failing layer."""

        def solve(k: int) -> TilingResult:
            for callback in _PROGRESS:
                callback(k + 1, len(geometries), geometries[k].name)
            return tile_layer_buffered(geometries[k], target, self.objective, self.double_buffer,
                                       self.timeout, cache_dir=self.cache or None)

        first: dict[LayerGeometry, int] = {}
        for k, g in enumerate(geometries):
            first.setdefault(g, k)  # geometries compare without their names
        distinct = sorted(first.values())
        workers = min(len(distinct), os.cpu_count() or 1)
        if workers <= 1:
            solved = {k: solve(k) for k in distinct}
        else:
            pool = ThreadPoolExecutor(workers)
            try:
                futures = {k: pool.submit(solve, k) for k in distinct}
                solved = {k: futures[k].result() for k in distinct}
            finally:
                pool.shutdown(wait=True, cancel_futures=True)
        return [solved[k] if k in solved else solve(k) for k in range(len(geometries))]
