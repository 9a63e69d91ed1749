"""Role names as people say them, and where each role lives on chain."""

from __future__ import annotations

from dataclasses import dataclass

from eth_utils import keccak

from ledger.errors import UnknownName

DEFAULT_ADMIN_ROLE = b"\x00" * 32


@dataclass(frozen=True)
class RoleSpec:
    name: str
    constant: str
    #: Contract holding the role; scheme roles live in SchemeRegistry per scheme.
    contract: str
    per_scheme: bool
    description: str

    @property
    def id(self) -> bytes:
        return keccak(text=self.constant)


ROLES: dict[str, RoleSpec] = {
    spec.name: spec
    for spec in (
        RoleSpec(
            "registrar", "REGISTRAR_ROLE", "MemberRegistry", False, "registers and freezes members"
        ),
        RoleSpec("auditor", "AUDITOR_ROLE", "MemberRegistry", False, "reads and traces everything"),
        RoleSpec(
            "issuance",
            "ISSUANCE_ROLE",
            "PointsLedger",
            False,
            "a contract that decides when points are due",
        ),
        RoleSpec(
            "spending",
            "SPENDING_ROLE",
            "PointsLedger",
            False,
            "a contract through which members spend (exchange, catalogue, time bank, gifts)",
        ),
        RoleSpec(
            "pauser",
            "PAUSER_ROLE",
            "SchemeRegistry",
            False,
            "pauses a scheme's points (or every scheme's) at once; resuming is a council action",
        ),
        RoleSpec(
            "reviewer",
            "REVIEWER_ROLE",
            "SchemeRegistry",
            True,
            "reviews a scheme's service records",
        ),
        RoleSpec(
            "merchant",
            "MERCHANT_ROLE",
            "SchemeRegistry",
            True,
            "lists and fulfils a scheme's rewards",
        ),
        RoleSpec(
            "organiser", "ORGANISER_ROLE", "SchemeRegistry", True, "publishes a scheme's activities"
        ),
    )
}


def role(name: str) -> RoleSpec:
    """The role called `name`, or UnknownName listing the known ones."""
    spec = ROLES.get(name.strip().lower())
    if spec is None:
        raise UnknownName(f"unknown role {name!r}; roles are: {', '.join(ROLES)}")
    return spec


def role_names_by_id() -> dict[bytes, str]:
    """Role id -> readable name, for error messages."""
    names = {spec.id: spec.name for spec in ROLES.values()}
    names[DEFAULT_ADMIN_ROLE] = "council (admin)"
    return names
