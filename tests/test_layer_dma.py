"""`layer_dma` (the report's DMA figures, from the tiling alone) == what the tiled engine counts
when it executes the lowered layer: bytes and commands per direction, on random one-layer
networks of every kind that tiles, with random tile sizes (border tiles of one row or column
included), single or double buffered, parameters in L2 or streamed from L3 in chunks."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_tiled_engine import add_module, conv_module, linear_module, pool_module
from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import DictionaryAttr, IntegerAttr, StringAttr, i64

from dory_xdsl.dialects import qnn
from dory_xdsl.dialects.dory import TilingAttr
from dory_xdsl.analysis.kernel_layers import LAYER_OPS, kernel_layer
from dory_xdsl.tiling.layer_dma import DmaCounts, dma_queues, layer_dma, queue_capacities, tile_counts
from dory_xdsl.drivers.registry import get_passes
from dory_xdsl.target import GAP8
from dory_xdsl.engines.tiled_engine import run_tiled
from dory_xdsl.tiling.tiles import TileSizes, l1_layout
from dory_xdsl.transforms.convert_qnn_to_dory import L3_ATTR, ConvertQnnToDoryPass
from dory_xdsl.transforms.gap8_lower import BACKEND_PASSES
from dory_xdsl.transforms.qnn_tile import TILING

MAX_TILES = 40  # keeps the engine runs short


@st.composite
def one_layer_networks(draw: st.DrawFn):
    """(builder, arguments) of a fused NHWC one-layer module, built as the tiled-engine tests do."""
    kind = draw(st.sampled_from(["conv", "pointwise", "depthwise", "maxpool", "avgpool", "add", "linear"]))
    h, w, c = draw(st.integers(1, 9)), draw(st.integers(1, 9)), draw(st.integers(1, 10))
    if kind == "linear":
        return linear_module, (draw(st.integers(1, 200)), draw(st.integers(2, 30)), draw(st.booleans()))
    if kind == "add":
        return add_module, (h, w, c)
    if kind == "pointwise":
        return conv_module, (h, w, c, draw(st.integers(1, 12)), (1, 1), (1, 1), (0, 0, 0, 0), (1, 1), False, False)
    k = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    stride = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    pads = [min(draw(st.integers(0, 2)), k[i % 2] - 1) for i in range(4)]
    h, w = max(h, k[0]), max(w, k[1])
    if kind == "maxpool" and qnn.pool_out(w, k[1], stride[1], pads[1] + pads[3]) > w:
        pads[1] = pads[3] = 0  # pulp_nn_maxpool pools rows in place
    if kind in ("maxpool", "avgpool"):
        return pool_module, (h, w, c, k, stride, tuple(pads), kind[:3])
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    h, w = max(h, (k[0] - 1) * dilation[0] + 1), max(w, (k[1] - 1) * dilation[1] + 1)
    return conv_module, (h, w, c, draw(st.integers(1, 12)), k, stride, tuple(pads), dilation, kind == "depthwise",
                         draw(st.booleans()))


def lower_with_tiles(module, draw: st.DrawFn):
    """Run the back end with the layer's tiling drawn at random instead of chosen by `qnn-tile`."""
    passes = get_passes()
    for name in BACKEND_PASSES[:BACKEND_PASSES.index("qnn-tile")]:
        passes[name]()().apply(Context(), module)
    op = next(o for o in module.walk() if isinstance(o, LAYER_OPS))
    g = kernel_layer(op, 0).geometry
    sizes = [draw(st.integers(1, n)) for n in (g.h_out, g.w_out, g.cout)]
    while np.prod(tile_counts(g, TileSizes(*sizes))) > MAX_TILES:  # grow the axis with the most tiles
        counts = tile_counts(g, TileSizes(*sizes))
        axis = counts.index(max(counts))
        sizes[axis] = min(2 * sizes[axis], (g.h_out, g.w_out, g.cout)[axis])
    sizes = TileSizes(*sizes)
    counts = tile_counts(g, sizes)
    double_buffer = draw(st.booleans())
    l1 = l1_layout(g, sizes, GAP8, double_buffer).total
    op.attributes[TILING] = TilingAttr(tile=(sizes.h, sizes.w, sizes.c), count=counts, l1=l1, budget=l1,
                                       double_buffer=double_buffer, objective="cost", cycles=0, proved=False,
                                       solve_us=0)
    if g.weights_per_channel and counts[2] > 1 and draw(st.booleans()):
        op.attributes[L3_ATTR] = DictionaryAttr({"weights": StringAttr("stream"),
                                                 "chunk": IntegerAttr(sizes.c, i64)})
    ConvertQnnToDoryPass().apply(Context(), module)
    return g, sizes, GAP8.with_budget(l1_bytes=l1)


@settings(max_examples=70, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(network=one_layer_networks(), seed=st.integers(0, 2**31), data=st.data())
def test_layer_dma_equals_the_tiled_engine_counters(network, seed, data):
    builder, args = network
    rng = np.random.default_rng(seed)
    module = builder(rng, *args)
    inputs = [rng.integers(0, 256, tuple(a.type.get_shape()), dtype=np.uint8)
              for a in module.body.block.first_op.body.block.args]
    g, sizes, target = lower_with_tiles(module, data.draw)
    run = run_tiled(module, inputs)
    stats = run.dma
    engine = DmaCounts(stats.bytes_in, stats.commands_in, stats.bytes_out, stats.commands_out)
    assert layer_dma(g, sizes, target) == engine, (g.describe(), sizes)
    # the most commands outstanding at once (rings of `dory.dma_queues`): formula == lowered IR
    double_buffer = bool(next(o for o in module.walk() if isinstance(o, func.FuncOp)
                              and "dory.tiling" in o.attributes).attributes["dory.tiling"].double_buffer.data)
    queues = dma_queues(g, sizes, target, double_buffer)
    assert queues.peak == run.dma_peaks[0] <= 16, (g.describe(), sizes, queues)


def test_queue_capacities_share_the_counters():
    """Channels issuing few commands get all they need; the others share the rest evenly."""
    assert queue_capacities({"weights": 1, "k": 1, "in": 3, "out": 2}, 16) == {"weights": 1, "k": 1, "in": 3, "out": 2}
    assert queue_capacities({"weights": 1, "k": 1, "lambda": 1, "in": 208, "out": 50}, 16) == {
        "weights": 1, "k": 1, "lambda": 1, "in": 7, "out": 6}
    assert queue_capacities({"in": 100, "in2": 100, "out": 100, "bias": 0}, 16) == {"in": 5, "in2": 5, "out": 6}
    assert sum(queue_capacities({f"c{i}": 40 for i in range(7)}, 16).values()) == 16
