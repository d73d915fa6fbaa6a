"""One error type for user-facing diagnostics.

Anything that is the user's input's fault (malformed ONNX, unsupported op, a layer that does not
fit memory) raises `DoryError` with a one-line message naming the node or op. The drivers print
it as `<tool>: error: <message>` and exit non-zero, never with a traceback.
"""

from __future__ import annotations

from xdsl.utils.exceptions import DiagnosticException


class DoryError(DiagnosticException):
    """A diagnostic for the user: one line, naming the node/op and what is wrong."""
