"""The six TFLite QDQ reference models (`../shared/models/tflite_qdq`) against TensorFlow Lite
Micro: `dory run MODEL --golden FILE.npz` on the reference engine, every case and every mapped
intermediate tensor.

Expected: the imported integer layers reproduce TFLM's arithmetic exactly (`dory_xdsl.semantics.qdq_exact`:
double-rounding requantization, add, average pooling), so every case is bit-exact (max |diff| 0,
the issue's 1 LSB default tolerance is not needed) with TFLM's argmax, and each layer fed the
TFLite reference input is within 1 LSB of the TFLite reference tensor (the LiteRT reference
kernels that produced the intermediates round fully connected layers once, TFLM twice).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from dory_xdsl.drivers.cli import main

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT.parent / "shared" / "models" / "tflite_qdq"

# model file stem -> golden file stem
CASES = {
    "kws_ref_model": "mlperf_kws_dscnn",
    "vww_96_int8": "mlperf_vww_mbv1_025",
    "person_detect": "tflm_person_detect",
    "micro_speech_quantized": "tflm_micro_speech",
    "ad01_int8": "mlperf_ad_fc_autoencoder",
    "pretrainedResnet_quant": "mlperf_ic_resnet8",
}
CASE_LINE = re.compile(r"^case (\S+): max \|diff\| (\d+), argmax (.*)$")
LAYER_LINE = re.compile(r"^layer \d+ qnn\.(\w+) '.*': max \|diff\| (\d+) over \d+ values(?: \((\d+) from the golden inputs\))?$")


def require_models() -> None:
    if not MODELS.is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail(f"reference models missing: {MODELS}")
        pytest.skip(f"reference models missing: {MODELS}")


def run(model: str, golden: str, capsys, *extra: str) -> tuple[int, list[str]]:
    code = main(["run", str(MODELS / "onnx" / f"{model}.tf2onnx.onnx"), "--golden",
                 str(MODELS / "golden" / f"{golden}_golden.npz"), *extra])
    return code, capsys.readouterr().out.splitlines()


@pytest.mark.parametrize("model", sorted(CASES))
def test_model_matches_tflite_micro(model, capsys):
    require_models()
    code, lines = run(model, CASES[model], capsys)
    cases = [m.groups() for line in lines if (m := CASE_LINE.match(line))]
    assert len(cases) == 4, lines
    for name, diff, argmax in cases:
        assert argmax == "ok", f"{model} case {name}: argmax {argmax}"
        assert int(diff) == 0, f"{model} case {name}: max |diff| {diff}"
    assert lines[-1].startswith("golden: 4/4 cases within 1 LSB (engine reference)")
    assert code == 0
    layers = [m.groups() for line in lines if (m := LAYER_LINE.match(line))]
    if model != "person_detect":  # its golden file has no intermediate tensors
        assert layers, lines
    for op, _, isolated in layers:
        assert isolated is not None
        assert int(isolated) <= 1, f"{model}: a {op} layer is {isolated} LSB from TFLite on its own"


# Models the GAP-8 back end compiles today, with the engines checked on them (each under ~15 s;
# kws_ref_model's conv input is padded with its zero point by a concat of dory.fill blocks).
# person_detect is exact too (tiled ~19 s, host ~26 s: left out for time). pretrainedResnet_quant's
# residual adds (TFLM's input offset, multipliers ~4e6: no pulp_nn_add form) run the generated C
# helper dory_add_requant (tiled ~4 s, host ~13 s).
BACKEND_CASES = [("micro_speech_quantized", "tiled"), ("ad01_int8", "tiled"), ("vww_96_int8", "tiled"),
                 ("kws_ref_model", "tiled"), ("micro_speech_quantized", "host"),
                 ("pretrainedResnet_quant", "tiled"), ("pretrainedResnet_quant", "host")]


@pytest.mark.parametrize("model, engine", BACKEND_CASES)
def test_model_on_the_back_end_matches_tflite_micro(model, engine, capsys):
    """The kernel-legal layers (`qdq_split`: every clip [0, 255]) are exact through the tiled
    loop nests and the generated C too."""
    require_models()
    code, lines = run(model, CASES[model], capsys, "--engine", engine, "--tolerance", "0")
    cases = [m.groups() for line in lines if (m := CASE_LINE.match(line))]
    assert len(cases) == 4, lines
    assert all(diff == "0" and argmax == "ok" for _, diff, argmax in cases), cases
    assert lines[-1].startswith(f"golden: 4/4 cases within 0 LSB (engine {engine})")
    assert code == 0


def test_tolerance_option(capsys):
    require_models()
    code, lines = run("pretrainedResnet_quant", "mlperf_ic_resnet8", capsys, "--tolerance", "0")
    assert lines[-1].startswith("golden: 4/4 cases within 0 LSB")
    assert code == 0


def test_golden_npz_errors_are_one_line(tmp_path, capsys):
    require_models()
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    code = main(["run", str(MODELS / "onnx" / "ad01_int8.tf2onnx.onnx"), "--golden", str(bad)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1 and "cannot read the golden file" in err[0]
