"""ONNX import into the `qnn` dialect: NEMO / Quantlab / Deeploy integer-deployable graphs
(`onnx_import` and its handlers `onnx_graph`, `onnx_values`, `onnx_emit`, `onnx_arith`,
`onnx_layers`) and QDQ graphs from TFLite / onnxruntime (`qdq_import`, `qdq_emit`, `qdq_values`).

May import: the dialects, `dory_xdsl.analysis`, `dory_xdsl.semantics`, the top-level modules, onnx.
"""
