"""Network-level L3 decisions under an L2 budget, iterated with the offline L2 planner (pure).

Input: a `Program` (the steps in execution order: layers with their geometry, L1 tiling and
modelled cycles, and L2 data ops such as reshape copies; the tensors with their sizes; the
network inputs and outputs) and the L2 budget. Output (`L3Plan`): for every layer its L3 -> L2
tiling (`dory_xdsl.tiling.l3_tiling.L2Tiling`: L2 tile rows x channels, order, windows, weight chunks),
the mode of its parameters, the activation tensors kept in L3, and the offline L2 plan
(`dory_xdsl.tiling.l2_planner`) of every L2 buffer that results, which fits the budget.

Parameter modes
- "resident": copied to L2 once at network load, live over the whole program (no L3 traffic
  per inference);
- "prefetch": copied whole from L3 during the previous step (double-buffered across layers:
  live at the previous step and its own), its L3 time hidden behind the previous layer;
- "whole": copied whole from L3 at the start of the layer (live at its step only);
- "stream": copied in output-channel chunks, double-buffered, while the layer runs (the
  layer's L2 tiling has more than one channel tile).

Algorithm (plan, find the peak, tile it, re-plan)
1. Start with every activation in L2 and every layer untiled ("whole" parameters).
2. Each layer takes the cheapest L3 -> L2 tiling whose own buffers fit its *allowance*: the
   budget minus the bytes of everything else live at its step (whole L2 tensors, resident and
   prefetched parameters of other layers) minus a fragmentation margin (step 4). Cheapest is
   by modelled cycles (`l3_tiling`): streaming weights in the largest chunks that fit, and so on.
3. If some layer cannot fit even with its smallest tiling, an activation tensor must leave L2:
   among the L2 tensors live at the worst step that may move (produced and consumed by layers,
   not a network input or output), move to L3 the one after which the worst deficit is the
   smallest, ties to the smaller modelled cycles. Its producer then writes it by windows and
   every consumer reads it by windows (rows and/or channels), which shrinks those layers'
   footprints; a bypass tensor (a residual branch) frees its whole size at the steps it skips.
   Back to 2.
4. Plan L2 (the offline planner over every buffer with its liveness). The planner's peak may
   exceed the largest live set (fragmentation); then the step at the plan's peak gets a margin
   of the excess and everything is solved again (back to 2), a bounded number of times.
5. Once it fits: upgrade parameters, most L3 cycles saved first, from "whole" to "prefetch" and
   then to "resident" while the plan still fits (each upgrade is one planner run; `upgrades`
   bounds them).

A program that still cannot fit (a step whose smallest tilings with every movable tensor in L3
exceed the budget) raises `DoryError` naming the step and the bytes needed and available.

What the back end realises today (`transforms/qnn_l3_tile.py` runs this planner restricted to
it: `L3Model(lowered_only=True)`, no upgrades): parameters copied whole before their layer, or
streamed in chunks of exactly the layer's L1 channel tile through two L2 slots; activations in
L3 written whole by their producer (through an L2 staging buffer) and read by consumers in
windows of one L1 row tile (`convert-qnn-to-dory`, `dory.l3_start` / `dory.l3_wait`). Not
lowered yet: output windows (a producer tiled by rows or channels into L3, so a layer with its
input and output both in L3), chunks spanning several L1 tiles, and the prefetch / resident
parameter modes; `dory_xdsl.tiling.l3_schedule` describes the general L2 tile schedule (requests and
window-relative L1 copies, simulated bit-exactly in its tests).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from dory_xdsl.tiling import l2_planner
from dory_xdsl.errors import DoryError
from dory_xdsl.tiling.l2_planner import Buffer, L2Plan
from dory_xdsl.tiling.l3_tiling import L2Tiling, L3Model, LayerPlacement, align_up, best_tiling, smallest_tiling
from dory_xdsl.tiling.layer_geometry import LayerGeometry
from dory_xdsl.tiling.tiles import TileSizes

MODES = ("resident", "prefetch", "whole", "stream", "none")
UNREALISABLE = 10**12  # the deficit of a layer whose placement has no tiling


@dataclass(frozen=True)
class Step:
    """One program point: a layer (`geometry` set) or an L2 data op (its tensors must be in L2)."""

    name: str
    inputs: tuple[str, ...]
    output: str
    geometry: LayerGeometry | None = None
    l1: TileSizes | None = None  # the layer's L1 tile sizes
    cycles: int = 0  # the layer's modelled L2 <-> L1 cycles

    @property
    def is_layer(self) -> bool:
        return self.geometry is not None


@dataclass(frozen=True)
class Program:
    steps: tuple[Step, ...]
    sizes: tuple[tuple[str, int], ...]  # tensor name -> bytes
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]

    def __post_init__(self) -> None:
        names = [n for n, _ in self.sizes]
        if len(set(names)) != len(names) or any(":" in n for n in names):
            raise ValueError("tensor names must be unique and must not contain ':' (layer buffers use it)")

    def size(self, tensor: str) -> int:
        return dict(self.sizes)[tensor]

    def live_range(self, tensor: str) -> tuple[int, int]:
        """Steps during which a tensor in L2 is live. Network inputs and outputs are buffers the
        application provides: inputs live from the start, outputs over the whole program."""
        producers = [i for i, s in enumerate(self.steps) if s.output == tensor]
        consumers = [i for i, s in enumerate(self.steps) if tensor in s.inputs]
        first = producers[0] if producers and tensor not in self.outputs else 0
        last = len(self.steps) - 1 if tensor in self.outputs else max([first, *consumers])
        return first, last

    def movable(self, tensor: str) -> bool:
        """Whether the tensor may live in L3: produced and consumed by layers only."""
        if tensor in self.inputs or tensor in self.outputs:
            return False
        users = [s for s in self.steps if s.output == tensor or tensor in s.inputs]
        return bool(users) and all(s.is_layer for s in users)


@dataclass
class L3Plan:
    program: Program
    budget: int
    tilings: dict[str, L2Tiling]  # layer step name -> its L3 -> L2 tiling
    modes: dict[str, str]  # layer step name -> parameter mode
    tensors_l3: frozenset[str]
    l2: L2Plan
    iterations: int
    notes: list[str] = field(default_factory=list)

    @property
    def l3_read(self) -> int:
        """Bytes read from L3 per inference (resident parameters excluded)."""
        return sum(t.l3_read - (self.param_bytes(n) if self.modes[n] == "resident" else 0)
                   for n, t in self.tilings.items())

    @property
    def l3_write(self) -> int:
        return sum(t.l3_write for t in self.tilings.values())

    def param_bytes(self, step: str) -> int:
        g = next(s.geometry for s in self.program.steps if s.name == step)
        from dory_xdsl.tiling.tiles import parameter_bytes_per_channel

        return g.cout * sum(parameter_bytes_per_channel(g).values())  # type: ignore[union-attr]

    def summary(self) -> str:
        tiled = sum(1 for t in self.tilings.values() if not t.untiled)
        streamed = sum(1 for m in self.modes.values() if m == "stream")
        return (f"L3: {len(self.tensors_l3)} activation(s) in L3, {tiled} layer(s) L2-tiled, {streamed} "
                f"streaming weights; L3 read {self.l3_read:,} B, written {self.l3_write:,} B per inference; "
                f"L2 peak {self.l2.peak:,} B of {self.budget:,} B (lower bound {self.l2.lower_bound:,} B)")


class _State:
    """The decisions being iterated on."""

    def __init__(self, program: Program, budget: int, model: L3Model, alignment: int):
        self.p, self.budget, self.model, self.alignment = program, budget, model, alignment
        self.in_l3: set[str] = set()
        self.margin = [0] * len(program.steps)
        self.modes: dict[str, str] = {}  # upgrades only: "prefetch" / "resident"
        self.ranges = {name: program.live_range(name) for name, _ in program.sizes}
        self.no_prefetch: set[int] = set()  # layers whose prefetch did not fit
        self.activations_l3 = True

    def placement(self, step: Step) -> LayerPlacement:
        return LayerPlacement(tuple(t in self.in_l3 for t in step.inputs), step.output in self.in_l3)

    def tensor_buffers(self, in_l3: set[str] | None = None) -> list[Buffer]:
        in_l3 = self.in_l3 if in_l3 is None else in_l3
        return [Buffer(name, size, *self.ranges[name]) for name, size in self.p.sizes if name not in in_l3]

    def param_range(self, index: int, mode: str) -> tuple[int, int]:
        if mode == "resident":
            return 0, len(self.p.steps) - 1
        if mode == "prefetch":
            return max(0, index - 1), index
        return index, index

    def layer_buffers(self, index: int, tiling: L2Tiling) -> list[Buffer]:
        step = self.p.steps[index]
        mode = self.modes.get(step.name, "whole")
        out = []
        for name, size in tiling.buffers:
            first, last = (self.param_range(index, mode) if name not in ("out",) and not name.startswith("in")
                           else (index, index))
            out.append(Buffer(f"{step.name}:{name}", size, first, last))
        return out

    def fixed_live(self, index: int, tilings: dict[int, L2Tiling], in_l3: set[str]) -> int:
        """Bytes live at step `index` that are not this layer's own buffers."""
        total = 0
        for b in self.tensor_buffers(in_l3):
            if b.first <= index <= b.last:
                total += align_up(b.size, self.alignment)
        for j, t in tilings.items():
            if j == index:
                continue
            for b in self.layer_buffers(j, t):
                if b.first <= index <= b.last:
                    total += align_up(b.size, self.alignment)
        return total

    def solve(self, in_l3: set[str]) -> tuple[dict[int, L2Tiling], dict[int, int]]:
        """Each layer's cheapest tiling within its allowance; deficits of the layers that do not fit."""
        saved, self.in_l3 = self.in_l3, in_l3
        try:
            tilings: dict[int, L2Tiling] = {}
            deficits: dict[int, int] = {}
            layers = [i for i, s in enumerate(self.p.steps) if s.is_layer]
            # parameters of other layers are live at a step only when upgraded (prefetch /
            # resident): take them from the current modes with each layer's smallest tiling
            for i in layers:
                smallest = self._smallest(i)
                if smallest is None:
                    deficits[i] = UNREALISABLE
                else:
                    tilings[i] = smallest
            for i in layers:
                if i in deficits:
                    continue
                step = self.p.steps[i]
                allowance = self.budget - self.fixed_live(i, tilings, in_l3) - self.margin[i]
                choice = best_tiling(step.geometry, step.l1, self.placement(step), step.cycles, allowance,  # type: ignore[arg-type]
                                     self.model, self.alignment, self.hidden(i))
                if choice is None:
                    deficits[i] = tilings[i].l2_bytes - allowance
                else:
                    tilings[i] = choice
            for i, s in enumerate(self.p.steps):
                if not s.is_layer:
                    live = self.fixed_live(i, tilings, in_l3)
                    if live > self.budget:
                        deficits[i] = live - self.budget
            return tilings, deficits
        finally:
            self.in_l3 = saved

    def hidden(self, i: int) -> int:
        """Cycles of the previous step a prefetch of layer `i`'s parameters could hide."""
        return self.p.steps[i - 1].cycles if i > 0 and i not in self.no_prefetch else 0

    def _smallest(self, i: int) -> L2Tiling | None:
        step = self.p.steps[i]
        return smallest_tiling(step.geometry, step.l1, self.placement(step), step.cycles,  # type: ignore[arg-type]
                               self.model, self.alignment)

    def buffers(self, tilings: dict[int, L2Tiling]) -> list[Buffer]:
        out = self.tensor_buffers()
        for i, t in sorted(tilings.items()):
            out.extend(self.layer_buffers(i, t))
        return out

    def plan(self, tilings: dict[int, L2Tiling]) -> L2Plan:
        points = [s.name for s in self.p.steps]
        buffers = self.buffers(tilings)
        plan = l2_planner.plan_l2(points, buffers, self.alignment)
        if plan.peak > self.budget >= plan.lower_bound:
            try:  # a longer search is worth it when the plan would otherwise miss the budget
                plan = l2_planner.plan_l2(points, buffers, self.alignment, budget=self.budget)
            except DoryError:
                pass
        return plan


