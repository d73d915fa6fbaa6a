"""Generate NEMO-style integer MobileNetV1 ONNX graphs with golden data (`dory gen-mobilenet`).

The network is MobileNetV1 (Howard et al. 2017): a 3x3 stride-2 convolution to 32 channels,
13 depthwise-separable blocks (3x3 depthwise + 1x1 pointwise) to 64, 128, 128, 256, 256,
512 x 6, 1024, 1024 channels (stride 2 in blocks 2, 4, 6 and 12), a global average pooling and a
fully connected classifier; every channel count is scaled by the width multiplier (rounded to a
multiple of 8, at least 8). That is 29 DORY layers: 27 convolutions, the pooling and the
classifier.

Weights are seeded random int8 values; each requantization (`kappa`, `lamda`, `m`, `d`, see
`dory_xdsl.generators.nemo_onnx`) is chosen from the statistics of the exact integer accumulator on the
seeded input image, so that each channel maps roughly its 25th..99.5th percentile onto 0..255:
activations stay in range and informative. Every value the float32 ONNX computation produces is
an integer below 2^24 in magnitude (asserted), so onnxruntime computes exactly what integer
arithmetic does; the generator checks that onnxruntime's output of every layer equals its own
exact integer computation before writing the golden data.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from dory_xdsl.generators import synthetic_quant as sq
from dory_xdsl.errors import DoryError
from dory_xdsl.golden.writer import write_golden_dir

if TYPE_CHECKING:
    import onnx

# (output channels, stride) of the 13 depthwise-separable blocks.
BLOCKS = ((64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1), (512, 1), (512, 1),
          (512, 1), (512, 1), (1024, 2), (1024, 1))
FIRST_CHANNELS = 32
BIAS_LIMIT = 2**12  # classifier biases are drawn from [-BIAS_LIMIT, BIAS_LIMIT]


@dataclass(frozen=True)
class MobileNetConfig:
    width: float = 1.0
    resolution: int = 128
    classes: int = 1000
    seed: int = 0
    input_channels: int = 3

    def validate(self) -> None:
        if not 0.25 <= self.width <= 1.0:
            raise DoryError(f"--width: the MobileNetV1 width multiplier must be in 0.25..1.0, got {self.width}")
        if not 32 <= self.resolution <= 224:
            raise DoryError(f"--resolution: the MobileNetV1 resolution must be in 32..224, got {self.resolution}")
        if self.classes < 1 or self.input_channels < 1:
            raise DoryError("MobileNetV1 needs at least one class and one input channel")


@dataclass(frozen=True)
class ConvSpec:
    """One convolution layer: `group` = `cin` = `cout` for a depthwise one."""

    name: str
    cin: int
    cout: int
    kernel: int
    stride: int
    group: int
    in_hw: int  # input height = width

    @property
    def pad(self) -> int:
        return self.kernel // 2

    @property
    def out_hw(self) -> int:
        return (self.in_hw + 2 * self.pad - self.kernel) // self.stride + 1

    @property
    def fan_in(self) -> int:
        return self.cin // self.group * self.kernel * self.kernel

    @property
    def macs(self) -> int:
        return self.out_hw * self.out_hw * self.cout * self.fan_in


def scaled_channels(channels: int, width: float) -> int:
    """`channels * width` rounded to a multiple of 8 (at least 8, never 10% below the product)."""
    scaled = max(8, int(channels * width + 4) // 8 * 8)
    return scaled + 8 if scaled < 0.9 * channels * width else scaled


def layer_table(config: MobileNetConfig) -> list[ConvSpec]:
    """The 27 convolutions of MobileNetV1 for `config`, in execution order."""
    config.validate()
    channels = scaled_channels(FIRST_CHANNELS, config.width)
    specs = [ConvSpec("conv1", config.input_channels, channels, 3, 2, 1, config.resolution)]
    for index, (cout, stride) in enumerate(BLOCKS, start=1):
        hw = specs[-1].out_hw
        specs.append(ConvSpec(f"block{index}.dw", channels, channels, 3, stride, channels, hw))
        cout = scaled_channels(cout, config.width)
        specs.append(ConvSpec(f"block{index}.pw", channels, cout, 1, 1, 1, specs[-1].out_hw))
        channels = cout
    return specs


def network_macs(config: MobileNetConfig) -> int:
    """Multiply-accumulates of the convolutions and the classifier."""
    specs = layer_table(config)
    return sum(spec.macs for spec in specs) + specs[-1].cout * config.classes


# ----------------------------------------------------------------------------- generation


@dataclass
class GeneratedLayer:
    """A DORY layer: its name, its ONNX output tensor and its exact output (NCHW or [1, N])."""

    name: str
    tensor: str
    output: np.ndarray


@dataclass
class GeneratedNetwork:
    config: MobileNetConfig
    model: onnx.ModelProto
    input: np.ndarray  # int64, NCHW
    layers: list[GeneratedLayer]


def build_mobilenet(config: MobileNetConfig) -> GeneratedNetwork:
    """The ONNX graph, the seeded input and the exact integer output of every DORY layer."""
    from dory_xdsl.generators.nemo_onnx import NemoGraph  # imports onnx: only when generating

    specs = layer_table(config)
    rng = np.random.default_rng(config.seed)
    shape = (1, config.input_channels, config.resolution, config.resolution)
    image = rng.integers(0, 256, size=shape).astype(np.int64)
    graph = NemoGraph("input.1", shape)
    tensor, x, layers = "input.1", image, []
    for spec in specs:
        weight = sq.sample_weights(rng, (spec.cout, spec.cin // spec.group, spec.kernel, spec.kernel))
        acc = sq.conv_exact(x, weight, spec.stride, spec.pad, spec.group)
        requant = sq.choose_requant(acc, sq.worst_accumulator(weight), int(rng.integers(1, 9)))
        sq.check_float32_exact(f"{spec.name}: kappa*acc + lamda", requant.pre_shift(acc))
        x = requant.apply(acc)
        tensor = graph.conv(tensor, f"{spec.name}.weight", weight, spec.stride, spec.pad, spec.group)
        tensor = graph.requant_clip(tensor, f"{spec.name}.bn", requant.kappa, requant.lamda, requant.mul, requant.shift)
        layers.append(GeneratedLayer(spec.name, tensor, x))
    hw = specs[-1].out_hw
    mul, shift = sq.choose_pool_requant(hw * hw)
    x = np.clip((x.sum(axis=(2, 3), keepdims=True) * mul) >> shift, 0, 255)
    tensor = graph.avgpool_requant(tensor, (hw, hw), mul, shift)
    layers.append(GeneratedLayer("avgpool", tensor, x))
    bias = rng.integers(-BIAS_LIMIT, BIAS_LIMIT + 1, size=config.classes).astype(np.int64)
    weight = sq.sample_weights(rng, (config.classes, specs[-1].cout), reserve=BIAS_LIMIT)
    sq.check_float32_exact("fc: worst-case accumulator", sq.worst_accumulator(weight, bias))
    logits = (x.reshape(1, -1).astype(np.float64) @ weight.T.astype(np.float64)).astype(np.int64) + bias
    tensor = graph.gemm(graph.flatten(tensor), "fc", weight, bias)
    layers.append(GeneratedLayer("fc", tensor, logits))
    model = graph.model([(tensor, [1, config.classes])], f"mobilenet_v1_{config.width:g}_{config.resolution}")
    return GeneratedNetwork(config, model, image, layers)


def run_onnxruntime(network: GeneratedNetwork) -> list[np.ndarray]:
    """onnxruntime's output of every DORY layer of `network` (the model with extra outputs)."""
    try:
        import onnxruntime
    except ImportError:
        raise DoryError("gen-mobilenet needs onnxruntime (pip install onnxruntime)") from None
    import onnx

    probe = onnx.ModelProto()
    probe.CopyFrom(network.model)
    final = {output.name for output in probe.graph.output}
    probe.graph.output.extend(onnx.helper.make_tensor_value_info(layer.tensor, onnx.TensorProto.FLOAT, None)
                              for layer in network.layers if layer.tensor not in final)
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    session = onnxruntime.InferenceSession(probe.SerializeToString(), options, providers=["CPUExecutionProvider"])
    results = session.run([layer.tensor for layer in network.layers], {"input.1": network.input.astype(np.float32)})
    return list(results)


