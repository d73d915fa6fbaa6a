"""The GAP-8 target as data: memory levels, DMA limits and the cost-model numbers of its kernels.

Everything the tiler and the lowering need to know about the chip lives here, so that another
PULP-class target is a different `Target` value rather than different code. The numbers come
from `shared/docs/gap8-and-dory.md` and `shared/docs/pulp-nn-api.md`:

- L1 (cluster TCDM) 64 KiB; the tiler gets 36,700 B per layer, as DORY (64,000 minus the master
  stack of 3,500 B and seven worker stacks of 3,400 B).
- L2 512,000 B shared by code and data: the activation budget is that minus a code reservation.
- L3 HyperRAM 8 MB.
- 8 cluster cores (a power of two: the kernels split rows/channels by shifts).
- Cluster DMA (MCHAN): one command moves at most 65,535 B; a 2-D command has line length and
  stride each < 32,768; only the L2 side may be strided, the L1 side is contiguous.
- DMA cost model (DORY's model numbers, not measured silicon): L2 8 B/cycle, 10 cycles of latency
  per command.
- Kernel throughput model: sustained MAC (or element-operation) per cycle of the whole cluster
  for each PULP-NN kernel, from the published GAP-8 figures (conv/pointwise 12.6-15.5 MAC/cycle,
  depthwise 0.6-1.3, linear from L1 a few MAC/cycle), plus a fixed per-kernel-call overhead
  (team fork, argument set-up, DMA programming of the tile).
"""

from __future__ import annotations

from dataclasses import dataclass, field

# PULP-NN kernel names, used as keys of the throughput model and by `LayerGeometry.kernel`.
CONV = "pulp_nn_conv_Ho_parallel"
POINTWISE = "pulp_nn_pointwise_HoWo_parallel"
DEPTHWISE = "pulp_nn_depthwise_generic"
DEPTHWISE_LESS_4 = "pulp_nn_depthwise_generic_less_4_weights"
LINEAR = "pulp_nn_linear"
LINEAR_OUT_32 = "pulp_nn_linear_out_32"
MAXPOOL = "pulp_nn_maxpool"
AVGPOOL = "pulp_nn_avgpool"
ADD = "pulp_nn_add"


@dataclass(frozen=True)
class DmaLimits:
    """Per-command limits of the cluster DMA (bytes)."""

    max_bytes: int = 65_535  # one command moves at most this many bytes
    max_bytes_1d: int = 32_767  # a 1-D command must be < 32,768 B (MCHAN v6; GAP-8's runtime splits larger ones)
    max_line: int = 32_767  # 2-D line length must be < 32,768
    max_stride: int = 32_767  # 2-D L2 stride must be < 32,768
    counters: int = 16  # MCHAN transfer counters: commands outstanding at once (the 17th stalls the core)

    @property
    def max_line_1d(self) -> int:
        """The longest contiguous line one command moves (1-D, or a line of a 2-D command)."""
        return min(self.max_bytes, self.max_bytes_1d)

    def transfer_ok(self, size: int, line: int, stride: int) -> bool:
        """Whether one command (1-D when `line == size`) respects the limits."""
        if size < 1 or size > self.max_bytes:
            return False
        if line == size:
            return size <= self.max_bytes_1d
        return 0 < line <= self.max_line and 0 < stride <= self.max_stride and size % line == 0


@dataclass(frozen=True)
class KernelSpeed:
    """Throughput model of one kernel: whole-cluster work units per cycle.

    The work unit is a MAC for conv/depthwise/linear, a window element for pooling and an output
    element for add. `parallel_axis` is what the kernel splits over the cores ("rows" or
    "channels"); the model charges ceil(extent/cores) rounds on that axis, so imbalance (e.g. a
    tile of 9 rows on 8 cores) costs what it costs on the chip.
    """

    work_per_cycle: float
    parallel_axis: str


