"""Host PULP-NN kernels (runtime/pulp_nn_host.c) against the numpy models (dory_xdsl.semantics.kernels).

Random tiles (seeded numpy) run through tests/c/kernel_driver.c on 8 real threads under
ASan/UBSan; every output byte must match the model. Precondition violations must abort with
"<kernel>: <condition>".
"""

from __future__ import annotations

import numpy as np
import pytest

from dory_xdsl.semantics import kernels
from kernel_driver_io import L2, Call, build_driver, run_calls, run_failing

L1_SIZE = 36700


@pytest.fixture(scope="module")
def driver(tmp_path_factory):
    return build_driver(tmp_path_factory.mktemp("kd") / "kernel_driver32", l1_size=L1_SIZE)


@pytest.fixture(scope="module")
def driver64(tmp_path_factory):
    return build_driver(tmp_path_factory.mktemp("kd") / "kernel_driver64", l1_size=L1_SIZE,
                        requant64=True)


def u8(rng, *shape):
    return rng.integers(0, 256, shape, dtype=np.uint8)


def i8(rng, *shape):
    return rng.integers(-128, 128, shape, dtype=np.int8)


def flags(rng):
    return int(rng.integers(0, 2)), int(rng.integers(0, 2))


def requant_consts(rng, n, wide):
    if wide:
        k = rng.integers(-(1 << 40), 1 << 40, n, dtype=np.int64)
        lam = rng.integers(-(1 << 50), 1 << 50, n, dtype=np.int64)
        return k, lam, int(rng.integers(0, 64))
    big = rng.integers(0, 2)
    lim = (1 << 31) if big else (1 << 12)
    k = rng.integers(-lim, lim, n, dtype=np.int32)
    lam = rng.integers(-lim, lim, n, dtype=np.int32)
    return k, lam, int(rng.integers(0, 32))


def out_dim(n_in, k, p0, p1, s):
    return (n_in + p0 + p1 - k) // s + 1


def output_stage(rng, channels, wide):
    """Random relu/bn flags, requant constants, shift and out_mult for `channels` outputs."""
    relu, bn = flags(rng)
    k, lam, shift = requant_consts(rng, channels, wide)
    if not (relu and bn):
        shift = int(rng.integers(0, 24))
    return dict(k=k, lam=lam, shift=shift, mult=int(rng.integers(0, 1 << 16)), relu=relu, bn=bn)


def window_geometry(rng, horizontal_pads=None):
    """Random (h, w, ky, kx, sy, sx, pt, pb, pl, pr, ho, wo) of a conv-like tile."""
    ky, kx = int(rng.choice([1, 2, 3, 5])), int(rng.choice([1, 2, 3, 5]))
    sy, sx = int(rng.integers(1, 3)), int(rng.integers(1, 3))
    pt, pb = (int(v) for v in rng.integers(0, ky, 2))
    pl, pr = horizontal_pads(kx) if horizontal_pads else (int(v) for v in rng.integers(0, kx, 2))
    h = int(rng.integers(max(1, ky - pt - pb), 10))
    w = int(rng.integers(max(1, kx - pl - pr), 10))
    return h, w, ky, kx, sy, sx, pt, pb, pl, pr, out_dim(h, ky, pt, pb, sy), out_dim(w, kx, pl, pr, sx)


def conv_case(rng, wide, pointwise=False):
    if pointwise:
        h, w = (int(v) for v in rng.integers(1, 10, 2))
        ky = kx = sy = sx = 1
        pt = pb = pl = pr = 0
        ho, wo = h, w
    else:
        h, w, ky, kx, sy, sx, pt, pb, pl, pr, ho, wo = window_geometry(rng)
    cin, cout = int(rng.integers(1, 9)), int(rng.integers(1, 10))
    o = output_stage(rng, cout, wide)
    x, wt = u8(rng, h, w, cin), i8(rng, cout, ky, kx, cin)
    bias = i8(rng, cout) if rng.integers(0, 4) else None
    want = kernels.conv_ho_parallel(x, wt, bias, o["k"], o["lam"], out_mult=o["mult"],
                                    out_shift=o["shift"], out_hw=(ho, wo), pads=(pt, pb, pl, pr),
                                    strides=(sy, sx), relu=o["relu"], batch_norm=o["bn"])
    im2col = np.zeros(2 * cin * kx * ky * 8, np.uint8)
    out = np.zeros((ho, wo, cout), np.uint8)
    params = [o["mult"], o["shift"], w, h, cin, wo, ho, cout, kx, ky, pt, pb, pl, pr, sx, sy,
              o["relu"], o["bn"]]
    name = "pointwise" if pointwise else "conv"
    bufs = [x, None if pointwise else im2col, bias, out, wt, o["k"], o["lam"]]
    return Call(name, params, bufs), 3, want


