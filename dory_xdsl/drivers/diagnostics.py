"""Turn exceptions into one-line diagnostics and exit codes for the command-line tools."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

from xdsl.utils.exceptions import DiagnosticException, ParseError, PassFailedException, VerifyException


def first_line(error: BaseException) -> str:
    text = str(error).strip()
    lines = [line for line in text.splitlines() if line.strip()]
    if isinstance(error, ParseError):
        # xDSL parse errors print the source line and a caret under it; keep them on one line.
        return " | ".join(line.strip() for line in lines[:1] + lines[-1:]) if lines else "parse error"
    return lines[0] if lines else type(error).__name__


def run_reporting_errors(tool: str, body: Callable[[], object]) -> int:
    """Run `body`; report user errors as `tool: error: ...` on stderr with exit code 1.

    `DORY_TRACEBACK=1` re-raises instead, for debugging the compiler itself.
    """
    try:
        result = body()
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader went away (`dory run ... | head`): not an error of ours to report.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    except (DiagnosticException, VerifyException, ParseError, PassFailedException, ValueError,
            OSError) as error:
        if os.environ.get("DORY_TRACEBACK"):
            raise
        print(f"{tool}: error: {first_line(error)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return result if isinstance(result, int) else 0
