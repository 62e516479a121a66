"""Progress of an indexing run: a bar on a terminal, plain periodic lines anywhere else.

Both are ``progress(done, total)`` callbacks for ``Indexer.index_paths``. On a terminal, tqdm draws
a bar with articles/s and the time left; in a log or a pipe, a line such as
``indexed 1200/5000 articles, 85.3 articles/s, ETA 45 s`` is printed for the first batch, then at
most every ``interval`` seconds, and at the end.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any, TextIO


def format_seconds(seconds: float) -> str:
    """``45 s``, ``3 min 05 s``, ``2 h 07 min``."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, secs = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


class PlainProgress:
    """Prints ``indexed DONE/TOTAL articles, RATE articles/s, ETA T`` lines, at most every ``interval`` s."""

    def __init__(self, stream: TextIO, interval: float = 5.0, clock: Any = time.monotonic) -> None:
        self.stream = stream
        self.interval = interval
        self.clock = clock
        self.started = clock()
        self._last_print: float | None = None
        self._last_done = 0

    def __call__(self, done: int, total: int) -> None:
        now = self.clock()
        if done <= 0 or done == self._last_done:
            return
        self._last_done = done
        due = self._last_print is None or now - self._last_print >= self.interval or done >= total
        if not due:
            return
        self._last_print = now
        elapsed = max(now - self.started, 1e-9)
        rate = done / elapsed
        line = f"indexed {done}/{total} articles, {rate:.1f} articles/s"
        if done < total:
            line += f", ETA {format_seconds((total - done) / rate)}"
        else:
            line += f", {format_seconds(elapsed)} in all"
        print(line, file=self.stream, flush=True)

    def close(self) -> None:
        pass


class BarProgress:
    """A tqdm bar (articles, articles/s, ETA), created on the first call, when the total is known."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self._bar: Any = None

    def __call__(self, done: int, total: int) -> None:
        if self._bar is None:
            from tqdm import tqdm

            try:
                size = os.get_terminal_size(self.stream.fileno())
                known = size.columns > 0 and size.lines > 0
            except (OSError, ValueError, AttributeError):
                known = False
            # A terminal of unknown size (0 x 0, as a bare pty) would hide the bar: assume 100 x 24.
            self._bar = tqdm(
                total=total,
                unit=" articles",
                desc="indexing",
                file=self.stream,
                dynamic_ncols=known,
                ncols=None if known else 100,
                nrows=None if known else 24,
            )
        self._bar.update(done - self._bar.n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def progress_for(stream: TextIO | None = None, interval: float = 5.0) -> PlainProgress | BarProgress:
    """A bar when ``stream`` (default: stderr) is a terminal, plain lines otherwise."""
    stream = stream if stream is not None else sys.stderr
    isatty = getattr(stream, "isatty", None)
    if isatty is not None and isatty():
        return BarProgress(stream)
    return PlainProgress(stream, interval)