def depthwise_case(rng, wide):
    def horizontal(kx):  # right-free, centred, or none: what the kernel supports
        mode = rng.integers(0, 3)
        return (int(rng.integers(0, kx)), 0) if mode == 0 else ((kx // 2,) * 2 if mode == 1 else (0, 0))

    h, w, ky, kx, sy, sx, pt, pb, pl, pr, ho, wo = window_geometry(rng, horizontal)
    c = int(rng.integers(1, 20))
    o = output_stage(rng, c, wide)
    k, lam, shift, mult, relu, bn = (o[n] for n in ("k", "lam", "shift", "mult", "relu", "bn"))
    x, wt = u8(rng, c, h, w), i8(rng, c, ky, kx)
    bias = i8(rng, c) if rng.integers(0, 4) else None
    want = kernels.depthwise_generic(x, wt, bias, k, lam, out_mult=mult, out_shift=shift,
                                     out_hw=(ho, wo), pads=(pt, pb, pl, pr), strides=(sy, sx),
                                     relu=relu, batch_norm=bn)
    less_4 = kx * ky < 4
    buf_c = np.zeros(8 * (kx * (h + pt + pb) + kx + (4 * ((kx + 3) // 4) - kx if less_4 else 0)), np.uint8)
    out = np.zeros((ho, wo, c), np.uint8)
    params = [mult, shift, w, h, c, wo, ho, c, kx, ky, pt, pb, pl, pr, sx, sy, relu, bn]
    name = "depthwise_less_4" if less_4 else "depthwise"
    return Call(name, params, [x, buf_c, bias, out, wt, None, k, lam]), 3, want


def linear_case(rng, wide):
    n_in, n_out = int(rng.integers(1, 300)), int(rng.integers(1, 40))
    relu, bn = flags(rng)
    k, lam, shift = requant_consts(rng, n_out, wide)
    if not (relu and bn) or shift > 31:
        shift = int(rng.integers(0, 24))
    mult = int(rng.integers(0, 1 << 16))
    x, wt = u8(rng, n_in), i8(rng, n_out, n_in)
    bias = i8(rng, n_out) if rng.integers(0, 4) else None
    want = kernels.linear(x, wt, bias, k, lam, out_mult=mult, out_shift=shift, relu=relu,
                          batch_norm=bn)
    out = np.zeros(n_out, np.uint8)
    return Call("linear", [mult, shift, n_in, n_out, relu, bn], [x, bias, out, wt, k, lam]), 2, want


def linear_out_32_case(rng, wide):
    n_in, n_out = int(rng.integers(1, 300)), int(rng.integers(1, 40))
    x, wt = u8(rng, n_in), i8(rng, n_out, n_in)
    bias = rng.integers(-(1 << 31), 1 << 31, n_out, dtype=np.int32)
    want = kernels.linear_out_32(x, wt, bias)
    out = np.zeros(n_out, np.int32)
    return Call("linear_out_32", [n_in, n_out], [x, bias.view(np.int8), out, wt]), 2, want


def add_case(rng, wide):
    h, w, c = (int(v) for v in rng.integers(1, 12, 3))
    m1, m2, shift = int(rng.integers(0, 1 << 16)), int(rng.integers(0, 1 << 16)), int(rng.integers(0, 32))
    x1, x2 = u8(rng, h, w, c), u8(rng, h, w, c)
    want = kernels.add(x1, x2, out_mult1=m1, out_mult2=m2, out_shift=shift)
    call = Call("add", [m1, m2, shift, h, w, c], [x1, x2, np.zeros_like(x1)])
    if rng.integers(0, 4) == 0:  # in place over the first input (same initial content)
        call = Call("add", call.params, [x1, x2, x1.copy()], where={0: 0, 1: (x1.nbytes + 3) & ~3, 2: 0})
    return call, 2, want


def pool_geometry(rng, symmetric):
    ky, kx = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    sy, sx = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    if symmetric:
        pt = pb = int(rng.integers(0, ky))
        pl = pr = int(rng.integers(0, kx))
    else:
        pt, pb = (int(v) for v in rng.integers(0, ky, 2))
        pl, pr = (int(v) for v in rng.integers(0, kx, 2))
    h = int(rng.integers(max(1, ky - pt - pb), 12))
    w = int(rng.integers(max(1, kx - pl - pr, pl + pr + 1), 12))
    return h, w, ky, kx, sy, sx, pt, pb, pl, pr


def maxpool_case(rng, wide):
    while True:
        h, w, ky, kx, sy, sx, pt, pb, pl, pr = pool_geometry(rng, symmetric=False)
        ho, wo = out_dim(h, ky, pt, pb, sy), out_dim(w, kx, pl, pr, sx)
        if wo <= w:
            break
    c = int(rng.integers(1, 10))
    x = u8(rng, h, w, c)
    want, after = kernels.maxpool(x, kernel_hw=(ky, kx), out_hw=(ho, wo), pads=(pt, pb, pl, pr),
                                  strides=(sy, sx))
    params = [w, h, c, wo, ho, kx, ky, pt, pb, pl, pr, sx, sy]
    return Call("maxpool", params, [x, np.zeros((ho, wo, c), np.uint8)]), 1, (want, after)


def avgpool_case(rng, wide):
    h, w, ky, kx, sy, sx, pt, pb, pl, pr = pool_geometry(rng, symmetric=True)
    ho, wo = out_dim(h, ky, pt, pb, sy), out_dim(w, kx, pl, pr, sx)
    c = int(rng.integers(1, 10))
    req = int(rng.integers(0, 2))
    lam = int(rng.integers(-(1 << 20), 1 << 24)) if req else 1
    add = int(rng.integers(-(1 << 20), 1 << 20)) if req else 0
    shift = int(rng.integers(0, 24)) if req else 0
    x = u8(rng, h, w, c)
    want = kernels.avgpool(x, kernel_hw=(ky, kx), out_hw=(ho, wo), pads=(pt, pb, pl, pr),
                           strides=(sy, sx), lambda_=lam, out_shift=shift, out_add=add,
                           requant=bool(req))
    params = [lam, shift, add, w, h, c, wo, ho, kx, ky, pt, pb, pl, pr, sx, sy, req]
    return Call("avgpool", params, [x, np.zeros((ho, wo, c), np.uint8)]), 1, want


CASES = {
    "conv": (conv_case, 60),
    "pointwise": (lambda rng, wide: conv_case(rng, wide, pointwise=True), 30),
    "depthwise": (depthwise_case, 60),
    "linear": (linear_case, 30),
    "linear_out_32": (linear_out_32_case, 15),
    "add": (add_case, 30),
    "maxpool": (maxpool_case, 40),
    "avgpool": (avgpool_case, 40),
}


def check_random(driver, name, wide, seed):
    make, count = CASES[name]
    rng = np.random.default_rng(seed)
    cases = [make(rng, wide) for _ in range(count)]
    results = run_calls(driver, [call for call, _, _ in cases])
    for n, ((call, out_index, want), got) in enumerate(zip(cases, results)):
        if name == "maxpool":
            want, after = want
            np.testing.assert_array_equal(got[0], after, err_msg=f"case {n} input {call.params}")
        np.testing.assert_array_equal(got[out_index], want, err_msg=f"case {n} {call.params}")


@pytest.mark.parametrize("name", sorted(CASES))
def test_kernel_matches_model_32bit_requant(driver, name):
    check_random(driver, name, wide=False, seed=sum(map(ord, name)))


@pytest.mark.parametrize("name", ["conv", "depthwise", "linear"])
def test_kernel_matches_model_64bit_requant(driver64, name):
    check_random(driver64, name, wide=True, seed=1000 + sum(map(ord, name)))


def test_relu_only_path_truncates_to_int16(driver):
    # acc = 255*127 + 83*5 = 32800; 2*acc = 65600 wraps to (int16)64 instead of clipping to 255.
    x = np.array([[[255, 83]]], np.uint8)
    wt = np.array([[[[127, 5]]]], np.int8)
    want = kernels.conv_ho_parallel(x, wt, None, None, None, out_mult=2, out_shift=0,
                                    out_hw=(1, 1), pads=(0, 0, 0, 0), strides=(1, 1), relu=1,
                                    batch_norm=0)
    assert want[0, 0, 0] == 64
    call = Call("pointwise", [2, 0, 1, 1, 2, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 0],
                [x, None, None, np.zeros((1, 1, 1), np.uint8), wt, None, None])
    assert run_calls(driver, [call])[0][3][0, 0, 0] == 64


# ------------------------------------------------------------------ precondition violations


def simple_conv(kernel="conv", **over):
    p = dict(mult=1, shift=0, w=4, h=4, cin=2, wo=4, ho=4, cout=3, kx=1, ky=1, pt=0, pb=0, pl=0,
             pr=0, sx=1, sy=1, relu=0, bn=0)
    p.update(over)
    rng = np.random.default_rng(0)
    x = u8(rng, p["h"], p["w"], p["cin"])
    wt = i8(rng, p["cout"], p["ky"], p["kx"], p["cin"])
    im2col = np.zeros(2 * p["cin"] * p["kx"] * p["ky"] * 8, np.uint8)
    out = np.zeros((p["ho"], p["wo"], p["cout"]), np.uint8)
    return Call(kernel, list(p.values()), [x, im2col, None, out, wt, None, None])


def simple_depthwise(kernel="depthwise", **over):
    p = dict(mult=1, shift=0, w=6, h=4, c=3, wo=6, ho=4, cout=3, kx=3, ky=3, pt=1, pb=1, pl=1,
             pr=1, sx=1, sy=1, relu=0, bn=0)
    p.update(over)
    rng = np.random.default_rng(0)
    x = u8(rng, p["c"], p["h"], p["w"])
    wt = i8(rng, p["c"], p["ky"], p["kx"])
    buf_c = np.zeros(8 * (p["kx"] * (p["h"] + p["pt"] + p["pb"]) + p["kx"] + 3), np.uint8)
    out = np.zeros((p["ho"], p["wo"], p["c"]), np.uint8)
    return Call(kernel, list(p.values()), [x, buf_c, None, out, wt, None, None, None])


def pool(kernel, **over):
    p = dict(w=4, h=4, c=2, wo=2, ho=2, kx=2, ky=2, pt=0, pb=0, pl=0, pr=0, sx=2, sy=2)
    p.update(over)
    x = np.zeros((p["h"], p["w"], p["c"]), np.uint8)
    out = np.zeros((p["ho"], p["wo"], p["c"]), np.uint8)
    params = list(p.values()) if kernel == "maxpool" else [1, 0, 0, *p.values(), 0]
    return Call(kernel, params, [x, out])


def with_where(call, **where):
    call.where = where
    return call


VIOLATIONS = {
    "conv operand in L2": (
        with_where(simple_conv(), **{"0": L2}), "pulp_nn_conv_Ho_parallel: input (32 bytes) is not inside an allocated L1 block"),
    "conv im2col overlaps output": (
        with_where(simple_conv(kx=3, ky=3, pt=1, pb=1, pl=1, pr=1), **{"0": 0, "4": 32, "3": 88, "1": 100}),
        "pulp_nn_conv_Ho_parallel: output overlaps im2col buffer"),
    "conv reads past input": (
        simple_conv(ho=5), "pulp_nn_conv_Ho_parallel: y: output 5 with kernel 1 stride 1 reads past"),
    "conv shift": (simple_conv(shift=32), "pulp_nn_conv_Ho_parallel: out_shift is not below"),
    "team of 4": (
        Call(**{**simple_conv().__dict__, "cores": 4}),
        "pulp_nn_conv_Ho_parallel: must be called by every core of a NUM_CORES team"),
    "pointwise stride": (
        simple_conv("pointwise", sx=2, wo=2), "pulp_nn_pointwise_HoWo_parallel: stride must be 1"),
    "pointwise padding": (
        simple_conv("pointwise", pt=1, ho=5), "pulp_nn_pointwise_HoWo_parallel: padding must be 0"),
    "pointwise 3x3": (
        simple_conv("pointwise", kx=3, ky=3, ho=2, wo=2), "pulp_nn_pointwise_HoWo_parallel: kernel must be 1x1"),
    "depthwise asymmetric": (
        simple_depthwise(pt=0, pl=0, pb=1, pr=1, sx=2, sy=2, wo=3, ho=2),
        "pulp_nn_depthwise_generic: right padding needs pad_left == pad_right == kx/2"),
    "depthwise few weights": (
        simple_depthwise(kx=3, ky=1, pt=0, pb=0), "pulp_nn_depthwise_generic: kernel has fewer than 4 weights"),
    "depthwise no slack": (
        Call(**{**simple_depthwise().__dict__, "where": {0: L1_SIZE - 72 - 2, 1: 0, 3: 400, 4: 200},
                "l1_size": L1_SIZE}),
        "pulp_nn_depthwise_generic: the 4 bytes after the input tile are not inside its L1 block"),
    "depthwise channels": (
        simple_depthwise(cout=4), "pulp_nn_depthwise_generic: ch_im_out must equal ch_im_in"),
    "maxpool in place": (
        with_where(pool("maxpool"), **{"0": 0, "1": 0}), "pulp_nn_maxpool: output overlaps input"),
    "avgpool asymmetric": (
        pool("avgpool", pt=1, w=4, h=3, ho=2), "pulp_nn_avgpool: padding must be symmetric"),
    "misaligned k": (
        with_where(Call("linear", [1, 0, 4, 2, 1, 1],
                        [np.zeros(4, np.uint8), None, np.zeros(2, np.uint8), np.zeros((2, 4), np.int8),
                         np.ones(2, np.int32), np.ones(2, np.int32)]),
                   **{"0": 0, "2": 4, "3": 8, "4": 18, "5": 28}),
        "pulp_nn_linear: k is not 4-byte aligned"),
    "add partial overlap": (
        with_where(Call("add", [1, 1, 0, 2, 2, 2], [np.zeros((2, 2, 2), np.uint8)] * 3),
                   **{"0": 0, "1": 8, "2": 4}),
        "pulp_nn_add: output overlaps input 1"),
}


@pytest.mark.parametrize("name", sorted(VIOLATIONS))
def test_precondition_violation_aborts(driver, name):
    call, message = VIOLATIONS[name]
    call.where = {int(k): v for k, v in call.where.items()}
    code, err = run_failing(driver, call)
    assert code != 0
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert lines and lines[0].startswith(message), err[-2000:]


def test_unsigned_quirks_of_add_and_avgpool(driver):
    # add: 10*(int16)0xFFFF = -10 -> uint32 0xFFFFFFF6 >> 28 = 15 (logical shift, not -1).
    x1, x2 = np.full((1, 1, 1), 10, np.uint8), np.zeros((1, 1, 1), np.uint8)
    assert kernels.add(x1, x2, out_mult1=0xFFFF, out_mult2=1, out_shift=28)[0, 0, 0] == 15
    add_call = Call("add", [0xFFFF, 1, 28, 1, 1, 1], [x1, x2, np.zeros_like(x1)])
    # avgpool: sum 4 * lambda -1 -> (uint32)-4 / 4 = 0x3FFFFFFF -> clipped to 255, not 0.
    x = np.ones((2, 2, 1), np.uint8)
    want = kernels.avgpool(x, kernel_hw=(2, 2), out_hw=(1, 1), pads=(0, 0, 0, 0), strides=(2, 2),
                           lambda_=-1, requant=True)
    assert want[0, 0, 0] == 255
    pool_call = Call("avgpool", [-1, 0, 0, 2, 2, 1, 1, 1, 2, 2, 0, 0, 0, 0, 2, 2, 1],
                     [x, np.zeros((1, 1, 1), np.uint8)])
    got_add, got_pool = run_calls(driver, [add_call, pool_call])
    assert got_add[2][0, 0, 0] == 15 and got_pool[1][0, 0, 0] == 255


def test_batch_norm_flag_alone_is_ignored(driver):
    x, wt = np.full(4, 100, np.uint8), np.full((1, 4), 3, np.int8)  # acc = 1200
    k, lam = np.array([1000], np.int32), np.array([5], np.int32)
    want = kernels.linear(x, wt, None, k, lam, out_mult=7, out_shift=3, relu=0, batch_norm=1)
    assert want[0] == 150  # 1200 >> 3, k/lambda/out_mult unused
    call = Call("linear", [7, 3, 4, 1, 0, 1], [x, None, np.zeros(1, np.uint8), wt, k, lam])
    assert run_calls(driver, [call])[0][2][0] == 150
