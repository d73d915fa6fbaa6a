"""The bad-input corpus: >= 200 malformed, unsupported or too-large inputs for the real entry points.

`build(root)` writes every input file under `root` (one folder per case) and returns the cases:
ONNX files built with onnx.helper (`bad_onnx_models`) run through `dory run`, `dory compile` and
`dory-opt`; golden folders, `.npy`/`.npz` inputs and golden `.npz` files; MLIR text; bad flags.
Each case says which texts its one-line diagnostic must contain (the node, file or flag it is
about). `bad_input_runner` runs them; `test_bad_inputs` checks the outcomes.

    python tests/bad_input_corpus.py DIR     # write the corpus and list the command lines
"""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bad_mlir_inputs  # noqa: E402
import bad_onnx_models as bad  # noqa: E402
from onnx_graphs import make_graph  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
X_SHAPE = (1, 3, 8, 8)  # conv_requant's input
HOST_CASES = ("float64_half", "int32_300", "wrong_shape")  # the host engine builds C: a few cases only


@dataclass(frozen=True)
class Case:
    name: str
    tool: str  # "dory" or "dory-opt"
    argv: tuple[str, ...]
    names: tuple[str, ...]  # texts the single stderr line must contain
    folder: str  # the case's folder: must hold exactly what it held before the run
    keep: str | None = None  # a pre-existing output folder that must be left as it was


