"""Per-layer tiling solve times (exhaustive search + Z3 proof) on real networks.

Usage: python bench/tiling_bench.py [MODEL.onnx | mobilenet:WIDTH-RESOLUTION | samples ...]
           [--objective cost|dory|both] [--single-buffer] [--l1 BYTES] [--summary]
Default models: a few hand-written sample layers, every shared DORY network, and generated
MobileNetV1 1.0-128 and 0.25-224. Each network is run through the back-end passes up to
`qnn-tile`, then every layer is tiled with `dory_xdsl.tiling.tiling_model.tile_layer` (cache emptied
per network and objective, so identical layers inside a network are solved once, as in a
compile). Per layer: tile sizes, tile counts, L1 bytes, modelled cycles, proved flag,
combinations searched / left for the Z3 proof, Z3 resource units and solve time; then totals
per network and a summary. Times are wall-clock on this machine: a measurement, no assertions.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from network_bench import default_models, model_file
from xdsl.context import Context
from xdsl.dialects import func

from dory_xdsl.analysis.kernel_layers import LAYER_OPS, kernel_layer
from dory_xdsl.tiling.layer_geometry import LayerGeometry, conv_layer
from dory_xdsl.frontend.onnx_import import import_onnx_file
from dory_xdsl.drivers.registry import get_passes
from dory_xdsl.target import GAP8, Target
from dory_xdsl.tiling.tiling_model import clear_cache, tile_layer
from dory_xdsl.transforms.gap8_lower import BACKEND_PASSES

RQ = {"requant_bits": 32}


def sample_layers() -> list[LayerGeometry]:
    return [
        conv_layer("dronet.conv5x5s2", 200, 200, 1, 32, 5, stride=2, pad=(1, 1, 2, 2), **RQ),
        LayerGeometry("maxpool", 100, 100, 32, 32, 3, 3, (2, 2), (0, 0, 1, 1), name="dronet.maxpool"),
        conv_layer("dronet.3x3_32_32", 25, 25, 32, 32, 3, pad=1, **RQ),
        LayerGeometry("add", 7, 7, 128, 128, name="dronet.add"),
        LayerGeometry("linear", 1, 1, 6272, 1, requant_bits=None, out_bytes=4, name="dronet.fc"),
        conv_layer("tcn.dil4", 1, 512, 64, 64, (1, 3), pad=(0, 8, 0, 0), dilation=4, **RQ),
    ]


def network_layers(model: Path) -> list[LayerGeometry]:
    """The layer geometries `qnn-tile` would see for an ONNX model."""
    module = import_onnx_file(str(model))
    ctx, factories = Context(), get_passes()
    for name in BACKEND_PASSES[:BACKEND_PASSES.index("qnn-tile")]:
        factories[name]()().apply(ctx, module)
    layers = []
    for function in module.ops:
        if isinstance(function, func.FuncOp):
            ops = [o for o in function.body.walk() if isinstance(o, LAYER_OPS)]
            layers += [kernel_layer(o, i).geometry for i, o in enumerate(ops)]
    return layers


def bench(name: str, layers: list[LayerGeometry], target: Target, objective: str,
          double_buffer: bool, quiet: bool) -> dict:
    clear_cache()
    if not quiet:
        print(f"\n{name}: objective={objective} double_buffer={double_buffer} L1={target.l1_bytes}")
        print(f"{'layer':24} {'kind':10} {'tile h,w,c':>13} {'tiles h,w,c':>11} {'L1 B':>6} {'Mcycles':>8} "
              f"{'proved':>6} {'space':>7} {'proof':>7} {'Z3 units':>9} {'solve s':>8}")
    start = time.perf_counter()
    solve = slowest = 0.0
    proved = 0
    for g in layers:
        r = tile_layer(g, target, objective, double_buffer)
        solve += r.solve_seconds
        slowest = max(slowest, r.solve_seconds)
        proved += r.proved_optimal
        if not quiet:
            s = r.sizes
            how = "cached" if r.from_cache else "1 tile" if r.single_tile else f"{r.solve_seconds:.3f}"
            print(f"{g.name[:24]:24} {g.kind:10} {f'{s.h},{s.w},{s.c}':>13} {','.join(map(str, r.counts)):>11} "
                  f"{r.l1_bytes:>6} {r.cycles / 1e6:>8.3f} {str(r.proved_optimal):>6} {r.search_space:>7} "
                  f"{r.proof_space:>7} {r.z3_work:>9} {how:>8}")
    wall = time.perf_counter() - start
    row = {"name": name, "objective": objective, "layers": len(layers), "proved": proved,
           "solve": solve, "slowest": slowest, "wall": wall}
    if not quiet:
        print(f"total: {len(layers)} layers, {proved} proved optimal, solve {solve:.2f} s "
              f"(slowest layer {slowest:.2f} s), wall {wall:.2f} s")
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="*", help="ONNX files, mobilenet:WIDTH-RESOLUTION or 'samples'")
    ap.add_argument("--objective", choices=["cost", "dory", "both"], default="both")
    ap.add_argument("--single-buffer", action="store_true")
    ap.add_argument("--l1", type=int, default=GAP8.l1_bytes)
    ap.add_argument("--summary", action="store_true", help="only the summary table")
    args = ap.parse_args()
    target = GAP8.with_budget(l1_bytes=args.l1)
    objectives = ["cost", "dory"] if args.objective == "both" else [args.objective]
    specs = args.models or ["samples", *default_models(), "mobilenet:0.25-224"]
    rows = []
    with tempfile.TemporaryDirectory(prefix="tiling-bench-") as tmp:
        for spec in specs:
            if spec == "samples":
                name, layers = "sample layers", sample_layers()
            else:
                name, model, _ = model_file(spec, Path(tmp))
                layers = network_layers(model)
            for objective in objectives:
                rows.append(bench(name, layers, target, objective, not args.single_buffer, args.summary))
                sys.stdout.flush()
    print(f"\n{'network':34} {'objective':9} {'layers':>6} {'proved':>6} {'solve s':>8} {'slowest s':>9} {'wall s':>7}")
    for r in rows:
        print(f"{r['name'][:34]:34} {r['objective']:9} {r['layers']:6d} {r['proved']:6d} {r['solve']:8.2f} "
              f"{r['slowest']:9.2f} {r['wall']:7.2f}")


if __name__ == "__main__":
    main()
