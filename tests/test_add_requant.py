"""The generic requantizing add (`dory.add_requant`, the C helper `dory_add_requant` of the
generated network.c) for adds that no PULP-NN call computes exactly: TFLite's residual adds
(input offsets, multipliers ~4e6), and any other parameters the `qnn.add` verifier allows.

Every check runs the add on all 256 x 256 input pairs (`all_pairs`) and compares with the qnn
reference semantics (`dory_xdsl.semantics.reference.add`: wrapping int32, arithmetic shifts): the tiled
engine (many L1 tiles) and the generated C on the host (ASan + UBSan, so no signed overflow).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dory_xdsl.engines import host_build
from dory_xdsl.lowering.pipeline import compile_module
from dory_xdsl.dialects import dory, qnn
from dory_xdsl.errors import DoryError
from dory_xdsl.engines.host_engine import host_engine
from dory_xdsl.analysis.interpreter import evaluate
from dory_xdsl.analysis.kernel_layers import ADD_REQUANT, kernel_layer
from dory_xdsl.semantics.pulp_legalize import pulp_add_args
from dory_xdsl.lowering.app import write_app
from dory_xdsl.semantics.pulp_legalize import add_decomposition
from dory_xdsl.tensors import tensor_type
from dory_xdsl.engines.tiled_engine import compile_tiled, run_tiled

from test_legalize_pulp import add_module, all_pairs
from test_riscv_compile import SOURCES, require_riscv
from test_tiled_engine import _module

INT32 = st.integers(-(1 << 31), (1 << 31) - 1)


@st.composite
def tflite_like(draw):
    """Multipliers of `s + 1` bits with shift `s` and offsets of up to +-255 terms: outputs that
    use the whole [lo, hi] range (as TFLite's adds, whose multipliers are ~2^22)."""
    def side():
        s = draw(st.integers(0, 24))
        mul = draw(st.integers(-(2 << s), 2 << s))
        return mul, draw(st.integers(-255 << s, 255 << s)), s
    (mul_a, add_a, shift_a), (mul_b, add_b, shift_b) = side(), side()
    lo = draw(st.integers(0, 255))
    return dict(mul_a=mul_a, add_a=add_a, shift_a=shift_a, mul_b=mul_b, add_b=add_b, shift_b=shift_b,
                shift=draw(st.integers(0, 2)), lo=lo, hi=draw(st.integers(lo, 255)))


@st.composite
def anything(draw):
    """Any parameters the qnn.add verifier allows (products and sums wrap at 32 bits)."""
    lo = draw(st.integers(0, 255))
    shift = st.integers(0, 31)
    return dict(mul_a=draw(INT32), add_a=draw(INT32), shift_a=draw(shift), mul_b=draw(INT32), add_b=draw(INT32),
                shift_b=draw(shift), shift=draw(shift), lo=lo, hi=draw(st.integers(lo, 255)))


def _tiled_matches_reference(params) -> None:
    module = add_module(params)
    inputs = all_pairs()
    want = evaluate(module, inputs).outputs[0]
    lowered = compile_tiled(module.clone(), l1_bytes=4000)
    generic = [op for op in lowered.walk() if isinstance(op, dory.AddRequantOp)]
    if isinstance(pulp_add_args(params), str) and add_decomposition(params) is None:
        assert generic, "an add with no PULP-NN form must use dory.add_requant"
    run = run_tiled(lowered, inputs)
    assert max(run.tiles.values()) > 1  # several L1 tiles
    np.testing.assert_array_equal(run.outputs[0], want)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(params=st.one_of(tflite_like(), anything()))
def test_tiled_engine_matches_the_reference(params):
    _tiled_matches_reference(params)


# (name, parameters): TFLite ResNet-8's first residual add as imported, and wrap-around cases
HOST_CASES = [
    ("tflite-resnet", dict(mul_a=1621615, add_a=-565116659, shift_a=0, mul_b=4289131, add_b=0, shift_b=0,
                           shift=21, lo=0, hi=255)),
    # a*mul + add overflows int32 on both sides (a >= 128), both terms then negative / positive
    ("term-wrap", dict(mul_a=(1 << 24) + 3, add_a=(1 << 31) - 1, shift_a=24, mul_b=-(1 << 23),
                       add_b=-(1 << 31) + 5, shift_b=23, shift=0, lo=0, hi=255)),
    # the sum of the two terms overflows int32 (a*2^23 + b*2^23 >= 2^31), shifts of 31
    ("sum-wrap", dict(mul_a=1 << 23, add_a=0, shift_a=0, mul_b=1 << 23, add_b=0, shift_b=0, shift=23,
                      lo=0, hi=255)),
    ("extremes", dict(mul_a=-(1 << 31), add_a=(1 << 31) - 1, shift_a=31, mul_b=(1 << 31) - 1,
                      add_b=-(1 << 31), shift_b=31, shift=31, lo=0, hi=255)),
]


@pytest.mark.parametrize("params", [p for _, p in HOST_CASES], ids=[n for n, _ in HOST_CASES])
def test_generated_c_matches_the_reference(params):
    module = add_module(params)
    inputs = all_pairs()
    want = evaluate(module, inputs).outputs[0]
    assert len(np.unique(want)) > 1 or params["shift"] == 31  # a real test: varied outputs
    _tiled_matches_reference(params)
    np.testing.assert_array_equal(host_engine(module, inputs).outputs[0], want)


def test_pulp_nn_add_is_kept_when_exact_and_the_helper_is_the_fallback():
    nemo = add_module(dict(mul_a=3, add_a=0, shift_a=0, mul_b=5, add_b=0, shift_b=0, shift=2, lo=0, hi=255))
    (op,) = [o for o in nemo.walk() if isinstance(o, qnn.AddOp)]
    layer = kernel_layer(op, 0)
    assert layer.kernel == "pulp_nn_add" and layer.scalars == {"out_mult1": 3, "out_mult2": 5, "out_shift": 2}
    tflite = add_module(dict(mul_a=(1 << 32) + 4194304, add_a=-1, shift_a=20, mul_b=-3, add_b=(1 << 31),
                             shift_b=20, shift=1, lo=0, hi=255))
    (op,) = [o for o in tflite.walk() if isinstance(o, qnn.AddOp)]
    layer = kernel_layer(op, 0)
    assert layer.kernel == ADD_REQUANT and layer.geometry.kernel == "pulp_nn_add"  # same tiling
    assert layer.scalars == dict(mul_a=4194304, add_a=-1, shift_a=20, mul_b=-3, add_b=-(1 << 31), shift_b=20,
                                 shift=1, lo=0, hi=255)  # reduced to int32 as the semantics wrap


def test_signed_add_still_has_no_kernel():
    def build(a, b):
        return qnn.AddOp(a, b, tensor_type((1, 4, 4, 8), np.int8), mul_a=1, add_a=3, shift_a=0, mul_b=1,
                         add_b=0, shift_b=0, shift=0, lo=-128, hi=127).result

    module = _module(build, [(1, 4, 4, 8), (1, 4, 4, 8)])
    (op,) = [o for o in module.walk() if isinstance(o, qnn.AddOp)]
    with pytest.raises(DoryError, match=r"^qnn.add \(layer '.*'\): PULP-NN kernels take and produce ui8"):
        kernel_layer(op, 0)


def test_generated_helper_compiles_for_rv32(tmp_path):
    require_riscv()
    params = dict(HOST_CASES[0][1])
    app = compile_module(add_module(params), inputs=all_pairs())
    assert b"dory_add_requant((uint8_t *)" in app.files["network.c"]
    folder = write_app(app.files, tmp_path / "app")
    objects = host_build.compile_riscv([folder / s for s in SOURCES], tmp_path / "obj", include_dirs=[folder],
                                       defines={"NUM_CORES": "8"})
    assert all(o.stat().st_size > 0 for o in objects)
