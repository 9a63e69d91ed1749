"""web3 made cheaper where a relayed write spends most: its check of a whole ABI runs once per ABI
(``ledger.chain.abi_cache``; a bad ABI is still refused every time), Keccak runs through pysha3,
reads are raw calls, and a relayed write asks the node as few times as it can (counted here)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import web3.utils.abi as web3_abi
from eth_account import Account
from hexbytes import HexBytes
from web3 import Web3
from web3.exceptions import Web3ValueError

from ledger.chain import abi_cache
from ledger.chain.contracts.base import ContractClient
from ledger.chain.contracts.schemes import SchemeRegistryClient
from ledger.chain.relay import Relay
from ledger.errors import ChainError, InputError, SoldOut, UnknownScheme
from ledger.ledger import Ledger
from ledger.spending.catalogue import fulfilment_hash
from tests.catalogue_helpers import holder, list_item, new_shop
from tests.factories import new_holder

TRANSFER = {
    "type": "function",
    "name": "transfer",
    "inputs": [{"name": "to", "type": "address"}, {"name": "amount", "type": "uint256"}],
    "outputs": [],
    "stateMutability": "nonpayable",
}


def test_an_abi_is_checked_once_and_encodes_as_before(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    abi_cache.install()
    checked: list[int] = []
    original = abi_cache._original
    assert original is not None

    def counting(abi: Any) -> None:
        checked.append(id(abi))
        original(abi)

    monkeypatch.setattr(abi_cache, "_original", counting)
    abi = [dict(TRANSFER)]
    token = Web3().eth.contract(address=ledger.points.address, abi=abi)
    to = ledger.operator("relayer").address
    encoded = {token.encode_abi("transfer", args=[to, n]) for n in (1, 1, 1)}
    assert len(encoded) == 1
    assert encoded.pop().startswith("0xa9059cbb")  # transfer(address,uint256)
    assert checked.count(id(abi)) == 1  # not once per call


def test_an_abi_with_colliding_selectors_is_refused_every_time() -> None:
    abi_cache.install()
    # two functions with one selector: web3 refuses such an ABI, and the refusal is never remembered
    clash = [
        {**TRANSFER, "name": "tgeo", "inputs": []},
        {**TRANSFER, "name": "gsf", "inputs": []},
    ]
    for _ in range(2):
        with pytest.raises(Web3ValueError, match="colliding selectors"):
            web3_abi.validate_abi(clash)


def test_keccak_runs_through_pysha3_in_the_api_and_the_cli() -> None:
    """The faster hashing backend is chosen before anything hashes (a fresh interpreter)."""
    probe = (
        "import {module}\n"
        "from eth_utils import keccak\n"
        "keccak(b'')\n"
        "import eth_hash.auto\n"
        "print(type(eth_hash.auto.keccak.hasher.__self__).__name__)\n"
    )
    for module in ("api.app", "scripts.cli"):
        out = subprocess.run(
            [sys.executable, "-c", probe.format(module=module)],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).resolve().parents[2],
        )
        assert out.stdout.strip() == "PySha3Backend", (module, out.stdout, out.stderr)


# --- round trips to the node ----------------------------------------------------------------------


class RoundTrips:
    """Counts the HTTP requests a ledger's connection makes to its node (single and batched)."""

    def __init__(self, ledger: Ledger, monkeypatch: pytest.MonkeyPatch) -> None:
        self.methods: list[list[str]] = []
        session = ledger.w3.provider.session  # type: ignore[attr-defined]
        post = session.post

        def counting(url: str, *args: Any, **kwargs: Any) -> Any:
            body = kwargs.get("json")
            if body is None:
                body = json.loads(kwargs.get("data") or b"{}")
            sent = body if isinstance(body, list) else [body]
            self.methods.append([r.get("method", "") for r in sent])
            return post(url, *args, **kwargs)

        monkeypatch.setattr(session, "post", counting)

    def reset(self) -> None:
        self.methods.clear()


@pytest.fixture
def trips(ledger: Ledger, monkeypatch: pytest.MonkeyPatch) -> RoundTrips:
    return RoundTrips(ledger, monkeypatch)


