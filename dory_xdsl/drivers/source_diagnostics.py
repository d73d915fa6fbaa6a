"""Located diagnostics for `dory-opt`: `file:line:col` of the op a verifier error is about, and the
`--verify-diagnostics` check of `// expected-error {{...}}` annotations (as mlir-opt does).

xDSL 0.74's parser does not record where an op was written, and its verifier reports a failure
as the printed module with a caret. `LocatingParser` records the source position of every op it
parses; `locate` finds the op whose own verification fails (the innermost, in verification
order) and gives `file:line:col: <op>: <message>`. A verifier error raised while an op is still
being parsed (an attribute's own check, e.g. `#qnn.requant<shift = 64 ...>`) is located at that op.

Annotations (`check_annotations`): `// expected-error {{text}}` / `expected-warning` expect a
diagnostic of that kind on the annotation's own line whose message contains `text`;
`@+N` / `@-N` / `@above` / `@below` move the expected line. Every expectation must be met and
every produced diagnostic expected, else the problems are returned (one line each).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from xdsl.ir import Operation
from xdsl.parser import Parser
from xdsl.utils.exceptions import DiagnosticException, ParseError


@dataclass(frozen=True)
class Located:
    """One diagnostic at a source position (line and column 1-based; line counts the whole file)."""

    file: str
    line: int
    column: int
    message: str
    kind: str = "error"

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.message}"


class LocatedDiagnostic(DiagnosticException):
    """A diagnostic that knows its source position."""

    def __init__(self, located: Located):
        super().__init__(str(located))
        self.located = located


_OP_NAME = re.compile(r'(?:[%\w#:, ]*=\s*)?"?([A-Za-z_][\w$]*\.[\w$.]+)')


class LocatingParser(Parser):
    """A `Parser` that remembers where each op starts (`positions`: id(op) -> (line, col)) and
    turns verifier errors raised mid-parse into `LocatedDiagnostic`s at the op being parsed."""

    def __init__(self, ctx, text: str | bytes, name: str, line_offset: int = 0):
        super().__init__(ctx, text, name)
        self.file = name
        self.line_offset = line_offset
        self.positions: dict[int, tuple[int, int]] = {}
        self.ops: list[Operation] = []  # keeps ids stable while the module is alive

    def parse_optional_operation(self) -> Operation | None:
        span = self._current_token.span
        location = span.get_location()
        position = (location.line + self.line_offset, location.col)
        try:
            op = super().parse_optional_operation()
        except (ParseError, LocatedDiagnostic):
            raise
        except DiagnosticException as error:
            rest = span.input.content[span.start:span.start + 400]
            rest = rest.decode(errors="replace") if isinstance(rest, bytes) else rest
            name = _OP_NAME.match(rest)
            prefix = f"{name.group(1)}: " if name else ""
            raise LocatedDiagnostic(Located(self.file, *position, prefix + first_line(str(error)))) from None
        if op is not None:
            self.positions[id(op)] = position
            self.ops.append(op)
        return op


def first_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[0] if lines else "error"


def parse_error_located(error: ParseError, line_offset: int = 0) -> Located:
    """An xDSL `ParseError` as one located line (its own message, without the caret picture)."""
    location = error.span.get_location()
    return Located(location.file or "<input>", location.line + line_offset, location.col, error.msg)


def verify_failure(root: Operation) -> tuple[Operation, str] | None:
    """The op whose own verification fails first (nested ops before their parent), and why."""
    for region in root.regions:
        for block in region.blocks:
            for op in block.ops:
                found = verify_failure(op)
                if found is not None:
                    return found
    try:
        root.verify(verify_nested_ops=False)
    except DiagnosticException as error:
        message = str(error)
        marker = "Operation does not verify: "
        for line in message.splitlines():
            if marker in line:
                return root, line.split(marker, 1)[1].strip()
        return root, first_line(message)
    return None


def locate(root: Operation, parser: LocatingParser | None, fallback: str, message: str | None = None) -> Located:
    """Where verification of `root` fails: the failing op's position and `<op>: <message>`."""
    found = verify_failure(root)
    if found is None:
        return Located(fallback, 0, 0, message or "verification failed")
    op, why = found
    if not why.startswith(op.name):
        why = f"{op.name}: {why}"
    line, column = parser.positions.get(id(op), (0, 0)) if parser else (0, 0)
    return Located(parser.file if parser else fallback, line, column, why)


@dataclass(frozen=True)
class Expectation:
    kind: str
    line: int  # the source line the diagnostic must be reported on
    text: str
    written_at: int  # the line of the annotation itself


_ANNOTATION = re.compile(r"//\s*expected-(error|warning|note|remark)\s*(@[+-]\d+|@above|@below)?\s*\{\{(.*?)\}\}")


def expectations(text: str, line_offset: int = 0) -> list[Expectation]:
    found = []
    for index, line in enumerate(text.splitlines()):
        number = index + 1 + line_offset
        for match in _ANNOTATION.finditer(line):
            kind, offset, expected = match.groups()
            target = number
            if offset == "@above":
                target = number - 1
            elif offset == "@below":
                target = number + 1
            elif offset:
                target = number + int(offset[1:])
            found.append(Expectation(kind, target, expected, number))
    return found


def check_annotations(file: str, expected: list[Expectation], produced: list[Located]) -> list[str]:
    """Problems (one line each) between what the annotations expect and what was reported."""
    problems = []
    unmatched = list(produced)
    for want in expected:
        match = next((d for d in unmatched if d.kind == want.kind and d.line == want.line and want.text in d.message),
                     None)
        if match is None:
            problems.append(f"{file}:{want.written_at}: expected {want.kind} on line {want.line} was not produced: "
                            f"{want.text!r}")
        else:
            unmatched.remove(match)
    for got in unmatched:
        problems.append(f"{got.file}:{got.line}:{got.column}: unexpected {got.kind}: {got.message}")
    return problems
