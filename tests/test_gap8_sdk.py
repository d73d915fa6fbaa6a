"""The generated app compiles against the REAL gap_sdk GAP-8 headers and PULP-NN header.

For every shared DORY network and MobileNetV1 0.25-96 and 1.0-128 (default budgets, golden
embedded as `dory compile --golden` does): the app's own Makefile, evaluated by make with
PULP_NN_DIR = ../shared/third_party/pulp-nn, picks the PULP-NN variant the C was generated for
(int64_t * k/lambda -> 64bit/, else 32bit/); its sources compile with the command of
../shared/third_party/README.md, -Wall -fsyntax-only, with no error or warning in the app's own
files, in the default (weights from flash) and the WEIGHTS_L2=1 builds (whose only diagnostic
is network.h's `#error` when the weights do not fit L2 beside the rest); the default build reads
weights.bin with pi_fs_open and its preprocessed C names no weights array. Skipped without the
cross compiler unless CI is set (then it fails).
"""

from __future__ import annotations

import subprocess

import pytest
from gap8_sdk import PULP_NN, app_diagnostics, makefile_flags, require_sdk, sdk_command
from golden_apps import golden_app, mobilenet_model
from onnx_graphs import example_networks, require_examples

from dory_xdsl.lowering.app import l2_usage_of, write_app
from dory_xdsl.lowering.l2_budget import CHIP_L2_BYTES

MOBILENETS = [(0.25, 96), (1.0, 128)]
CASES = [("net", p) for p in example_networks()] + [("mobilenet", m) for m in MOBILENETS]


def _model(case):
    kind, what = case
    if kind == "net":
        require_examples()
        return what
    return mobilenet_model(*what)


def _id(case) -> str:
    kind, what = case
    return what.parent.name if kind == "net" else f"MobileNetV1-{what[0]}-{what[1]}"


def _variant(files) -> str:
    text = files["network.c"].decode()
    return "64bit" if "(int64_t *)" in text else "32bit"


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_app_compiles_against_the_real_sdk_and_pulp_nn(case, tmp_path):
    require_sdk()
    app = golden_app(_model(case)).app
    folder = write_app(app.files, tmp_path / "app")
    variant = _variant(app.files)
    pulp_nn_sources = sorted(str(p) for p in (PULP_NN / variant / "src").glob("*.c"))
    for weights_l2 in (False, True):
        flags = makefile_flags(folder, PULP_NN, weights_l2)
        assert f"-I{PULP_NN}/{variant}/include" in flags["APP_CFLAGS"]
        assert sorted(s for s in flags["APP_SRCS"] if "/" in s) == pulp_nn_sources
        assert ("weights.c" in flags["APP_SRCS"]) == weights_l2
        assert flags.get("READFS_FILES", []) == ([] if weights_l2 else ["weights.bin"])
        found = app_diagnostics(folder, flags)
        if weights_l2 and l2_usage_of(app.files, weights_l2=True).total > CHIP_L2_BYTES:
            # weights that do not fit L2 beside the rest: the only diagnostic is network.h's #error
            assert found and all(f.startswith("network.h:") and "#error \"WEIGHTS_L2=1: the weights do not fit"
                                 in f for f in found), found
        else:
            assert found == [], f"WEIGHTS_L2={int(weights_l2)}"
    # default build: weights.bin through the flash file system, no weights array anywhere
    flags = makefile_flags(folder, PULP_NN)
    own = [s for s in flags["APP_SRCS"] if "/" not in s]
    for source in own:
        cmd = [a for a in sdk_command(flags["APP_CFLAGS"]) if a != "-fsyntax-only"] + ["-E", source]
        text = subprocess.run(cmd, cwd=folder, capture_output=True, text=True, check=True).stdout
        assert "network_weights" not in text, source
        if source == "network.c":
            assert 'pi_fs_open(&fs, "weights.bin", 0)' in text


def test_the_check_sees_a_wrong_variant(tmp_path):
    """An app built against the other variant's header is reported (the check can fail)."""
    require_sdk()
    app = golden_app(mobilenet_model(*MOBILENETS[0])).app
    variant = _variant(app.files)
    other = {"32bit": "64bit", "64bit": "32bit"}[variant]
    folder = write_app(app.files, tmp_path / "app")
    flags = makefile_flags(folder, PULP_NN)
    flags["APP_CFLAGS"] = [f.replace(f"/{variant}/", f"/{other}/") for f in flags["APP_CFLAGS"]]
    found = app_diagnostics(folder, flags)
    assert found and all(line.startswith("network.c:") for line in found)
