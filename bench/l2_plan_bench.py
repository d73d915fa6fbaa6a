"""L2 planner quality: peak against the liveness lower bound.

Usage: python bench/l2_plan_bench.py [--seeds N] [--no-networks]
Prints one line per instance family: mean and worst peak / lower bound, how many instances hit
the bound, and the planning time. Families: seeded random interval sets (small to large),
chain-like networks (ping-pong activations plus per-layer weights), residual chains, and real
networks: MobileNetV1 1.0-128 / 0.25-224 from the generator's layer table and every shared DORY
network (activations between DORY layers of the imported IR, weights live during their layer).
No assertions: this is a measurement (the tests check the properties).
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from pathlib import Path

from dory_xdsl.tiling.l2_planner import Buffer, plan_l2
from dory_xdsl.generators.mobilenet import MobileNetConfig, layer_table

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "models" / "dory_examples"


def random_instance(rng: random.Random, n: int, points: int, max_life: int):
    names = [f"p{i}" for i in range(points)]
    buffers = []
    for i in range(n):
        first = rng.randrange(points)
        last = min(points - 1, first + rng.randrange(max_life))
        buffers.append(Buffer(f"b{i}", int(2 ** rng.uniform(4, 16)), first, last))
    return names, buffers


def chain_instance(rng: random.Random, layers: int, residual_every: int = 0):
    names = [f"L{i}" for i in range(layers)]
    buffers = [Buffer("input", rng.randint(1, 64) * 1024, 0, 0)]
    for i in range(layers):
        last = min(layers - 1, i + 1)
        if residual_every and i % residual_every == 0:
            last = min(layers - 1, i + residual_every)  # skip connection consumed later
        buffers.append(Buffer(f"act{i}", rng.randint(1, 64) * 1024 + rng.randrange(64), i, last))
        buffers.append(Buffer(f"w{i}", rng.randint(1, 40) * 1024 + rng.randrange(256), i, i))
    return names, buffers


def mobilenet_instance(config: MobileNetConfig):
    specs = layer_table(config)
    names = [s.name for s in specs] + ["avgpool", "fc"]
    buffers = [Buffer("input", config.resolution ** 2 * config.input_channels, 0, 0)]
    for i, s in enumerate(specs):
        buffers.append(Buffer(f"{s.name}.out", s.out_hw * s.out_hw * s.cout, i, i + 1))
        buffers.append(Buffer(f"{s.name}.weights", s.cout * s.fan_in + 8 * s.cout, i, i))
    n = len(specs)
    buffers.append(Buffer("avgpool.out", specs[-1].cout, n, n + 1))
    buffers.append(Buffer("fc.weights", (specs[-1].cout + 4) * config.classes, n + 1, n + 1))
    buffers.append(Buffer("fc.out", 4 * config.classes, n + 1, n + 1))
    return names, buffers


def ir_instance(model: Path):
    """Buffers of an imported network: each DORY layer's output lives from its layer to its last
    consuming layer (traced through reshapes, pads, concats, ...), weights during their layer."""
    from dory_xdsl.dialects import qnn
    from dory_xdsl.analysis.dory_layers import dory_layers
    from dory_xdsl.analysis.interpreter import main_function
    from dory_xdsl.frontend.onnx_import import import_onnx_file

    module = import_onnx_file(str(model))
    layers = dory_layers(module)
    producer = {layer.output: layer.index for layer in layers}
    for arg in main_function(module).body.block.args:
        producer[arg] = -1

    def nbytes(value) -> int:
        count = 1
        for d in value.type.get_shape():
            count *= d
        return count * max(1, value.type.element_type.bitwidth // 8)

    def sources(value, seen):
        if value in producer:
            yield value
            return
        owner = value.owner
        for operand in owner.operands:
            if operand not in seen and not isinstance(operand.owner, qnn.ConstantOp):
                seen.add(operand)
                yield from sources(operand, seen)

    last_use = {}
    weights = []
    for layer in layers:
        ops = [layer.op]
        value = layer.op.results[0]
        while value != layer.output:
            ops.append(next(iter(value.uses)).operation)
            value = ops[-1].results[0]
        size = 0
        for op in ops:
            for operand in op.operands:
                if isinstance(operand.owner, qnn.ConstantOp):
                    size += nbytes(operand)
                else:
                    for source in sources(operand, set()):
                        last_use[source] = max(last_use.get(source, layer.index), layer.index)
        weights.append(Buffer(f"w{layer.index}", size, layer.index, layer.index))
    activations = [Buffer(f"a{i}", nbytes(v), max(0, producer[v]), last_use.get(v, max(0, producer[v])))
                   for i, v in enumerate(producer)]
    return [f"layer{layer.index}" for layer in layers], activations + weights


def measure(label: str, instances) -> None:
    ratios, hits, elapsed = [], 0, 0.0
    for points, buffers in instances:
        start = time.perf_counter()
        plan = plan_l2(points, buffers)
        elapsed += time.perf_counter() - start
        ratios.append(plan.ratio)
        hits += plan.peak == plan.lower_bound
    print(f"{label:40s} n={len(ratios):3d}  peak/LB mean {statistics.mean(ratios):.4f}  worst {max(ratios):.4f}  "
          f"at LB {hits:3d}  {1000 * elapsed / len(ratios):8.1f} ms/plan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--no-networks", action="store_true")
    args = parser.parse_args()
    rng = random.Random(0)
    for n, points, life in [(12, 6, 3), (40, 12, 5), (100, 24, 6), (300, 50, 8)]:
        measure(f"random n={n} points={points} life<={life}",
                [random_instance(rng, n, points, life) for _ in range(args.seeds)])
    measure("chain 30 layers", [chain_instance(rng, 30) for _ in range(args.seeds)])
    measure("residual chain 30 layers (skip 2)", [chain_instance(rng, 30, 2) for _ in range(args.seeds)])
    measure("residual chain 60 layers (skip 3)", [chain_instance(rng, 60, 3) for _ in range(args.seeds)])
    if args.no_networks:
        return
    for config in (MobileNetConfig(1.0, 128), MobileNetConfig(0.25, 224)):
        measure(f"MobileNetV1 {config.width:g}-{config.resolution}", [mobilenet_instance(config)])
    for model in sorted(SHARED.glob("*/*/*.onnx")):
        if "ortcompat" in model.name:  # the same network as its original
            continue
        measure(f"{model.parent.parent.name}/{model.parent.name}", [ir_instance(model)])


if __name__ == "__main__":
    main()
