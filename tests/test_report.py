"""The compile report: DMA totals equal what the host runtime moved; L2 plan peak vs lower bound."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest
from onnx_graphs import EXAMPLES, example_networks, require_examples

from dory_xdsl.drivers import cli
from dory_xdsl.lowering.pipeline import CompileOptions, compile_module
from dory_xdsl.golden.dory_dir import golden_inputs, golden_layer_values
from dory_xdsl.golden.numbering import golden_positions
from dory_xdsl.engines.host_engine import build_and_run
from dory_xdsl.tiling.layer_dma import layer_dma, layer_plans, scheduled_copies
from dory_xdsl.tiling.layer_geometry import LayerGeometry, conv_layer
from dory_xdsl.generators.mobilenet import MobileNetConfig, generate_mobilenet
from dory_xdsl.frontend.onnx_import import import_onnx_file
from dory_xdsl.target import GAP8
from dory_xdsl.tiling.tiles import TileSizes, axis_stats

SMALL = MobileNetConfig(width=0.25, resolution=96, classes=100, seed=5)
HOST_CHECKED = ("Nemo/Residual_connection_test_1", "Nemo/PenguiNet_64")

_apps: dict[Path, object] = {}


def compiled(model: Path, golden: Path):
    """One compile per model for the whole module (the golden input embedded)."""
    if model not in _apps:
        module = import_onnx_file(str(model))
        _apps[model] = compile_module(module, name="net", inputs=golden_inputs(module, golden),
                                      golden_layers=golden_layer_values(golden),
                                      golden_numbering=golden_positions(module, model))
    return _apps[model]


@pytest.fixture(scope="module")
def mobilenet(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("mobilenet")
    generate_mobilenet(SMALL, folder)
    return folder


def assert_report_matches_host_run(app, tmp_path: Path, checksums: bool = True) -> None:
    run = build_and_run(app.files, tmp_path, CompileOptions().l1_bytes)
    report = app.report
    dma, totals = report.dma, report.totals()
    assert (dma.in_bytes, dma.in_commands) == (run.dma_in, run.dma_in_commands)
    assert (dma.out_bytes, dma.out_commands) == (run.dma_out, run.dma_out_commands)
    assert (totals["l3_to_l2_bytes"], totals["l3_to_l2_reads"]) == (run.l3_read, run.l3_reads)
    # L2 -> L3 besides the network's own writes: the host loader (network_load_weights) writes the
    # weights image into L3 before the run, staged through L2 in requests of at most 4096 B
    image = totals["l3_image_bytes"]
    assert (totals["l2_to_l3_bytes"] + image, totals["l2_to_l3_writes"] + -(-image // 4096)) == (
        run.l3_write, run.l3_writes)
    # the most cluster-DMA commands outstanding at once, per layer: the runtime's MCHAN counter model
    assert tuple(x.dma_peak for x in report.layers) == run.dma_peaks
    assert 1 <= max(run.dma_peaks) <= 16
    if checksums:
        assert "checksum errors: 0" in run.stdout


@pytest.mark.parametrize("name", HOST_CHECKED)
def test_dma_totals_equal_the_host_runtime_counters(name, tmp_path):
    require_examples()
    folder = EXAMPLES / name
    app = compiled(next(p for p in sorted(folder.glob("*.onnx")) if "ortcompat" not in p.name), folder)
    assert app.multi_tile_layers >= 1
    assert_report_matches_host_run(app, tmp_path)


def test_dma_totals_equal_the_host_runtime_counters_on_mobilenet(mobilenet, tmp_path):
    app = compiled(mobilenet / "model.onnx", mobilenet)
    kinds = {x.kind for x in app.report.layers if x.tiles > 1}
    assert "depthwise" in kinds  # multi-tile depthwise: CHW gathers, materialised zero rows
    assert_report_matches_host_run(app, tmp_path)


def test_dma_totals_equal_the_host_runtime_counters_with_an_activation_in_l3(tmp_path):
    """The chain of test_l3_streaming at 370,000 B: the conv output is written to L3 after its
    layer and read back by the pointwise conv in row windows, again for every channel tile."""
    from test_l3_streaming import L2_FULL, chain_module

    module = chain_module()
    inputs = [np.random.default_rng(5).integers(0, 256, (1, 64, 64, 8), dtype=np.uint8)]
    app = compile_module(module, inputs=inputs, options=CompileOptions(l2_code_reserved=L2_FULL - 370_000))
    totals = app.report.totals()
    assert (totals["l2_to_l3_bytes"], totals["l2_to_l3_writes"]) == (64 * 64 * 32, 1)
    consumer = app.report.layers[1]
    assert consumer.l3_bytes >= 64 * 64 * 32 and consumer.l3_reads > 1  # windows, not one whole read
    assert_report_matches_host_run(app, tmp_path, checksums=False)


@pytest.mark.parametrize("model", example_networks() or [None], ids=lambda p: p.parent.name if p else "missing")
def test_l2_peak_within_five_percent_of_the_liveness_lower_bound(model):
    require_examples()
    report = compiled(model, model.parent).report
    assert report.l2_lower_bound <= report.l2_peak <= 1.05 * report.l2_lower_bound
    assert report.l2_peak <= report.l2_budget
    for layer in report.layers:  # what is live at a layer includes the layer's own buffers
        assert layer.l2_bytes <= layer.l2_live <= report.l2_lower_bound
        assert 0 < layer.l1_bytes <= layer.l1_budget


def test_compile_writes_json_and_prints_the_table(mobilenet, tmp_path, capsys):
    model = str(mobilenet / "model.onnx")
    assert cli.main(["compile", model, "-o", str(tmp_path / "app"), "--report", str(tmp_path / "r.json")]) == 0
    data = json.loads((tmp_path / "r.json").read_text())
    layers, totals = data["layers"], data["totals"]
    assert len(layers) == totals["layers"] == 29
    assert totals["l2_to_l1_bytes"] == sum(x["dma"]["l2_to_l1_bytes"] for x in layers)
    assert totals["tiles"] == sum(x["tiles"] for x in layers)
    assert data["l2_plan"]["peak"] >= data["l2_plan"]["lower_bound"] > 0
    assert list(data["stage_seconds"]) == [
        "imports", "ONNX import", "qnn-offset-int8", "qnn-fuse-requant", "qnn-merge-requant", "qnn-to-nhwc",
        "qnn-legalize-pulp", "qnn-widen-requant", "qnn-tile: search", "qnn-tile: Z3 proofs", "qnn-l3-tile",
        "convert-qnn-to-dory", "C printing", "report", "writing"]
    assert (tmp_path / "r.html").is_file()
    capsys.readouterr()
    assert cli.main(["compile", model, "-o", str(tmp_path / "app"), "--report", "-"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("app: 29 layers\n") and "L2 plan: peak" in out and "compile time: import" in out


# ----------------------------------------------------------------------------- layer_dma (pure)

GEOMETRIES = [
    conv_layer("conv", 40, 30, 16, 32, 3, stride=2, pad=(1, 1, 0, 0), requant_bits=32),
    conv_layer("pw", 20, 20, 32, 64, 1, requant_bits=32),
    LayerGeometry("depthwise", 33, 17, 24, 24, 3, 3, (1, 1), (1, 1, 1, 1), requant_bits=32, name="dw"),
    LayerGeometry("maxpool", 30, 30, 8, 8, 3, 3, (2, 2), (0, 0, 1, 1), name="pool"),
    LayerGeometry("add", 9, 11, 16, 16, name="add"),
    LayerGeometry("linear", 1, 1, 512, 10, requant_bits=32, name="fc"),
]


@pytest.mark.parametrize("g", GEOMETRIES, ids=lambda g: g.name)
def test_layer_dma_moves_each_output_and_parameter_once(g):
    rng = random.Random(g.name)
    for _ in range(15):
        sizes = TileSizes(rng.randint(1, g.h_out), rng.randint(1, g.w_out), rng.randint(1, g.cout))
        h, w, c = (axis_stats(g, a, getattr(sizes, a), GAP8.num_cores) for a in ("h", "w", "c"))
        dma = layer_dma(g, sizes, GAP8)
        assert dma.out_bytes == g.output_elements * g.out_bytes
        assert dma.out_commands >= h.count * w.count * c.count
        per_channel = g.weights_per_channel * g.weight_bytes + g.has_bias * g.bias_bytes + 2 * g.requant_bytes
        fetched = h.fetched * w.fetched * g.cin * g.act_bytes * g.num_inputs
        plans = layer_plans(g, sizes, GAP8.dma)
        if g.channels_tied or plans.fixed_input:
            inputs = fetched  # tied: each channel tile fetches its own channels; else fetched once
        else:
            inputs = fetched * c.count  # all input channels again for every channel tile
        assert dma.in_bytes == g.cout * per_channel + inputs
        out_tiles = [tiles for name, _, _, tiles in scheduled_copies(plans) if name == "out"]
        assert list(out_tiles[0]) == list(range(h.count * w.count * c.count))
