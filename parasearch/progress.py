"""Progress bars for long work (reading, embedding, evaluation): ``tqdm`` on a terminal, plain lines in a log.

On a terminal a bar redraws itself in place with ``\\r``. Written to a file or a pipe (``make run > build.log``,
CI), those redraws would become one long line; there each update is its own line instead, at most one every
:data:`LOG_INTERVAL` seconds (and the last one), so a log reads ``Embedding:  41%|####  | 34000/82804 ...``.
"""

from __future__ import annotations

import sys
from typing import Any, TextIO

from tqdm import tqdm

LOG_INTERVAL = 15.0  # seconds between two progress lines in a log


class _Lines:
    """A stream for tqdm that writes each refresh as one line (its ``\\r`` dropped)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self._last = ""

    def write(self, text: str) -> int:
        line = text.replace("\r", "").strip()
        state = line.split(" [", 1)[0]  # without the times and rate: closing a bar draws its last state again
        if line and state != self._last:
            self.stream.write(line + "\n")
            self._last = state
        return len(text)

    def flush(self) -> None:
        self.stream.flush()


def progress_bar(iterable: Any = None, *, file: TextIO | None = None, **kwargs: Any) -> tqdm:
    """``tqdm(iterable, **kwargs)``, line-based when ``file`` (default stderr) is not a terminal."""
    stream = file if file is not None else sys.stderr
    is_tty = getattr(stream, "isatty", lambda: False)()
    if not is_tty and not kwargs.get("disable"):
        kwargs = {"mininterval": LOG_INTERVAL, "maxinterval": LOG_INTERVAL, "ascii": True, "ncols": 100, **kwargs}
        stream = _Lines(stream)
    return tqdm(iterable, file=stream, **kwargs)