def plan_l3(program: Program, budget: int, model: L3Model = L3Model(), alignment: int = 8,
            upgrades: int = 64, max_iterations: int = 64, activations_l3: bool = True) -> L3Plan:
    """Decide L3 placement and L3 -> L2 tiling so that the L2 plan fits `budget` bytes.

    `upgrades` bounds the planner runs spent on prefetch / resident parameters (0: none);
    `activations_l3` False keeps every activation in L2 (only parameters are streamed)."""
    state = _State(program, budget, model, alignment)
    state.activations_l3 = activations_l3
    if not upgrades:  # no prefetch: cost whole parameter reads as blocking from the start
        state.no_prefetch = set(range(len(program.steps)))
    notes: list[str] = []
    for iteration in range(1, max_iterations + 1):
        tilings, deficits = state.solve(state.in_l3)
        if deficits:
            _move_a_tensor(state, deficits, notes)
            continue
        plan = state.plan(tilings)
        if plan.peak <= budget:
            break
        point = plan.peak_point()
        state.margin[point] += max(plan.peak - budget, alignment)
        notes.append(f"fragmentation at '{program.steps[point].name}': margin {state.margin[point]} B")
    else:
        raise DoryError(f"L2 memory: no L3 plan fits {budget:,} B after {max_iterations} iterations")
    tilings, plan = _upgrade(state, tilings, plan, upgrades, notes)
    modes = {}
    for i, t in tilings.items():
        name = program.steps[i].name
        if not any(n in ("weights", "bias", "k", "lambda") for n, _ in t.buffers):
            modes[name] = "none"
        else:
            modes[name] = "stream" if t.weights_mode == "stream" else state.modes.get(name, "whole")
    return L3Plan(program, budget, {program.steps[i].name: t for i, t in sorted(tilings.items())}, modes,
                  frozenset(state.in_l3), plan, iteration, notes)


