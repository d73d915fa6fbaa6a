"""Bit-exact integer semantics, pure (no IR): the `qnn` ops (`reference`), the PULP-NN kernels
(`kernels`), requantization arithmetic of NEMO/Quantlab (`onnx_requant`) and TFLite
(`qdq_requant`, `qdq_exact`, `qdq_split`, `qdq_softmax`), exact requant fitting (`requant_fit`) and
exact PULP-NN forms of adds and requantizations (`pulp_legalize`).

May import: `dory_xdsl.errors`, `dory_xdsl.target`, numpy, Z3. Nothing of xDSL.
"""
