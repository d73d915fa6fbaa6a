"""conftest.py without `../shared/models`: one summary line outside CI, failures with CI=true.

Runs pytest in a subprocess on a temporary repository (this conftest and a small test file)
whose parent folder has no shared/."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

CONFTEST = Path(__file__).with_name("conftest.py")

TESTS = '''
import pytest

def test_runs():
    pass

def test_needs_models():
    pytest.skip("../shared/models is not available")

@pytest.mark.skipif(True, reason="reference models missing: /x/shared/models/tflite_qdq")
def test_marked():
    pass

@pytest.mark.parametrize("path", [])
def test_each_shared_network(path):
    pass

def test_skipped_for_another_reason():
    pytest.skip("no compiler")
'''

LINE = re.compile(r"^dory-xdsl: (\d+) end-to-end tests? did not run: .*missing \((.*) does not exist\); "
                  r"with CI=true this fails$", re.M)


def run(tmp_path: Path, ci: bool) -> subprocess.CompletedProcess:
    tests = tmp_path / "repo" / "tests"
    tests.mkdir(parents=True, exist_ok=True)
    (tests / "conftest.py").write_text(CONFTEST.read_text())
    (tests / "test_fake.py").write_text(TESTS)
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "PYTEST_ADDOPTS")}
    if ci:
        env["CI"] = "true"
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tests)],
                          cwd=tests.parent, env=env, capture_output=True, text=True, timeout=120)


def test_one_line_says_how_many_end_to_end_tests_did_not_run(tmp_path):
    result = run(tmp_path, ci=False)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = LINE.findall(result.stdout)
    assert lines == [("3", str(tmp_path / "shared" / "models"))], result.stdout
    assert "1 passed, 4 skipped" in result.stdout


def test_no_line_when_the_models_are_there(tmp_path):
    (tmp_path / "shared" / "models").mkdir(parents=True)
    result = run(tmp_path, ci=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "end-to-end" not in result.stdout
    assert "1 passed, 4 skipped" in result.stdout


def test_ci_makes_them_failures(tmp_path):
    result = run(tmp_path, ci=True)
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout.count("CI=true: ") >= 3, result.stdout
    assert "1 failed, 1 passed, 1 skipped, 2 errors" in result.stdout, result.stdout
    assert not LINE.search(result.stdout)
