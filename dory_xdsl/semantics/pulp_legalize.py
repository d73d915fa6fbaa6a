"""Exact PULP-NN forms of requantizations and adds, found on value tables (no IR).

The activations of the back end are `ui8`, so an element-wise op is a function of at most 256
values per input: its whole table can be computed (`requant_table`, `add_table`) and a candidate
rewrite is accepted only when it reproduces the table exactly, over the full input range. The
`qnn-legalize-pulp` pass builds IR from what these functions return.

- `add_form(table)`: `pulp_nn_add(x, x, m1, m2, d)` computes `clip8((uint16)((m1 + m2)*x >> d))`;
  for a per-tensor requantization (one table for every channel) the smallest shift `d` whose
  multiplier interval is non-empty gives `m = m1 + m2` with both multipliers in [0, 32767], the
  shifted sum below 2^16 and `d` below 32 (the hardware shift takes 5 bits).
- `add_decomposition(params)`: a `qnn.add` with offsets or two shifted inputs as
  `add(u, v)` where each of `u`, `v` is either the raw input (its term is kept in the final add)
  or a `ui8` requantization `clip8((mul*x + add + (c << shift)) >> shift)` of it. The
  offset `c` moves the two terms into [0, 255] together (`t_a + c` and `t_b - c`, so the sum is
  unchanged); when no `c` fits both terms exactly, offsets whose clipping cannot change the
  saturated result are searched. Each candidate is checked on all 256 x 256 input pairs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dory_xdsl.semantics import kernels

from dory_xdsl.semantics import reference

UI8 = np.arange(256, dtype=np.int64)
ADD_MULT_MAX = 32767  # pulp_nn_add reads the multipliers as int16
MAX_OFFSET_SCAN = 256  # clip-tolerant offsets tried when no offset fits both terms exactly


def requant_table(k: np.ndarray, lam: np.ndarray, shift: int, lo: int, hi: int, bits: int) -> np.ndarray:
    """`out[c, x]` of `clip((k[c]*x + lam[c]) >> shift, lo, hi)` for every ui8 `x` (shape [C, 256])."""
    k = np.asarray(k, dtype=np.int64).reshape(-1, 1)
    lam = np.asarray(lam, dtype=np.int64).reshape(-1, 1)
    k, lam = np.broadcast_arrays(k, lam)
    x = np.broadcast_to(UI8, (k.shape[0], 256))
    return reference.requantize(x, k[:, 0], lam[:, 0], shift, lo, hi, bits == 64, axis=0)


def add_form(table: np.ndarray) -> tuple[int, int, int] | None:
    """`(m1, m2, d)` with `pulp_nn_add(x, x, m1, m2, d) == table[x]` for every ui8 x, or None."""
    table = np.asarray(table, dtype=np.int64).reshape(256)
    if table[0] != 0 or table.min() < 0 or table.max() > 255:
        return None
    x = UI8[1:]
    v = table[1:]
    for d in range(32):
        scale = 1 << d
        # clip8(m*x >> d) == v  <=>  m*x in [v << d, (v+1) << d), open above for 255, below for 0
        low = np.where(v == 0, 0, -(-(v * scale) // x))
        high = np.where(v == 255, 2 * ADD_MULT_MAX, -(-((v + 1) * scale) // x) - 1)
        m = int(low.max())
        if m > min(int(high.min()), 2 * ADD_MULT_MAX) or (255 * m) >> d >= 1 << 16:
            continue
        m1 = min(m, ADD_MULT_MAX)
        mults = (m1, m - m1, d)
        got = kernels.add(UI8, UI8, out_mult1=mults[0], out_mult2=mults[1], out_shift=d)
        if np.array_equal(got, table):
            return mults
    return None


@dataclass(frozen=True)
class SideRequant:
    """One input of an add requantized into ui8: `clip8((k*x + lam) >> shift)` (`bits` = 32/64)."""

    k: int
    lam: int
    shift: int
    bits: int

    def table(self) -> np.ndarray:
        return requant_table(np.array([self.k]), np.array([self.lam]), self.shift, 0, 255, self.bits)[0]


@dataclass(frozen=True)
class AddDecomposition:
    """`add(u, v)` with `u`/`v` = the raw input (None) or a `SideRequant` of it; `final` holds
    the `qnn.add` parameters of the final add (no offsets, clip [0, 255])."""

    lhs: SideRequant | None
    rhs: SideRequant | None
    final: dict[str, int]


def add_table(params: dict[str, int], a: np.ndarray = UI8, b: np.ndarray = UI8) -> np.ndarray:
    """`out[i, j]` of `qnn.add` with `params` on inputs `a[i]`, `b[j]` (shape [len(a), len(b)])."""
    return reference.add(np.asarray(a)[:, None], np.asarray(b)[None, :], **params)


def _term(x: np.ndarray, mul: int, add: int, shift: int) -> np.ndarray:
    """`(x*mul + add) >> shift` of one add input, in wrapping int32 as `qnn.add` computes it."""
    params = dict(mul_a=mul, add_a=add, shift_a=shift, mul_b=0, add_b=0, shift_b=0, shift=0,
                  lo=-(1 << 31), hi=(1 << 31) - 1)
    return add_table(params, x, np.zeros(1, dtype=np.int64))[:, 0]


def _side(mul: int, add: int, shift: int, offset: int) -> list[SideRequant]:
    """Requantizations computing `term + offset` (32-bit constants first, when they fit)."""
    lam = add + (offset << shift)
    sides = []
    if -(1 << 31) <= mul < 1 << 31 and -(1 << 31) <= lam < 1 << 31 and shift < 32:
        sides.append(SideRequant(mul, lam, shift, 32))
    if -(1 << 63) <= mul < 1 << 63 and -(1 << 63) <= lam < 1 << 63:
        sides.append(SideRequant(mul, lam, shift, 64))
    return sides


def _offsets(ta: np.ndarray, tb: np.ndarray) -> list[int]:
    """Offsets `c` for `t_a + c`, `t_b - c`: those fitting both terms in [0, 255] (nearest to 0
    first), else the clip-tolerant candidates nearest to the exact interval."""
    lo = max(-int(ta.min()), int(tb.max()) - 255)
    hi = min(255 - int(ta.max()), int(tb.min()))
    if lo <= hi:
        return [min(max(0, lo), hi)]
    # Both clipped terms must keep some values in [0, 255]: c in [-max ta, 255 - min ta] and
    # c in [min tb - 255, max tb]; try those nearest to the infeasible interval first.
    start = max(-int(ta.max()), int(tb.min()) - 255)
    stop = min(255 - int(ta.min()), int(tb.max()))
    centre = (lo + hi) // 2
    # the MAX_OFFSET_SCAN nearest lie in this window (the terms may be far wider than 8 bits)
    first = max(start, min(centre, stop) - MAX_OFFSET_SCAN)
    last = min(stop, max(centre, start) + MAX_OFFSET_SCAN)
    candidates = sorted(range(first, last + 1), key=lambda c: (abs(c - centre), c))
    return candidates[:MAX_OFFSET_SCAN]


def add_decomposition(params: dict[str, int]) -> AddDecomposition | None:
    """An exact decomposition of a `qnn.add` with `ui8` inputs and result, or None."""
    target = add_table(params)
    p = params
    ta, tb = _term(UI8, p["mul_a"], p["add_a"], p["shift_a"]), _term(UI8, p["mul_b"], p["add_b"], p["shift_b"])
    plans: list[tuple[bool, bool]] = []  # (requant lhs, requant rhs), fewest layers first
    if p["add_a"] == 0:
        plans.append((False, True))
    if p["add_b"] == 0:
        plans.append((True, False))
    plans.append((True, True))
    for req_a, req_b in plans:
        offsets = _offsets(ta, tb) if req_a and req_b else [0]
        for c in offsets:
            for lhs in _side(p["mul_a"], p["add_a"], p["shift_a"], c) if req_a else [None]:
                for rhs in _side(p["mul_b"], p["add_b"], p["shift_b"], -c) if req_b else [None]:
                    final = _final_params(p, lhs, rhs)
                    if isinstance(pulp_add_args(final), str):
                        continue
                    u = lhs.table() if lhs else UI8
                    v = rhs.table() if rhs else UI8
                    if np.array_equal(add_table(final, u, v), target):
                        return AddDecomposition(lhs, rhs, final)
    return None


def _final_params(p: dict[str, int], lhs: SideRequant | None, rhs: SideRequant | None) -> dict[str, int]:
    """The final add: a raw side keeps its multiplier and shift, a requantized side is taken 1:1."""
    final = dict(mul_a=1, add_a=0, shift_a=0, mul_b=1, add_b=0, shift_b=0, shift=p["shift"], lo=0, hi=255)
    if lhs is None:
        final.update(mul_a=p["mul_a"], shift_a=p["shift_a"])
    if rhs is None:
        final.update(mul_b=p["mul_b"], shift_b=p["shift_b"])
    return final


def pulp_add_args(p: dict[str, int]) -> tuple[int, int, int] | str:
    """`add_multipliers` on the `qnn.add` parameters `p` (ui8 inputs and result).

    `((a*mul_a) >> shift_a) + b*mul_b == (a*mul_a + (b*mul_b << shift_a)) >> shift_a` (and
    symmetrically), then `>> shift` composes into one shift. The kernel reads the multipliers as
    int16 (so [0, 32767]), keeps the shifted sum in a uint16 (so it must stay below 2^16) and
    shifts a uint32 (a shift of 32 or more is undefined in C, and RISC-V uses its low 5 bits).
    """
    if p["add_a"] or p["add_b"]:
        return "input offsets (add_a/add_b) are not supported by pulp_nn_add"
    if p["shift_a"] and p["shift_b"]:
        return "both inputs are shifted before the sum; pulp_nn_add shifts once"
    m1 = p["mul_a"] << p["shift_b"]
    m2 = p["mul_b"] << p["shift_a"]
    d = p["shift_a"] + p["shift_b"] + p["shift"]
    if not (0 <= m1 <= 32767 and 0 <= m2 <= 32767):
        return f"multipliers {m1}, {m2} are outside pulp_nn_add's [0, 32767]"
    if (p["lo"], p["hi"]) != (0, 255):
        return f"clip [{p['lo']}, {p['hi']}] is not the kernel's [0, 255]"
    if d > 31:
        return f"total shift {d} exceeds pulp_nn_add's 32-bit shift range"
    if (255 * (m1 + m2)) >> d >= 1 << 16:
        return "the shifted sum can exceed 16 bits (pulp_nn_add truncates it)"
    return m1, m2, d
