"""Types shared by the routers' schemas."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator


def _hex(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    return value


#: A hash or other bytes as 0x hex (the ledger's data functions hand bytes over as they are).
Hex = Annotated[str, BeforeValidator(_hex)]
