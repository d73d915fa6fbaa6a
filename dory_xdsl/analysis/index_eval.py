"""Execute the control flow and index arithmetic of lowered layer functions.

A layer function of `convert-qnn-to-dory` is a tile loop (`scf.for`, `scf.if`) with `arith`
index arithmetic around `dory` ops. `execute` runs such a block: it evaluates `arith` ops on
`index`/`i1` values (C semantics: signed, truncating division), runs loops and conditionals, and
hands every other op to a callback with the environment of SSA values. The tiled engine
executes layers with it, and the C printer uses it to count the DMA commands in flight.
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping

from xdsl.dialects import arith, scf
from xdsl.ir import Block, Operation, SSAValue

Env = MutableMapping[SSAValue, object]


def _div(a: int, b: int) -> int:
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


BINARY: dict[type[Operation], Callable[[int, int], int]] = {
    arith.AddiOp: lambda a, b: a + b,
    arith.SubiOp: lambda a, b: a - b,
    arith.MuliOp: lambda a, b: a * b,
    arith.DivSIOp: _div,
    arith.RemSIOp: lambda a, b: a - b * _div(a, b),
    arith.MinSIOp: min,
    arith.MaxSIOp: max,
    arith.AndIOp: lambda a, b: a & b,
    arith.OrIOp: lambda a, b: a | b,
}

# arith.cmpi predicates (MLIR numbering); unsigned ones compare the same non-negative values
COMPARE: dict[int, Callable[[int, int], bool]] = {
    0: lambda a, b: a == b, 1: lambda a, b: a != b, 2: lambda a, b: a < b, 3: lambda a, b: a <= b,
    4: lambda a, b: a > b, 5: lambda a, b: a >= b, 6: lambda a, b: a < b, 7: lambda a, b: a <= b,
    8: lambda a, b: a > b, 9: lambda a, b: a >= b,
}


def arith_value(op: Operation, env: Env) -> bool:
    """Evaluate `op` into `env` if it is index arithmetic; False for any other op."""
    kind = type(op)
    if kind is arith.ConstantOp:
        env[op.results[0]] = op.value.value.data  # type: ignore[attr-defined]
    elif kind in BINARY:
        env[op.results[0]] = BINARY[kind](env[op.operands[0]], env[op.operands[1]])  # type: ignore[arg-type]
    elif kind is arith.CmpiOp:
        predicate = op.predicate.value.data  # type: ignore[attr-defined]
        env[op.results[0]] = int(COMPARE[predicate](env[op.operands[0]], env[op.operands[1]]))  # type: ignore[arg-type]
    elif kind is arith.SelectOp:
        env[op.results[0]] = env[op.operands[1]] if env[op.operands[0]] else env[op.operands[2]]
    else:
        return False
    return True


def execute(block: Block, env: Env, other: Callable[[Operation, Env], None]) -> None:
    """Run `block`: arithmetic, `scf.for`, `scf.if` and `scf.yield` here, everything else by
    `other(op, env)`."""
    for op in block.ops:
        if arith_value(op, env):
            continue
        if isinstance(op, scf.ForOp):
            if op.iter_args:
                raise NotImplementedError("scf.for with iter_args")
            body = op.body.block
            for i in range(env[op.lb], env[op.ub], env[op.step]):  # type: ignore[call-overload]
                env[body.args[0]] = i
                execute(body, env, other)
        elif isinstance(op, scf.IfOp):
            region = op.true_region if env[op.cond] else op.false_region
            if region.blocks:
                execute(region.block, env, other)
        elif isinstance(op, scf.YieldOp):
            continue
        else:
            other(op, env)
