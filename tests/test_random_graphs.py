"""Random valid and near-valid ONNX layer chains through `dory run`: every outcome is either
bit-exact between the tiled engine and the reference, or a one-line diagnostic on both.

Graphs are NEMO-style chains built with onnx.helper (`make_graph.GraphBuilder`): convolutions
(any kernel, stride, padding, group = 1 or depthwise) with requantization, max-pools, an optional
Flatten + Gemm head; near-valid ones break one thing (a kernel larger than its input, a stride
of 0, a Clip wider than 8 bits, weights outside int8, a float op in the middle, a trailing float
op without `--drop-float-tail`). Bounded and derandomized.
"""

from __future__ import annotations

import contextlib
import io
import tempfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from onnx_graphs import make_graph

from dory_xdsl.drivers.cli import main as dory_main

MUTATIONS = ["none", "none", "none", "big_kernel", "stride_zero", "wide_clip", "weights_300", "float_middle",
             "float_tail"]


def out_size(size: int, k: int, stride: int, pad: int) -> int:
    return (size + 2 * pad - k) // stride + 1 if stride > 0 else 0


@st.composite
def chains(draw):
    c = draw(st.integers(1, 6))
    h, w = draw(st.integers(1, 12)), draw(st.integers(1, 12))
    mutation = draw(st.sampled_from(MUTATIONS))
    b = make_graph.GraphBuilder(seed=draw(st.integers(0, 2**16)))
    x, shape = "x", (c, h, w)
    layers = draw(st.lists(st.sampled_from(["conv", "dw", "pool"]), min_size=1, max_size=3))
    broke = False
    for index, kind in enumerate(layers):
        cin, hh, ww = shape
        k = draw(st.integers(1, 5))
        stride = draw(st.integers(1, 2))
        pad = draw(st.integers(0, min(2, k - 1)))
        if mutation == "big_kernel" and not broke:
            k, pad, broke = max(hh, ww) + 2, 0, True
        if mutation == "stride_zero" and not broke and kind != "pool":
            stride, broke = 0, True
        if kind == "pool":
            k = min(k, 3)
            pad = min(pad, k - 1)
            x = b.op("MaxPool", [x], kernel_shape=[k, k], strides=[max(stride, 1)] * 2, pads=[pad] * 4)
            shape = (cin, out_size(hh, k, max(stride, 1), pad), out_size(ww, k, max(stride, 1), pad))
        else:
            group = cin if kind == "dw" else 1
            cout = cin if kind == "dw" else draw(st.integers(1, 8))
            x = b.conv(x, cin, cout, k=(k, k), pads=(pad,) * 4, strides=(stride, stride), group=group)
            if mutation == "weights_300" and not broke:
                b.inits[-1].CopyFrom(make_graph.numpy_helper.from_array(
                    np.full((cout, cin // group, k, k), 300.0, np.float32), b.inits[-1].name))
                broke = True
            x = b.nemo_requant(x, cout)
            if mutation == "wide_clip" and not broke:
                b.nodes[-1].attribute[1].f = 1023.0
                broke = True
            shape = (cout, out_size(hh, k, stride, pad), out_size(ww, k, stride, pad))
        if mutation == "float_middle" and not broke and index < len(layers) - 1:
            x, broke = b.op("Sigmoid", [x]), True
        if min(shape) <= 0:
            break
    if draw(st.booleans()) and min(shape) > 0:
        features = int(np.prod(shape))
        x = b.op("Gemm", [b.op("Flatten", [x], axis=1), b.weights((draw(st.integers(1, 10)), features))], transB=1)
    if mutation == "float_tail":
        x = b.op("Sigmoid", [x])
    model = b.model([("x", [1, c, h, w])], [x])
    data = np.random.default_rng(draw(st.integers(0, 2**16))).integers(0, 256, (1, c, h, w)).astype(np.uint8)
    return model, data, broke or mutation == "float_tail"


def run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = dory_main(argv)
    return code, out.getvalue(), err.getvalue()


@settings(max_examples=30, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(chains())
def test_random_chain_is_exact_or_one_line_diagnostic(chain):
    model, data, bad = chain
    with tempfile.TemporaryDirectory() as tmp:
        path, x = Path(tmp) / "m.onnx", Path(tmp) / "x.npy"
        path.write_bytes(model.SerializeToString())
        np.save(x, data)
        outcomes = {}
        for engine in ("reference", "tiled"):
            y = Path(tmp) / f"y_{engine}.npy"
            code, _, err = run(["run", str(path), "--input", str(x), "--engine", engine, "--output", str(y)])
            outcomes[engine] = (code, err, y)
        for engine, (code, err, y) in outcomes.items():
            if code == 0:
                assert err == "", err
                continue
            lines = err.splitlines()
            assert len(lines) == 1 and lines[0].startswith("dory: error: "), (engine, err)
            assert "internal error" not in lines[0], lines[0]
            assert not y.exists()
        (ref_code, ref_err, ref_y), (tiled_code, _, tiled_y) = outcomes["reference"], outcomes["tiled"]
        if bad:
            assert ref_code != 0, "a broken graph was accepted"
        if ref_code != 0:
            assert tiled_code != 0, "the tiled engine accepted what the reference refused"
        elif tiled_code == 0:
            np.testing.assert_array_equal(np.load(tiled_y), np.load(ref_y))
