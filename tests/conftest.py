"""The suite's end-to-end tests and `../shared/models`.

The reference networks and their golden data live beside the repository, in
`<repo>/../shared/models` (read in place, never copied in). Without it, the tests that need it
skip with a reason naming the shared models (or, for a parametrization over the shared
networks, pytest's empty parameter set). This file
- prints one line at the end of the run saying how many of those end-to-end tests did not run
  and why, instead of silent skips;
- with `CI=true` makes each of them a failure (CI must run them; `.ci/run` checks the folder
  before it starts, too).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

SHARED_MODELS = Path(__file__).resolve().parents[1].parent / "shared" / "models"
_SHARED_REASON = re.compile(r"shared[/ ]models|got empty parameter set")


def _skip_reason(report) -> str:
    longrepr = report.longrepr
    return str(longrepr[2]) if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)


def needs_missing_models(report) -> bool:
    """A skip because `../shared/models` is absent."""
    return report.skipped and not SHARED_MODELS.is_dir() and bool(_SHARED_REASON.search(_skip_reason(report)))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("CI") == "true" and needs_missing_models(report):
        report.outcome = "failed"
        report.longrepr = (f"CI=true: {SHARED_MODELS} is missing, and this end-to-end test needs it "
                           f"(skip reason: {_skip_reason(report)})")


def pytest_terminal_summary(terminalreporter):
    missed = [r for r in terminalreporter.stats.get("skipped", []) if needs_missing_models(r)]
    if missed:
        count = len(missed)
        terminalreporter.write_line(
            f"dory-xdsl: {count} end-to-end test{'s' if count != 1 else ''} did not run: the reference networks "
            f"and golden data are missing ({SHARED_MODELS} does not exist); with CI=true this fails",
            yellow=True, bold=True)