class Corpus:
    def __init__(self, root: Path):
        self.root = root
        self.cases: list[Case] = []
        self.shared = root / "shared"
        self.shared.mkdir(parents=True, exist_ok=True)
        self.good = self._save(self.shared / "good.onnx", make_graph.conv_requant())
        self.x = self._npy(self.shared / "x.npy", np.random.default_rng(0).integers(0, 256, X_SHAPE).astype(np.uint8))

    @staticmethod
    def _save(path: Path, model) -> str:
        path.write_bytes(model if isinstance(model, bytes) else model.SerializeToString())
        return str(path)

    @staticmethod
    def _npy(path: Path, array: np.ndarray) -> str:
        np.save(path, array)
        return str(path)

    def folder(self, name: str) -> Path:
        path = self.root / name
        path.mkdir(parents=True, exist_ok=False)
        return path

    def add(self, name: str, tool: str, argv: list[str], names: list[str], folder: Path,
            keep: Path | None = None) -> None:
        self.cases.append(Case(name, tool, tuple(argv), tuple(names), str(folder), str(keep) if keep else None))

    # --- ONNX models through every entry point -------------------------------------------------

    def models(self) -> None:
        for builder in bad.FILE_BUILDERS + bad.MODEL_BUILDERS:
            model, names = builder()
            for entry in ("run", "compile", "opt"):
                self._model_case(builder.__name__, entry, model, names)
        for builder in bad.LOWERING_ONLY:
            model, names = builder()
            for entry in ("run-tiled", "compile"):
                self._model_case(builder.__name__, entry, model, names)
        model, names = bad.trailing_sigmoid()
        self._model_case("trailing_sigmoid", "run", model, names)

    def _model_case(self, name: str, entry: str, model, names: list[str]) -> None:
        folder = self.folder(f"{name}-{entry}")
        path = self._save(folder / f"{name}.onnx", model)
        file_only = isinstance(model, bytes)
        expected = [Path(path).name] if file_only else list(names)
        if entry == "opt":
            self.add(f"{name}-opt", "dory-opt", [path], expected, folder)
        elif entry == "compile":
            self.add(f"{name}-compile", "dory", ["compile", path, "-o", str(folder / "app")], expected, folder)
        else:
            engine = "tiled" if entry == "run-tiled" else "reference"
            x = self.x
            if name == "weights_beyond_l3":
                x = self._npy(folder / "x16.npy", np.zeros((1, 16, 16, 16), np.uint8))
            self.add(f"{name}-{entry}", "dory", ["run", path, "--input", x, "--engine", engine], expected, folder)

    # --- paths that are not what they should be ------------------------------------------------

    def paths(self) -> None:
        for entry in ("run", "compile", "opt"):
            folder = self.folder(f"model_is_directory-{entry}")
            model_dir = folder / "model.onnx"
            model_dir.mkdir()
            folder2 = self.folder(f"model_missing-{entry}")
            missing = str(folder2 / "absent.onnx")
            for path, where, what in ((str(model_dir), folder, "directory"), (missing, folder2, "absent.onnx")):
                label = "model_is_directory" if where is folder else "model_missing"
                if entry == "opt":
                    self.add(f"{label}-opt", "dory-opt", [path], [what], where)
                elif entry == "compile":
                    self.add(f"{label}-compile", "dory", ["compile", path, "-o", str(where / "app")], [what], where)
                else:
                    self.add(f"{label}-run", "dory", ["run", path, "--input", self.x], [what], where)

    # --- inputs: .npy / .npz on every engine and on dory compile ------------------------------

    def inputs(self) -> None:
        rng = np.random.default_rng(1)
        ints = rng.integers(0, 255, X_SHAPE)
        arrays = {
            "float64_half": (ints.astype(np.float64) + 0.5, ["non-integer"]),
            "float32_half": (ints.astype(np.float32) + 0.5, ["non-integer"]),
            "float_nan": (np.full(X_SHAPE, np.nan), ["non-integer"]),
            "int32_300": (np.full(X_SHAPE, 300, np.int32), ["300"]),
            "int16_negative": (np.full(X_SHAPE, -200, np.int16), ["-200"]),
            "complex": (ints.astype(np.complex64), ["complex64"]),
            "strings": (np.full(X_SHAPE, "a"), ["<U1"]),
            "wrong_shape": (ints.reshape(1, 3, 4, 16).astype(np.uint8), ["shape"]),
            "wrong_rank": (ints.reshape(3, 8, 8).astype(np.uint8), ["shape"]),
            "bool": (np.ones(X_SHAPE, bool), ["bool"]),
        }
        for label, (array, names) in arrays.items():
            for entry in ("reference", "tiled", "compile") + (("host",) if label in HOST_CASES else ()):
                folder = self.folder(f"npy_{label}-{entry}")
                path = self._npy(folder / "x.npy", array)
                expected = ["x.npy", *names]
                if entry == "compile":
                    self.add(f"npy_{label}-compile", "dory", ["compile", self.good, "--input", path,
                                                              "-o", str(folder / "app")], expected, folder)
                else:
                    self.add(f"npy_{label}-{entry}", "dory", ["run", self.good, "--input", path, "--engine", entry],
                             expected, folder)
        files = {
            "not_numpy": (b"hello", ["x.npy"]),
            "ff_bytes": (b"\xff" * 100, ["x.npy"]),
            "truncated_npy": (None, ["x.npy"]),
        }
        for label, (data, names) in files.items():
            for entry in ("run", "compile"):
                folder = self.folder(f"npy_{label}-{entry}")
                path = folder / "x.npy"
                if data is None:
                    np.save(path, ints.astype(np.uint8))
                    path.write_bytes(path.read_bytes()[:100])
                else:
                    path.write_bytes(data)
                self._input_case(f"npy_{label}-{entry}", entry, str(path), names, folder)
        for entry in ("run", "compile"):
            folder = self.folder(f"npy_npz_two-{entry}")
            path = folder / "x.npz"
            np.savez(path, a=ints.astype(np.uint8), b=ints.astype(np.uint8))
            self._input_case(f"npy_npz_two-{entry}", entry, str(path), ["x.npz", "2 array"], folder)
            folder = self.folder(f"npy_npz_empty-{entry}")
            path = folder / "x.npz"
            np.savez(path)
            self._input_case(f"npy_npz_empty-{entry}", entry, str(path), ["x.npz"], folder)
            folder = self.folder(f"npy_pickle-{entry}")
            path = folder / "x.npy"
            np.save(path, np.array([{"a": 1}], dtype=object), allow_pickle=True)
            self._input_case(f"npy_pickle-{entry}", entry, str(path), ["x.npy"], folder)
            folder = self.folder(f"npy_missing-{entry}")
            self._input_case(f"npy_missing-{entry}", entry, str(folder / "absent.npy"), ["absent.npy"], folder)
            folder = self.folder(f"npy_directory-{entry}")
            (folder / "x.npy").mkdir()
            self._input_case(f"npy_directory-{entry}", entry, str(folder / "x.npy"), ["x.npy"], folder)

    def _input_case(self, name: str, entry: str, path: str, names: list[str], folder: Path) -> None:
        if entry == "compile":
            self.add(name, "dory", ["compile", self.good, "--input", path, "-o", str(folder / "app")], names, folder)
        else:
            self.add(name, "dory", ["run", self.good, "--input", path], names, folder)

    # --- outputs -------------------------------------------------------------------------------

    def outputs(self) -> None:
        folder = self.folder("output_txt")
        self.add("output_txt", "dory", ["run", self.good, "--input", self.x, "--output", str(folder / "y.txt")],
                 ["y.txt"], folder)
        folder = self.folder("output_npz_for_one")
        self.add("output_npz_for_one", "dory", ["run", self.good, "--input", self.x, "--output",
                                                str(folder / "y.npz")], ["y.npz"], folder)
        folder = self.folder("output_no_folder")
        self.add("output_no_folder", "dory", ["run", self.good, "--input", self.x, "--output",
                                              str(folder / "nope" / "y.npy")], ["y.npy"], folder)
        folder = self.folder("output_is_directory")
        (folder / "y.npy").mkdir()
        self.add("output_is_directory", "dory", ["run", self.good, "--input", self.x, "--output",
                                                 str(folder / "y.npy")], ["y.npy"], folder)
        # dory compile: the report cannot be written -> nothing of the app may be left
        for label, report, names in (("report_in_proc", "/proc/r.json", ["r.json"]),
                                     ("report_is_directory", None, ["r.json"]),
                                     ("report_no_folder", "nope/r.json", ["r.json"])):
            folder = self.folder(f"compile_{label}")
            if report is None:
                (folder / "r.json").mkdir()
                report = str(folder / "r.json")
            elif not report.startswith("/"):
                report = str(folder / report)
            self.add(f"compile_{label}", "dory", ["compile", self.good, "-o", str(folder / "app"), "--report", report],
                     names, folder)
            folder = self.folder(f"compile_{label}_keeps_old")
            old = folder / "app"
            old.mkdir()
            (old / "old.txt").write_text("previous app\n")
            if report.startswith(str(self.root)):
                report = report.replace(f"compile_{label}", f"compile_{label}_keeps_old", 1)
                if label == "report_is_directory":
                    (folder / "r.json").mkdir()
            self.add(f"compile_{label}_keeps_old", "dory", ["compile", self.good, "-o", str(old), "--report", report],
                     names, folder, keep=old)
        folder = self.folder("compile_output_is_file")
        (folder / "app").write_text("a file\n")
        self.add("compile_output_is_file", "dory", ["compile", self.good, "-o", str(folder / "app")], ["app"], folder)
        folder = self.folder("compile_output_in_proc")
        self.add("compile_output_in_proc", "dory", ["compile", self.good, "-o", "/proc/dory_app"], ["/proc/dory_app"],
                 folder)
        folder = self.folder("compile_output_no_parent")
        self.add("compile_output_no_parent", "dory", ["compile", self.good, "-o", str(folder / "a" / "b" / "app")],
                 ["app"], folder)
        folder = self.folder("compile_bad_model_keeps_old")
        old = folder / "app"
        old.mkdir()
        (old / "main.c").write_text("int main(void) { return 0; }\n")
        model = self._save(folder / "bad.onnx", bad.no_outputs()[0])
        self.add("compile_bad_model_keeps_old", "dory", ["compile", model, "-o", str(old)], ["no outputs"], folder,
                 keep=old)

    # --- flags ---------------------------------------------------------------------------------

    def flags(self) -> None:
        x, good = self.x, self.good
        cases = {
            "tolerance_negative": (["run", good, "--input", x, "--tolerance", "-1"], ["--tolerance"]),
            "tolerance_text": (["run", good, "--input", x, "--tolerance", "abc"], ["--tolerance"]),
            "l1_huge_run": (["run", good, "--input", x, "--engine", "tiled", "--l1-bytes", "100000000000"],
                            ["--l1-bytes"]),
            "l1_huge_compile": (["compile", good, "-o", "APP", "--l1-bytes", "100000000000"], ["--l1-bytes"]),
            "l1_zero": (["compile", good, "-o", "APP", "--l1-bytes", "0"], ["--l1-bytes"]),
            "l1_negative": (["compile", good, "-o", "APP", "--l1-bytes", "-5"], ["--l1-bytes"]),
            "l1_text": (["compile", good, "-o", "APP", "--l1-bytes", "lots"], ["--l1-bytes"]),
            "l1_float": (["compile", good, "-o", "APP", "--l1-bytes", "1.5"], ["--l1-bytes"]),
            "l1_physical_plus_one": (["compile", good, "-o", "APP", "--l1-bytes", "65537"], ["--l1-bytes"]),
            "l2_reserved_negative": (["compile", good, "-o", "APP", "--l2-code-reserved", "-1"],
                                     ["--l2-code-reserved"]),
            "l2_reserved_all": (["compile", good, "-o", "APP", "--l2-code-reserved", "512000"],
                                ["--l2-code-reserved"]),
            "l2_reserved_huge": (["run", good, "--input", x, "--engine", "tiled", "--l2-code-reserved", "9999999"],
                                 ["--l2-code-reserved"]),
            "engine_bogus": (["run", good, "--input", x, "--engine", "gpu"], ["--engine"]),
            "objective_bogus": (["compile", good, "-o", "APP", "--objective", "speed"], ["--objective"]),
            "compile_no_output": (["compile", good], ["-o"]),
            "unknown_flag": (["run", good, "--input", x, "--frobnicate"], ["--frobnicate"]),
            "no_command": ([], ["COMMAND"]),
            "unknown_command": (["explode"], ["explode"]),
            "golden_and_input": (["run", good, "--input", x, "--golden", "G"], ["--golden", "--input"]),
            "neither_golden_nor_input": (["run", good], ["--golden", "--input"]),
            "compile_golden_and_input": (["compile", good, "-o", "APP", "--input", x, "--golden", "G"],
                                         ["--golden", "--input"]),
            "gen_width_zero": (["gen-mobilenet", "--width", "0", "-o", "APP"], ["--width"]),
            "gen_resolution_negative": (["gen-mobilenet", "--resolution", "-8", "-o", "APP"], ["--resolution"]),
            "gen_output_is_file": (["gen-mobilenet", "-o", "FILE"], ["FILE"]),
        }
        for label, (argv, names) in cases.items():
            folder = self.folder(f"flag_{label}")
            (folder / "FILE").write_text("not a folder\n")
            argv = [str(folder / a) if a in ("APP", "G", "FILE") else a for a in argv]
            names = [str(folder / n) if n == "FILE" else n for n in names]
            self.add(f"flag_{label}", "dory", argv, names, folder)
        mlir = self.shared / "ok.mlir"
        mlir.write_text(bad_mlir_inputs.OK_MLIR)
        opt_cases = {
            "pass_option_empty": (["-p", "gap8-lower{l1-bytes=}"], ["l1-bytes"]),
            "pass_option_text": (["-p", "qnn-tile{l1-bytes=abc}"], ["l1-bytes"]),
            "pass_option_unknown": (["-p", "qnn-tile{bogus=1}"], ["bogus"]),
            "pass_timeout_zero": (["-p", "gap8-lower{timeout=0}"], ["timeout"]),
            "pass_l1_negative": (["-p", "gap8-lower{l1-bytes=-3}"], ["l1-bytes"]),
            "pass_objective_bogus": (["-p", "qnn-tile{objective=\"fast\"}"], ["objective"]),
            "pass_unknown": (["-p", "no-such-pass"], ["no-such-pass"]),
            "pass_syntax": (["-p", "qnn-tile{l1-bytes=1"], ["qnn-tile"]),
            "target_unknown": (["-t", "verilog"], ["verilog"]),
            "opt_unknown_flag": (["--frobnicate"], ["--frobnicate"]),
        }
        for label, (argv, names) in opt_cases.items():
            folder = self.folder(f"opt_{label}")
            self.add(f"opt_{label}", "dory-opt", [str(mlir), *argv], names, folder)
        folder = self.folder("opt_missing_input")
        self.add("opt_missing_input", "dory-opt", [str(folder / "absent.mlir")], ["absent.mlir"], folder)
        folder = self.folder("opt_unknown_extension")
        (folder / "model.xyz").write_text("hello\n")
        self.add("opt_unknown_extension", "dory-opt", [str(folder / "model.xyz")], ["xyz"], folder)
        folder = self.folder("opt_output_no_folder")
        self.add("opt_output_no_folder", "dory-opt", [str(mlir), "-o", str(folder / "nope" / "out.mlir")],
                 ["out.mlir"], folder)

    # --- golden folders and golden .npz --------------------------------------------------------

    def golden(self) -> None:
        good_input = "# input (shape [8, 8, 3]),\n" + "".join(f"{v}.000,\n" for v in range(192))
        good_layer = "# conv (shape [8, 8, 4]),\n" + "".join("1.000,\n" for _ in range(256))
        variants = {
            "missing_folder": None,
            "no_input_txt": {"out_layer0.txt": good_layer},
            "no_layers": {"input.txt": good_input},
            "input_ff_bytes": {"input.txt": b"\xff\xfe" * 40, "out_layer0.txt": good_layer},
            "input_no_header": {"input.txt": "1,\n2,\n", "out_layer0.txt": good_layer},
            "input_half": {"input.txt": good_input.replace("5.000", "5.500"), "out_layer0.txt": good_layer},
            "input_words": {"input.txt": good_input.replace("7.000", "seven"), "out_layer0.txt": good_layer},
            "input_too_short": {"input.txt": "# input (shape [8, 8, 3]),\n1,\n2,\n", "out_layer0.txt": good_layer},
            "input_300": {"input.txt": good_input.replace("9.000", "300.000"), "out_layer0.txt": good_layer},
            "input_negative": {"input.txt": good_input.replace("9.000", "-9.000"), "out_layer0.txt": good_layer},
            "input_empty": {"input.txt": "", "out_layer0.txt": good_layer},
            "layer_ff_bytes": {"input.txt": good_input, "out_layer0.txt": b"\xff" * 30},
            "layer_half": {"input.txt": good_input, "out_layer0.txt": good_layer.replace("1.000", "1.250", 1)},
            "layer_header_only": {"input.txt": good_input, "out_layer0.txt": "# conv (shape [8, 8, 4]),\n"},
            "golden_is_file": "FILE",
        }
        expected = {
            "missing_folder": ["gold"], "no_input_txt": ["input.txt"], "no_layers": ["out_layer"],
            "input_ff_bytes": ["input.txt"], "input_no_header": ["input.txt"], "input_half": ["input.txt", "5.5"],
            "input_words": ["input.txt"], "input_too_short": ["input.txt"], "input_300": ["input.txt", "300"],
            "input_negative": ["input.txt", "-9"], "input_empty": ["input.txt"], "layer_ff_bytes": ["out_layer0.txt"],
            "layer_half": ["out_layer0.txt", "1.25"], "layer_header_only": ["out_layer0.txt"], "golden_is_file": ["gold"],
        }
        for label, files in variants.items():
            for entry in ("run", "tiled", "compile"):
                folder = self.folder(f"golden_{label}-{entry}")
                gold = folder / "gold"
                if files == "FILE":
                    gold.write_text("not a folder\n")
                elif files is not None:
                    gold.mkdir()
                    for fname, text in files.items():
                        target = gold / fname
                        target.write_bytes(text) if isinstance(text, bytes) else target.write_text(text)
                if entry == "compile":
                    argv = ["compile", self.good, "--golden", str(gold), "-o", str(folder / "app")]
                else:
                    argv = ["run", self.good, "--golden", str(gold), "--engine",
                            "reference" if entry == "run" else "tiled"]
                self.add(f"golden_{label}-{entry}", "dory", argv, expected[label], folder)
        self._golden_npz()

    def _golden_npz(self) -> None:
        rng = np.random.default_rng(2)
        x = rng.integers(0, 256, X_SHAPE)
        y = rng.integers(0, 256, (1, 4, 8, 8)).astype(np.uint8)
        variants = {
            "npz_float_half": ({"input__c0": x.astype(np.float64) + 0.5, "output_tflm__c0": y}, ["input__c0"]),
            "npz_float_int_valued_large": ({"input__c0": x.astype(np.float64) * 1000, "output_tflm__c0": y},
                                           ["input__c0"]),
            "npz_int32_out_of_range": ({"input__c0": x.astype(np.int32) + 300, "output_tflm__c0": y}, ["input__c0"]),
            "npz_no_cases": ({"something": y}, ["input__"]),
            "npz_no_output": ({"input__c0": x.astype(np.uint8)}, ["output_tflm__c0"]),
            "npz_wrong_size": ({"input__c0": x[:, :1].astype(np.uint8), "output_tflm__c0": y}, ["input__c0"]),
            "npz_output_float": ({"input__c0": x.astype(np.uint8), "output_tflm__c0": y.astype(np.float64) + 0.25},
                                 ["output_tflm__c0"]),
            "npz_strings": ({"input__c0": np.full(X_SHAPE, "a"), "output_tflm__c0": y}, ["input__c0"]),
        }
        for label, (arrays, names) in variants.items():
            for engine in ("reference", "tiled"):
                folder = self.folder(f"{label}-{engine}")
                path = folder / "gold.npz"
                np.savez(path, **arrays)
                self.add(f"{label}-{engine}", "dory", ["run", self.good, "--golden", str(path), "--engine", engine],
                         ["gold.npz", *names], folder)
        for label, data in (("npz_garbage", b"PK\x03\x04garbage"), ("npz_ff", b"\xff" * 50)):
            folder = self.folder(label)
            (folder / "gold.npz").write_bytes(data)
            self.add(label, "dory", ["run", self.good, "--golden", str(folder / "gold.npz")], ["gold.npz"], folder)
        folder = self.folder("npz_tolerance_negative")
        path = folder / "gold.npz"
        np.savez(path, input__c0=x.astype(np.uint8), output_tflm__c0=y)
        self.add("npz_tolerance_negative", "dory", ["run", self.good, "--golden", str(path), "--tolerance", "-1"],
                 ["--tolerance"], folder)

    # --- MLIR text -----------------------------------------------------------------------------

    def mlir(self) -> None:
        for label, (text, args, names) in bad_mlir_inputs.cases().items():
            folder = self.folder(f"mlir_{label}")
            path = folder / "in.mlir"
            path.write_bytes(text) if isinstance(text, bytes) else path.write_text(text)
            self.add(f"mlir_{label}", "dory-opt", [str(path), *args], [n.replace("FILE", "in.mlir") for n in names],
                     folder)


def build(root: Path) -> list[Case]:
    if root.exists():
        shutil.rmtree(root)
    corpus = Corpus(root)
    corpus.models()
    corpus.paths()
    corpus.inputs()
    corpus.outputs()
    corpus.flags()
    corpus.golden()
    corpus.mlir()
    return corpus.cases


if __name__ == "__main__":
    cases = build(Path(sys.argv[1]))
    for case in cases:
        print(case.name, case.tool, " ".join(case.argv))
    print(f"{len(cases)} cases", file=sys.stderr)
