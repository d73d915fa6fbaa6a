"""Wall time of `dory compile`, fresh process per run, split into phases, against the import floor.

Usage: python bench/compile_bench.py [NETWORK ...] [--runs N] [--json FILE] [--cache DIR]
           [--scratch DIR] [--no-floor]
NETWORK is a path to an .onnx file or one of the short names below (default: all of them):
the shared DORY networks (../shared/models/dory_examples) and MobileNetV1 1.0-128, generated
once with `dory gen-mobilenet --width 1.0 --resolution 128 --seed 0` into the scratch folder
and compiled with 150,000 B of L2 reserved for code.

Per network it runs the `dory` console script of this interpreter's environment N times
(default 5), each a fresh process with no tiling cache unless `--cache DIR` is given (then the
cache is warmed by one untimed run first): the headline is the median wall time of
`dory compile MODEL -o APP`; a second set of N runs adds `--report FILE.json` and gives the
phases from the report's `stage_seconds` (what the compiler times itself: imports, ONNX
import, each pass, tiling search, Z3 proofs, C printing, report, writing) plus
`start-up` = the run's wall time minus the sum of those (Python start and the driver's
module-level imports). Each phase is the median over the runs.

The floor is what no compile can avoid: a fresh `python -c pass` plus importing, in one
process, the modules every compile needs (`FLOOR_SET`); the bench times each of those import
sets alone too and names the one that costs most. Figures are wall-clock on this machine,
which other jobs may share (`uptime` is printed): a measurement, no assertions.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "models" / "dory_examples"
NETWORKS = {
    "dronet_2.0": SHARED / "Nemo/dronet_2.0/model_int.onnx",
    "dronet_complete": SHARED / "Nemo/dronet_complete/model_int.onnx",
    "PenguiNet_64": SHARED / "Nemo/PenguiNet_64/model_int.onnx",
    "NAS_Frontnet": SHARED / "Nemo/NAS_Frontnet/Frontnet.onnx",
    "Residual_1": SHARED / "Nemo/Residual_connection_test_1/model_int.onnx",
    "Quantlab_Dronet": SHARED / "Quantlab/Dronet/DRONETV3_ql_integerized.onnx",
    "MobileNetV1_1.0-128": None,  # generated
}
EXTRA_ARGS = {"MobileNetV1_1.0-128": ["--l2-code-reserved", "150000"]}
# issue 15's targets (half of DORY's wall time on an idle machine of this kind), seconds
TARGETS = {"dronet_complete": 0.40, "PenguiNet_64": 0.30, "NAS_Frontnet": 0.28, "MobileNetV1_1.0-128": 0.85}
# the imports a compile cannot avoid, by what needs them
FLOOR_SET = {
    "numpy": "import numpy",
    "xdsl IR": "import xdsl.ir, xdsl.dialects.builtin, xdsl.dialects.func, xdsl.dialects.arith",
    "z3": "import z3",
    "onnx protobuf + shape inference": "from dory_xdsl.frontend.onnx_proto import onnx_pb; onnx_pb()",
    "jinja2": "import jinja2",
}
FULL_ONNX = "import onnx"


def dory_script() -> str:
    local = Path(sys.executable).parent / "dory"
    found = str(local) if local.exists() else shutil.which("dory")
    if not found:
        raise SystemExit("compile_bench: no `dory` command next to this Python or on PATH (pip install -e .)")
    return found


def timed(cmd: list[str], env: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    done = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {done.stderr.strip().splitlines()[-1:]}")
    return seconds


def mobilenet(scratch: Path) -> Path:
    folder = scratch / "mobilenet_1.0-128"
    if not (folder / "model.onnx").is_file():
        subprocess.run([dory_script(), "gen-mobilenet", "--width", "1.0", "--resolution", "128",
                        "--seed", "0", "-o", str(folder)], check=True, stdout=subprocess.DEVNULL)
    return folder / "model.onnx"


def bench_network(name: str, model: Path, runs: int, work: Path, cache: str | None) -> dict:
    base = [dory_script(), "compile", str(model), "-o", str(work / "app"), "--drop-float-tail", *EXTRA_ARGS.get(name, [])]
    if cache:
        base += ["--cache", cache]
        timed(base)  # warm the cache
    walls, phases, with_report = [], [], []
    for _ in range(runs):
        walls.append(timed(base))
        report = work / "report.json"
        wall = timed(base + ["--report", str(report)])
        stages = json.loads(report.read_text())["stage_seconds"]
        phases.append({"start-up": wall - sum(stages.values()), **stages})
        with_report.append(wall)
    keys = list(dict.fromkeys(k for p in phases for k in p))
    phase = {k: statistics.median(p.get(k, 0.0) for p in phases) for k in keys}
    return {"network": name, "model": str(model), "runs": runs, "wall_median": statistics.median(walls),
            "wall_min": min(walls), "wall_max": max(walls), "walls": walls,
            "wall_with_report_median": statistics.median(with_report), "phases": phase,
            "target": TARGETS.get(name)}


def python_seconds(code: str, runs: int) -> float:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    return statistics.median(timed([sys.executable, "-c", code], env) for _ in range(runs))


def floor(runs: int) -> dict:
    bare = python_seconds("pass", runs)
    sets = {name: python_seconds(code, runs) - bare for name, code in FLOOR_SET.items()}
    together = python_seconds("; ".join(FLOOR_SET.values()), runs)
    return {"python_start": bare, "import_sets": sets, "floor": together,
            "dominant": max(sets, key=sets.get), "full_onnx_import": python_seconds(FULL_ONNX, runs) - bare}


def print_network(row: dict) -> None:
    target = f", target {row['target']:.2f} s" if row["target"] else ""
    print(f"{row['network']}: dory compile {row['wall_median']:.3f} s median of {row['runs']} "
          f"(min {row['wall_min']:.3f}, max {row['wall_max']:.3f}; with --report {row['wall_with_report_median']:.3f} s)"
          f"{target}")
    for key, seconds in row["phases"].items():
        print(f"    {key:28s} {seconds:8.3f} s")


def print_floor(f: dict) -> None:
    print(f"floor: {f['floor']:.3f} s = python start {f['python_start']:.3f} s + unavoidable imports "
          f"(together, one process); alone:")
    for name, seconds in sorted(f["import_sets"].items(), key=lambda kv: -kv[1]):
        print(f"    {name:34s} {seconds:8.3f} s")
    print(f"the floor is set by: {f['dominant']}; for comparison `import onnx` (pulls in ml_dtypes) "
          f"{f['full_onnx_import']:.3f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("networks", nargs="*", help=f"short names ({', '.join(NETWORKS)}) or .onnx files")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    parser.add_argument("--cache", metavar="DIR", help="pass --cache DIR to dory compile (warmed first)")
    parser.add_argument("--scratch", metavar="DIR", default=str(Path(tempfile.gettempdir()) / "dory_compile_bench"),
                        help="where the generated MobileNet is kept between runs (default %(default)s)")
    parser.add_argument("--no-floor", action="store_true", help="skip the import floor measurement")
    args = parser.parse_args()
    scratch = Path(args.scratch)
    scratch.mkdir(parents=True, exist_ok=True)
    print(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f} "
          f"on {os.cpu_count()} cores; {args.runs} fresh runs each")
    result: dict = {"runs": args.runs, "load_at_start": os.getloadavg(), "networks": []}
    for name in args.networks or list(NETWORKS):
        model = NETWORKS.get(name, None) if name in NETWORKS else Path(name)
        if model is None:
            model = mobilenet(scratch)
        with tempfile.TemporaryDirectory() as work:
            row = bench_network(name if name in NETWORKS else Path(name).stem, model, args.runs, Path(work), args.cache)
        print_network(row)
        result["networks"].append(row)
    if not args.no_floor:
        result["floor"] = floor(args.runs)
        print_floor(result["floor"])
        for row in result["networks"]:
            row["over_floor"] = row["wall_median"] / result["floor"]["floor"]
        print("per network, dory compile / floor: " + ", ".join(
            f"{r['network']} {r['over_floor']:.2f}x" for r in result["networks"]))
    result["load_at_end"] = os.getloadavg()
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