def _move_a_tensor(state: _State, deficits: dict[int, int], notes: list[str]) -> None:
    # the layer short of most bytes (data steps only when no layer is short: layers can be tiled)
    worst = max(deficits, key=lambda i: (state.p.steps[i].is_layer, deficits[i], -i))
    step = state.p.steps[worst]
    candidates = [name for name, _ in state.p.sizes
                  if state.activations_l3 and name not in state.in_l3 and state.p.movable(name)
                  and state.ranges[name][0] <= worst <= state.ranges[name][1]]
    best = None
    for name in candidates:
        tilings, after = state.solve(state.in_l3 | {name})
        if max(after.values(), default=0) >= UNREALISABLE:
            continue  # a layer would have its input and output both in L3 (not lowered)
        key = (after.get(worst, 0) > 0, max(after.values(), default=0), sum(t.cycles for t in tilings.values()), name)
        if best is None or key < best[0]:
            best = (key, name)
    if best is None:
        moved = " and the activations that may go to L3 in L3" if state.activations_l3 else ""
        raise DoryError(f"L2 memory: {state.budget + deficits[worst]:,} B are live at '{step.name}' even with "
                        f"its weights streamed{moved}, only {state.budget:,} B are available "
                        f"(short by {deficits[worst]:,} B)")
    state.in_l3.add(best[1])
    notes.append(f"'{best[1]}' moved to L3 (step '{step.name}' was short by {deficits[worst]:,} B)")


