"""DORY golden data: read `input.txt` / `out_layer<N>.txt` and check them against an evaluation.

File format (as written by DORY's generators): a header line `# <name> (shape [...])` (the `#`
is missing in some files, the shape is sometimes stale, a trailing `,` or `,\\` may follow),
then one integer per line written like `12,`, `12.000,` or `12,\\`.

Layers: a DORY layer of the IR is a *layer op* of `func.func @main` (`qnn.conv2d`,
`qnn.linear`, `qnn.add`, `qnn.maxpool`, `qnn.avgpool`; a pooling is its own layer, never fused
with the conv before it). Its output is the op's result, followed through the chain of
`qnn.requant` ops that consume it alone (the importer's requantization and ReLU clips, which
the fusion pass folds into the op), so the same layers exist before and after
`qnn-fuse-requant` and `qnn-to-nhwc`. `dory_layers` lists them in program order; which of them
is DORY's `out_layer<N>` follows the ONNX file's node order (`dory_xdsl.golden.numbering`).

The golden tensor of a 4-D activation is compared in HWC order (channel fastest, what DORY
writes for most networks) and in CHW order; the report says which matched. The shape in the
header is not trusted: only the element count must agree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from xdsl.dialects.builtin import ModuleOp


from dory_xdsl.errors import DoryError
from dory_xdsl.analysis.interpreter import NCHW_TO_NHWC, NHWC_TO_NCHW, main_function
from dory_xdsl.analysis.range_overflow import RangeOverflow

_HEADER = re.compile(r"^\s*#?\s*(?P<name>.*?)\s*\(shape\s*\[(?P<shape>[^\]]*)\]\s*\)")
_LAYER_FILE = re.compile(r"^out_layer(\d+)\.txt$")
_CASE_INPUT = re.compile(r"^input_(\d+)\.txt$")
_CASE_LAYER_FILE = re.compile(r"^out_(\d+)_layer(\d+)\.txt$")


@dataclass
class GoldenTensor:
    """One golden file: the name and (possibly stale) shape of its header, and its values."""

    path: Path
    name: str
    header_shape: tuple[int, ...] | None
    values: np.ndarray  # int64, flat, in file order


@dataclass
class GoldenSet:
    """One golden case: the network input and the layer outputs by DORY layer number."""

    input: GoldenTensor | None
    layers: dict[int, GoldenTensor]
    case: str = ""  # "" for input.txt / out_layer<N>.txt, "<i>" for input_<i>.txt / out_<i>_layer<N>.txt


def read_golden_file(path: str | Path) -> GoldenTensor:
    """Parse one DORY golden file; raises DoryError on malformed content."""
    path = Path(path)
    try:
        text = path.read_text()
    except UnicodeDecodeError as error:
        raise DoryError(f"{path}: not a text file (byte {error.start} is not UTF-8)") from None
    except OSError as error:
        raise DoryError(f"{path}: cannot read ({error.strerror})") from None
    lines = text.splitlines()
    if not lines:
        raise DoryError(f"{path}: empty golden file")
    match = _HEADER.match(lines[0])
    if match is None:
        raise DoryError(f"{path}:1: expected a header '# <name> (shape [...])', got {lines[0][:60]!r}")
    shape_text = match.group("shape").strip()
    try:
        shape = tuple(int(s) for s in shape_text.split(",") if s.strip()) if shape_text else None
    except ValueError:
        shape = None
    body = "\n".join(lines[1:]).replace("\\", " ").replace(",", " ")
    try:
        floats = np.array(body.split(), dtype=np.float64)
    except ValueError as error:
        raise DoryError(f"{path}: not a list of numbers ({error})") from None
    if floats.size == 0:
        raise DoryError(f"{path}: no values after the header")
    values = floats.astype(np.int64)
    if not np.array_equal(values, floats):
        bad = int(np.flatnonzero(values != floats)[0])
        raise DoryError(f"{path}:{bad + 2}: value {floats[bad]} is not an integer")
    return GoldenTensor(path, match.group("name"), shape, values)


def read_golden_dir(folder: str | Path) -> GoldenSet:
    """The first golden case of a folder (see `read_golden_cases`)."""
    return read_golden_cases(folder)[0]


def read_golden_cases(folder: str | Path) -> list[GoldenSet]:
    """Every golden case of a folder: `input.txt` (optional) with `out_layer<N>.txt`, then each
    `input_<i>.txt` with its `out_<i>_layer<N>.txt` (by case number)."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise DoryError(f"{folder}: is a file, not a golden folder")
    if not folder.is_dir():
        raise DoryError(f"{folder}: golden folder does not exist")
    layers: dict[str, dict[int, GoldenTensor]] = {}
    inputs: dict[str, Path] = {}
    for path in folder.iterdir():
        if found := _LAYER_FILE.match(path.name):
            layers.setdefault("", {})[int(found.group(1))] = read_golden_file(path)
        elif found := _CASE_LAYER_FILE.match(path.name):
            layers.setdefault(str(int(found.group(1))), {})[int(found.group(2))] = read_golden_file(path)
        elif found := _CASE_INPUT.match(path.name):
            inputs[str(int(found.group(1)))] = path
    if not layers:
        raise DoryError(f"{folder}: no out_layer<N>.txt or out_<i>_layer<N>.txt golden files")
    for case in inputs:
        if case not in layers:
            raise DoryError(f"{inputs[case]}: no out_{case}_layer<N>.txt golden files for this input")
    if (folder / "input.txt").exists():
        inputs[""] = folder / "input.txt"
    cases = []
    for case in sorted(layers, key=lambda c: -1 if c == "" else int(c)):
        if case and case not in inputs:
            raise DoryError(f"{folder}: out_{case}_layer<N>.txt golden files without input_{case}.txt")
        golden_input = read_golden_file(inputs[case]) if case in inputs else None
        cases.append(GoldenSet(golden_input, dict(sorted(layers[case].items())), case))
    return cases


