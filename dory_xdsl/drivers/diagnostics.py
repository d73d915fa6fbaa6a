"""One error path for the command-line tools: every refusal is one line on stderr.

`run_reporting_errors(tool, body)` runs a command and turns what it raises into
`<tool>: error: <where>: <what>` with exit code 1:
- diagnostics of ours and xDSL's (`DoryError`, verifier, parse and pass errors), file-system
  errors (`OSError`, with the file), and `ValueError`/`TypeError` raised inside xDSL itself (its
  option and pipeline checks) are the user's input: their first line is the message;
- anything else is a bug in dory-xdsl (or a library misused by it): one line naming the exception,
  "please report", and the traceback only with `--debug` (or `DORY_TRACEBACK=1`).
`one_line_argparse_errors(tool)` makes argparse's usage-plus-error a single line too.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import traceback
from collections.abc import Callable, Iterator

from xdsl.utils.exceptions import ArgSpecParseError, DiagnosticException, ParseError, PassFailedException

USER_ERRORS = (DiagnosticException, ParseError, PassFailedException, ArgSpecParseError)


DYNAMIC = str(-(2**63))  # xDSL's dynamic-dimension value: shown as MLIR's `?`


def first_line(error: BaseException) -> str:
    return _first_line(error).replace(DYNAMIC, "?")


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    lines = [line for line in text.splitlines() if line.strip()]
    if isinstance(error, ParseError):
        # xDSL parse errors print the source line and a caret under it; keep them on one line.
        location = error.span.get_location()
        return f"{location}: {error.msg}"
    if isinstance(error, OSError) and error.filename is not None:
        return f"{error.filename}: {error.strerror or lines[0] if lines else type(error).__name__}"
    return lines[0] if lines else type(error).__name__


def _raised_in_xdsl(error: BaseException) -> bool:
    """Whether the innermost frame of `error` is xDSL's code (its own checks of user input)."""
    tb = error.__traceback__
    last = None
    while tb is not None:
        last = tb
        tb = tb.tb_next
    return last is not None and f"{os.sep}xdsl{os.sep}" in last.tb_frame.f_code.co_filename


def is_user_error(error: BaseException) -> bool:
    if isinstance(error, USER_ERRORS + (OSError,)):
        return True
    return isinstance(error, (ValueError, TypeError)) and _raised_in_xdsl(error)


def run_reporting_errors(tool: str, body: Callable[[], object], debug: bool = False) -> int:
    """Run `body`; report user errors as `tool: error: ...` on stderr with exit code 1."""
    debug = debug or bool(os.environ.get("DORY_TRACEBACK"))
    try:
        result = body()
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader went away (`dory run ... | head`): not an error of ours to report.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    except KeyboardInterrupt:
        return 130
    except SystemExit:
        raise
    except BaseException as error:  # noqa: BLE001 - the one place every error ends up
        if debug:
            traceback.print_exc()
        if is_user_error(error):
            print(f"{tool}: error: {first_line(error)}", file=sys.stderr)
        else:
            where = _innermost_frame(error)
            print(f"{tool}: error: internal error: {type(error).__name__}: {first_line(error)} ({where}); "
                  f"please report{'' if debug else ' (--debug shows the traceback)'}", file=sys.stderr)
        return 1
    return result if isinstance(result, int) else 0


def _innermost_frame(error: BaseException) -> str:
    frames = traceback.extract_tb(error.__traceback__)
    if not frames:
        return "unknown place"
    frame = frames[-1]
    return f"{os.path.basename(frame.filename)}:{frame.lineno}"


@contextlib.contextmanager
def one_line_argparse_errors(tool: str) -> Iterator[None]:
    """argparse prints the usage and then `prog: error: ...` on exit 2: keep only the error line."""
    captured = io.StringIO()
    try:
        with contextlib.redirect_stderr(captured):
            yield
    except SystemExit as exit_:
        text = captured.getvalue()
        if exit_.code not in (0, None):
            lines = [line for line in text.splitlines() if line.strip()]
            message = next((line for line in reversed(lines) if ": error: " in line), lines[-1] if lines else "")
            message = message.split(": error: ", 1)[1] if ": error: " in message else message
            print(f"{tool}: error: {message or 'bad command line'}", file=sys.stderr)
        else:
            sys.stderr.write(text)
        raise
    sys.stderr.write(captured.getvalue())
