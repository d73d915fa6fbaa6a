"""The MobileNetV1 generator: architecture, NEMO node pattern, exactness, golden files, CLI."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from dory_xdsl.drivers import cli

from dory_xdsl.golden import dory_dir as golden
from dory_xdsl.generators import synthetic_quant as sq
from dory_xdsl.errors import DoryError
from dory_xdsl.generators.mobilenet import (
    MobileNetConfig,
    build_mobilenet,
    check_against_onnxruntime,
    generate_mobilenet,
    layer_table,
    network_macs,
    run_onnxruntime,
)

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "models" / "dory_examples" / "Nemo"
SMALL = MobileNetConfig(width=0.25, resolution=96, classes=100, seed=7)


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mobilenet")
    return generate_mobilenet(SMALL, folder), folder


# ----------------------------------------------------------------------------- architecture


@pytest.mark.parametrize("width, resolution, paper_mmac", [
    (1.0, 224, 569), (0.75, 224, 325), (0.5, 224, 149), (0.25, 224, 41),
    (1.0, 192, 418), (1.0, 160, 290), (1.0, 128, 186),
])
def test_macs_match_the_paper(width, resolution, paper_mmac):
    # Howard et al. 2017, tables 6 and 7 (million mult-adds, rounded).
    macs = network_macs(MobileNetConfig(width, resolution))
    assert abs(macs / 1e6 - paper_mmac) < 1.0


def test_layer_table_of_the_full_network():
    specs = layer_table(MobileNetConfig(1.0, 128))
    assert len(specs) == 27  # + avgpool + fc = 29 DORY layers
    assert [s.cout for s in specs[2::2]] == [64, 128, 128, 256, 256, 512, 512, 512, 512, 512, 512, 1024, 1024]
    assert all(s.group == s.cin == s.cout for s in specs[1::2])
    assert [s.stride for s in specs[1::2]] == [1, 2, 1, 2, 1, 2, 1, 1, 1, 1, 1, 2, 1]
    assert specs[0].stride == 2 and specs[-1].out_hw == 4


def test_width_multiplier_scales_channels():
    specs = layer_table(MobileNetConfig(0.25, 96))
    assert [specs[0].cout] + [s.cout for s in specs[2::2]] == [8, 16, 32, 32, 64, 64] + [128] * 6 + [256, 256]
    assert specs[-1].out_hw == 3


@pytest.mark.parametrize("config", [MobileNetConfig(width=0.1), MobileNetConfig(resolution=300),
                                    MobileNetConfig(classes=0)])
def test_invalid_configurations(config):
    with pytest.raises(DoryError):
        config.validate()


# ----------------------------------------------------------------------------- graph


def test_graph_is_valid_nemo_style_onnx(small):
    network, folder = small
    model = onnx.load(folder / "model.onnx")
    onnx.checker.check_model(model, full_check=True)
    assert [(o.domain, o.version) for o in model.opset_import] == [("", 9)]
    ops = [n.op_type for n in model.graph.node]
    assert ops.count("Conv") == 27 and ops.count("AveragePool") == 1 and ops.count("Gemm") == 1
    inits = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type == "Conv":
            attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
            weight = inits[node.input[1]]
            assert len(node.input) == 2  # no bias, as NEMO
            assert attrs["group"] in (1, weight.shape[0])
    for array in inits.values():
        assert array.dtype == np.float32 and np.array_equal(array, np.round(array))
    weights = [a for name, a in inits.items() if name.endswith(".weight")]
    assert all(a.min() >= -128 and a.max() <= 127 for a in weights)
    assert [o.name for o in model.graph.output] == [network.layers[-1].tensor]


def _requant_chain(model: onnx.ModelProto) -> list[str]:
    """Op types from the first Conv up to (including) the first Clip, Constants left out."""
    ops = [n.op_type for n in model.graph.node if n.op_type != "Constant"]
    start = ops.index("Conv")
    return ops[start:ops.index("Clip", start) + 1]


def test_requant_chain_is_the_nemo_pattern(small):
    network, _ = small
    reference = SHARED / "dronet_complete" / "model_int.onnx"
    if not reference.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reference} is missing")
        pytest.skip("shared models not available")
    nemo = onnx.load(reference)
    assert _requant_chain(network.model) == _requant_chain(nemo)
    assert network.model.opset_import[0].version == nemo.opset_import[0].version


# ----------------------------------------------------------------------------- numerics


def test_activations_are_in_range_and_informative(small):
    network, _ = small
    for layer in network.layers[:-1]:
        values = layer.output
        assert values.min() >= 0 and values.max() <= 255, layer.name
        assert np.mean(values == 0) < 0.5 and np.mean(values == 255) < 0.1, layer.name
        assert len(np.unique(values)) >= (16 if layer.name == "avgpool" else 128), layer.name
    logits = network.layers[-1].output
    assert logits.shape == (1, 100) and len(np.unique(logits)) > 90


def test_same_seed_gives_identical_bytes(small, tmp_path):
    _, folder = small
    generate_mobilenet(SMALL, tmp_path)
    names = sorted(p.name for p in folder.iterdir())
    assert names == sorted(p.name for p in tmp_path.iterdir()) and len(names) == 31
    for name in names:
        assert (folder / name).read_bytes() == (tmp_path / name).read_bytes(), name


def test_other_seed_gives_other_network(small):
    network, _ = small
    other = build_mobilenet(MobileNetConfig(0.25, 96, 100, seed=8))
    assert not np.array_equal(other.input, network.input)
    assert other.model.SerializeToString() != network.model.SerializeToString()


def test_float32_exactness_assertion():
    sq.check_float32_exact("ok", np.array([2**24 - 1, -(2**24 - 1)]))
    with pytest.raises(DoryError, match=r"x: \|value\| reaches 16777216 >= 2\^24"):
        sq.check_float32_exact("x", np.array([3, -(2**24)]))


def test_generator_refuses_inexact_constants(monkeypatch):
    # Without the headroom the constants grow until kappa*acc + lamda leaves float32's exact range.
    monkeypatch.setattr(sq, "HEADROOM", 2**40)
    with pytest.raises(DoryError, match=r"conv1: kappa\*acc \+ lamda: \|value\| reaches"):
        build_mobilenet(SMALL)


def test_onnxruntime_mismatch_is_reported(small):
    network, _ = small
    results = run_onnxruntime(network)
    check_against_onnxruntime(network, results)
    results[5] = results[5].copy()
    results[5].flat[17] += 1
    with pytest.raises(DoryError, match=r"block3.dw: onnxruntime differs from exact integer arithmetic \(1 elements\)"):
        check_against_onnxruntime(network, results)


@pytest.mark.parametrize("area", [9, 16, 25, 36, 49])
def test_pool_constants_are_exact_for_every_window_sum(area):
    mul, shift = sq.choose_pool_requant(area)
    sums = np.arange(255 * area + 1)
    assert np.array_equal(sq.pool_float32_chain(sums, area, mul, shift), (sums * mul) >> shift)
    assert mul * area <= 2**shift and (sums * mul >> shift).max() >= 250


def test_requant_constants_fit_32_bits(small):
    network, _ = small
    inits = {i.name: numpy_helper.to_array(i).astype(np.int64) for i in network.model.graph.initializer}
    for spec in layer_table(SMALL):
        worst = sq.worst_accumulator(inits[f"{spec.name}.weight"])
        kappa, lamda = inits[f"{spec.name}.bn.kappa"].reshape(-1), inits[f"{spec.name}.bn.lamda"].reshape(-1)
        assert np.all(kappa >= 1) and np.all(8 * (kappa * worst + np.abs(lamda)) < 2**31), spec.name


# ----------------------------------------------------------------------------- golden files and CLI


def test_golden_files_parse_back(small):
    network, folder = small
    gold = golden.read_golden_dir(folder)
    assert sorted(gold.layers) == list(range(29))
    array, order = golden.golden_input_array(gold.input, network.input.shape)
    assert order == "HWC" and np.array_equal(array, network.input)
    for index, layer in enumerate(network.layers):
        tensor = gold.layers[index]
        assert tensor.name == layer.name
        expected = layer.output[0].transpose(1, 2, 0) if layer.output.ndim == 4 else layer.output
        assert tensor.header_shape == expected.shape
        assert np.array_equal(tensor.values, expected.reshape(-1))
    first = (folder / "out_layer0.txt").read_text().splitlines()
    assert first[0] == "# conv1 (shape [48, 48, 8])," and first[1].endswith(",")


def test_dory_run_checks_the_generated_golden_data(small, capsys):
    _, folder = small
    assert cli.main(["run", str(folder / "model.onnx"), "--golden", str(folder)]) == 0
    assert "golden: 29/29 tensors bit-exact" in capsys.readouterr().out


def test_cli_generates_and_reports(tmp_path, capsys):
    out = tmp_path / "net"
    assert cli.main(["gen-mobilenet", "--width", "0.25", "--resolution", "64", "--classes", "10",
                     "--seed", "1", "-o", str(out)]) == 0
    assert "29 layers" in capsys.readouterr().out
    assert (out / "model.onnx").is_file() and (out / "out_layer28.txt").is_file()


def test_cli_rejects_bad_width(tmp_path, capsys):
    assert cli.main(["gen-mobilenet", "--width", "1.5", "-o", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.strip() == "dory: error: --width: the MobileNetV1 width multiplier must be in 0.25..1.0, got 1.5"
