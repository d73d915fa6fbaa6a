"""Acceptance: `dory run <model> --golden <folder>` is N/N bit-exact on every DORY example network,
and stays so after `qnn-fuse-requant` + `qnn-to-nhwc` (the IR the back end compiles)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from xdsl.context import Context

from dory_xdsl.drivers.cli import main
from dory_xdsl.analysis.dory_layers import layer_arrays
from dory_xdsl.golden.dory_dir import check_golden, golden_input_array, read_golden_dir
from dory_xdsl.analysis.interpreter import evaluate, main_function
from dory_xdsl.golden.numbering import by_dory_number, dory_positions
from dory_xdsl.frontend.onnx_graph import index_graph, parse_model
from dory_xdsl.frontend.onnx_import import import_onnx_bytes
from dory_xdsl.transforms.qnn_fuse_requant import QnnFuseRequantPass
from dory_xdsl.transforms.qnn_to_nhwc import QnnToNhwcPass

EXAMPLES = Path(__file__).resolve().parents[1].parent / "shared" / "models" / "dory_examples"


def networks() -> list[Path]:
    if not EXAMPLES.is_dir():
        if os.environ.get("CI") == "true":
            raise RuntimeError(f"{EXAMPLES} is missing (required when CI=true)")
        return []
    models = sorted(EXAMPLES.glob("Nemo/*/*.onnx"))
    models.append(EXAMPLES / "Quantlab" / "Dronet" / "DRONETV3_ql_integerized.onnx")
    return models


NETWORKS = networks()
skip_without_models = pytest.mark.skipif(not NETWORKS, reason="../shared/models is not available")


@skip_without_models
def test_every_example_folder_is_covered():
    folders = {p.parent.name for p in NETWORKS}
    assert folders == {p.name for p in (EXAMPLES / "Nemo").iterdir() if p.is_dir()} | {"Dronet"}


@skip_without_models
@pytest.mark.parametrize("model", NETWORKS, ids=lambda p: p.parent.name)
def test_dory_run_golden_is_bit_exact(model, capsys):
    code = main(["run", "--drop-float-tail", str(model), "--golden", str(model.parent)])
    out = capsys.readouterr().out
    count = len(list(model.parent.glob("out_layer*.txt")))
    assert out.splitlines()[-1] == f"golden: {count}/{count} tensors bit-exact", out
    assert code == 0
    assert len(re.findall(r": OK$", out, flags=re.M)) == count


@skip_without_models
@pytest.mark.parametrize("model", NETWORKS, ids=lambda p: p.parent.name)
def test_golden_after_fusion_and_nhwc(model):
    data = model.read_bytes()
    module = import_onnx_bytes(data, str(model))
    golden = read_golden_dir(model.parent)
    arg = main_function(module).body.block.args[0]
    x, _ = golden_input_array(golden.input, tuple(arg.type.get_shape()))
    ctx = Context()
    QnnFuseRequantPass().apply(ctx, module)
    QnnToNhwcPass().apply(ctx, module)
    outputs = layer_arrays(module, evaluate(module, [x]).values)
    positions = dory_positions(module, index_graph(parse_model(data, "m")))
    results = check_golden(by_dory_number(positions, outputs), golden)
    assert [r.line() for r in results if not r.ok] == []
