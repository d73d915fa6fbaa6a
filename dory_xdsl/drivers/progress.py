"""A progress line on stderr while `dory compile` tiles the layers.

Shown only when the stream is a terminal and the compile has been running for more than
`delay` seconds, so a fast compile prints nothing besides its one-line summary:
`dory: tiling layer 12/29 (conv2d_5)`, rewritten in place (carriage return, erase line) and
erased when done (`finish`).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

ERASE = "\r\033[K"


class ProgressLine:
    def __init__(self, stream: TextIO | None = None, delay: float = 1.0,
                 clock: Callable[[], float] = time.monotonic, start: float | None = None):
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = bool(getattr(self.stream, "isatty", lambda: False)())
        self.delay, self.clock = delay, clock
        self.start = clock() if start is None else start
        self.shown = False

    def layer(self, done: int, total: int, name: str) -> None:
        """About to tile layer `done` of `total`."""
        if not self.enabled or self.clock() - self.start <= self.delay:
            return
        self.stream.write(f"{ERASE}dory: tiling layer {done}/{total} ({name})")
        self.stream.flush()
        self.shown = True

    def finish(self) -> None:
        if self.shown:
            self.stream.write(ERASE)
            self.stream.flush()
            self.shown = False
