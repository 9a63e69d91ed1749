"""Client of the SchemeRegistry contract."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from enum import IntFlag
from functools import cached_property
from typing import Any

from ledger.chain.contracts.base import Call, ContractClient
from ledger.chain.tx import Signer, TxResult
from ledger.errors import InputError, UnknownName

VALUE_DECIMALS = 3


class SchemeFlag(IntFlag):
    """What members may do with a scheme's points."""

    EXCHANGE_OUT = 1
    EXCHANGE_IN = 2
    GIFTS = 4
    REDEMPTION = 8
    TIME_BANK = 16

    @classmethod
    def parse(cls, text: str) -> SchemeFlag:
        """``gifts,redemption`` -> flags; ``none`` or nothing -> no flags; unknown names refused."""
        flags = cls(0)
        by_name = {flag_name(f): f for f in cls}
        for part in text.split(","):
            name = part.strip().lower().replace("_", "-")
            if name in ("", "none"):
                continue
            if name not in by_name:
                close = difflib.get_close_matches(name, by_name, n=1)
                hint = f" Did you mean {close[0]!r}?" if close else ""
                raise UnknownName(
                    f"unknown scheme flag {part.strip()!r}.{hint} Flags are: {', '.join(by_name)}"
                )
            flags |= by_name[name]
        return flags

    def names(self) -> list[str]:
        """The flags' names as people write them (``exchange-out``, ``time-bank``)."""
        return [flag_name(f) for f in type(self) if f in self]


def flag_name(flag: SchemeFlag) -> str:
    return (flag.name or "").lower().replace("_", "-")


@dataclass(frozen=True)
class Scheme:
    id: int
    code: str
    issuer: str
    #: Value of one point in the city standard unit, in thousandths.
    unit_value: int
    quota_period: int
    flags: SchemeFlag
    created_at: int
    quota: int
    name: str
    unit: str

    @property
    def value_csu(self) -> float:
        return self.unit_value / 10**VALUE_DECIMALS


@dataclass(frozen=True)
class ValueChange:
    """A scheme's value (thousandths of the city standard unit) from a block on."""

    from_block: int
    unit_value: int


@dataclass(frozen=True)
class Policy:
    """A scheme's compliance settings (ISchemeRegistry.Policy); 0 means no limit / no expiry."""

    max_balance: int = 0
    expiry_months: int = 0
    supply_limit: int = 0

    def describe(self) -> str:
        return ", ".join(
            [
                f"max balance {self.max_balance or 'none'}",
                f"expiry {f'{self.expiry_months} months' if self.expiry_months else 'none'}",
                f"supply limit {self.supply_limit or 'none'}",
            ]
        )


#: ``SpendingTerms.paused`` (and ``LedgerTerms.paused``) when every scheme is paused.
PAUSED_EVERY_SCHEME = 2**256 - 1


@dataclass(frozen=True)
class SpendingTerms:
    """What spending reads of a scheme in one call (ISchemeRegistry.SpendingTerms)."""

    #: The value in force at the block read, in thousandths of the city standard unit.
    unit_value: int
    flags: SchemeFlag
    #: 0: not paused; the scheme's id: it is paused; ``PAUSED_EVERY_SCHEME``: every scheme is.
    paused: int
    policy: Policy


def encode_code(code: str) -> bytes:
    """A scheme code as the contract stores it: ASCII, left-aligned, zero-padded to 32 bytes."""
    if (
        not code
        or len(code) > 16
        or not ("A" <= code[0] <= "Z")
        or not all(c.isascii() and (c.isupper() or c.isdigit() or c in "-_") for c in code)
    ):
        raise InputError(
            f"scheme code {code!r} must be 1-16 characters of A-Z, 0-9, '-' or '_', "
            "starting with a letter"
        )
    return code.encode("ascii").ljust(32, b"\x00")


def decode_code(raw: bytes) -> str:
    return bytes(raw).rstrip(b"\x00").decode("ascii", errors="replace")


