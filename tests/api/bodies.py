"""Request bodies of the issuers' console, valid as they stand (a test changes what it is about):
an activity, a service record, a catalogue item."""

from __future__ import annotations

import secrets
from typing import Any

from ledger.ledger import Ledger
from tests.earning_helpers import DAY, HOUR, as_typed, evidence, now


def activity(ledger: Ledger, scheme: str, **changes: Any) -> dict[str, Any]:
    """An activity of `scheme` (its code) open from a day ago to a day from now."""
    t = now(ledger)
    return {
        "scheme": scheme,
        "name": f"助老送餐 {secrets.token_hex(4)}",
        "place": "百瑞景社区",
        "content": "为独居老人送午餐",
        "organising_unit": "百瑞景社区居委会",
        "person_in_charge": "王主任",
        "start": t - DAY,
        "end": t + DAY,
        "capacity": 3,
        **changes,
    }


def record(ledger: Ledger, scheme: str, volunteer: str, **changes: Any) -> dict[str, Any]:
    """A service record of `volunteer`: two hours, ending an hour ago."""
    t = now(ledger)
    return {
        "scheme": scheme,
        "volunteer": volunteer,
        "start": as_typed(t - 3 * HOUR),
        "end": as_typed(t - HOUR),
        "content": "为独居老人送午餐",
        "evidence_hash": evidence(),
        "activity_name": "助老送餐",
        "place": "百瑞景社区",
        "organising_unit": "百瑞景社区居委会",
        "person_in_charge": "王主任",
        **changes,
    }


def item(ledger: Ledger, scheme: str, **changes: Any) -> dict[str, Any]:
    """A gift of `scheme` at 30 points, 5 in stock, listed from an hour ago for 30 days."""
    t = now(ledger)
    return {
        "scheme": scheme,
        "kind": "gift",
        "name": f"大米 {secrets.token_hex(3)}",
        "description": "五公斤",
        "merchant_name": "社区超市",
        "place": "百瑞景社区",
        "price": 30,
        "stock": 5,
        "available_from": t - HOUR,
        "available_until": t + 30 * DAY,
        **changes,
    }
