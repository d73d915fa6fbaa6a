"""Layers whose smallest double-buffered tiles do not fit L1 run single-buffered, bit-exact.

The network is a dilated 1-D convolution of the kind TCNs use (112 channels, kernel 3, dilation
8, asymmetric padding 8/9, 121 -> 122 samples): the dilated kernel is expanded to 17 taps, whose
im2col buffer (2 * 112 * 17 * 8 B) leaves no room for two copies of even the smallest tiles under
DORY's 36,700 B, while one copy of each fits.
"""

from __future__ import annotations

import numpy as np
import pytest
from onnx_graphs import make_graph

from dory_xdsl.engines.registry import prepare_engine
from dory_xdsl.frontend.onnx_import import import_onnx_bytes
from dory_xdsl.tiling.layer_geometry import LayerGeometry
from dory_xdsl.tiling.tiling_model import DoesNotFitL1, tile_layer, tile_layer_buffered

CHANNELS = 112


def dilated_tcn_layer() -> bytes:
    b = make_graph.GraphBuilder(seed=3)
    w = b.weights((CHANNELS, CHANNELS, 3), lo=-3, hi=3)
    y = b.op("Conv", ["x", w], kernel_shape=[3], pads=[8, 9], strides=[1], dilations=[8], group=1)
    y = b.nemo_requant(y, CHANNELS, rank=3)
    return b.model([("x", [1, CHANNELS, 121])], [y]).SerializeToString()


def geometry(channels: int) -> LayerGeometry:
    return LayerGeometry("conv", 1, 121, channels, channels, 1, 3, (1, 1), (0, 8, 0, 9), (1, 8),
                         requant_bits=32, name="tcn")


def test_single_buffered_only_when_double_buffered_does_not_fit():
    with pytest.raises(DoesNotFitL1):
        tile_layer(geometry(CHANNELS), double_buffer=True)
    single = tile_layer_buffered(geometry(CHANNELS))
    assert not single.double_buffer and single.l1_bytes <= 36_700
    assert single.sizes == tile_layer(geometry(CHANNELS), double_buffer=False).sizes
    assert tile_layer_buffered(geometry(96)).double_buffer  # fits double-buffered: stays so


def test_neither_buffering_fits_names_both():
    with pytest.raises(DoesNotFitL1, match=r"layer 'tcn' .* needs at least \d+ B double-buffered; \d+ B "
                                           r"single-buffered with the smallest tiles, but the L1 budget is 36700 B"):
        tile_layer_buffered(geometry(160))


@pytest.mark.parametrize("engine", ["tiled", "host"])
def test_single_buffered_layer_is_bit_exact(engine):
    module = import_onnx_bytes(dilated_tcn_layer(), "tcn.onnx")
    x = np.random.default_rng(0).integers(0, 256, size=(1, CHANNELS, 121)).astype(np.int64)
    expected = prepare_engine("reference", module)([x])
    got = prepare_engine(engine, module)([x])
    np.testing.assert_array_equal(got.outputs[0], expected.outputs[0])
    np.testing.assert_array_equal(got.layers[0], expected.layers[0])
