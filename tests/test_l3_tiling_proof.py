"""Z3 proof of the L3 -> L2 tiling choice (`dory_xdsl.tiling.l3_tiling_proof`)."""

from __future__ import annotations

import pytest

from dory_xdsl.tiling.l3_tiling import LayerPlacement, best_tiling, candidates
from dory_xdsl.tiling.l3_tiling_proof import prove_choice
from dory_xdsl.tiling.layer_geometry import LayerGeometry, conv_layer
from dory_xdsl.generators.mobilenet import MobileNetConfig, layer_table
from dory_xdsl.tiling.tiles import TileSizes

IN_L3 = LayerPlacement((True,), False)
OUT_L3 = LayerPlacement((False,), True)
ALL_L2 = LayerPlacement((False,), False)


def _mobilenet_layers() -> list[tuple[LayerGeometry, TileSizes]]:
    out = []
    for spec in layer_table(MobileNetConfig(width=1.0, resolution=128))[:6]:
        if spec.group > 1:
            g = LayerGeometry("depthwise", spec.in_hw, spec.in_hw, spec.cin, spec.cout, 3, 3,
                              (spec.stride,) * 2, (1,) * 4, requant_bits=32, name=spec.name)
        else:
            g = conv_layer(spec.name, spec.in_hw, spec.in_hw, spec.cin, spec.cout, spec.kernel,
                           stride=spec.stride, pad=spec.pad, requant_bits=32)
        out.append((g, TileSizes(1, g.w_out, min(16, g.cout))))
    return out


CASES = [(LayerGeometry("pointwise", 4, 4, 1024, 1024, requant_bits=32, name="pw1024"), TileSizes(4, 4, 8)),
         (conv_layer("conv3x3s2", 33, 20, 8, 24, 3, stride=2, pad=1, requant_bits=32), TileSizes(2, 10, 8)),
         *_mobilenet_layers()]


def _allowances(cands) -> list[int]:
    sizes = sorted({t.l2_bytes for t in cands})
    return [sizes[0], sizes[len(sizes) // 2], sizes[-1], sizes[0] - 1]


@pytest.mark.parametrize("g, l1", CASES, ids=lambda x: getattr(x, "name", None) or str(x))
@pytest.mark.parametrize("placement", [ALL_L2, IN_L3, OUT_L3], ids=["l2", "in_l3", "out_l3"])
def test_the_chosen_l2_tile_is_proved_optimal(g: LayerGeometry, l1: TileSizes, placement: LayerPlacement) -> None:
    cands = candidates(g, l1, placement, g.macs // 10)
    assert len(cands) > 1
    for allowance in _allowances(cands):
        chosen = best_tiling(g, l1, placement, g.macs // 10, allowance)
        fitting = [t for t in cands if t.l2_bytes <= allowance]
        if not fitting:
            assert chosen is None
            continue
        assert chosen is not None and chosen.proved and chosen.z3_work > 0
        assert chosen.cycles == min(t.cycles for t in fitting)


@pytest.mark.parametrize("g, l1", CASES[:3], ids=lambda x: getattr(x, "name", None) or str(x))
def test_a_worse_choice_is_refuted(g: LayerGeometry, l1: TileSizes) -> None:
    cands = candidates(g, l1, IN_L3, g.macs // 10)
    footprints, cycles = [t.l2_bytes for t in cands], [t.cycles for t in cands]
    allowance = max(footprints)
    best = min(range(len(cands)), key=lambda i: cycles[i])
    worse = next(i for i in range(len(cands)) if cycles[i] > cycles[best])
    assert prove_choice(footprints, cycles, best, allowance).proved
    with pytest.raises(AssertionError, match="disagree"):
        prove_choice(footprints, cycles, worse, allowance, g.name)
    with pytest.raises(AssertionError, match="disagree"):  # "nothing fits" while something does
        prove_choice(footprints, cycles, None, allowance)
    tight = min(footprints) - 1
    assert prove_choice(footprints, cycles, None, tight).proved  # nothing fits: unsat


def test_an_exhausted_resource_limit_is_not_proved_not_wrong() -> None:
    g, l1 = CASES[0]
    cands = candidates(g, l1, IN_L3, 5000)
    proof = prove_choice([t.l2_bytes for t in cands], [t.cycles for t in cands], 0, 10**9, rlimit=1)
    assert not proof.proved


def test_the_proof_is_deterministic() -> None:
    g, l1 = CASES[0]
    cands = candidates(g, l1, IN_L3, 5000)
    args = ([t.l2_bytes for t in cands], [t.cycles for t in cands], 0, 10**9)
    first = prove_choice(*args)
    for _ in range(3):
        again = prove_choice(*args)
        assert (again.proved, again.z3_work) == (first.proved, first.z3_work)
    best_tiling.cache_clear()
    a = best_tiling(g, l1, IN_L3, 5000, 300_000)
    best_tiling.cache_clear()
    b = best_tiling(g, l1, IN_L3, 5000, 300_000)
    assert a == b and (a.proved, a.z3_work) == (b.proved, b.z3_work)