class SchemeRegistryClient(ContractClient):
    def add_scheme_call(
        self,
        *,
        code: str,
        name: str,
        unit: str,
        issuer: str,
        unit_value: int,
        quota: int,
        quota_period: int,
        flags: SchemeFlag,
    ) -> Call:
        return self._call(
            "addScheme",
            encode_code(code),
            name,
            unit,
            issuer,
            unit_value,
            quota,
            quota_period,
            int(flags),
            summary=f"admit scheme {code} ({name}) issued by {issuer}",
        )

    def set_quota_call(self, scheme_id: int, quota: int, quota_period: int) -> Call:
        return self._call(
            "setQuota",
            scheme_id,
            quota,
            quota_period,
            summary=f"set scheme {scheme_id} quota to {quota}/{quota_period}s",
        )

    def set_unit_value_call(self, scheme_id: int, unit_value: int, from_block: int) -> Call:
        return self._call(
            "setUnitValue",
            scheme_id,
            unit_value,
            from_block,
            summary=f"set scheme {scheme_id} value to {unit_value} from block {from_block}",
        )

    def unit_value_at(self, scheme_id: int, block: int) -> int:
        return int(self._read("unitValueAt", scheme_id, block))

    def value_changes(self, scheme_id: int) -> list[ValueChange]:
        return [
            ValueChange(from_block=int(b), unit_value=int(v))
            for b, v in self._read("valueChanges", scheme_id)
        ]

    def spending_terms(self, scheme_id: int) -> SpendingTerms:
        t = self._read("spendingTerms", scheme_id)
        return SpendingTerms(
            unit_value=int(t[0]),
            flags=SchemeFlag(int(t[1])),
            paused=int(t[2]),
            policy=_policy(t[3]),
        )

    def set_policy_call(self, scheme_id: int, policy: Policy) -> Call:
        return self._call(
            "setPolicy",
            scheme_id,
            (policy.max_balance, policy.expiry_months, policy.supply_limit),
            summary=f"set scheme {scheme_id} policy: {policy.describe()}",
        )

    def policy_of(self, scheme_id: int) -> Policy:
        return _policy(self._read("policyOf", scheme_id))

    def pause_call(self, scheme_id: int) -> Call:
        what = "every scheme" if scheme_id == 0 else f"scheme {scheme_id}"
        return self._call("pause", scheme_id, summary=f"pause {what}")

    def unpause_call(self, scheme_id: int) -> Call:
        what = "every scheme" if scheme_id == 0 else f"scheme {scheme_id}"
        return self._call("unpause", scheme_id, summary=f"resume {what}")

    def pause(self, account: Signer, scheme_id: int) -> TxResult:
        return self._write(account, "pause", scheme_id)

    def is_paused(self, scheme_id: int) -> bool:
        return bool(self._read("isPaused", scheme_id))

    def set_issuer_call(self, scheme_id: int, issuer: str) -> Call:
        return self._call(
            "setIssuer", scheme_id, issuer, summary=f"hand scheme {scheme_id} to issuer {issuer}"
        )

    def set_flags_call(self, scheme_id: int, flags: SchemeFlag) -> Call:
        return self._call(
            "setFlags", scheme_id, int(flags), summary=f"set scheme {scheme_id} flags to {flags!s}"
        )

    def grant_scheme_role(
        self, account: Signer, scheme_id: int, role: bytes, member: str
    ) -> TxResult:
        return self._write(account, "grantSchemeRole", scheme_id, role, member)

    def revoke_scheme_role(
        self, account: Signer, scheme_id: int, role: bytes, member: str
    ) -> TxResult:
        return self._write(account, "revokeSchemeRole", scheme_id, role, member)

    def grant_scheme_role_call(
        self, scheme_id: int, role: bytes, member: str, summary: str
    ) -> Call:
        return self._call("grantSchemeRole", scheme_id, role, member, summary=summary)

    def has_scheme_role(self, scheme_id: int, role: bytes, account: str) -> bool:
        return bool(self._read("hasSchemeRole", scheme_id, role, account))

    def scheme(self, scheme_id: int) -> Scheme:
        scheme = _scheme(scheme_id, self._read("scheme", scheme_id))
        self._codes[scheme_id] = scheme.code
        return scheme

    def code(self, scheme_id: int) -> str:
        """A scheme's code ("VOL"): set when it is admitted and never changed, so read once."""
        known = self._codes.get(scheme_id)
        return known if known is not None else self.scheme(scheme_id).code

    @cached_property
    def _codes(self) -> dict[int, str]:
        return {}

    def scheme_id(self, code: str) -> int:
        return int(self._read("schemeIdOf", encode_code(code)))

    def scheme_count(self) -> int:
        return int(self._read("schemeCount"))

    def schemes(self) -> list[Scheme]:
        """Every scheme, by id (read in batches: the registry holds up to 1,024)."""
        ids = list(range(1, self.scheme_count() + 1))
        return [
            _scheme(i, s)
            for i, s in zip(ids, self._read_many("scheme", [(i,) for i in ids]), strict=True)
        ]


def _scheme(scheme_id: int, s: Any) -> Scheme:
    """A ``Scheme`` from the registry's ``scheme(id)`` struct."""
    return Scheme(
        id=scheme_id,
        code=decode_code(s[0]),
        issuer=s[1],
        unit_value=int(s[2]),
        quota_period=int(s[3]),
        flags=SchemeFlag(int(s[4])),
        created_at=int(s[5]),
        quota=int(s[6]),
        name=s[7],
        unit=s[8],
    )


def _policy(p: Any) -> Policy:
    """A ``Policy`` from the registry's ``Policy`` struct."""
    return Policy(max_balance=int(p[0]), expiry_months=int(p[1]), supply_limit=int(p[2]))
