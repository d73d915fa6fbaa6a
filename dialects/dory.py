"""The `dory` dialect: tiled layers as explicit L1 buffers, DMA commands and PULP-NN calls.

This is the level the C printer reads: every op maps 1:1 onto a C statement of the GAP-8
application (PMSIS DMA calls, a `memset`, or one PULP-NN function call), and every number the C
needs is in the IR.

Memory model
- L2 tensors are `memref`s (activations HWC `ui8`, weights `i8`, `k`/`lambda` `i32`/`i64`,
  bias `i32` for `linear_out_32`); a DMA's `ext` offset is a byte offset from the memref's base.
- L1 is one byte arena per layer (`dory.l1_arena`, a `memref<Nxi8>` of exactly the L1 budget);
  every L1 buffer is a byte offset (an `index` SSA value) into it. The offsets come from
  `dory_xdsl.tiling.tiles.l1_layout` and are recorded on the layer function (`dory.l1_buffers`).

Per-tile numbers: a tiled layer is a loop over its tiles (`scf.for` + `arith` index arithmetic,
see `convert-qnn-to-dory`), so DMA sizes and kernel arguments that differ between tiles (border
tiles, per-tile padding) are `index` SSA operands, and those equal on every tile are integer
properties (`MixedParams`: `{size = 64, length = %line, ...}` in the custom syntax).

DMA: `dory.dma_start` is one `pi_cl_dma_cmd` (1-D, `length` is `size`) or `pi_cl_dma_cmd_2d`
(`size / length` lines of `length` bytes, `stride` bytes apart on the L2 side, contiguous in L1)
on a named `channel`; `dory.dma_wait` waits for every command issued on that channel since its
previous wait. Commands must respect the GAP-8 limits (at most 65,535 B; 2-D line and stride
< 32,768), which the verifier checks.

Kernel calls: one op per PULP-NN function (`dory.conv` = `pulp_nn_conv_Ho_parallel`, ...). Its
buffer operands are L1 offsets named after the C parameters they feed (`in`, `out`, `weights`,
`bias`, `k`, `lambda`, scratch buffers); an absent optional buffer is `NULL` in C. Its integer
parameters (constants or `index` values) are the C arguments of the same name. `C_FUNCTION` and `C_ARGS` (class variables)
give the C function name and its argument order, so the C printer is a table look-up.
"""

from __future__ import annotations

from xdsl.ir import Dialect

from dory_xdsl.dialects.dory_base import (  # noqa: F401 (the dialect's public names)
    DIRECTIONS,
    DMA_MAX_BYTES,
    DMA_MAX_LINE,
    DMA_MAX_STRIDE,
    Mixed,
    MixedParams,
    TilingAttr,
    memref_bytes,
    parse_mixed_dict,
    print_mixed_dict,
    split_mixed,
)
from dory_xdsl.dialects.dory_memory import (  # noqa: F401 (the dialect's public names)
    ConcatOp,
    CopyOp,
    DmaStartOp,
    DmaWaitOp,
    FillOp,
    L1ArenaOp,
    L3_DIRECTIONS,
    L3StartOp,
    L3WaitOp,
    SliceOp,
    TransposeOp,
    ZeroOp,
)
from dory_xdsl.dialects.dory_kernels import (  # noqa: F401 (the dialect's public names)
    ADD_REQUANT_PARAMS,
    AddOp,
    AddRequantOp,
    AvgPoolOp,
    CONV_PARAMS,
    ConvOp,
    DepthwiseLess4Op,
    DepthwiseOp,
    HWC_TO_CHW_PARAMS,
    HwcToChwOp,
    KERNEL_OPS,
    KernelOp,
    LinearOp,
    LinearOut32Op,
    MaxPoolOp,
    POOL_DIMS,
    PointwiseOp,
    SIGNED_PARAMS,
)

Dory = Dialect(
    "dory",
    [L1ArenaOp, DmaStartOp, DmaWaitOp, L3StartOp, L3WaitOp, ZeroOp, TransposeOp, SliceOp, ConcatOp,
     CopyOp, FillOp, *KERNEL_OPS],
    [TilingAttr],
)
