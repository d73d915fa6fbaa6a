"""MLIR text for the bad-input corpus: `cases()` -> {label: (text, extra dory-opt args, names)}.

`FILE` in a name stands for the input file's name; verifier and parse diagnostics must say
`FILE:<line>:<col>` (the test checks the line/column form). The verifier cases are every chunk of
the project's invalid-IR FileCheck files, each as its own file, plus hand-written ones.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INVALID_FILES = sorted((ROOT / "filecheck" / "dialects").glob("*/*invalid*.mlir"))

OK_MLIR = """\
func.func @main(%x: tensor<1x4x8x8xui8>) -> tensor<1x8x8x8xui8> {
  %w = qnn.constant dense<1> : tensor<8x4x3x3xi8>
  %k = qnn.constant dense<[1, 2, 3, 4, 5, 6, 7, 8]> : tensor<8xi32>
  %l = qnn.constant dense<[8, 7, 6, 5, 4, 3, 2, 1]> : tensor<8xi32>
  %a = qnn.conv2d %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, \
group = 1 : i64, layout = "nchw"} : tensor<1x4x8x8xui8>, tensor<8x4x3x3xi8> -> tensor<1x8x8x8xi32>
  %r = qnn.requant %a, %k, %l {requant = #qnn.requant<shift = 5, clip = [0, 255]>, axis = 1 : i64} : \
(tensor<1x8x8x8xi32>, tensor<8xi32>, tensor<8xi32>) -> tensor<1x8x8x8xui8>
  func.return %r : tensor<1x8x8x8xui8>
}
"""

HAND_WRITTEN: dict[str, tuple[str | bytes, list[str], list[str]]] = {
    "empty": ("", [], ["FILE"]),
    "comment_only": ("// nothing here\n", [], ["FILE"]),
    "ff_bytes": (b"\xff\xfe\x00garbage", [], ["FILE"]),
    "syntax": ("func.func @f( {\n", [], ["FILE:1:"]),
    "unknown_op": ('"qnn.frobnicate"() : () -> ()\n', [], ["FILE:1:", "qnn.frobnicate"]),
    "unknown_dialect": ('"nope.op"() : () -> ()\n', [], ["FILE:1:", "nope.op"]),
    "unterminated_string": ('%0 = "test.op"() {a = "abc} : () -> i32\n', [], ["FILE:1:"]),
    "undefined_value": ("func.func @f() {\n  func.return %z : i32\n}\n", [], ["FILE:", "%z"]),
    "shift_64": ("func.func @f(%a: tensor<4xi32>, %k: tensor<4xi32>) {\n"
                 "  %0 = qnn.requant %a, %k, %k {requant = #qnn.requant<shift = 64, clip = [0, 255]>, axis = 0 : i64}"
                 " : (tensor<4xi32>, tensor<4xi32>, tensor<4xi32>) -> tensor<4xui8>\n  func.return\n}\n",
                 [], ["FILE:2:", "shift 64"]),
    "dynamic_dim": ("func.func @main(%x: tensor<?x4x8x8xui8>) -> tensor<?x4x8x8xui8> {\n"
                    "  func.return %x : tensor<?x4x8x8xui8>\n}\n", ["-p", "gap8-lower"], ["@main", "dynamic"]),
    "returns_input": ("func.func @main(%x: tensor<1x4x8x8xui8>) -> tensor<1x4x8x8xui8> {\n"
                      "  func.return %x : tensor<1x4x8x8xui8>\n}\n", ["-p", "gap8-lower"], ["@main", "argument 0"]),
    "dynamic_conv": ("func.func @f(%x: tensor<?x4x8x8xui8>, %w: tensor<8x4x3x3xi8>) {\n"
                     "  %0 = qnn.conv2d %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, "
                     "dilations = array<i64: 1, 1>, group = 1 : i64, layout = \"nchw\"} : tensor<?x4x8x8xui8>, "
                     "tensor<8x4x3x3xi8> -> tensor<1x8x8x8xi32>\n  func.return\n}\n", [], ["FILE:2:", "qnn.conv2d"]),
    "tile_nchw": (OK_MLIR, ["-p", "qnn-tile"], ["qnn.conv2d", "nhwc"]),
    "gap8_budget_tiny": (OK_MLIR, ["-p", "gap8-lower{l1-bytes=10}"], ["layer 'r'", "L1"]),
    "wrong_result_type": ("func.func @f(%x: tensor<1x4x8x8xui8>, %w: tensor<8x4x3x3xi8>) {\n"
                          "  %0 = qnn.conv2d %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, "
                          "dilations = array<i64: 1, 1>, group = 1 : i64, layout = \"nchw\"} : tensor<1x4x8x8xui8>, "
                          "tensor<8x4x3x3xi8> -> tensor<1x8x9x9xi32>\n  func.return\n}\n", [], ["FILE:2:", "qnn.conv2d"]),
}


def verifier_chunks() -> dict[str, str]:
    """Every `// -----` chunk of the invalid-IR FileCheck files holding an expected diagnostic."""
    chunks = {}
    for path in INVALID_FILES:
        stem = f"{path.parent.name}_{path.stem}".replace("-", "_")
        for index, chunk in enumerate(path.read_text().split("// -----")):
            body = "\n".join(line for line in chunk.splitlines() if not line.lstrip().startswith("// RUN"))
            if re.search(r"expected-(error|warning)|CHECK", body) and re.search(r"^\s*[%\"a-z]", body, re.M):
                chunks[f"{stem}_{index}"] = body + "\n"
    return chunks


def cases() -> dict[str, tuple[str | bytes, list[str], list[str]]]:
    result = dict(HAND_WRITTEN)
    for label, text in verifier_chunks().items():
        result[label] = (text, [], ["FILE:"])
    return result
