"""The L3 request queues `convert-qnn-to-dory` records on each layer function (`dory.l3_queues`,
from its schedule) == the most requests ever pending per L3 channel when the lowered loop nest
is executed (`index_eval`), on random one-layer networks with random tiles (parameters in L2 or
streamed from L3), an activation read from L3 in row windows, and shared networks; the C
declares exactly those request arrays. (The cluster-DMA rings, `dory.dma_queues`, have their
own tests in test_layer_dma / test_c_emission.)"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from onnx_graphs import EXAMPLES, require_examples
from test_l3_streaming import chain_module, layer_module
from test_layer_dma import lower_with_tiles, one_layer_networks
from xdsl.context import Context
from xdsl.ir import Block, Operation

from dory_xdsl.dialects import dory
from dory_xdsl.analysis.index_eval import execute
from dory_xdsl.lowering.c_printer import LayerPrinter, layer_functions, queue_sizes
from dory_xdsl.transforms.gap8_lower import Gap8LowerPass


def simulated_peaks(block: Block, start: type[Operation], wait: type[Operation]) -> dict[str, int]:
    """Run the layer's loops and index arithmetic; the most commands pending per channel."""
    pending: dict[str, int] = {}
    peak: dict[str, int] = {}

    def visit(op: Operation, env: object) -> None:
        if isinstance(op, start):
            ch = op.channel.data  # type: ignore[attr-defined]
            pending[ch] = pending.get(ch, 0) + 1
            peak[ch] = max(peak.get(ch, 0), pending[ch])
        elif isinstance(op, wait):
            pending[op.channel.data] = 0  # type: ignore[attr-defined]

    execute(block, {}, visit)
    return dict(sorted(peak.items()))


def assert_queues_are_exact(module) -> None:
    functions = layer_functions(module)
    assert functions
    for f in functions:
        assert queue_sizes(f) == simulated_peaks(f.body.block, dory.L3StartOp, dory.L3WaitOp), f.sym_name.data
        code = LayerPrinter(f).print().code
        assert code.count("pi_cl_ram_req_t l3_") == len(queue_sizes(f))
        for channel, size in queue_sizes(f).items():
            assert f"static pi_cl_ram_req_t l3_{channel}[{size}];" in code


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(network=one_layer_networks(), seed=st.integers(0, 2**31), data=st.data())
def test_recorded_queues_equal_the_executed_peaks(network, seed, data):
    builder, args = network
    module = builder(np.random.default_rng(seed), *args)
    lower_with_tiles(module, data.draw)
    assert_queues_are_exact(module)


def test_streamed_parameters_and_an_activation_in_l3():
    module = layer_module("pointwise", 1024, 1024, 4)
    Gap8LowerPass(l2_bytes=100_000).apply(Context(), module)
    assert any(queue_sizes(f) for f in layer_functions(module))  # parameter chunks
    assert_queues_are_exact(module)
    module = chain_module()
    Gap8LowerPass(l2_bytes=370_000).apply(Context(), module)
    assert any("in_l3" in queue_sizes(f) for f in layer_functions(module))  # row windows
    assert_queues_are_exact(module)


@pytest.mark.parametrize("name", ["Nemo/dronet_complete/model_int.onnx", "Nemo/NAS_Frontnet/Frontnet.onnx"])
def test_shared_networks(name):
    require_examples()
    from dory_xdsl.frontend.onnx_import import import_onnx_file

    module = import_onnx_file(str(EXAMPLES / name))
    Gap8LowerPass().apply(Context(), module)
    assert_queues_are_exact(module)
