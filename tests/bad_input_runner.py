"""Run bad-input cases through the real entry points, each in a fresh process, two at a time.

Starting Python and importing onnx, xDSL and Z3 costs seconds per process, so `run_all` starts two
worker processes (`python bad_input_runner.py CASES.json RESULTS.json`) that import the drivers
once and then fork one child per case. The child calls the console script's `main(argv)` exactly
as the installed `dory` / `dory-opt` scripts do, with file descriptors 1 and 2 redirected to
files, so whatever reaches stdout/stderr is captured (also what C libraries write); an exception
escaping `main` is printed as the interpreter prints it (a traceback), with exit code 1. A child
running longer than the timeout is killed and reported as a hang.
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

ENTRY_POINTS = {"dory": ("dory_xdsl.drivers.cli",), "dory-opt": ("dory_xdsl.drivers.opt",)}
WARM = ["dory_xdsl.drivers.compile", "dory_xdsl.frontend.onnx_import", "dory_xdsl.analysis.interpreter",
        "dory_xdsl.transforms.gap8_lower", "dory_xdsl.engines.tiled_engine", "z3", "onnx.shape_inference"]


@dataclass
class Outcome:
    code: int | None  # None: killed after the timeout
    stdout: str
    stderr: str


def _main_of(tool: str):
    for module in ENTRY_POINTS[tool]:
        try:
            return importlib.import_module(module).main
        except ImportError:
            continue
    raise ImportError(f"no entry point for {tool}")


def _child(tool: str, argv: list[str], cwd: str, out: int, err: int) -> None:
    """In the forked child: become `tool argv` and exit with its code."""
    os.dup2(out, 1)
    os.dup2(err, 2)
    os.chdir(cwd)
    sys.argv = [tool, *argv]
    try:
        code = _main_of(tool)(list(argv))
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
        if exit_.code is not None and not isinstance(exit_.code, int):
            print(exit_.code, file=sys.stderr)
    except BaseException:  # what the interpreter does with an exception escaping the script
        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(int(code or 0) & 0xFF)


def run_one(tool: str, argv: list[str], cwd: str, timeout: float) -> Outcome:
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            _child(tool, argv, cwd, out.fileno(), err.fileno())
        deadline = time.monotonic() + timeout
        status = None
        while status is None:
            done, raw = os.waitpid(pid, os.WNOHANG)
            if done:
                status = raw
            elif time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                break
            else:
                time.sleep(0.005)
        out.seek(0)
        err.seek(0)
        code = os.waitstatus_to_exitcode(status) if status is not None else None
        return Outcome(code, out.read().decode(errors="replace"), err.read().decode(errors="replace"))


def serve(cases_path: str, results_path: str, timeout: float) -> None:
    """Worker: warm up the imports once, then run every case of CASES.json in a forked child."""
    for tool in ENTRY_POINTS:
        _main_of(tool)
    for module in WARM:
        try:
            importlib.import_module(module)
        except ImportError:
            pass
    results = {}
    for case in json.loads(Path(cases_path).read_text()):
        outcome = run_one(case["tool"], case["argv"], case["folder"], timeout)
        results[case["name"]] = outcome.__dict__
    Path(results_path).write_text(json.dumps(results))


def run_all(cases, workers: int = 2, timeout: float = 120.0) -> dict[str, Outcome]:
    """Outcome per case name: `workers` worker processes, each case in its own forked child."""
    with tempfile.TemporaryDirectory() as tmp:
        procs = []
        for index in range(workers):
            share = [{"name": c.name, "tool": c.tool, "argv": list(c.argv), "folder": c.folder}
                     for c in cases[index::workers]]
            cases_path, results_path = Path(tmp) / f"cases{index}.json", Path(tmp) / f"results{index}.json"
            cases_path.write_text(json.dumps(share))
            procs.append((subprocess.Popen([sys.executable, __file__, str(cases_path), str(results_path),
                                            str(timeout)]), results_path))
        results: dict[str, Outcome] = {}
        for proc, results_path in procs:
            proc.wait()
            if results_path.exists():
                results.update({k: Outcome(**v) for k, v in json.loads(results_path.read_text()).items()})
    return results


if __name__ == "__main__":
    serve(sys.argv[1], sys.argv[2], float(sys.argv[3]))
