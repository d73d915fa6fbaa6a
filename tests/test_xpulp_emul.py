"""runtime/xpulp_emul.h: the Xpulp builtins real PULP-NN uses, emulated in C, against a Python
model of the CV32E40P (RI5CY) manual semantics, on the host (gcc) and on rv32 (QEMU)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from rv32_tools import build_rv32, require_rv32, run_qemu

from dory_xdsl.engines import host_build

C_DIR = Path(__file__).resolve().parent / "c"
FLAGS = ("-flax-vector-conversions",)


def s32(x: int) -> int:
    return x - (1 << 32) if x & 0x80000000 else x


def s8(x: int) -> int:
    return x - 256 if x & 0x80 else x


def lanes(w: int) -> list[int]:
    return [(w >> (8 * i)) & 0xFF for i in range(4)]


def word(bytes_: list[int]) -> int:
    return sum((b & 0xFF) << (8 * i) for i, b in enumerate(bytes_))


def model(name: str, args: list[int]) -> int:
    """The manual's semantics of one builtin; 32-bit results as unsigned words."""
    if name == "sdotusp4":  # pv.sdotusp.b: acc + sum unsigned(a[i]) * signed(b[i])
        a, b, acc = args
        return (acc + sum(x * s8(y) for x, y in zip(lanes(a), lanes(b)))) & 0xFFFFFFFF
    if name == "clipu_r":  # p.clipur: signed x clipped to [0, bound]
        x, bound = s32(args[0]), s32(args[1])
        return (0 if x <= 0 else bound if x >= bound else x) & 0xFFFFFFFF
    if name == "clipu":
        x = s32(args[0])
        return 0 if x <= 0 else 255 if x >= 255 else x
    if name == "fl1":  # p.fl1: index of the last set bit, 32 for 0
        return 32 if args[0] == 0 else args[0].bit_length() - 1
    if name == "shuffleb":  # pv.shuffle.b: r[i] = a[sel[i] & 3]
        a, sel = lanes(args[0]), lanes(args[1])
        return word([a[s & 3] for s in sel])
    if name in ("bextract", "bextractu"):  # p.extract(u): size bits at off, sign/zero extended
        x, size, off = args
        field = (x >> off) & ((1 << size) - 1)
        if name == "bextract" and field >> (size - 1):
            field -= 1 << size
        return field & 0xFFFFFFFF
    if name == "pack4":
        return args[0]
    if name == "maxu4":
        return word([max(x, y) for x, y in zip(lanes(args[0]), lanes(args[1]))])
    if name == "avg4":  # pv.avg.b: 8-bit lane sum, arithmetic shift right by 1
        return word([s8((x + y) & 0xFF) >> 1 for x, y in zip(lanes(args[0]), lanes(args[1]))])
    if name in ("maxsi", "minsi"):
        pick = max if name == "maxsi" else min
        return pick(s32(args[0]), s32(args[1])) & 0xFFFFFFFF
    raise AssertionError(name)


def check_lines(stdout: str) -> int:
    lines = stdout.strip().splitlines()
    for line in lines:
        name, *fields = line.split()
        base = [10 if name.startswith("bextract") and i in (1, 2) else 16 for i in range(len(fields))]
        values = [int(f, b) for f, b in zip(fields, base)]
        assert model(name, values[:-1]) == values[-1], line
    return len(lines)


def test_builtins_match_the_manual_on_the_host(tmp_path):
    binary = host_build.compile_host([C_DIR / "xpulp_driver.c"], tmp_path / "xpulp", with_runtime=False,
                                     extra_flags=FLAGS)
    out = subprocess.run([str(binary)], capture_output=True, text=True, env=host_build.run_env(), check=True)
    assert check_lines(out.stdout) == 200 * 12


def test_builtins_match_the_manual_on_rv32(tmp_path):
    require_rv32()
    elf = build_rv32([C_DIR / "xpulp_driver.c"], tmp_path, extra_flags=FLAGS)
    proc = run_qemu(elf)
    assert proc.returncode == 0, proc.stdout[-2000:]
    assert check_lines(proc.stdout) == 200 * 12


@pytest.mark.parametrize("name,args,expected", [
    ("sdotusp4", [0xFFFFFFFF, 0x80808080, 0], (4 * 255 * -128) & 0xFFFFFFFF),
    ("fl1", [0x80000000], 31), ("fl1", [0], 32), ("clipu_r", [0x80000000, 255], 0),
    ("bextract", [0xF0, 4, 4], 0xFFFFFFFF), ("bextractu", [0xF0, 4, 4], 0xF),
    ("avg4", [0x7F, 0x01], 0xC0), ("shuffleb", [0x44332211, 0x00010203], 0x11223344),
])
def test_model_on_hand_checked_values(name, args, expected):
    assert model(name, args) == expected
