"""Z3 integer terms for the tiling model, and `Z3Arith`, the `dory_xdsl.tiling.tiles.Arith` over them.

The tiling model writes its formulas once (`dory_xdsl.tiling_tables.layer_terms` over
`dory_xdsl.tiling.tiles.l1_buffer_specs` and `dory_xdsl.tiling.tiling_model.cycles_formula`) over an
arithmetic protocol; here is the symbolic side. Every per-axis quantity enters as a table lookup
on a bounded index variable (`lookup`), so the only nonlinear terms are products of a few such
lookups, which Z3 solves by case-splitting the small index domains.

Every term lives in an explicit `z3.Context`: the tiling model builds each layer's problem in a
fresh context, so Z3's internal term numbering, hence its search and its resource count, is the
same whatever was solved before in the process (determinism).

Measured on the dronet 5x5 stride-2 layer (same model, same optimum): this integer encoding
0.35 s; a width-minimised bit-vector encoding of the same lookups 3-4.7 s (the BV optimiser
pays about 0.15 s even for a two-variable 8-bit problem); a naive integer model with the raw
products and no index domains did not finish in 300 s.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Union

import z3
from z3.z3core import Z3_mk_eq, Z3_mk_ite

Operand = Union[z3.ArithRef, int]


def lift(x: Operand, ctx: z3.Context) -> z3.ArithRef:
    return x if isinstance(x, z3.ArithRef) else z3.IntVal(x, ctx)


def index_conditions(index: z3.ArithRef, size: int) -> list[z3.BoolRef]:
    """The atoms index == 0 .. size-1, built once per index and shared by all its lookups."""
    ctx = index.ctx
    return [z3.BoolRef(Z3_mk_eq(ctx.ref(), index.as_ast(), z3.IntVal(i, ctx).as_ast()), ctx)
            for i in range(size)]


def lookup(conditions: Sequence[z3.BoolRef], values: Sequence[int]) -> Operand:
    """values[index] as an if-chain over `index_conditions` (the caller bounds the index).

    Built through the C API: `z3.If` re-checks and coerces its operands on every call, which
    made building the terms cost as much as solving them."""
    if len(set(values)) == 1:
        return values[0]
    ctx = conditions[0].ctx
    expr: z3.ArithRef = z3.IntVal(values[-1], ctx)
    for i in range(len(values) - 2, -1, -1):
        value = z3.IntVal(values[i], ctx)
        expr = z3.ArithRef(Z3_mk_ite(ctx.ref(), conditions[i].as_ast(), value.as_ast(), expr.as_ast()), ctx)
    return expr


class LazyLookups:
    """Named tables looked up on one index, each built as a term only when first used."""

    def __init__(self, index: z3.ArithRef, tables: dict[str, Sequence[int]]):
        self._conditions = index_conditions(index, len(next(iter(tables.values()))))
        self._tables = tables
        self._terms: dict[str, Operand] = {}

    def __getattr__(self, name: str) -> Operand:
        if name.startswith("_") or name not in self._tables:
            raise AttributeError(name)
        if name not in self._terms:
            self._terms[name] = lookup(self._conditions, self._tables[name])
        return self._terms[name]


class Z3Arith:
    """`dory_xdsl.tiling.tiles.Arith` (plus max and ceil-division) over Z3 integer terms of one context."""

    def __init__(self, ctx: z3.Context):
        self.ctx = ctx

    def lift(self, x: Operand) -> z3.ArithRef:
        return lift(x, self.ctx)

    def all_one(self, *xs: Operand) -> z3.BoolRef | bool:
        if any(isinstance(x, int) and x != 1 for x in xs):
            return False
        conds = [x == 1 for x in xs if not isinstance(x, int)]
        if not conds:
            return True
        return z3.And(*conds) if len(conds) > 1 else conds[0]

    def ite(self, cond: z3.BoolRef | bool, a: Operand, b: Operand) -> Operand:
        if isinstance(cond, bool):
            return a if cond else b
        return z3.If(cond, self.lift(a), self.lift(b))

    def maximum(self, a: Operand, b: Operand) -> Operand:
        if isinstance(a, int) and isinstance(b, int):
            return max(a, b)
        return z3.If(self.lift(a) >= self.lift(b), self.lift(a), self.lift(b))

    @staticmethod
    def div_ceil(x: Operand, d: int) -> Operand:
        """ceil(x / d) for a constant d > 0 and x >= 0."""
        if isinstance(x, int):
            return -(-x // d)
        return (x + (d - 1)) / d  # Z3 integer division by a constant

    def align(self, x: Operand, alignment: int) -> Operand:
        return self.div_ceil(x, alignment) * alignment
