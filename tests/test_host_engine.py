"""`dory run --engine host`: the generated app built with ASan/UBSan against the host runtime."""

from __future__ import annotations

import numpy as np
import pytest
from onnx_graphs import example_networks, require_examples

from dory_xdsl.drivers import cli
from dory_xdsl.engines.host_engine import parse_dump
from dory_xdsl.generators.mobilenet import MobileNetConfig, generate_mobilenet

SMALL = MobileNetConfig(width=0.25, resolution=96, classes=100, seed=3)


@pytest.fixture(scope="module")
def network(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mobilenet")
    generate_mobilenet(SMALL, folder)
    return folder


def test_golden_bit_exact_with_multi_tile_layers(network, capsys):
    code = cli.main(["run", "--drop-float-tail", str(network / "model.onnx"), "--golden", str(network), "--engine", "host"])
    out = capsys.readouterr().out.splitlines()
    assert code == 0
    assert out[-1] == "golden: 29/29 tensors bit-exact"
    host = next(line for line in out if line.startswith("host:"))
    tiles = int(host.split(" layers, ")[1].split(" with")[0])
    dma_in = int(host.split("DMA L2->L1 ")[1].split(" B")[0])
    assert tiles >= 1 and dma_in > 100_000
    assert 1 <= int(host.split(" commands, at most ")[1].split(" outstanding")[0]) <= 16


def test_input_output_match_the_reference_engine(network, tmp_path, capsys):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(1, 3, 96, 96)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    for engine in ("reference", "host"):
        assert cli.main(["run", "--drop-float-tail", str(network / "model.onnx"), "--input", str(tmp_path / "x.npy"),
                         "--output", str(tmp_path / f"{engine}.npy"), "--engine", engine]) == 0
    capsys.readouterr()
    ref, host = np.load(tmp_path / "reference.npy"), np.load(tmp_path / "host.npy")
    assert host.shape == ref.shape and host.dtype == ref.dtype
    np.testing.assert_array_equal(host, ref)


def test_parse_dump_reads_layer_and_output_records():
    data = b"L 0 3\n\x01\x02\x03L 1 1\n\nO 0 2\n\xff\x00"
    layers, outputs = parse_dump(data)
    assert layers == {0: b"\x01\x02\x03", 1: b"\n"} and outputs == [b"\xff\x00"]


@pytest.mark.parametrize("model", example_networks() or [None], ids=lambda p: p.parent.name if p else "missing")
def test_shared_dory_networks_bit_exact(model, capsys):
    require_examples()
    code = cli.main(["run", "--drop-float-tail", str(model), "--golden", str(model.parent), "--engine", "host"])
    out = capsys.readouterr().out.splitlines()
    total = len(list(model.parent.glob("out_layer*.txt")))
    assert out[-1] == f"golden: {total}/{total} tensors bit-exact"
    assert code == 0
    host = next(line for line in out if line.startswith("host:"))  # the runtime's MCHAN counter model
    assert 1 <= int(host.split(" commands, at most ")[1].split(" outstanding")[0]) <= 16
