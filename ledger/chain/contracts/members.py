"""Client of the MemberRegistry contract."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from web3.types import EventData

from ledger.chain.contracts.base import ZERO_ADDRESS, Call, ContractClient
from ledger.chain.tx import Signer, TxResult


class MemberStatus(IntEnum):
    NONE = 0
    ACTIVE = 1
    FROZEN = 2
    RECOVERED = 3


@dataclass(frozen=True)
class MemberInfo:
    address: str
    commitment: bytes
    status: MemberStatus
    frozen_reason: int
    registered_at: int
    registrar: str | None
    successor: str | None

    @property
    def registered(self) -> bool:
        return self.status is not MemberStatus.NONE


class MemberRegistryClient(ContractClient):
    def register(self, account: Signer, member: str, commitment: bytes) -> TxResult:
        return self._write(account, "register", member, commitment)

    def register_batch(
        self, account: Signer, members: list[str], commitments: list[bytes]
    ) -> TxResult:
        return self._write(account, "registerBatch", members, commitments)

    def freeze(self, account: Signer, member: str, reason: int) -> TxResult:
        return self._write(account, "freeze", member, reason)

    def unfreeze(self, account: Signer, member: str, reason: int) -> TxResult:
        return self._write(account, "unfreeze", member, reason)

    def recover_call(self, previous: str, successor: str) -> Call:
        return self._call(
            "recover", previous, successor, summary=f"recover member {previous} to {successor}"
        )

    # --- proxies (a family member or community worker acting for a member) ---

    def grant_proxy(self, account: Signer, member: str, proxy: str, consent_ref: bytes) -> TxResult:
        return self._write(account, "grantProxy", member, proxy, consent_ref)

    def revoke_proxy(self, account: Signer, member: str, proxy: str) -> TxResult:
        return self._write(account, "revokeProxy", member, proxy)

    def is_proxy(self, member: str, proxy: str) -> bool:
        return bool(self._read("isProxy", member, proxy))

    def proxy_events(self, member: str) -> list[EventData]:
        """ProxyGranted and ProxyRevoked events of `member`, in chain order."""
        found: list[EventData] = []
        for name in ("ProxyGranted", "ProxyRevoked"):
            event = getattr(self.contract.events, name)()
            found += event.get_logs(from_block=0, argument_filters={"member": member})
        return sorted(found, key=lambda e: (e["blockNumber"], e["logIndex"]))

    def member(self, address: str) -> MemberInfo:
        m = self._read("memberOf", address)
        return MemberInfo(
            address=address,
            commitment=bytes(m[0]),
            status=MemberStatus(m[1]),
            frozen_reason=int(m[2]),
            registered_at=int(m[3]),
            registrar=None if m[4] == ZERO_ADDRESS else m[4],
            successor=None if m[5] == ZERO_ADDRESS else m[5],
        )

    def holder_of(self, commitment: bytes) -> str | None:
        holder: str = self._read("holderOf", commitment)
        return None if holder == ZERO_ADDRESS else holder

    def member_count(self) -> int:
        return int(self._read("memberCount"))
