"""The in-process ``vpl`` runner shared by the end-to-end tests (fixture in conftest.py)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from typer.testing import Result

Vpl = Callable[..., Result]


def ok(result: Result) -> Any:
    """The JSON document of a successful ``--json`` run."""
    assert result.exit_code == 0, (result.exit_code, result.stdout, result.stderr)
    return json.loads(result.stdout)


def fails(result: Result, code: int, message: str) -> None:
    """The run exited with ``code`` and said ``message`` on stderr, without a traceback."""
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    assert result.stderr.startswith("error: ")
    assert message in result.stderr
    assert "Traceback" not in result.output
