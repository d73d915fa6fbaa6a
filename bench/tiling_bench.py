"""Per-layer Z3 tiling solve times on realistic DORY-network layers.

Usage: python bench/tiling_bench.py [--objective cost|dory|both] [--single-buffer] [--l1 BYTES]
Prints, per layer: tile sizes, tile counts, L1 bytes, modelled cycles, proved-optimal flag,
search-space size and solve time. Identical layers are solved once (the second run of the table
shows the cache). No timing assertions: this is a measurement.
"""

from __future__ import annotations

import argparse
import time

from dory_xdsl.layer_geometry import LayerGeometry, conv_layer
from dory_xdsl.target import GAP8
from dory_xdsl.tiling_model import clear_cache, tile_layer

RQ = {"requant_bits": 32}


def layers() -> list[LayerGeometry]:
    return [
        # dronet (200x200 input)
        conv_layer("dronet.conv5x5s2", 200, 200, 1, 32, 5, stride=2, pad=(1, 1, 2, 2), **RQ),
        LayerGeometry("maxpool", 100, 100, 32, 32, 3, 3, (2, 2), (0, 0, 1, 1), name="dronet.maxpool"),
        conv_layer("dronet.3x3s2_32_32", 50, 50, 32, 32, 3, stride=2, pad=(0, 0, 1, 1), **RQ),
        conv_layer("dronet.3x3_32_32", 25, 25, 32, 32, 3, pad=1, **RQ),
        conv_layer("dronet.3x3s2_32_64", 25, 25, 32, 64, 3, stride=2, pad=(0, 0, 1, 1), **RQ),
        conv_layer("dronet.3x3_64_64", 13, 13, 64, 64, 3, pad=1, **RQ),
        conv_layer("dronet.3x3s2_64_128", 13, 13, 64, 128, 3, stride=2, pad=(0, 0, 1, 1), **RQ),
        conv_layer("dronet.3x3_128_128", 7, 7, 128, 128, 3, pad=1, **RQ),
        LayerGeometry("add", 7, 7, 128, 128, name="dronet.add"),
        LayerGeometry("linear", 1, 1, 6272, 1, requant_bits=None, out_bytes=4, name="dronet.fc"),
        # MobileNetV1 1.0-128
        conv_layer("mbv1.conv0_3x3s2", 128, 128, 3, 32, 3, stride=2, pad=(0, 0, 1, 1), **RQ),
        LayerGeometry("depthwise", 64, 64, 32, 32, 3, 3, (1, 1), (1, 1, 1, 1), name="mbv1.dw1", **RQ),
        conv_layer("mbv1.pw1_32_64", 64, 64, 32, 64, 1, **RQ),
        LayerGeometry("depthwise", 64, 64, 64, 64, 3, 3, (2, 2), (0, 0, 1, 1), name="mbv1.dw2_s2", **RQ),
        conv_layer("mbv1.pw2_64_128", 32, 32, 64, 128, 1, **RQ),
        LayerGeometry("depthwise", 32, 32, 128, 128, 3, 3, (1, 1), (1, 1, 1, 1), name="mbv1.dw3", **RQ),
        conv_layer("mbv1.pw_256_256", 16, 16, 256, 256, 1, **RQ),
        conv_layer("mbv1.pw_512_512", 8, 8, 512, 512, 1, **RQ),
        LayerGeometry("depthwise", 8, 8, 512, 512, 3, 3, (1, 1), (1, 1, 1, 1), name="mbv1.dw_512", **RQ),
        conv_layer("mbv1.pw_512_1024", 4, 4, 512, 1024, 1, **RQ),
        conv_layer("mbv1.pw_1024_1024", 4, 4, 1024, 1024, 1, **RQ),
        LayerGeometry("avgpool", 4, 4, 1024, 1024, 4, 4, name="mbv1.avgpool"),
        LayerGeometry("linear", 1, 1, 1024, 1000, requant_bits=32, name="mbv1.fc"),
        # TCN-style dilated 1-D conv
        conv_layer("tcn.dil4", 1, 512, 64, 64, (1, 3), pad=(0, 8, 0, 0), dilation=4, **RQ),
    ]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--objective", choices=["cost", "dory", "both"], default="both")
    ap.add_argument("--single-buffer", action="store_true")
    ap.add_argument("--l1", type=int, default=GAP8.l1_bytes)
    args = ap.parse_args()
    target = GAP8.with_budget(l1_bytes=args.l1)
    objectives = ["cost", "dory"] if args.objective == "both" else [args.objective]
    for objective in objectives:
        clear_cache()
        print(f"\nobjective={objective} double_buffer={not args.single_buffer} L1={target.l1_bytes}")
        print(f"{'layer':24} {'tile h,w,c':>14} {'tiles h,w,c':>12} {'L1 B':>6} {'Mcycles':>8} "
              f"{'proved':>6} {'space':>7} {'solve s':>8}")
        total = 0.0
        t0 = time.perf_counter()
        for g in layers():
            r = tile_layer(g, target, objective, not args.single_buffer)
            total += r.solve_seconds
            s = r.sizes
            print(f"{g.name:24} {f'{s.h},{s.w},{s.c}':>14} {','.join(map(str, r.counts)):>12} "
                  f"{r.l1_bytes:>6} {r.cycles / 1e6:>8.3f} {str(r.proved_optimal):>6} "
                  f"{r.search_space:>7} {r.solve_seconds:>8.3f}")
        print(f"total solve {total:.2f} s, wall {time.perf_counter() - t0:.2f} s")


if __name__ == "__main__":
    main()
