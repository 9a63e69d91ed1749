"""Ledger.register_member: a person stays in the encrypted vault; the chain gets a commitment.

End to end on the session node and its SQLite store: a registration writes one vault row and one
on-chain member; repeating it changes nothing; any refusal leaves neither; and no name, ID number
or phone is ever readable in the database file, the logs, or the chain.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from hexbytes import HexBytes
from sqlalchemy import text

from ledger.chain.contracts import MemberStatus
from ledger.chain.roles import role
from ledger.errors import (
    AlreadyRegistered,
    InvalidAddress,
    InvalidIdentity,
    NotAuthorized,
    RecordNotFound,
)
from ledger.ledger import Ledger
from ledger.real_name import identity_commitment
from ledger.store import PersonalData
from tests.factories import id_number, person
from tests.store_files import read_store_files


def fresh_address() -> str:
    return str(Account.create().address)


def vault_rows(ledger: Ledger) -> list[tuple[object, ...]]:
    """Every vault row, raw: equal before and after means the vault did not change."""
    with ledger.engine.connect() as conn:
        rows = conn.execute(text("SELECT * FROM member_identity ORDER BY address")).all()
    return [tuple(row) for row in rows]


def snapshot(ledger: Ledger) -> tuple[object, ...]:
    """Vault rows, on-chain member count and block number."""
    return (vault_rows(ledger), ledger.members.member_count(), ledger.w3.eth.block_number)


def registered(ledger: Ledger, registrar: LocalAccount) -> tuple[str, PersonalData]:
    """A fresh person registered under a fresh address: the address and the person."""
    address, data = fresh_address(), person()
    ledger.register_member(registrar=registrar, address=address, personal=data)
    return address, data


def wrong_checksum(address: str) -> str:
    body = address[2:]
    i = next(i for i, c in enumerate(body) if c.isalpha())
    return "0x" + body[:i] + body[i].swapcase() + body[i + 1 :]


# --- the happy path and repeats ------------------------------------------------------------------


def test_registering_writes_the_vault_and_the_chain(ledger: Ledger) -> None:
    registrar = ledger.operator("registrar")
    address, data = fresh_address(), person()
    count = ledger.members.member_count()

    registration = ledger.register_member(registrar=registrar, address=address, personal=data)

    assert registration.created is True
    assert registration.tx_hash is not None
    commitment = identity_commitment(ledger.settings.commitment_key_bytes(), data.id_number)
    member = registration.member
    assert member.address == address
    assert member.status is MemberStatus.ACTIVE
    assert member.commitment == commitment
    assert member.registrar == registrar.address
    assert ledger.member(address) == member
    assert ledger.members.member_count() == count + 1
    assert ledger.members.holder_of(commitment) == address
    entry = ledger.vault.get(address)
    assert entry.status == "registered"
    assert entry.commitment == commitment
    assert entry.data == data
    assert ledger.personal_data(address).data == data


def test_a_lower_case_address_is_registered_under_its_checksummed_form(ledger: Ledger) -> None:
    address = fresh_address()
    registration = ledger.register_member(
        registrar=ledger.operator("registrar"), address=address.lower(), personal=person()
    )
    assert registration.member.address == address
    assert ledger.vault.get(address).address == address


def test_repeating_a_registration_changes_nothing(ledger: Ledger) -> None:
    registrar = ledger.operator("registrar")
    address, data = fresh_address(), person()
    first = ledger.register_member(registrar=registrar, address=address, personal=data)
    before = snapshot(ledger)

    again = ledger.register_member(registrar=registrar, address=address, personal=data)

    assert again.created is False
    assert again.tx_hash is None
    assert again.member == first.member
    assert snapshot(ledger) == before


def test_the_same_person_under_another_address_is_refused_and_nothing_changes(
    ledger: Ledger, registrar: LocalAccount
) -> None:
    address, data = registered(ledger, registrar)
    other = fresh_address()
    before = snapshot(ledger)

    with pytest.raises(AlreadyRegistered) as info:
        ledger.register_member(registrar=registrar, address=other, personal=data)

    commitment = identity_commitment(ledger.settings.commitment_key_bytes(), data.id_number)
    assert info.value.error == "MemberCommitmentInUse"
    assert info.value.args_by_name == {"commitment": "0x" + commitment.hex(), "holder": address}
    assert f"already registered, as {address}" in str(info.value)
    assert snapshot(ledger) == before
    assert not ledger.member(other).registered
    with pytest.raises(RecordNotFound):
        ledger.vault.get(other)


def test_an_address_already_held_by_another_person_is_refused_and_nothing_changes(
    ledger: Ledger, registrar: LocalAccount
) -> None:
    address, data = registered(ledger, registrar)
    before = snapshot(ledger)

    with pytest.raises(AlreadyRegistered) as info:
        ledger.register_member(registrar=registrar, address=address, personal=person())

    assert info.value.error == "MemberAlreadyRegistered"
    assert info.value.args_by_name == {"account": address}
    assert snapshot(ledger) == before
    assert ledger.vault.get(address).data == data


# --- refusals leave nothing behind ---------------------------------------------------------------


def test_a_registration_the_chain_refuses_leaves_no_vault_row(ledger: Ledger) -> None:
    not_a_registrar = ledger.operator("auditor")
    address, data = fresh_address(), person()
    before = snapshot(ledger)

    with pytest.raises(NotAuthorized) as info:
        ledger.register_member(registrar=not_a_registrar, address=address, personal=data)

    assert info.value.error == "AccessControlUnauthorizedAccount"
    assert info.value.args_by_name == {
        "account": not_a_registrar.address,
        "neededRole": "0x" + role("registrar").id.hex(),
    }
    assert snapshot(ledger) == before
    with pytest.raises(RecordNotFound):
        ledger.vault.get(address)
    # nothing is left half-done: the proper registrar can register the same person there
    done = ledger.register_member(
        registrar=ledger.operator("registrar"), address=address, personal=data
    )
    assert done.created is True


@pytest.mark.parametrize(
    "address",
    [
        "0x1234",
        "not an address",
        "",
        "0x" + "0" * 40,
        "0x" + "z" * 40,
    ],
)
def test_a_malformed_address_is_refused_before_anything(ledger: Ledger, address: str) -> None:
    before = snapshot(ledger)
    with pytest.raises(InvalidAddress, match="member address"):
        ledger.register_member(
            registrar=ledger.operator("registrar"), address=address, personal=person()
        )
    assert snapshot(ledger) == before


def test_a_checksum_invalid_address_is_refused_with_the_checksummed_form(ledger: Ledger) -> None:
    address = fresh_address()
    typo = wrong_checksum(address)
    before = snapshot(ledger)

    with pytest.raises(InvalidAddress) as info:
        ledger.register_member(
            registrar=ledger.operator("registrar"), address=typo, personal=person()
        )

    assert "wrong checksum" in str(info.value)
    assert address in str(info.value)
    assert snapshot(ledger) == before
    assert not ledger.member(address).registered


@pytest.mark.parametrize(
    "bad_id",
    [
        "12345",  # too short
        "44060419850214321",  # 17 digits
        "4406041985021432AB",  # letters
        "440604198513013215",  # month 13
        "440604210001013215",  # born in the future
        "044060419850214321",  # region starting with 0
    ],
)
def test_an_invalid_id_number_is_refused_before_anything(ledger: Ledger, bad_id: str) -> None:
    before = snapshot(ledger)
    with pytest.raises(InvalidIdentity) as info:
        ledger.register_member(
            registrar=ledger.operator("registrar"),
            address=fresh_address(),
            personal=PersonalData(name="欧阳明月", id_number=bad_id),
        )
    assert bad_id not in str(info.value)
    assert snapshot(ledger) == before


def test_an_id_number_with_a_wrong_check_character_is_refused(ledger: Ledger) -> None:
    good = id_number()
    bad = good[:17] + ("0" if good[17] != "0" else "1")
    with pytest.raises(InvalidIdentity, match="wrong check character") as info:
        PersonalData(name="欧阳明月", id_number=bad)
    assert bad not in str(info.value)


# --- personal data never in plaintext ------------------------------------------------------------


SEEDED_NAMES = ("欧阳明月", "司马青云", "诸葛春华", "上官雪梅")


def seeded_people() -> list[PersonalData]:
    """Residents with distinctive names, so a plaintext copy anywhere could not be a coincidence."""
    return [
        PersonalData(
            name=f"{name}{secrets.choice('甲乙丙丁戊')}",
            id_number=id_number(),
            phone="15" + "".join(secrets.choice("0123456789") for _ in range(9)),
        )
        for name in SEEDED_NAMES
    ]


def personal_needles(data: PersonalData) -> dict[str, bytes]:
    """Every byte string that would give away a person."""
    assert data.phone is not None
    return {
        "name": data.name.encode("utf-8"),
        "surname+given (no spaces)": data.name.replace(" ", "").encode("utf-8"),
        "id number": data.id_number.encode("ascii"),
        "id number (first 17)": data.id_number[:17].encode("ascii"),
        "phone": data.phone.encode("ascii"),
        "sha256(id number)": hashlib.sha256(data.id_number.encode()).digest(),
        "keccak(id number)": keccak(text=data.id_number),
    }


def database_path(ledger: Ledger) -> Path:
    database = Path(ledger.settings.data_dir) / "vpl.db"
    assert ledger.settings.resolved_database_url == f"sqlite:///{database}"
    return database


def test_personal_data_is_never_in_plaintext_in_the_database_files_or_the_logs(
    ledger: Ledger, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="sqlalchemy")  # it pins itself to WARNING otherwise
    registrar = ledger.operator("registrar")
    people = seeded_people()
    addresses = [fresh_address() for _ in people]

    for address, data in zip(addresses, people, strict=True):
        ledger.register_member(registrar=registrar, address=address, personal=data)
        ledger.register_member(registrar=registrar, address=address, personal=data)  # a repeat
        with pytest.raises(AlreadyRegistered) as refused:
            ledger.register_member(registrar=registrar, address=fresh_address(), personal=data)
        logging.getLogger("test").info("refused: %s (%r)", refused.value, refused.value.details)
        assert ledger.personal_data(address).data == data  # the vault does hold it, sealed

    stored = read_store_files(database_path(ledger))
    logged = "\n".join(
        [caplog.text] + [f"{r.getMessage()} {r.args!r} {r.exc_text or ''}" for r in caplog.records]
    ).encode("utf-8")
    sources = {r.name.split(".")[0] for r in caplog.records}
    assert {"ledger", "sqlalchemy", "web3"} <= sources, sources
    for data in people:
        for what, needle in personal_needles(data).items():
            assert needle not in stored, f"{what} found in the database files"
            assert needle not in logged, f"{what} found in the logs"


def test_nothing_personal_goes_on_chain(ledger: Ledger) -> None:
    data = seeded_people()[0]
    address = fresh_address()

    registration = ledger.register_member(
        registrar=ledger.operator("registrar"), address=address, personal=data
    )

    assert registration.tx_hash is not None
    tx = ledger.w3.eth.get_transaction(HexBytes(registration.tx_hash))
    receipt = ledger.w3.eth.get_transaction_receipt(HexBytes(registration.tx_hash))
    published = bytes(tx["input"]) + b"".join(
        bytes(log["data"]) + b"".join(bytes(t) for t in log["topics"]) for log in receipt["logs"]
    )
    assert len(receipt["logs"]) == 1  # MemberRegistered
    for what, needle in personal_needles(data).items():
        assert needle not in published, f"{what} found on chain"
    commitment = registration.member.commitment
    assert commitment in published  # what the chain does hold: the keyed commitment
    assert commitment not in (
        hashlib.sha256(data.id_number.encode()).digest(),
        keccak(text=data.id_number),
    )
