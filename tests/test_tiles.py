"""Property tests of the pure tile enumeration (no IR): coverage, input ranges, per-tile padding,
DMA commands within the hardware limits (simulated byte by byte), L1 budget of solver-chosen
tiles, and tiled computation == untiled computation on a numpy model of the kernels."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dory_xdsl.semantics import kernels
from dory_xdsl.tiling.layer_geometry import LayerGeometry
from dory_xdsl.target import GAP8, DmaLimits
from dory_xdsl.tiling.tiles import (
    TileSizes,
    Transfer,
    channel_slice_copy,
    enumerate_tiles,
    input_copy,
    l1_layout,
    output_copy,
    parameter_bytes_per_channel,
    plan_copy,
)
from dory_xdsl.tiling.tiling_model import evaluate, tile_layer

KINDS = ("conv", "pointwise", "depthwise", "linear", "maxpool", "avgpool", "add")


@st.composite
def layers(draw: st.DrawFn) -> LayerGeometry:
    kind = draw(st.sampled_from(KINDS))
    cin = draw(st.integers(1, 6))
    cout = cin if kind in ("depthwise", "maxpool", "avgpool", "add") else draw(st.integers(1, 6))
    rq = draw(st.sampled_from([None, 32, 64]))
    extra = dict(requant_bits=rq, has_bias=draw(st.booleans()), name=f"rand_{kind}")
    if kind == "linear":
        return LayerGeometry("linear", 1, 1, draw(st.integers(1, 40)), cout, **extra)
    h, w = draw(st.integers(1, 11)), draw(st.integers(1, 11))
    if kind in ("add", "pointwise"):
        return LayerGeometry(kind, h, w, cin, cout, **extra)
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    dil = (1, 1)
    if kind in ("conv", "depthwise"):
        dil = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    keh, kew = (kh - 1) * dil[0] + 1, (kw - 1) * dil[1] + 1
    pads = tuple(draw(st.integers(0, k - 1)) for k in (keh, kew, keh, kew))
    if h + pads[0] + pads[2] < keh or w + pads[1] + pads[3] < kew:
        pads = (keh - 1, kew - 1, max(0, keh - 1 - h), max(0, kew - 1 - w))
    stride = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    return LayerGeometry(kind, h, w, cin, cout, kh, kw, stride, pads, dil, **extra)  # type: ignore[arg-type]


@st.composite
def layer_and_sizes(draw: st.DrawFn) -> tuple[LayerGeometry, TileSizes]:
    g = draw(layers())
    return g, TileSizes(draw(st.integers(1, g.h_out)), draw(st.integers(1, g.w_out)),
                        draw(st.integers(1, g.cout)))


# ----------------------------------------------------------------------------- DMA simulation


def apply(transfers: list[Transfer], src: np.ndarray, dst: np.ndarray, src_is_l2: bool,
          writes: np.ndarray, limits: DmaLimits) -> None:
    """Execute commands on flat byte arrays (values are source byte indices)."""
    for t in transfers:
        assert limits.transfer_ok(t.size, t.line, t.stride), t
        for i in range(t.size // t.line):
            l2 = slice(t.l2 + i * t.stride, t.l2 + i * t.stride + t.line)
            l1 = slice(t.l1 + i * t.line, t.l1 + (i + 1) * t.line)
            if src_is_l2:
                dst[l1] = src[l2]
                writes[l1] += 1
            else:
                dst[l2] = src[l1]
                writes[l2] += 1


def check_tiling(g: LayerGeometry, sizes: TileSizes) -> None:
    tiles = enumerate_tiles(g, sizes)
    layout = l1_layout(g, sizes, GAP8, double_buffer=True)
    ab, ob = g.act_bytes, g.out_bytes
    l2_in = np.arange(g.h * g.w * g.cin * ab)
    l2_in_hwcb = l2_in.reshape(g.h, g.w, g.cin, ab)
    out_writes = np.zeros(g.h_out * g.w_out * g.cout * ob, dtype=np.int64)
    in_size = layout.buffer("in").size
    for tile in tiles:
        # ranges inside the tensors, padding only at the borders and as the geometry says
        for (a, b), n in ((tile.in_h, g.h), (tile.in_w, g.w), (tile.in_c, g.cin)):
            assert 0 <= a <= b <= n
        for axis, (o0, o1), (i0, i1), lo, hi, zlo, zhi, k, s, p, n in (
            ("h", tile.out_h, tile.in_h, tile.pad[0], tile.pad[2], tile.zeros[0], tile.zeros[2],
             g.kh_eff, g.stride[0], g.pads[0], g.h),
            ("w", tile.out_w, tile.in_w, tile.pad[1], tile.pad[3], tile.zeros[1], tile.zeros[3],
             g.kw_eff, g.stride[1], g.pads[1], g.w),
        ):
            need_lo, need_hi = o0 * s - p, (o1 - 1) * s - p + k
            assert lo + zlo == max(0, -need_lo), axis
            assert hi + zhi == max(0, need_hi - n), axis
            assert (i0, i1) == (max(0, need_lo), max(max(0, need_lo), min(n, need_hi)))
            if g.kind in ("depthwise", "avgpool"):  # symmetric per-tile kernel padding
                assert lo == hi and lo in (0, k // 2)
            else:
                assert zlo == zhi == 0
        # input DMA: L2 HWC -> dense L1 tile (depthwise: the fetched region, transposed to CHW afterwards)
        l1 = np.full(in_size, -1)
        writes = np.zeros(in_size, dtype=np.int64)
        apply(list(input_copy(g, tile, GAP8).transfers()), l2_in, l1, True, writes, GAP8.dma)
        rows, cols, chans = tile.in_l1_shape
        expect = np.full((rows, cols, chans, ab), -1)
        zt, zl, _, _ = tile.zeros
        region = l2_in_hwcb[tile.in_h[0]:tile.in_h[1], tile.in_w[0]:tile.in_w[1], tile.in_c[0]:tile.in_c[1]]
        expect[zt:zt + region.shape[0], zl:zl + region.shape[1]] = region
        if g.kind == "depthwise":  # the cores' transposition adds the zero rows/columns
            chw = np.where(expect < 0, 0, expect).transpose(2, 0, 1, 3)
            fetched = l1[:region.size].reshape(region.shape)
            got = np.stack([kernels.hwc_to_chw(fetched[..., b], top=zt, left=zl, out_hw=(rows, cols))
                            for b in range(ab)], axis=-1)
            assert np.array_equal(got, chw)
            expect = region
        n = expect.size
        assert np.array_equal(l1[:n], expect.reshape(-1))
        assert (l1[n:] == -1).all() and writes.max(initial=0) <= 1
        # output DMA: dense L1 tile -> L2 HWC
        oshape = tile.out_shape
        l1_out = np.arange(int(np.prod(oshape)) * ob)
        l2_out = np.full(out_writes.size, -1)
        apply(list(output_copy(g, tile, GAP8).transfers()), l1_out, l2_out, False, out_writes, GAP8.dma)
        got = l2_out.reshape(g.h_out, g.w_out, g.cout, ob)[
            tile.out_h[0]:tile.out_h[1], tile.out_w[0]:tile.out_w[1], tile.out_c[0]:tile.out_c[1]]
        assert np.array_equal(got.reshape(-1), l1_out)
        for name, per_channel in parameter_bytes_per_channel(g).items():
            plan = channel_slice_copy(tile.out_c, per_channel, GAP8)
            src = np.arange(g.cout * per_channel)
            dst = np.full(layout.buffer(name).size, -1)
            apply(list(plan.transfers()), src, dst, True, np.zeros(dst.size, np.int64), GAP8.dma)
            c0, c1 = tile.out_c
            assert np.array_equal(dst[:(c1 - c0) * per_channel], src[c0 * per_channel:c1 * per_channel])
    # every output byte written exactly once over all tiles
    assert (out_writes == 1).all()


# ----------------------------------------------------------------------------- numerics


def window_op(g: LayerGeometry, x: np.ndarray, wts: np.ndarray, pad: tuple[int, int, int, int],
              out_hw: tuple[int, int]) -> np.ndarray:
    """Reference of the kernels on an HWC tile with (t, l, b, r) kernel padding (int64)."""
    fill = np.iinfo(np.int64).min if g.kind == "maxpool" else 0
    xp = np.pad(x, ((pad[0], pad[2]), (pad[1], pad[3]), (0, 0)), constant_values=fill)
    ho, wo = out_hw
    out = np.zeros((ho, wo, wts.shape[0] if g.kind in ("conv", "pointwise") else x.shape[2]), np.int64)
    for i in range(ho):
        for j in range(wo):
            r0, c0 = i * g.stride[0], j * g.stride[1]
            win = xp[r0:r0 + g.kh_eff, c0:c0 + g.kw_eff]
            if g.kind in ("conv", "pointwise"):
                out[i, j] = np.tensordot(wts, win, axes=([1, 2, 3], [0, 1, 2]))
            elif g.kind == "depthwise":
                out[i, j] = (win * wts.transpose(1, 2, 0)).sum(axis=(0, 1))
            elif g.kind == "maxpool":
                out[i, j] = win.max(axis=(0, 1))
            else:
                out[i, j] = win.sum(axis=(0, 1))
    return out


def expanded_weights(g: LayerGeometry, rng: np.random.Generator) -> np.ndarray:
    cin = g.cin if g.kind in ("conv", "pointwise") else 1
    real = rng.integers(-128, 128, (g.cout, g.kh, g.kw, cin))
    wts = np.zeros((g.cout, g.kh_eff, g.kw_eff, cin), np.int64)
    wts[:, ::g.dilation[0], ::g.dilation[1], :] = real
    return wts if g.kind in ("conv", "pointwise") else wts[..., 0]


def check_numerics(g: LayerGeometry, sizes: TileSizes) -> None:
    if g.kind in ("linear", "add"):
        return
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (g.h, g.w, g.cin))
    wts = expanded_weights(g, rng) if g.kind in ("conv", "pointwise", "depthwise") else np.zeros((g.cout,))
    full = window_op(g, x, wts, g.pads, (g.h_out, g.w_out))
    for tile in enumerate_tiles(g, sizes):
        rows, cols, chans = tile.in_l1_shape
        zt, zl, _, _ = tile.zeros
        xt = np.zeros((rows, cols, chans), np.int64)
        part = x[tile.in_h[0]:tile.in_h[1], tile.in_w[0]:tile.in_w[1], tile.in_c[0]:tile.in_c[1]]
        xt[zt:zt + part.shape[0], zl:zl + part.shape[1]] = part
        c0, c1 = tile.out_c
        wt = wts[c0:c1] if g.kind in ("conv", "pointwise", "depthwise") else wts
        got = window_op(g, xt, wt, tile.pad, tile.out_shape[:2])
        want = full[tile.out_h[0]:tile.out_h[1], tile.out_w[0]:tile.out_w[1], c0:c1]
        assert np.array_equal(got, want), tile


# ----------------------------------------------------------------------------- properties


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(layer_and_sizes())
def test_random_tilings_cover_fetch_and_compute_exactly(case: tuple[LayerGeometry, TileSizes]) -> None:
    g, sizes = case
    check_tiling(g, sizes)
    check_numerics(g, sizes)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(layers(), st.sampled_from(["cost", "dory"]), st.floats(0.0, 1.0))
def test_solver_tiles_fit_the_budget(g: LayerGeometry, objective: str, where: float) -> None:
    """A budget between the smallest tiling and the whole layer: the chosen tiles fit it."""
    smallest = evaluate(g, TileSizes(1, 1, 1))["l1_bytes"]
    whole = evaluate(g, TileSizes(g.h_out, g.w_out, g.cout))["l1_bytes"]
    budget = int(smallest + where * max(0, whole - smallest))
    target = GAP8.with_budget(l1_bytes=max(budget, 1))
    result = tile_layer(g, target, objective)
    layout = l1_layout(g, result.sizes, target, double_buffer=True)
    assert layout.total == result.l1_bytes <= target.l1_bytes
    check_tiling(g, result.sizes)


def test_plan_copy_splits_long_lines_and_large_strides() -> None:
    limits = DmaLimits()
    # 3 rows of 40,000 contiguous bytes, 100,000 apart: line too long for 2-D -> 1-D chunks
    plan = plan_copy([(3, 100_000, 40_000), (40_000, 1, 1)], 1, 0, 0, limits)
    ts = list(plan.transfers())
    assert all(limits.transfer_ok(t.size, t.line, t.stride) for t in ts)
    assert sum(t.size for t in ts) == 120_000 and not any(t.is_2d for t in ts)
    # 100 rows of 1,000 bytes 2,000 apart: 2-D commands of at most 65 lines
    plan = plan_copy([(100, 2_000, 1_000), (1_000, 1, 1)], 1, 0, 0, limits)
    ts = list(plan.transfers())
    assert [t.size // t.line for t in ts] == [65, 35] and all(t.stride == 2_000 for t in ts)
    # stride >= 32768: one 1-D command per line
    plan = plan_copy([(4, 40_000, 100), (100, 1, 1)], 1, 0, 0, limits)
    assert plan.num_transfers == 4 and plan.loops == ((4, 40_000, 100),)
