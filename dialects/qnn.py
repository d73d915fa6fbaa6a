"""The `qnn` dialect: value-semantics ops on builtin tensors for 8-bit quantized networks.

Every op's integer semantics are fully determined by its operands and properties and are
written in its docstring; `dory_xdsl.semantics.reference` implements them bit-exactly with numpy.

Conventions
- Element types: `uiN` is unsigned, signless `iN` is two's-complement signed. Activations are
  `ui8` (or `i8`), weights `i8`, bias and accumulators `i32`, requant constants `i32` or `i64`.
- `x >> s` is an arithmetic (flooring) right shift; `clip(v, lo, hi)` saturates.
- Spatial ops carry `layout`: `"nchw"` (as imported from ONNX; conv weights OIHW) or `"nhwc"`
  (what the GAP-8 kernels use; conv weights OHWI, i.e. Cout x Kh x Kw x Cin/group).
- Every clip bound `[lo, hi]` (requant, add, avgpool) must fit the result element type, so the
  result is exactly the clipped value (no further wrap).
- 1-D networks are 2-D with H = 1.

Requantization is a separate op (`qnn.requant`) at import time, so the importer maps the ONNX
`Mul/Add/Div/Floor/Clip` chains one to one, and it is *also* an optional part of `qnn.conv2d` and
`qnn.linear` (operands `k`, `lambda` plus the `requant` property). The fusion pass moves it into
the compute op because a PULP-NN kernel call computes accumulate + requant in one go: after
fusion one compute op is one layer of the back end, and the tiler sees the requant constants as
operands that must be tiled along output channels together with the weights.
"""

from __future__ import annotations

from xdsl.ir import Dialect

from dory_xdsl.dialects.qnn_base import (  # noqa: F401 (the dialect's public names)
    LAYOUTS,
    QnnOp,
    RequantAttr,
    hw_c,
    i64_array,
    int_prop,
    int_range,
    pool_out,
)
from dory_xdsl.dialects.qnn_compute import (  # noqa: F401 (the dialect's public names)
    AddOp,
    Conv2dOp,
    LinearOp,
    RequantOp,
)
from dory_xdsl.dialects.qnn_data import (  # noqa: F401 (the dialect's public names)
    AvgPoolOp,
    ConcatOp,
    ConstantOp,
    MaxPoolOp,
    ReshapeOp,
    SliceOp,
    TransposeOp,
    constant_array,
)

Qnn = Dialect(
    "qnn",
    [
        ConstantOp,
        Conv2dOp,
        LinearOp,
        RequantOp,
        AddOp,
        MaxPoolOp,
        AvgPoolOp,
        ConcatOp,
        ReshapeOp,
        TransposeOp,
        SliceOp,
    ],
    [RequantAttr],
)
