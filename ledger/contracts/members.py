"""Client of the MemberRegistry contract."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from eth_account.signers.local import LocalAccount

from ledger.contracts.base import Call, ContractClient
from ledger.tx import TxResult

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"


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
    def register(self, account: LocalAccount, member: str, commitment: bytes) -> TxResult:
        return self._write(account, "register", member, commitment)

    def register_batch(
        self, account: LocalAccount, members: list[str], commitments: list[bytes]
    ) -> TxResult:
        return self._write(account, "registerBatch", members, commitments)

    def freeze(self, account: LocalAccount, member: str, reason: int) -> TxResult:
        return self._write(account, "freeze", member, reason)

    def unfreeze(self, account: LocalAccount, member: str, reason: int) -> TxResult:
        return self._write(account, "unfreeze", member, reason)

    def recover_call(self, previous: str, successor: str) -> Call:
        return self._call(
            "recover", previous, successor, summary=f"recover member {previous} to {successor}"
        )

    # --- proxies (a family member or community worker acting for a member) ---

    def grant_proxy(
        self, account: LocalAccount, member: str, proxy: str, consent_ref: bytes
    ) -> TxResult:
        return self._write(account, "grantProxy", member, proxy, consent_ref)

    def revoke_proxy(self, account: LocalAccount, member: str, proxy: str) -> TxResult:
        return self._write(account, "revokeProxy", member, proxy)

    def is_proxy(self, member: str, proxy: str) -> bool:
        return bool(self._read("isProxy", member, proxy))

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
