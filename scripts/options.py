"""Arguments and default signers that several command groups share."""

from __future__ import annotations

from typing import Annotated

import typer

#: The operators (names in the network file) that sign when ``--as`` names no other.
REGISTRAR = "registrar"
REVIEWER = "reviewer-1"
MERCHANT = "merchant-1"

SchemeArgument = Annotated[str, typer.Argument(metavar="SCHEME")]
#: How many of the newest to list (each command sets its default).
LastOption = Annotated[int, typer.Option("--last", min=1, max=1000)]
