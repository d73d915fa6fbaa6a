"""Z3 proof that an L3 -> L2 tiling choice is optimal over the layer's candidate table.

`dory_xdsl.tiling.l3_tiling.best_tiling` picks the L2 tile by an exact search over the candidate list
(`l3_tiling.candidates`, every L2 tile made of whole L1 tiles, with its exact L2 footprint and
modelled cycles from `l3_tiling.evaluate`). This module checks that choice with the same scheme
as the L1 level (`dory_xdsl.tiling.tiling_model`): one bounded index variable into the candidate list;
the footprint and the cycles are lookups (`dory_xdsl.tiling.z3_terms.lookup`) into tables built from
the candidates themselves, so there is no second copy of the formulas. Z3 decides
(a) the chosen candidate fits the allowance with exactly its cycles (sat) and
(b) no candidate fits with strictly fewer cycles (unsat); when nothing was chosen, (c) no
candidate fits at all (unsat).

Deterministic: a fresh `z3.Context` per proof, a fixed random seed and a resource limit
(`rlimit`, Z3's own work units, never wall-clock). Running out of it marks the result not proved
(the same on every machine). Z3 contradicting the search (a better or a rejected candidate) is
a bug in the search and raises AssertionError.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import z3

from dory_xdsl.tiling import z3_terms as zt

DEFAULT_RLIMIT = 5_000_000  # Z3 resource units per proof
Z3_SEED = 0


@dataclass(frozen=True)
class L3Proof:
    proved: bool
    z3_work: int  # Z3 resource units spent (deterministic)
    solve_seconds: float = field(default=0.0, compare=False)  # reporting only


def prove_choice(footprints: Sequence[int], cycles: Sequence[int], chosen: int | None, allowance: int,
                 what: str = "layer", rlimit: int = DEFAULT_RLIMIT) -> L3Proof:
    """Prove that candidate `chosen` (None: no candidate) is the cheapest one whose footprint
    fits `allowance`. Raises AssertionError when Z3 finds the search wrong."""
    start = time.perf_counter()
    ctx = z3.Context()
    solver = z3.Solver(ctx=ctx)
    solver.set("random_seed", Z3_SEED)
    solver.set("rlimit", rlimit)
    idx = z3.Int("l2_tile", ctx)
    conditions = zt.index_conditions(idx, len(footprints))
    solver.add(idx >= 0, idx < len(footprints))
    solver.add(zt.lift(zt.lookup(conditions, footprints), ctx) <= allowance)
    cost = zt.lift(zt.lookup(conditions, cycles), ctx)
    if chosen is None:
        results = [solver.check()]
        expected = [z3.unsat]
    else:
        solver.push()
        solver.add(idx == chosen, cost == cycles[chosen])
        attained = solver.check()
        solver.pop()
        solver.add(cost < cycles[chosen])
        results = [attained, z3.unknown if attained == z3.unknown else solver.check()]
        expected = [z3.sat, z3.unsat]
    stats = solver.statistics()
    work = stats.get_key_value("rlimit count") if "rlimit count" in stats.keys() else 0
    if z3.unknown in results:
        return L3Proof(False, work, time.perf_counter() - start)
    if results != expected:
        raise AssertionError(f"Z3 and the L3 -> L2 search disagree on {what}: expected {expected}, "
                             f"got {results} (chosen candidate {chosen}, allowance {allowance} B)")
    return L3Proof(True, work, time.perf_counter() - start)