def _default_speeds() -> tuple[tuple[str, KernelSpeed], ...]:
    return (
        (CONV, KernelSpeed(10.0, "rows")),
        (POINTWISE, KernelSpeed(13.0, "rows")),
        (DEPTHWISE, KernelSpeed(1.0, "channels")),
        (DEPTHWISE_LESS_4, KernelSpeed(0.8, "channels")),
        (LINEAR, KernelSpeed(4.0, "channels")),
        (LINEAR_OUT_32, KernelSpeed(4.0, "channels")),
        (MAXPOOL, KernelSpeed(6.0, "rows")),
        (AVGPOOL, KernelSpeed(4.0, "rows")),
        (ADD, KernelSpeed(6.0, "rows")),
    )


@dataclass(frozen=True)
class Target:
    """A PULP cluster target. Defaults describe GAP-8 as DORY deploys it."""

    name: str = "gap8"
    num_cores: int = 8
    l1_bytes: int = 36_700  # L1 budget for one layer's tiles and scratch buffers
    l1_physical_bytes: int = 64 * 1024  # the whole cluster L1 (TCDM): no budget can exceed it
    l2_bytes: int = 512_000
    l2_code_reserved: int = 0  # bytes of L2 kept for code (DORY: typically 90-150 KB)
    l3_bytes: int = 8 * 1024 * 1024
    dma: DmaLimits = field(default_factory=DmaLimits)
    dma_bytes_per_cycle: int = 8  # L2 <-> L1
    dma_latency_cycles: int = 10  # per command
    tile_overhead_cycles: int = 200  # per kernel call: fork, arguments, DMA programming
    l1_alignment: int = 4  # every L1 buffer starts on this boundary (SIMD loads)
    depthwise_input_slack: int = 4  # the depthwise kernel reads up to 2 B past its input
    speeds: tuple[tuple[str, KernelSpeed], ...] = field(default_factory=_default_speeds)

    def __post_init__(self) -> None:
        if self.num_cores < 1 or self.num_cores & (self.num_cores - 1):
            raise ValueError(f"num_cores must be a power of two, got {self.num_cores}")
        if self.l1_bytes < 1:
            raise ValueError(f"l1_bytes must be positive, got {self.l1_bytes}")
        if not 0 <= self.l2_code_reserved < self.l2_bytes:
            raise ValueError(
                f"l2_code_reserved must be in [0, {self.l2_bytes}), got {self.l2_code_reserved}"
            )

    @property
    def l2_activation_bytes(self) -> int:
        """L2 left for activations and weights once code is reserved."""
        return self.l2_bytes - self.l2_code_reserved

    def speed(self, kernel: str) -> KernelSpeed:
        for name, speed in self.speeds:
            if name == kernel:
                return speed
        raise KeyError(f"target {self.name} has no throughput model for kernel {kernel}")

    def budget_problem(self, l1_bytes: int | None = None, l2_code_reserved: int | None = None,
                       timeout: float | None = None) -> tuple[str, str] | None:
        """(option, what is wrong) for a budget this target cannot honour, else None. Options are
        named as the flags spell them (`l1-bytes`, `l2-code-reserved`, `timeout`)."""
        if l1_bytes is not None and not 1 <= l1_bytes <= self.l1_physical_bytes:
            return "l1-bytes", (f"{l1_bytes} is not in [1, {self.l1_physical_bytes}] "
                                f"(the {self.name} L1 holds {self.l1_physical_bytes} B)")
        if l2_code_reserved is not None and not 0 <= l2_code_reserved < self.l2_bytes:
            return "l2-code-reserved", (f"{l2_code_reserved} is not in [0, {self.l2_bytes}) "
                                        f"(the {self.name} L2 holds {self.l2_bytes} B)")
        if timeout is not None and not timeout > 0:
            return "timeout", f"{timeout} must be a positive number of seconds"
        return None

    def with_budget(self, l1_bytes: int | None = None, l2_code_reserved: int | None = None) -> Target:
        """A copy with other budgets (the pass options)."""
        from dataclasses import replace

        changes: dict[str, int] = {}
        if l1_bytes is not None:
            changes["l1_bytes"] = l1_bytes
        if l2_code_reserved is not None:
            changes["l2_code_reserved"] = l2_code_reserved
        return replace(self, **changes)


GAP8 = Target()
