"""Whole-network compile figures: the per-layer report, totals and compile time per stage.

Usage: python bench/network_bench.py [MODEL.onnx | mobilenet:WIDTH-RESOLUTION ...]
           [--l2-code-reserved B] [--objective cost|dory] [--summary]
Default models: every shared DORY network (../shared/models/dory_examples) and a generated
MobileNetV1 1.0-128 (`mobilenet:1.0-128`, compiled with 150,000 B of L2 reserved for code as
issue 6 asks). For each model it prints `dory compile --report -`'s table (per layer: tiles,
L1 / L2 / L3 bytes, DMA bytes and commands per direction, modelled cycles, proved flag, solve
time; totals; L2 plan peak vs liveness lower bound; compile time per stage: import, passes,
tiling, lowering, C printing), then one summary line per model. Compile times are wall-clock
on this machine (shared with other jobs): a measurement, no assertions.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from dory_xdsl.lowering.pipeline import CompileOptions, compile_module
from dory_xdsl.errors import DoryError
from dory_xdsl.generators.mobilenet import MobileNetConfig, generate_mobilenet
from dory_xdsl.frontend.onnx_import import import_onnx_file

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "models" / "dory_examples"
MOBILENET_CODE_RESERVED = 150_000


def default_models() -> list[str]:
    nets = sorted(SHARED.glob("Nemo/*/*.onnx")) + sorted(
        p for p in SHARED.glob("Quantlab/*/*.onnx") if not p.name.endswith(".ortcompat.onnx"))
    return [str(p) for p in nets] + ["mobilenet:1.0-128"]


def model_file(spec: str, scratch: Path) -> tuple[str, Path, int | None]:
    """(display name, ONNX file, code reservation override) of a model argument."""
    if spec.startswith("mobilenet:"):
        width, resolution = spec.split(":", 1)[1].split("-")
        folder = scratch / spec.replace(":", "_")
        generate_mobilenet(MobileNetConfig(width=float(width), resolution=int(resolution)), folder)
        return f"MobileNetV1 {width}-{resolution}", folder / "model.onnx", MOBILENET_CODE_RESERVED
    path = Path(spec)
    return f"{path.parent.parent.name}/{path.parent.name}", path, None


def bench(name: str, model: Path, options: CompileOptions, summary_only: bool) -> dict | None:
    start = time.perf_counter()
    module = import_onnx_file(str(model))
    import_seconds = time.perf_counter() - start
    try:
        app = compile_module(module, name=name, source=model.name, options=options)
    except DoryError as error:
        print(f"{name}: error: {error}")
        if "L2 memory" in str(error):  # lowered and printed: show the plan that did not fit
            from dory_xdsl.lowering.report import network_l2_plan

            print(f"{name}: {network_l2_plan(module)[0].summary()}")
        return None
    report = app.report
    assert report is not None
    report.stage_seconds = {"import": import_seconds, **report.stage_seconds}
    if not summary_only:
        print(report.text())
    return {"name": name, **report.totals(), "ratio": report.l2_ratio, "seconds": sum(report.stage_seconds.values()),
            "stages": report.stage_seconds}


def print_summary(rows: list[dict]) -> None:
    print(f"{'network':34s} {'layers':>6s} {'tiles':>6s} {'L2 peak':>8s} {'LB':>8s} {'ratio':>6s} "
          f"{'L3->L2 B':>9s} {'L2->L1 B':>10s} {'cmds':>6s} {'L1->L2 B':>9s} {'cmds':>6s} {'Mcycles':>8s} "
          f"{'tiling s':>8s} {'total s':>7s}")
    for r in rows:
        print(f"{r['name'][:34]:34s} {r['layers']:6d} {r['tiles']:6d} {r['l2_peak']:8d} {r['l2_lower_bound']:8d} "
              f"{r['ratio']:6.3f} {r['l3_to_l2_bytes']:9d} {r['l2_to_l1_bytes']:10d} {r['l2_to_l1_commands']:6d} "
              f"{r['l1_to_l2_bytes']:9d} {r['l1_to_l2_commands']:6d} {r['cycles'] / 1e6:8.2f} "
              f"{r['stages']['tiling']:8.2f} {r['seconds']:7.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", help="ONNX files or mobilenet:WIDTH-RESOLUTION (default: see above)")
    parser.add_argument("--l2-code-reserved", type=int, default=None,
                        help="L2 bytes kept for code (default: the target's; 150,000 for generated MobileNets)")
    parser.add_argument("--objective", choices=("cost", "dory"), default="cost")
    parser.add_argument("--summary", action="store_true", help="only the summary lines")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="dory-bench-") as tmp:
        for spec in args.models or default_models():
            name, model, reserved = model_file(spec, Path(tmp))
            if args.l2_code_reserved is not None:
                reserved = args.l2_code_reserved
            options = CompileOptions(objective=args.objective,
                                     **({"l2_code_reserved": reserved} if reserved is not None else {}))
            row = bench(name, model, options, args.summary)
            if row is not None:
                rows.append(row)
            sys.stdout.flush()
    print_summary(rows)


if __name__ == "__main__":
    main()