def test_a_relayed_request_is_prepared_and_checked_in_one_round_trip_each(
    ledger: Ledger, trips: RoundTrips
) -> None:
    """The signer's nonce, the chain's clock and the simulation of the call go to the node
    together, when the request is prepared and again when it is submitted; the order placed is
    read back with its item in one more, and the receipt read while waiting is the one kept."""
    shop = new_shop(ledger)
    item = list_item(ledger, shop, price=10, stock=10, per_member=5).item
    member = new_holder(ledger, shop.id, 100)
    relay = Relay(ledger)
    data = ledger.catalogue_contract._encode("redeem", member.address, item.id, 1, 10)

    trips.reset()
    request = relay.prepare(member.address, ledger.catalogue_contract.address, data)
    assert trips.methods == [["eth_call", "eth_getBlockByNumber", "eth_estimateGas"]]

    trips.reset()
    result = relay.submit(request, relay.sign(member.account, request))
    assert trips.methods[0] == ["eth_call", "eth_getBlockByNumber", "eth_estimateGas"]
    # then only the send (the relayer's nonce read again when another process of the suite
    # used it meanwhile: TxSender resynchronises) and the wait: the request is checked no more
    sending = (
        ["eth_sendRawTransaction"],
        ["eth_getTransactionCount"],
        ["eth_getTransactionReceipt"],
    )
    assert all(m in sending for m in trips.methods[1:]), trips.methods
    assert ["eth_sendRawTransaction"] in trips.methods

    trips.reset()
    fetched = ledger.w3.eth.get_transaction_receipt(HexBytes(result.tx_hash))
    trips.reset()
    assert result.receipt == fetched  # formatted from the receipt read while waiting
    assert trips.methods == []
    order_id = ledger.catalogue_contract.placed_id(result)

    trips.reset()
    order, listed = ledger.catalogue_contract.order_and_item(order_id, item.id)
    assert trips.methods == [["eth_call", "eth_call"]]
    assert (order.member, order.item_id, order.points) == (member.address, item.id, 10)
    assert listed == ledger.catalogue_contract.item(item.id)
    assert listed.stock == 9


def test_a_refused_call_is_reported_once_its_request_is_known_fresh(
    ledger: Ledger, trips: RoundTrips
) -> None:
    """The simulation travels with the nonce and clock, but its refusal is raised only for a
    request that did not run already and has not expired: a request sent again after it ran
    gets the transaction that ran it, though its call would now be refused."""
    shop = new_shop(ledger)
    item = list_item(ledger, shop, price=10, stock=1, per_member=5).item
    member = new_holder(ledger, shop.id, 100)
    relay = Relay(ledger)
    data = ledger.catalogue_contract._encode("redeem", member.address, item.id, 1, 10)
    request = relay.prepare(member.address, ledger.catalogue_contract.address, data)
    signature = relay.sign(member.account, request)
    first = relay.submit(request, signature)
    again = relay.submit(request, signature)  # sold out now: simulating it again would refuse
    assert again.replayed and again.tx_hash == first.tx_hash
    with pytest.raises(SoldOut):
        relay.prepare(member.address, ledger.catalogue_contract.address, data)


def test_reads_are_raw_calls_with_the_same_answers_and_refusals(
    ledger: Ledger, trips: RoundTrips
) -> None:
    schemes = ledger.schemes
    trips.reset()
    count = schemes.scheme_count()
    assert trips.methods == [["eth_call"]]  # no chain id asked first
    assert count == int(schemes.contract.functions.schemeCount().call())
    assert schemes.scheme(count) == schemes.scheme(count)
    with pytest.raises(InputError, match="out of range"):
        schemes.scheme(-1)
    with pytest.raises(UnknownScheme):
        schemes.scheme(count + 1)
    nowhere = ContractClient(
        ledger.w3, ledger.sender, Account.create().address, schemes.contract.abi
    )
    with pytest.raises(ChainError, match="answered nothing"):
        nowhere._read("schemeCount")


def test_a_schemes_code_is_read_once(ledger: Ledger, trips: RoundTrips) -> None:
    shop = new_shop(ledger)
    fresh = SchemeRegistryClient(
        ledger.w3, ledger.sender, ledger.schemes.address, ledger.schemes.contract.abi
    )
    trips.reset()
    assert fresh.code(shop.id) == shop.scheme.code
    assert fresh.code(shop.id) == shop.scheme.code
    assert len(trips.methods) == 1


def test_fulfilment_hashes_are_read_from_their_events_once_for_a_list(
    ledger: Ledger, trips: RoundTrips
) -> None:
    """The catalogue keeps a fulfilment code's hash in its OrderFulfilled event only: an order
    read alone gets it with one log request more, a listed page of orders with one in all."""
    shop = new_shop(ledger)
    item = list_item(ledger, shop, price=10).item
    c = ledger.catalogue
    member = holder(ledger, shop, 100)
    ids = [
        c.redeem(
            signer=member.account, member=member.address, item_id=item.id, unit_price=10
        ).order.id
        for _ in range(3)
    ]
    for n, order_id in enumerate(ids[:2]):
        c.fulfil(merchant=shop.merchant, order_id=order_id, code=f"T-{n}")
    c.item(item.id)  # the item's details are read once and kept
    trips.reset()
    listed = c.orders(item_id=item.id)
    assert [v.order.id for v in listed] == ids[::-1]
    assert [v.order.fulfilment_hash for v in listed] == [
        None,
        fulfilment_hash(ids[1], "T-1"),
        fulfilment_hash(ids[0], "T-0"),
    ]
    logs = [m for m in trips.methods if m == ["eth_getLogs"]]
    assert len(logs) == 2  # the orders placed, then the hashes of those fulfilled
    trips.reset()
    assert c.order(ids[0]).order.fulfilment_hash == fulfilment_hash(ids[0], "T-0")
    assert trips.methods.count(["eth_getLogs"]) == 1
    trips.reset()
    assert c.order(ids[2]).order.fulfilment_hash is None
    assert ["eth_getLogs"] not in trips.methods
