"""The progress line of `dory compile`: only on a terminal, only after the delay, erased at the end."""

from __future__ import annotations

import io

from dory_xdsl.drivers.progress import ERASE, ProgressLine


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_shown_on_a_terminal_after_the_delay_and_erased():
    now = [0.0]
    stream = Terminal()
    line = ProgressLine(stream, delay=1.0, clock=lambda: now[0])
    line.layer(1, 3, "conv0")
    assert stream.getvalue() == ""  # within the first second: nothing
    now[0] = 1.5
    line.layer(2, 3, "dw1")
    line.layer(3, 3, "fc")
    line.finish()
    assert stream.getvalue() == (f"{ERASE}dory: tiling layer 2/3 (dw1)" f"{ERASE}dory: tiling layer 3/3 (fc)" + ERASE)


def test_never_shown_when_not_a_terminal_or_fast():
    now = [5.0]
    stream = io.StringIO()
    line = ProgressLine(stream, delay=1.0, clock=lambda: now[0], start=0.0)
    line.layer(1, 1, "conv0")
    line.finish()
    assert stream.getvalue() == ""
    fast = Terminal()
    line = ProgressLine(fast, delay=1.0, clock=lambda: 0.5, start=0.0)
    line.layer(1, 1, "conv0")
    line.finish()
    assert fast.getvalue() == ""
