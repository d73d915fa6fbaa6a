"""Generators of test networks with golden data: NEMO-style ONNX graphs (`nemo_onnx`), seeded
integer weights and requantization constants (`synthetic_quant`) and MobileNetV1 (`mobilenet`).

May import: `dory_xdsl.golden` and everything below it; never the drivers.
"""
