"""One layer as the tiler sees it: a plain, hashable description with no IR in it.

`LayerGeometry` holds the shapes and element sizes of one back-end layer (a compute op after
requant fusion, in HWC layout) and derives what the tiler needs: output size, effective kernel
extent, the PULP-NN kernel it maps to, total bytes and MACs.

Dilation: PULP-NN's conv and depthwise kernels have no dilation parameter. A dilated layer is
lowered onto the plain kernel with a zero-expanded kernel of extent `(K-1)*d+1` (the weights get
`d-1` zero taps between real ones). The tiler therefore works with the expanded extent
everywhere: input halos, weight bytes, im2col size and MACs. Pooling and add do not support
dilation.

The layer name takes no part in equality or hashing, so identical layers share one cached
tiling solution.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dory_xdsl import target as tgt
from dory_xdsl.errors import DoryError
from dory_xdsl.semantics.reference import window_out

KINDS = ("conv", "pointwise", "depthwise", "linear", "maxpool", "avgpool", "add")
WINDOW_KINDS = ("conv", "pointwise", "depthwise", "maxpool", "avgpool")


@dataclass(frozen=True)
class LayerGeometry:
    """Shapes of one layer. Spatial sizes are of the *input*; pads are (top, left, bottom, right).

    `requant_bits` is 32 or 64 when the layer carries per-channel `k`/`lambda` constants (the
    64-bit PULP-NN variant uses int64), None otherwise. Element sizes are in bytes.
    """

    kind: str
    h: int
    w: int
    cin: int
    cout: int
    kh: int = 1
    kw: int = 1
    stride: tuple[int, int] = (1, 1)  # (y, x)
    pads: tuple[int, int, int, int] = (0, 0, 0, 0)  # (top, left, bottom, right)
    dilation: tuple[int, int] = (1, 1)  # (y, x)
    has_bias: bool = False
    requant_bits: int | None = None
    act_bytes: int = 1
    out_bytes: int = 1
    weight_bytes: int = 1
    bias_bytes: int = 1
    name: str = field(default="layer", compare=False)

    def __post_init__(self) -> None:
        where = f"layer '{self.name}'"
        if self.kind not in KINDS:
            raise DoryError(f"{where}: unknown layer kind '{self.kind}' (expected one of {KINDS})")
        ints = (self.h, self.w, self.cin, self.cout, self.kh, self.kw, *self.stride, *self.dilation)
        if any(v < 1 for v in ints) or any(p < 0 for p in self.pads):
            raise DoryError(f"{where}: sizes must be positive and pads non-negative")
        if self.requant_bits not in (None, 32, 64):
            raise DoryError(f"{where}: requant constants must be 32 or 64 bits, got {self.requant_bits}")
        if self.kind in ("depthwise", "maxpool", "avgpool", "add") and self.cin != self.cout:
            raise DoryError(f"{where}: {self.kind} needs as many output as input channels")
        if self.kind in ("maxpool", "avgpool", "add") and self.dilation != (1, 1):
            raise DoryError(f"{where}: {self.kind} does not support dilation")
        if self.kind in ("linear", "add"):
            if (self.kh, self.kw, self.stride, self.pads) != (1, 1, (1, 1), (0, 0, 0, 0)):
                raise DoryError(f"{where}: {self.kind} has no kernel window, stride or padding")
        if self.kind == "linear" and (self.h, self.w) != (1, 1):
            raise DoryError(f"{where}: a linear layer takes a flattened input (h = w = 1)")
        if self.kind == "pointwise" and not self.is_pointwise_shape:
            raise DoryError(
                f"{where}: the pointwise kernel needs a 1x1 kernel, stride 1 and no padding; "
                "use kind 'conv'"
            )
        if self.h_out < 1 or self.w_out < 1:
            raise DoryError(f"{where}: the kernel window is larger than the padded input")

    # ------------------------------------------------------------------ derived geometry

    @property
    def is_pointwise_shape(self) -> bool:
        return (self.kh, self.kw, self.stride, self.pads) == (1, 1, (1, 1), (0, 0, 0, 0))

    @property
    def kh_eff(self) -> int:
        """Kernel height after zero-expanding the dilation."""
        return (self.kh - 1) * self.dilation[0] + 1

    @property
    def kw_eff(self) -> int:
        return (self.kw - 1) * self.dilation[1] + 1

    @property
    def h_out(self) -> int:
        return window_out(self.h, self.kh, self.stride[0], self.pads[0] + self.pads[2], self.dilation[0])

    @property
    def w_out(self) -> int:
        return window_out(self.w, self.kw, self.stride[1], self.pads[1] + self.pads[3], self.dilation[1])

    @property
    def channels_tied(self) -> bool:
        """True when an output-channel tile needs exactly the same input channels."""
        return self.kind in ("depthwise", "maxpool", "avgpool", "add")

    @property
    def kernel(self) -> str:
        """The PULP-NN function this layer maps to."""
        if self.kind in ("conv", "pointwise"):
            return tgt.POINTWISE if self.is_pointwise_shape else tgt.CONV
        if self.kind == "depthwise":
            return tgt.DEPTHWISE_LESS_4 if self.kh_eff * self.kw_eff < 4 else tgt.DEPTHWISE
        if self.kind == "linear":
            return tgt.LINEAR_OUT_32 if self.out_bytes == 4 else tgt.LINEAR
        return {"maxpool": tgt.MAXPOOL, "avgpool": tgt.AVGPOOL, "add": tgt.ADD}[self.kind]

    @property
    def num_inputs(self) -> int:
        return 2 if self.kind == "add" else 1

    @property
    def requant_bytes(self) -> int:
        return 0 if self.requant_bits is None else self.requant_bits // 8

    @property
    def weights_per_channel(self) -> int:
        """Weight elements per output channel (zero-expanded kernel for dilation)."""
        if self.kind in ("conv", "pointwise"):
            return self.kh_eff * self.kw_eff * self.cin
        if self.kind == "depthwise":
            return self.kh_eff * self.kw_eff
        if self.kind == "linear":
            return self.cin
        return 0

    @property
    def work_per_output(self) -> int:
        """Work units per output element (MACs; window size for pooling; 1 for add)."""
        if self.kind in ("conv", "pointwise", "depthwise", "linear"):
            return self.weights_per_channel
        if self.kind in ("maxpool", "avgpool"):
            return self.kh * self.kw
        return 1

    @property
    def output_elements(self) -> int:
        return self.h_out * self.w_out * self.cout

    @property
    def macs(self) -> int:
        return self.output_elements * self.work_per_output

    def describe(self) -> str:
        return (
            f"{self.name}: {self.kind} {self.h}x{self.w}x{self.cin} -> "
            f"{self.h_out}x{self.w_out}x{self.cout} k{self.kh}x{self.kw} s{self.stride[0]}x{self.stride[1]} "
            f"p{list(self.pads)} d{self.dilation[0]}x{self.dilation[1]}"
        )


def conv_layer(name: str, h: int, w: int, cin: int, cout: int, k: int | tuple[int, int],
               stride: int = 1, pad: int | tuple[int, int, int, int] = 0, dilation: int = 1,
               **kw: object) -> LayerGeometry:
    """A standard convolution; picks kind 'pointwise' when the pointwise kernel applies."""
    kh, kw_ = (k, k) if isinstance(k, int) else k
    pads = (pad,) * 4 if isinstance(pad, int) else pad
    kind = "pointwise" if (kh, kw_, stride, pads) == (1, 1, 1, (0, 0, 0, 0)) else "conv"
    return LayerGeometry(kind, h, w, cin, cout, kh, kw_, (stride, stride), pads,
                         (dilation, dilation), name=name, **kw)  # type: ignore[arg-type]