def input_order(golden: GoldenTensor, shape: tuple[int, ...]) -> str:
    """Order of the values in `input.txt` for a model input of NCHW `shape`: "HWC" (channel
    fastest, as DORY writes activations; eegnet's 100-channel input proves it) unless the
    header names the CHW shape and not the HWC one. Equal when C = 1 or H*W = 1."""
    if len(shape) == 3:  # 1-D: N x C x L is N x C x 1 x L
        shape = (shape[0], shape[1], 1, shape[2])
    if len(shape) != 4:
        return "flat"
    n, c, h, w = shape

    def squeeze(dims) -> tuple[int, ...]:
        return tuple(d for d in dims if d != 1)

    header = squeeze(golden.header_shape or ())
    if header == squeeze((c, h, w)) and header != squeeze((h, w, c)):
        return "CHW"
    return "HWC"


def golden_input_array(golden: GoldenTensor, shape: tuple[int, ...]) -> tuple[np.ndarray, str]:
    """The golden input as an NCHW array of the model's input `shape`, and the file order used."""
    count = int(np.prod(shape))
    if golden.values.size != count:
        raise DoryError(
            f"{golden.path}: {golden.values.size} values, the model input {list(shape)} has {count}"
        )
    order = input_order(golden, shape)
    if order == "HWC":
        n, c, h, w = shape if len(shape) == 4 else (shape[0], shape[1], 1, shape[2])
        nchw = golden.values.reshape(n, h, w, c).transpose(NHWC_TO_NCHW)
        return np.ascontiguousarray(nchw).reshape(shape), order
    return golden.values.reshape(shape), order


def layer_file_stem(case: str, index: int) -> str:
    """`out_layer<N>` or, for case i, `out_<i>_layer<N>`."""
    return f"out_{case}_layer{index}" if case else f"out_layer{index}"


@dataclass
class Comparison:
    """Outcome of comparing one golden tensor with a computed layer output."""

    index: int
    golden: GoldenTensor
    shape: tuple[int, ...] | None  # computed shape, None when no layer N exists
    order: str | None  # "HWC", "CHW", "HWC=CHW" (both orders are the same), "flat"; None: no match
    differing: int
    max_diff: int
    note: str = ""
    overflow: str = ""  # set when the golden values exceed the range the deployed tensor saturates to
    case: str = ""  # the golden case (`GoldenSet.case`)

    @property
    def ok(self) -> bool:
        return self.order is not None and not self.overflow

    def line(self) -> str:
        shape = "x".join(map(str, self.shape)) if self.shape else "?"
        head = f"{layer_file_stem(self.case, self.index)} ({self.golden.name}) {shape}"
        if self.overflow:
            return f"{head} {self.order}: RANGE OVERFLOW ({self.overflow})"
        if self.ok:
            return f"{head} {self.order}: OK"
        detail = self.note or f"{self.differing} differing elements, max |diff| {self.max_diff}"
        return f"{head}: MISMATCH ({detail})"


