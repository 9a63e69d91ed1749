"""Proxies: a family member or a community worker recorded on chain as acting for a member.

An elderly member without a phone can have a proxy: a registrar (or the council, or the member)
records the grant in the member registry with the hash of the signed consent, which stays in the
store. Contracts that act for members (the time bank) admit the member or a recorded proxy; a
revoked proxy is refused again. The list of a member's proxies is read from the registry's events.
"""

from __future__ import annotations

import base64
import logging
from dataclasses import dataclass
from typing import Any

from eth_utils import keccak
from sqlmodel import select

from ledger.chain.tx import Signer
from ledger.errors import ContractRevert, InputError, LedgerError
from ledger.identity.parts import ProxiesParts
from ledger.store import session, utcnow
from ledger.store.pending import dropped_if_refused, insert, link
from ledger.store.proxies import ProxyConsent
from ledger.store.refusals import note_refusal
from ledger.values import parse_address

log = logging.getLogger(__name__)
#: The largest consent document the store takes.
MAX_CONSENT_BYTES = 5_000_000


@dataclass(frozen=True)
class ProxyGrant:
    """A proxy of a member as recorded on chain (the latest grant; `active` unless revoked since)."""

    member: str
    proxy: str
    consent_hash: str
    granted_by: str
    granted_block: int
    active: bool
    revoked_by: str | None = None
    revoked_block: int | None = None
    #: Whether the store holds the consent document whose hash is on chain.
    consent_on_file: bool = False


def grant_data(g: ProxyGrant) -> dict[str, Any]:
    """A proxy grant as the CLI and the API show it."""
    return {
        "member": g.member,
        "proxy": g.proxy,
        "active": g.active,
        "consent_hash": g.consent_hash,
        "consent_on_file": g.consent_on_file,
        "granted_by": g.granted_by,
        "granted_block": g.granted_block,
        "revoked_by": g.revoked_by,
        "revoked_block": g.revoked_block,
    }


class Proxies:
    """Proxy grants, recorded in the member registry, with their consent documents."""

    def __init__(self, parts: ProxiesParts) -> None:
        self.parts = parts

    def grant(
        self,
        *,
        actor: Signer,
        member: str,
        proxy: str,
        consent: bytes | str,
        file_name: str | None = None,
    ) -> ProxyGrant:
        """Record that `proxy` may act for `member`, with the consent document's hash on chain.

        Granting again with the same consent while the grant stands returns it unchanged.
        """
        member = parse_address(member, what="member address")
        proxy = parse_address(proxy, what="proxy address")
        raw = consent.encode() if isinstance(consent, str) else bytes(consent)
        if isinstance(consent, str) and not consent.strip():
            raise InputError("the consent is empty: give its text or a file of the signed consent")
        if not raw:
            raise InputError("the consent file is empty")
        if len(raw) > MAX_CONSENT_BYTES:
            raise InputError(f"the consent document is over {MAX_CONSENT_BYTES} bytes")
        consent_hash = keccak(raw)
        digest_hex = "0x" + consent_hash.hex()
        if self.parts.members.is_proxy(member, proxy):
            current = self._current(member).get(proxy)
            if current is not None and current.consent_hash == digest_hex:
                return current
        if file_name:
            document = base64.b64encode(raw).decode()
        else:
            try:
                document = raw.decode()
            except UnicodeDecodeError:
                raise InputError(
                    "the consent is not text: give the file name of the signed document with it"
                ) from None
        engine = self.parts.engine
        row_id = insert(
            engine,
            ProxyConsent(
                member=member,
                proxy=proxy,
                consent_hash=digest_hex,
                document=document,
                file_name=file_name,
                granted_by=actor.address,
                created_at=utcnow(),
            ),
        )
        try:
            with dropped_if_refused(engine, ProxyConsent, row_id, "tx_hash"):
                result = self.parts.members.grant_proxy(actor, member, proxy, consent_hash)
        except ContractRevert as exc:
            self._refused(actor.address, "proxy-grant", member, exc)
            raise
        link(engine, ProxyConsent, row_id, tx_hash=result.tx_hash)
        log.info("proxy %s recorded for member %s (tx %s)", proxy, member, result.tx_hash)
        return self._current(member)[proxy]

    def revoke(self, *, actor: Signer, member: str, proxy: str) -> ProxyGrant:
        """End a proxy grant (by the member, the proxy, a registrar or the council)."""
        member = parse_address(member, what="member address")
        proxy = parse_address(proxy, what="proxy address")
        try:
            self.parts.members.revoke_proxy(actor, member, proxy)
        except ContractRevert as exc:
            self._refused(actor.address, "proxy-revoke", member, exc)
            raise
        return self._history(member)[proxy]

    def is_proxy(self, *, member: str, proxy: str) -> bool:
        return self.parts.members.is_proxy(
            parse_address(member, what="member address"), parse_address(proxy, what="proxy address")
        )

    def proxies(self, member: str, *, include_revoked: bool = False) -> list[ProxyGrant]:
        """A member's proxies from the registry's events (the current ones, or every one)."""
        member = parse_address(member, what="member address")
        grants = self._history(member) if include_revoked else self._current(member)
        return list(grants.values())

    def consent(self, *, member: str, proxy: str, consent_hash: str) -> ProxyConsent | None:
        """The stored consent document behind a grant, if the store holds it."""
        with session(self.parts.engine) as db:
            return db.exec(
                select(ProxyConsent).where(
                    ProxyConsent.member == parse_address(member, what="member address"),
                    ProxyConsent.proxy == parse_address(proxy, what="proxy address"),
                    ProxyConsent.consent_hash == consent_hash,
                )
            ).first()

    def _current(self, member: str) -> dict[str, ProxyGrant]:
        return {p: g for p, g in self._history(member).items() if g.active}

    def _history(self, member: str) -> dict[str, ProxyGrant]:
        """Each proxy's latest grant, replayed from ProxyGranted and ProxyRevoked events."""
        grants: dict[str, ProxyGrant] = {}
        with session(self.parts.engine) as db:
            on_file = {
                (row.proxy, row.consent_hash)
                for row in db.exec(select(ProxyConsent).where(ProxyConsent.member == member)).all()
            }
        for e in self.parts.members.proxy_events(member):
            args = e["args"]
            proxy = args["proxy"]
            if e["event"] == "ProxyGranted":
                consent_hash = "0x" + bytes(args["consentRef"]).hex()
                grants[proxy] = ProxyGrant(
                    member=member,
                    proxy=proxy,
                    consent_hash=consent_hash,
                    granted_by=args["by"],
                    granted_block=int(e["blockNumber"]),
                    active=True,
                    consent_on_file=(proxy, consent_hash) in on_file,
                )
            elif proxy in grants:
                g = grants[proxy]
                grants[proxy] = ProxyGrant(
                    member=g.member,
                    proxy=g.proxy,
                    consent_hash=g.consent_hash,
                    granted_by=g.granted_by,
                    granted_block=g.granted_block,
                    active=False,
                    revoked_by=args["by"],
                    revoked_block=int(e["blockNumber"]),
                    consent_on_file=g.consent_on_file,
                )
        return grants

    def _refused(self, actor: str, action: str, subject: str, exc: LedgerError) -> None:
        """A refusal by the chain is written down for auditors."""
        note_refusal(self.parts.engine, actor=actor, action=action, subject=subject, exc=exc)
