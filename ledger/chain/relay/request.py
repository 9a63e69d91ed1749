"""What a signer signs and the relayer submits: an EIP-712 ``ForwardRequest`` for the deployed
``Forwarder`` (OpenZeppelin 5.0.2 ``ERC2771Forwarder``, domain "VolunteerPointsLedger" version "1"),
and a signer's answer to ``SignatureRequired`` (``Authorization``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_utils import to_checksum_address

DOMAIN_NAME = "VolunteerPointsLedger"
DOMAIN_VERSION = "1"
FORWARD_REQUEST_TYPES: dict[str, list[dict[str, str]]] = {
    "ForwardRequest": [
        {"name": "from", "type": "address"},
        {"name": "to", "type": "address"},
        {"name": "value", "type": "uint256"},
        {"name": "gas", "type": "uint256"},
        {"name": "nonce", "type": "uint256"},
        {"name": "deadline", "type": "uint48"},
        {"name": "data", "type": "bytes"},
    ]
}
EIP712_DOMAIN_TYPE = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]
#: How long a prepared request stays valid for signing, by default.
DEFAULT_VALIDITY_SECONDS = 600
MAX_VALIDITY_SECONDS = 86_400
MAX_REQUEST_GAS = 10_000_000


@dataclass(frozen=True)
class ForwardRequest:
    """What a signer signs (EIP-712 ``ForwardRequest``) and the relayer submits."""

    sender: str
    to: str
    data: bytes
    nonce: int
    deadline: int
    gas: int
    value: int = 0

    def message(self) -> dict[str, Any]:
        return {
            "from": self.sender,
            "to": self.to,
            "value": self.value,
            "gas": self.gas,
            "nonce": self.nonce,
            "deadline": self.deadline,
            "data": self.data,
        }

    def struct(self, signature: bytes) -> tuple[Any, ...]:
        """``ForwardRequestData(from, to, value, gas, deadline, data, signature)``."""
        return (
            self.sender,
            self.to,
            self.value,
            self.gas,
            self.deadline,
            self.data,
            signature,
        )


@dataclass(frozen=True)
class Authorization:
    """A signer's answer to a ``SignatureRequired``: the values they signed and the signature."""

    nonce: int
    deadline: int
    gas: int
    signature: bytes


def request_field(item: Any, name: str, index: int) -> Any:
    """A field of a decoded ``ForwardRequestData`` (a dict or a tuple, as web3 decodes it)."""
    return item[name] if isinstance(item, dict) else item[index]


def signed_fields(request: ForwardRequest) -> tuple[Any, ...]:
    """The fields of `request` its signature covers, but the nonce (which the forwarder's event
    gives), in the order of ``ForwardRequestData``."""
    return (
        request.sender,
        request.to,
        request.value,
        request.gas,
        request.deadline,
        request.data,
    )


def signed_fields_of(item: Any) -> tuple[Any, ...]:
    """The signed fields of a decoded ``ForwardRequestData(from, to, value, gas, deadline, data,
    signature)``, comparable with ``signed_fields``."""
    names = ("from", "to", "value", "gas", "deadline", "data")
    values = [request_field(item, name, index) for index, name in enumerate(names)]
    return (
        to_checksum_address(values[0]),
        to_checksum_address(values[1]),
        int(values[2]),
        int(values[3]),
        int(values[4]),
        bytes(values[5]),
    )