def _upgrade(state: _State, tilings: dict[int, L2Tiling], plan: L2Plan, max_calls: int,
             notes: list[str]) -> tuple[dict[int, L2Tiling], L2Plan]:
    """Whole parameters -> "prefetch" (most L3 cycles saved first), then -> "resident" (smallest
    first), each kept when the plan still fits without making any layer costlier. Layers whose
    prefetch does not fit were costed as if it did: they are solved again without it."""
    calls = 0

    def attempt(i: int, mode: str) -> bool:
        nonlocal tilings, plan, calls
        name = state.p.steps[i].name
        previous = state.modes.get(name)
        state.modes[name] = mode
        calls += 1
        trial_tilings, deficits = state.solve(state.in_l3)
        trial = state.plan(trial_tilings) if not deficits else None
        if trial is not None and trial.peak <= state.budget and _no_costlier(trial_tilings, tilings):
            tilings, plan = trial_tilings, trial
            notes.append(f"parameters of '{name}' {mode}")
            return True
        if previous is None:
            del state.modes[name]
        else:
            state.modes[name] = previous
        return False

    def whole(i: int) -> bool:
        return tilings[i].weights_mode == "whole" and tilings[i].l3_read > 0

    for i in sorted((i for i in tilings if whole(i) and state.hidden(i)), key=lambda i: (-tilings[i].l3_read, i)):
        if calls >= max_calls or not whole(i) or not attempt(i, "prefetch"):
            state.no_prefetch.add(i)
    if state.no_prefetch & {i for i in tilings if whole(i)}:
        retry, deficits = state.solve(state.in_l3)
        trial = state.plan(retry) if not deficits else None
        if trial is not None and trial.peak <= state.budget:
            tilings, plan = retry, trial
    for i in sorted((i for i in tilings if whole(i)), key=lambda i: (tilings[i].l3_read, i)):
        if calls >= max_calls:
            break
        attempt(i, "resident")
    return tilings, plan


def _no_costlier(a: dict[int, L2Tiling], b: dict[int, L2Tiling]) -> bool:
    """An upgrade must not force another layer into a costlier tiling."""
    return all(a[i].cycles <= b[i].cycles for i in b)


def chain_program(layers: Sequence[tuple[str, LayerGeometry, TileSizes, int]], input_bytes: int | None = None) -> Program:
    """A straight chain of layers (each reads the previous output): a helper for tests and tools."""
    steps, sizes = [], []
    first = layers[0][1]
    sizes.append(("input", input_bytes if input_bytes is not None else first.h * first.w * first.cin * first.act_bytes))
    prev = "input"
    for name, g, l1, cycles in layers:
        out = f"{name}.out"
        steps.append(Step(name, (prev,) * g.num_inputs, out, g, l1, cycles))
        sizes.append((out, g.output_elements * g.out_bytes))
        prev = out
    return Program(tuple(steps), tuple(sizes), ("input",), (prev,))
