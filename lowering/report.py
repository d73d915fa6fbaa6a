"""The compile report: per layer and in total, memory, data movement, tiles and modelled cycles.

For every layer (`LayerFigures`): the tile sizes and counts, L1 bytes used of the budget, the
layer's own L2 buffers (inputs, output, parameters) and the bytes live in L2 while it runs
(from the L2 plan), the bytes read from L3 into L2 (parameters: one request per parameter
buffer, or per parameter and chunk when streamed; inputs that live in L3: one request per row
window, `LayerPlans.window_reads`), the bytes written L2 -> L3 (an output that lives in L3:
written whole after the layer, one request), the cluster DMA bytes and commands per direction (L2 -> L1, L1 -> L2;
from `dory_xdsl.tiling.layer_dma`: the lowering's own command plans, counted from the tiling), the most
cluster-DMA commands outstanding at once ("DMA out", of the MCHAN's 16 transfer counters;
`layer_dma.dma_queues`, what the host runtime counts), the modelled
cycles of the tiling model's cost model, whether the tiling optimum was proved and the solve
time. In total (`NetworkReport`): the sums, the L2 plan's peak against its liveness lower bound
and the L2 budget, the L3 image size, and the compile time per stage.

`NetworkReport.text()` is the table `dory compile --report -` prints; `to_json()` is what
`--report FILE.json` writes. Per-layer figures are built by `layer_figures` from the layer's
geometry, its `#dory.tiling` and its parameter sizes, captured before lowering.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from dory_xdsl.tiling.l2_planner import L2Plan
from dory_xdsl.tiling.layer_dma import DmaCounts, dma_queues, layer_dma, layer_plans
from dory_xdsl.tiling.layer_geometry import LayerGeometry
from dory_xdsl.target import Target
from dory_xdsl.tiling.tiles import TileSizes, l1_layout


@dataclass(frozen=True)
class TiledLayer:
    """What the report needs of one tiled layer (captured from the qnn IR after `qnn-tile`)."""

    index: int
    geometry: LayerGeometry
    tile: tuple[int, int, int]  # output rows, columns, channels
    counts: tuple[int, int, int]
    l1_bytes: int
    l1_budget: int
    cycles: int
    proved: bool
    solve_seconds: float
    objective: str
    io_bytes: int  # the layer's activation inputs and output in L2
    param_bytes: tuple[int, ...]  # each parameter buffer (weights, bias, k, lambda) read from L3
    l3_chunk: int = 0  # output channels per chunk when the parameters stream from L3 (`dory.l3`), else 0
    inputs_l3: tuple[bool, ...] = ()  # which activation inputs live in L3 (`dory.l3`)
    output_l3: bool = False  # the output lives in L3: written there after the layer
    double_buffer: bool = True  # the tiling's buffering (decides the schedule's waits)


@dataclass(frozen=True)
class LayerFigures:
    index: int
    name: str
    kind: str
    kernel: str
    tile: tuple[int, int, int]
    counts: tuple[int, int, int]
    l1_bytes: int
    l1_budget: int
    l2_bytes: int  # the layer's own L2 buffers: inputs, output, parameters
    l2_live: int  # bytes live in L2 (plan, aligned) while the layer runs
    l3_bytes: int  # read from L3 into L2 for this layer: parameters and input windows
    l3_reads: int
    l3_write_bytes: int  # written from L2 to L3 after this layer: its output when it lives in L3
    l3_writes: int
    dma: DmaCounts  # cluster DMA L2 <-> L1
    dma_peak: int  # most cluster-DMA commands outstanding at once (of the MCHAN's 16 counters)
    cycles: int
    proved: bool
    solve_seconds: float
    objective: str
    macs: int = 0
    l1_buffers: tuple[tuple[str, int, tuple[int, ...]], ...] = ()  # L1 buffer: name, size, offset of each copy
    l2_step: int = -1  # the L2 plan's program step of the layer's call

    @property
    def tiles(self) -> int:
        h, w, c = self.counts
        return h * w * c


def layer_figures(layer: TiledLayer, target: Target, l2_live: int, l2_step: int = -1) -> LayerFigures:
    g = layer.geometry
    sizes, layer_target = TileSizes(*layer.tile), target.with_budget(l1_bytes=layer.l1_budget)
    plans = layer_plans(g, sizes, layer_target.dma)
    dma = layer_dma(g, sizes, layer_target, plans)
    queues = dma_queues(g, sizes, layer_target, layer.double_buffer)
    window_bytes, window_reads = plans.window_reads()
    l1 = l1_layout(g, sizes, layer_target, layer.double_buffer)
    windowed = sum(layer.inputs_l3)
    out_bytes = g.output_elements * g.out_bytes if layer.output_l3 else 0
    chunk = layer.l3_chunk
    chunks = -(-g.cout // chunk) if chunk else 1  # streamed: one read per parameter and chunk
    param_l2 = (sum(2 * (-(-chunk * (b // g.cout) // 8) * 8) for b in layer.param_bytes) if chunk
                else sum(layer.param_bytes))  # two L2 chunk slots (8-B aligned) per parameter
    return LayerFigures(
        index=layer.index, name=g.name, kind=g.kind, kernel=g.kernel, tile=layer.tile, counts=layer.counts,
        l1_bytes=layer.l1_bytes, l1_budget=layer.l1_budget,
        l2_bytes=layer.io_bytes + param_l2, l2_live=l2_live,
        l3_bytes=sum(layer.param_bytes) + windowed * window_bytes,
        l3_reads=chunks * len(layer.param_bytes) + windowed * window_reads,
        l3_write_bytes=out_bytes, l3_writes=int(layer.output_l3), dma=dma, dma_peak=queues.peak,
        cycles=layer.cycles, proved=layer.proved, solve_seconds=layer.solve_seconds, objective=layer.objective,
        macs=g.macs, l1_buffers=tuple((b.name, b.size, b.offsets) for b in l1.buffers), l2_step=l2_step,
    )


@dataclass
class NetworkReport:
    name: str
    layers: list[LayerFigures]
    l2_peak: int
    l2_lower_bound: int
    l2_budget: int
    l2_method: str
    l3_image_bytes: int  # weights.bin: every parameter, stored in L3
    stage_seconds: dict[str, float] = field(default_factory=dict)
    l2_buffers: tuple[tuple[str, int, int, int, int], ...] = ()  # name, offset, aligned size, first, last step
    l2_points: tuple[str, ...] = ()  # what runs at each program step of the L2 plan
    dropped_float_tail: list[str] = field(default_factory=list)  # --drop-float-tail: the ops not deployed

    @property
    def l2_ratio(self) -> float:
        return self.l2_peak / self.l2_lower_bound if self.l2_lower_bound else 1.0

    @property
    def dma(self) -> DmaCounts:
        total = DmaCounts()
        for layer in self.layers:
            total = total + layer.dma
        return total

    def totals(self) -> dict[str, int | float]:
        dma = self.dma
        return {
            "layers": len(self.layers), "tiles": sum(x.tiles for x in self.layers),
            "multi_tile_layers": sum(1 for x in self.layers if x.tiles > 1),
            "l1_bytes_max": max((x.l1_bytes for x in self.layers), default=0),
            "l2_peak": self.l2_peak, "l2_lower_bound": self.l2_lower_bound, "l2_budget": self.l2_budget,
            "l3_image_bytes": self.l3_image_bytes,
            "l3_to_l2_bytes": sum(x.l3_bytes for x in self.layers),
            "l3_to_l2_reads": sum(x.l3_reads for x in self.layers),
            "l2_to_l3_bytes": sum(x.l3_write_bytes for x in self.layers),
            "l2_to_l3_writes": sum(x.l3_writes for x in self.layers),
            "l2_to_l1_bytes": dma.in_bytes, "l2_to_l1_commands": dma.in_commands,
            "l1_to_l2_bytes": dma.out_bytes, "l1_to_l2_commands": dma.out_commands,
            "dma_peak_outstanding": max((x.dma_peak for x in self.layers), default=0),
            "macs": sum(x.macs for x in self.layers),
            "cycles": sum(x.cycles for x in self.layers),
            "proved_layers": sum(1 for x in self.layers if x.proved),
            "solve_seconds": round(sum(x.solve_seconds for x in self.layers), 6),
        }

    def to_json(self) -> dict:
        layers = []
        for x in self.layers:
            row = asdict(x)
            row["tiles"] = x.tiles
            row["dma"] = {"l2_to_l1_bytes": x.dma.in_bytes, "l2_to_l1_commands": x.dma.in_commands,
                          "l1_to_l2_bytes": x.dma.out_bytes, "l1_to_l2_commands": x.dma.out_commands}
            row["tile"], row["counts"] = list(x.tile), list(x.counts)
            row["l1_buffers"] = [{"name": n, "size": size, "offsets": list(offsets)} for n, size, offsets in x.l1_buffers]
            layers.append(row)
        buffers = [{"name": n, "offset": offset, "size": size, "first": first, "last": last}
                   for n, offset, size, first, last in self.l2_buffers]
        return {"network": self.name, "layers": layers, "totals": self.totals(),
                "l2_plan": {"peak": self.l2_peak, "lower_bound": self.l2_lower_bound,
                            "ratio": round(self.l2_ratio, 6), "budget": self.l2_budget, "method": self.l2_method,
                            "buffers": buffers, "points": list(self.l2_points)},
                "stage_seconds": {k: round(v, 6) for k, v in self.stage_seconds.items()},
                "dropped_float_tail": list(self.dropped_float_tail)}

    def json_text(self) -> str:
        return json.dumps(self.to_json(), indent=2) + "\n"

    def text(self) -> str:
        header = ("  # layer                 kind       tile h,w,c    tiles  L1 B    L2 own B  L2 live B "
                  "L3->L2 B  L2->L3 B  L2->L1 B / cmds      L1->L2 B / cmds     DMA out  cycles     opt  solve ms")
        lines = [f"{self.name}: {len(self.layers)} layers", header]
        if self.dropped_float_tail:
            lines.insert(1, f"dropped float tail (--drop-float-tail): {', '.join(self.dropped_float_tail)}")
        for x in self.layers:
            tile = ",".join(map(str, x.tile))
            lines.append(
                f"{x.index:3d} {x.name[:21]:21s} {x.kind:10s} {tile:12s} {x.tiles:6d} {x.l1_bytes:7d} "
                f"{x.l2_bytes:9d} {x.l2_live:9d} {x.l3_bytes:9d} {x.l3_write_bytes:9d} {x.dma.in_bytes:10d} / {x.dma.in_commands:<6d} "
                f"{x.dma.out_bytes:9d} / {x.dma.out_commands:<6d} {x.dma_peak:7d} {x.cycles:10d} {'yes' if x.proved else 'no':>4s} "
                f"{1000 * x.solve_seconds:8.1f}")
        t = self.totals()
        lines.append(
            f"total: {t['tiles']} tiles ({t['multi_tile_layers']} layers with more than one), L1 max "
            f"{t['l1_bytes_max']} B; L3->L2 {t['l3_to_l2_bytes']} B / {t['l3_to_l2_reads']} reads; "
            f"L2->L3 {t['l2_to_l3_bytes']} B / {t['l2_to_l3_writes']} writes; "
            f"L2->L1 {t['l2_to_l1_bytes']} B / {t['l2_to_l1_commands']} cmds; "
            f"L1->L2 {t['l1_to_l2_bytes']} B / {t['l1_to_l2_commands']} cmds; "
            f"at most {t['dma_peak_outstanding']} DMA commands outstanding; "
            f"{t['cycles']} modelled cycles; {t['proved_layers']}/{t['layers']} proved optimal, "
            f"solve {t['solve_seconds']:.2f} s")
        lines.append(
            f"L2 plan: peak {self.l2_peak} B, liveness lower bound {self.l2_lower_bound} B "
            f"({self.l2_ratio:.3f}x), budget {self.l2_budget} B ({self.l2_method}); L3 image {self.l3_image_bytes} B")
        if self.stage_seconds:
            stages = ", ".join(f"{k} {v:.2f} s" for k, v in self.stage_seconds.items())
            lines.append(f"compile time: {stages} (total {sum(self.stage_seconds.values()):.2f} s)")
        return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------- from a compiled module


def step_labels(ops) -> list[str]:
    """How the L2 plan steps (the top-level ops of the lowered @main) are named in diagnostics:
    a layer call by its function, the allocations and parameter loads that prepare it by the
    same name (they serve that layer), other ops (L2 data ops) by their op name."""
    from xdsl.dialects import func, memref

    labels: list[str] = []
    pending = 0
    for op in ops:
        if isinstance(op, func.CallOp):
            labels[len(labels) - pending:] = [op.callee.root_reference.data] * pending
            labels.append(op.callee.root_reference.data)
            pending = 0
        elif isinstance(op, memref.AllocOp | memref.GetGlobalOp):
            labels.append(op.name)
            pending += 1
        else:
            labels.append(op.name)
            pending = 0
    return labels


def network_l2_plan(module, plan: L2Plan | None = None) -> tuple[L2Plan, dict[int, int]]:
    """The L2 plan the C printer uses for a lowered module (`plan`, when the caller printed it
    already), its steps named after @main's ops, and the step of each layer's call (layer
    index -> step)."""
    from dataclasses import replace

    from xdsl.dialects import func

    from dory_xdsl.lowering.c_printer import NetworkPrinter, layer_functions, main_of

    if plan is None:
        plan, _ = NetworkPrinter(module).plan()
    ops = list(main_of(module).body.block.ops)
    labels = step_labels(ops) + ["the end of the network"]
    plan = replace(plan, points=tuple(labels[:len(plan.points)]))
    index_of = {f.sym_name.data: f.attributes["dory.layer"].value.data for f in layer_functions(module)}
    steps = {index_of[op.callee.root_reference.data]: step for step, op in enumerate(ops)
             if isinstance(op, func.CallOp) and op.callee.root_reference.data in index_of}
    return plan, steps


def build_report(name: str, module, tiled: list[TiledLayer], target: Target, l3_image_bytes: int,
                 stage_seconds: dict[str, float] | None = None, plan: L2Plan | None = None) -> NetworkReport:
    """The report of a lowered module (`plan`: the L2 plan the C printer used, when it has
    printed the module); raises `DoryError` (one line, naming the step) when the L2 plan does
    not fit the target's L2 left after the code reservation."""
    plan, steps = network_l2_plan(module, plan)
    plan.check_budget(target.l2_activation_bytes)
    live = plan.live_bytes()
    figures = [layer_figures(layer, target, live[steps[layer.index]], steps[layer.index]) for layer in tiled]
    buffers = tuple((b.name, plan.offsets[b.name], plan.size(b), b.first, b.last) for b in plan.buffers)
    return NetworkReport(name, figures, plan.peak, plan.lower_bound, target.l2_activation_bytes, plan.method,
                         l3_image_bytes, dict(stage_seconds or {}), buffers, tuple(plan.points))