def check_against_onnxruntime(network: GeneratedNetwork, results: list[np.ndarray]) -> None:
    """Raise unless onnxruntime's float32 outputs equal the exact integer outputs."""
    for layer, result in zip(network.layers, results, strict=True):
        if result.shape != layer.output.shape or not np.array_equal(result, layer.output):
            differing = int(np.count_nonzero(result != layer.output)) if result.shape == layer.output.shape else -1
            raise DoryError(f"{layer.name}: onnxruntime differs from exact integer arithmetic "
                            f"({differing} elements): the float32 graph is not exact")


def generate_mobilenet(config: MobileNetConfig, folder: str | Path) -> GeneratedNetwork:
    """Write `model.onnx`, `input.txt` and `out_layer<N>.txt` (golden data from onnxruntime)."""
    import onnx

    network = build_mobilenet(config)
    onnx.checker.check_model(network.model)
    results = run_onnxruntime(network)
    check_against_onnxruntime(network, results)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model.onnx").write_bytes(network.model.SerializeToString())
    golden = [(layer.name, result.astype(np.int64)) for layer, result in zip(network.layers, results)]
    write_golden_dir(folder, network.input, golden)
    return network


# ----------------------------------------------------------------------------- command line


def add_gen_mobilenet_parser(subparsers) -> None:
    gen = subparsers.add_parser(
        "gen-mobilenet", help="generate an integer MobileNetV1 ONNX graph with golden data",
        description="Write DIR/model.onnx (NEMO-style integer MobileNetV1 with seeded random weights), "
                    "DIR/input.txt and DIR/out_layer<N>.txt (golden data from onnxruntime).",
    )
    gen.add_argument("--width", type=float, default=1.0, help="width multiplier, 0.25..1.0 (default 1.0)")
    gen.add_argument("--resolution", type=int, default=128, help="input height = width (default 128)")
    gen.add_argument("--classes", type=int, default=1000, help="classifier outputs (default 1000)")
    gen.add_argument("--seed", type=int, default=0, help="seed of weights, constants and input (default 0)")
    gen.add_argument("-o", "--output", metavar="DIR", required=True, help="folder to write")
    gen.set_defaults(command=command_gen_mobilenet)


def command_gen_mobilenet(args: argparse.Namespace) -> int:
    config = MobileNetConfig(args.width, args.resolution, args.classes, args.seed)
    config.validate()
    network = generate_mobilenet(config, args.output)
    macs = network_macs(config)
    print(f"{args.output}: MobileNetV1 {config.width:g}-{config.resolution}, {len(network.layers)} layers, "
          f"{macs / 1e6:.1f} MMAC, {config.classes} classes, seed {config.seed}")
    return 0