def orders(array: np.ndarray) -> dict[str, np.ndarray]:
    """Flat candidate orders of a computed tensor (NCHW when 4-D): HWC and CHW for activations."""
    if array.ndim != 4:
        return {"flat": array.reshape(-1)}
    return {"HWC": array.transpose(NCHW_TO_NHWC).reshape(-1), "CHW": array.reshape(-1)}


def compare(index: int, golden: GoldenTensor, array: np.ndarray,
            overflow: RangeOverflow | None = None) -> Comparison:
    """Compare golden values with `array` (NCHW when 4-D) in each candidate order. With the
    `overflow` of the layer (it saturates a wider ONNX range): a range overflow when the golden
    values exceed the saturation range and match once saturated."""
    shape = tuple(array.shape)
    if array.size != golden.values.size:
        return Comparison(index, golden, shape, None, golden.values.size, 0,
                          f"{golden.values.size} golden values, layer output has {array.size}")
    expected = golden.values
    if overflow is not None:
        expected = np.clip(golden.values, overflow.sat_lo, overflow.sat_hi)
    results = {}
    for name, flat in orders(array).items():
        diff = np.abs(flat.astype(np.int64) - expected)
        results[name] = (int(np.count_nonzero(diff)), int(diff.max(initial=0)))
    matched = [name for name, (count, _) in results.items() if count == 0]
    outside = int(np.count_nonzero(expected != golden.values))
    if matched and outside:
        vlo, vhi = int(golden.values.min()), int(golden.values.max())
        return Comparison(index, golden, shape, "=".join(matched), outside, int(np.abs(expected - golden.values).max()),
                          overflow=f"{outside} golden values outside [{overflow.sat_lo}, {overflow.sat_hi}], "
                                   f"in [{vlo}, {vhi}]: {overflow.node} has no Clip and the deployed 8-bit tensor "
                                   f"saturates them; all other values match")
    if matched:
        return Comparison(index, golden, shape, "=".join(matched), 0, 0)
    best = min(results, key=lambda name: results[name][0])
    count, worst = results[best]
    return Comparison(index, golden, shape, None, count, worst,
                      f"{count} differing elements in {best} order, max |diff| {worst}")


def check_golden(layers: list[np.ndarray | None], golden: GoldenSet,
                 overflows: list[tuple[RangeOverflow | None, set[int]] | None] | None = None) -> list[Comparison]:
    """One comparison per golden layer file; `layers[N]` is the output of DORY layer N (4-D in
    NCHW), None when the model has no such layer. `overflows[N]`: the overflow DORY layer N
    records and the DORY numbers of the overflowing layers it reads (`range_overflow`)."""
    results = []
    for index, tensor in golden.layers.items():
        array = layers[index] if index < len(layers) else None
        if array is None:
            results.append(Comparison(index, tensor, None, None, tensor.values.size, 0,
                                      f"the model has no DORY layer {index} ({len(layers)} layers)",
                                      case=golden.case))
            continue
        entry = overflows[index] if overflows and index < len(overflows) else None
        own, sources = entry or (None, set())
        result = compare(index, tensor, array, own)
        if not result.ok and not result.overflow and sources:
            where = ", ".join(layer_file_stem(golden.case, i) for i in sorted(sources))
            detail = result.note or f"{result.differing} differing elements, max |diff| {result.max_diff}"
            result.note = f"{detail}; downstream of the range overflow at {where}"
        result.case = golden.case
        results.append(result)
    return results


def summary_line(results: list[Comparison], cases: int = 1) -> str:
    line = f"golden: {sum(r.ok for r in results)}/{len(results)} tensors bit-exact"
    line += f" ({cases} cases)" if cases > 1 else ""
    overflowing = sum(bool(r.overflow) for r in results)
    return line + (f", {overflowing} range overflow{'s' * (overflowing > 1)}" if overflowing else "")


def golden_inputs(module: ModuleOp, golden_dir: str | Path) -> list[np.ndarray]:
    """The golden `input.txt` as the NCHW input array of an imported (qnn) module."""
    golden = read_golden_dir(golden_dir)
    if golden.input is None:
        raise DoryError(f"{golden_dir}: no input.txt")
    shapes = [tuple(a.type.get_shape()) for a in main_function(module).body.block.args]  # type: ignore[union-attr]
    if len(shapes) != 1:
        raise DoryError(f"the model takes {len(shapes)} inputs; input.txt holds one")
    return [golden_input_array(golden.input, shapes[0])[0]]


def golden_layer_values(golden_dir: str | Path) -> dict[int, np.ndarray]:
    """DORY layer number -> the golden output values of that layer (flat, in file order)."""
    return {number: tensor.values for number, tensor in read_golden_dir(golden_dir).layers.items()}
