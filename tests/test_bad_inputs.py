"""The bad-input corpus (`bad_input_corpus`, >= 200 cases) through the real entry points.

Every case must end with a non-zero exit, exactly one line on stderr of the form
`<tool>: error: ...` naming the node, file or flag (the case's `names`; `file:line:col` for MLIR),
no traceback, and no output left behind: the case's folder holds exactly what it held before
(a pre-existing `-o` folder is left as it was). All cases run in one batch (`bad_input_runner`).
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from bad_input_corpus import Case, build
from bad_input_runner import run_all

CORPUS: dict[str, object] = {}


def snapshot(folder: str) -> dict[str, str]:
    """Relative path -> content hash (or "dir") of everything under `folder`."""
    result = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in dirnames:
            result[os.path.relpath(os.path.join(dirpath, name), folder)] = "dir"
        for name in filenames:
            path = os.path.join(dirpath, name)
            result[os.path.relpath(path, folder)] = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    return result


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("bad_inputs")
    cases = build(root / "corpus")
    before = {case.name: snapshot(case.folder) for case in cases}
    outcomes = run_all(cases)
    after = {case.name: snapshot(case.folder) for case in cases}
    return {case.name: (case, outcomes[case.name], before[case.name], after[case.name]) for case in cases}


def _case_names() -> list[str]:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        return [case.name for case in build(Path(tmp) / "corpus")]


NAMES = _case_names()


def test_corpus_is_large_enough():
    assert len(NAMES) >= 200, len(NAMES)
    assert len(set(NAMES)) == len(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_bad_input_is_refused_in_one_line(corpus, name):
    case, outcome, before, after = corpus[name]
    assert isinstance(case, Case)
    assert outcome.code is not None, "timed out"
    assert "Traceback" not in outcome.stderr, outcome.stderr
    assert outcome.code != 0, f"exit 0; stdout: {outcome.stdout[-500:]!r}"
    lines = outcome.stderr.splitlines()
    assert len(lines) == 1, outcome.stderr
    line = lines[0]
    assert line.startswith(f"{case.tool}: error: "), line
    for text in case.names:
        assert text in line, f"{text!r} not in {line!r}"
    if name.startswith("mlir_") and any(":" in n for n in case.names if "in.mlir" in n):
        assert re.search(r"in\.mlir:\d+:\d+", line), line
    assert "-9223372036854775808" not in line
    assert "[0, -1]" not in line
    assert after == before, f"left behind: {sorted(set(after) ^ set(before))}"


def test_real_console_scripts_match_the_runner(tmp_path):
    """A few cases through the installed scripts themselves, as a user runs them."""
    cases = [c for c in build(tmp_path / "corpus") if c.name in
             ("no_outputs-compile", "opt_pass_option_empty", "flag_tolerance_negative", "missing_external_data-run")]
    assert len(cases) == 4
    for case in cases:
        exe = Path(sys.executable).with_name(case.tool)
        result = subprocess.run([str(exe), *case.argv], capture_output=True, text=True, timeout=120,
                                cwd=case.folder)
        assert result.returncode != 0, case.name
        lines = result.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"{case.tool}: error: "), (case.name, result.stderr)
        assert all(text in lines[0] for text in case.names), (case.name, lines[0])


def _dory(argv: list[str]) -> int:
    from dory_xdsl.drivers.cli import main

    return main(argv)


def test_trailing_float_tail_is_dropped_only_when_asked(tmp_path, capsys):
    import json

    import bad_onnx_models

    model, _ = bad_onnx_models.trailing_sigmoid()
    path = tmp_path / "m.onnx"
    path.write_bytes(model.SerializeToString())
    assert _dory(["compile", str(path), "-o", str(tmp_path / "refused")]) == 1
    assert "--drop-float-tail" in capsys.readouterr().err
    assert not (tmp_path / "refused").exists()
    assert _dory(["compile", str(path), "-o", str(tmp_path / "app"), "--drop-float-tail",
                  "--report", str(tmp_path / "r.json")]) == 0
    assert "dropped: Sigmoid node 'Sigmoid_" in capsys.readouterr().out
    assert json.loads((tmp_path / "r.json").read_text())["dropped_float_tail"] == ["Sigmoid node 'Sigmoid_10'"]


def test_compile_into_an_existing_folder_replaces_its_files_only(tmp_path, capsys):
    import bad_onnx_models

    model = bad_onnx_models._cr()
    path = tmp_path / "m.onnx"
    path.write_bytes(model.SerializeToString())
    app = tmp_path / "app"
    app.mkdir()
    (app / "main.c").write_text("stale\n")
    (app / "notes.txt").write_text("mine\n")
    assert _dory(["compile", str(path), "-o", str(app)]) == 0
    assert (app / "main.c").read_text() != "stale\n" and (app / "notes.txt").read_text() == "mine\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["app", "m.onnx"]  # no temporary folder left
