"""TFLM's two-signed requantization as a sum of kernel-legal exact stages (pure: no IR).

When TFLM's requantization `y = clip(zp + R(acc), 0, hi)` keeps both signs of the rounded
`R` (`0 < zp < hi`), no single stage reproduces it (`qdq_exact`): the second rounding puts the
thresholds of negative and positive `R` on two lattices. It is the sum of two parts, each one
exact stage (`qdq_exact.exact_requant`):

    A = clip(R, 0, hi - zp)   (positive part, stage gP)
    B = clip(zp + R, 0, zp)   (negative part, stage gN)      y = A + B.

The PULP-NN kernels clip to [0, 255] only, so each part is computed by kernel calls:

- `A` when `hi == 255`: `clip8(gP(acc))`. Above `hi - zp` it is wrong (it goes on up to 255)
  but `B = zp` there, so the final `clip8(A' + B)` saturates to 255 exactly when `y` does.
- a part `clip(g, 0, m)` with `m < 255` (`B`, and `A` when `hi < 255`): mirrored. The layer
  computes `u = clip8(m - g(acc))` as a stage of its own: `K' = -K`,
  `L' = m*2^s - L + 2^s - 1`, since `floor((m*2^s - x + 2^s - 1) / 2^s) = m - floor(x / 2^s)`.
  A second requantization with weight `k = -1`, `lambda = m`, shift 0 (a depthwise 1x1 in the
  back end) gives `clip8(m - u) = clip(g, 0, m)`: `g >= m` -> `u = 0` -> `m`; `0 <= g <= m` ->
  `u = m - g` -> `g`; `g < 0` -> `u > m` (`m < 255`) -> `0`.
- `y = clip8(A + B)`: a `qnn.add` with multipliers 1 and shift 0 (`pulp_nn_add`; `A + B <= 510`
  fits its 16-bit sum).

So an accumulator computed twice (the layer op duplicated), one (or two) depthwise 1x1 and one
add per split layer. `KernelSplit.check` proves the whole composition equal to TFLM's per
channel on the reachable accumulator range: every stage is monotone without wrapping there, so
the composition is monotone and agreeing at the points `requant_fit.check_points` suffices
(the argument of `requant_fit.verify_at_points`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from dory_xdsl.semantics.qdq_exact import exact_requant, tflite_requant_function
from dory_xdsl.semantics.requant_fit import IntFunction, SingleStage, check_points

KERNEL_LO, KERNEL_HI = 0, 255


def clip8(x: np.ndarray) -> np.ndarray:
    return np.clip(np.asarray(x, dtype=np.int64), KERNEL_LO, KERNEL_HI)


@dataclass(frozen=True)
class KernelHalf:
    """One part: `clip8(stage(acc))`, or with `mirror = m` `clip8(m - clip8(stage(acc)))`
    (the stage then computes the mirrored `m - g`). `stage` clips to [0, 255]."""

    stage: SingleStage
    mirror: int | None

    def channel(self, c: int) -> IntFunction:
        stage = self.stage.stage(c)
        if self.mirror is None:
            return stage
        m = self.mirror
        return lambda acc: clip8(m - stage(acc))


@dataclass(frozen=True)
class KernelSplit:
    """`y = clip8(pos + neg)` (see the module doc)."""

    pos: KernelHalf
    neg: KernelHalf

    def channel(self, c: int) -> IntFunction:
        p, n = self.pos.channel(c), self.neg.channel(c)
        return lambda acc: clip8(p(acc) + n(acc))

    def check(self, funcs: Sequence[IntFunction], ranges: Sequence[tuple[int, int]], hi: int) -> bool:
        """Exactly `funcs[c]` (monotone, values in [0, hi]) on every integer of `ranges[c]`."""
        for c, (f, (a, b)) in enumerate(zip(funcs, ranges, strict=True)):
            if any(half.stage.stage(c).image(a, b) is None for half in (self.pos, self.neg)):
                return False  # a stage may wrap: the composition need not be monotone
            pts = check_points(f, a, b, 0, hi)
            if not np.array_equal(np.asarray(f(pts)), self.channel(c)(pts)):
                return False
        return True


def mirrored(fit: SingleStage, m: int) -> SingleStage:
    """The stage `clip8(m - floor((k*x + lam) >> shift))` of every channel of `fit` (64-bit)."""
    one = 1 << fit.shift
    return SingleStage(tuple(-k for k in fit.k), tuple(m * one - lam + one - 1 for lam in fit.lam), fit.shift,
                       KERNEL_LO, KERNEL_HI, 64)


def kernel_clipped(fit: SingleStage) -> SingleStage:
    return SingleStage(fit.k, fit.lam, fit.shift, KERNEL_LO, KERNEL_HI, 64)


def kernel_split(pairs: Sequence[tuple[int, int]], offsets: Sequence[int], zero_point: int, hi: int,
                 ranges: Sequence[tuple[int, int]]) -> KernelSplit | None:
    """TFLM's requantization `clip(R_c(acc + offsets[c]) + zp, 0, hi)` (Q31 multiplier and shift
    `pairs[c]`) as a proven-exact `KernelSplit` on `ranges[c]`; None when `zp` is not strictly
    inside (0, hi) or a part has no exact 64-bit stage."""
    if not 0 < zero_point < hi <= KERNEL_HI:
        return None
    pos = exact_requant(pairs, offsets, 0, 0, hi - zero_point, ranges)
    neg = exact_requant(pairs, offsets, zero_point, 0, zero_point, ranges)
    if pos is None or neg is None:
        return None
    pos_half = (KernelHalf(kernel_clipped(pos), None) if hi == KERNEL_HI
                else KernelHalf(mirrored(pos, hi - zero_point), hi - zero_point))
    split = KernelSplit(pos_half, KernelHalf(mirrored(neg, zero_point), zero_point))
    funcs = [tflite_requant_function(m, s, off, zero_point, 0, hi) for (m, s), off in zip(pairs, offsets, strict=True)]
    return split if split.check(funcs, ranges, hi) else None
