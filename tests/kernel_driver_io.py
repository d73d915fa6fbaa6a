"""Frame encoding for tests/c/kernel_driver.c: lay out buffers in one L1 block, run, decode."""

from __future__ import annotations

import struct
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dory_xdsl.engines import host_build

KERNEL_IDS = {
    "conv": 0, "pointwise": 1, "depthwise": 2, "depthwise_less_4": 3, "linear": 4,
    "linear_out_32": 5, "add": 6, "maxpool": 7, "avgpool": 8,
}
NULL, L2 = -1, -2
DRIVER_SOURCE = Path(__file__).resolve().parent / "c" / "kernel_driver.c"


@dataclass
class Call:
    """One kernel call: params in C argument order, buffers in the driver's order.

    `buffers` holds numpy arrays (or None for NULL); `where` optionally overrides placement per
    buffer index (an L1 byte offset, `L2`, or `NULL`); `slack` bytes follow the L1 layout.
    """

    kernel: str
    params: list[int]
    buffers: list[np.ndarray | None]
    where: dict[int, int] = field(default_factory=dict)
    cores: int = 8
    slack: int = 4
    l1_size: int | None = None

    def layout(self) -> tuple[list[int], int]:
        offsets, cursor = [], 0
        for i, buf in enumerate(self.buffers):
            if i in self.where:
                offsets.append(self.where[i])
            elif buf is None:
                offsets.append(NULL)
            else:
                offsets.append(cursor)
                cursor += (buf.nbytes + 3) & ~3  # 4-byte aligned, like pi_cl_l1_malloc
        ends = [o + b.nbytes for o, b in zip(offsets, self.buffers) if o >= 0 and b is not None]
        total = self.l1_size if self.l1_size is not None else max([cursor, *ends]) + self.slack
        return offsets, total

    def encode(self) -> bytes:
        offsets, total = self.layout()
        out = [struct.pack("<4i", KERNEL_IDS[self.kernel], self.cores, total, len(self.params))]
        out.append(struct.pack(f"<{len(self.params)}q", *self.params))
        out.append(struct.pack("<i", len(self.buffers)))
        for off, buf in zip(offsets, self.buffers):
            data = b"" if buf is None else np.ascontiguousarray(buf).tobytes()
            out.append(struct.pack("<2i", off, len(data)) + data)
        return b"".join(out)

    def decode(self, raw: memoryview, pos: int) -> tuple[list[np.ndarray | None], int]:
        offsets, _ = self.layout()
        results: list[np.ndarray | None] = []
        for off, buf in zip(offsets, self.buffers):
            if buf is None or off == NULL:
                results.append(None)
                continue
            chunk = np.frombuffer(raw[pos : pos + buf.nbytes], dtype=buf.dtype).reshape(buf.shape)
            results.append(chunk.copy())
            pos += buf.nbytes
        return results, pos


def build_driver(out: Path, *, requant64: bool = False, l1_size: int | None = None) -> Path:
    defines = host_build.memory_defines(l1_size=l1_size, requant64=requant64)
    return host_build.compile_host([DRIVER_SOURCE], out, defines=defines)


def run_calls(driver: Path, calls: list[Call]) -> list[list[np.ndarray | None]]:
    """Run every call in one driver process; return each call's final buffers."""
    proc = subprocess.run([str(driver)], input=b"".join(c.encode() for c in calls),
                          capture_output=True, env=host_build.run_env(), timeout=120)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")[-3000:]
    raw, pos, results = memoryview(proc.stdout), 0, []
    for call in calls:
        bufs, pos = call.decode(raw, pos)
        results.append(bufs)
    assert pos == len(raw), "driver output length does not match the calls"
    return results


def run_failing(driver: Path, call: Call) -> tuple[int, str]:
    """Run one call expected to abort; return (returncode, stderr)."""
    proc = subprocess.run([str(driver)], input=call.encode(), capture_output=True,
                          env=host_build.run_env(), timeout=60)
    return proc.returncode, proc.stderr.decode(errors="replace")
