"""Commands that keep running (following the chain, anchoring the store) until Ctrl-C or SIGTERM."""

from __future__ import annotations

import signal
from collections.abc import Callable

from scripts.output import Output


def run_until_stopped(
    out: Output, note: str, run: Callable[[], object], stop: Callable[[], object]
) -> None:
    """Say `note`, then `run` until Ctrl-C or SIGTERM, either of which calls `stop`."""
    signal.signal(signal.SIGTERM, lambda _signum, _frame: stop())
    out.note(note)
    try:
        run()
    except KeyboardInterrupt:
        stop()
