"""Types shared by the routers' request and response models."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator


def _hex(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    return value


#: Bytes (a hash, a reference) shown as 0x-prefixed hex.
Hex = Annotated[str, BeforeValidator(_hex)]
