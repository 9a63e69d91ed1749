"""ledger.chain.tx: every write is simulated, numbered, signed, sent once and confirmed, on real nodes.

Each test runs on ganache and on anvil. It gets a fresh, funded account that owns an IssuerProbe
holding ISSUANCE_ROLE (the role is refused to plain keys) and a ``TxSender`` of its own (its own
nonce cache and connection), so the nonces it checks are its own; what it sends is a real
``issue`` through its probe to ``PointsLedger.issue``, to a fresh member in a fresh scheme.
"""

from __future__ import annotations

import asyncio
import secrets
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from eth_abi import encode as abi_encode
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from hexbytes import HexBytes
from web3 import HTTPProvider, Web3

from ledger.chain import compiler
from ledger.chain.accounts import from_mnemonic
from ledger.chain.contracts import Scheme
from ledger.chain.tx import TxResult, TxSender
from ledger.config import DEV_MNEMONIC
from ledger.errors import NotAMember, RetryableChainError, StateConflict
from ledger.ledger import Ledger
from tests.chain_helpers import FUNDER_INDEX
from tests.factories import Member, new_member, new_scheme
from tests.probes import PROBE_SOURCES

CONCURRENT_TXS = 40
THREADS = 8
#: Per-request HTTP timeout of the test senders' connections. Ganache 7.9 now and then never
#: answers an ``eth_estimateGas`` that arrives while it mines (anvil answers every one); web3
#: retries it after the timeout, which with the default 30 s would make the concurrent tests slow.
RPC_TIMEOUT = 2


def fund(w3: Web3, address: str, wei: int = 10**18) -> None:
    """Give `address` native gas from the funder (sent directly, not through a TxSender)."""
    funder = from_mnemonic(DEV_MNEMONIC, FUNDER_INDEX)
    tx: dict[str, Any] = {
        "chainId": w3.eth.chain_id,
        "nonce": w3.eth.get_transaction_count(funder.address, "pending"),
        "to": address,
        "value": wei,
        "gas": 21_000,
        "gasPrice": w3.eth.gas_price,
    }
    signed = funder.sign_transaction(tx)
    tx_hash = w3.eth.send_raw_transaction(signed.raw_transaction)
    assert w3.eth.wait_for_transaction_receipt(tx_hash)["status"] == 1


def connect(ledger: Ledger) -> Web3:
    """A connection of its own to the ledger's node (wrapping its provider touches nobody else)."""
    return Web3(HTTPProvider(ledger.network.rpc_url, request_kwargs={"timeout": RPC_TIMEOUT}))


def deploy_probe(ledger: Ledger, owner: LocalAccount) -> str:
    """An IssuerProbe of `owner`'s own (only its owner may call it); its address."""
    build = compiler.build(ledger.settings.model_copy(update={"contracts_dir": PROBE_SOURCES}))
    data = (
        build.get("IssuerProbe").bytecode + abi_encode(["address"], [ledger.points.address]).hex()
    )
    address, _ = ledger.sender.deploy(owner, data, context="deploy IssuerProbe")
    return address


@dataclass
class Rig:
    """One test's world: a node, an issuing account nobody else uses (sending through its own
    probe, which holds ISSUANCE_ROLE), a scheme and a member."""

    ledger: Ledger
    w3: Web3
    issuer: LocalAccount
    probe: str
    scheme: Scheme
    member: Member

    @property
    def kind(self) -> str:
        assert self.ledger.network.node is not None
        return self.ledger.network.node.kind

    def sender(self, w3: Web3 | None = None, **options: Any) -> TxSender:
        return TxSender(
            w3 or connect(self.ledger),
            chain_id=self.ledger.network.chain_id,
            decoder=self.ledger.decoder,
            **options,
        )

    def issue(self, to: str | None = None, amount: int = 1) -> str:
        """Calldata of ``issue`` (1 point to the member by default), with a fresh source; the
        probe's ``issue`` has the ledger's signature, so the ledger's ABI encodes it."""
        data: str = self.ledger.points.contract.encode_abi(
            "issue",
            args=[to or self.member.address, self.scheme.id, amount, secrets.token_bytes(32)],
        )
        return data

    def nonce(self) -> int:
        return self.w3.eth.get_transaction_count(self.issuer.address, "pending")

    def balance(self) -> int:
        return self.ledger.points.balance_of(self.member.address, self.scheme.id)

    def tx_nonce(self, tx_hash: str) -> int:
        return int(self.w3.eth.get_transaction(HexBytes(tx_hash))["nonce"])


@pytest.fixture
def rig(any_ledger: Ledger) -> Rig:
    issuer: LocalAccount = Account.create()
    fund(any_ledger.w3, issuer.address)
    probe = deploy_probe(any_ledger, issuer)
    any_ledger.govern([any_ledger.role_call(role_name="issuance", account=probe, grant=True)])
    return Rig(
        ledger=any_ledger,
        w3=any_ledger.w3,
        issuer=issuer,
        probe=probe,
        scheme=new_scheme(any_ledger, quota=10**9),
        member=new_member(any_ledger),
    )


def assert_consecutive(rig: Rig, results: list[TxResult], first: int) -> None:
    """The results are distinct successful transactions of the issuer, nonces first, first+1, ..."""
    hashes = [r.tx_hash for r in results]
    assert len(set(hashes)) == len(hashes)
    txs = [rig.w3.eth.get_transaction(HexBytes(h)) for h in hashes]
    assert {tx["from"] for tx in txs} == {rig.issuer.address}
    assert sorted(tx["nonce"] for tx in txs) == list(range(first, first + len(results)))
    assert all(r.receipt["status"] == 1 for r in results)
    assert rig.nonce() == first + len(results)


# --- concurrency ---------------------------------------------------------------------------------


def test_forty_transactions_from_one_account_on_eight_threads_all_succeed_in_nonce_order(
    rig: Rig,
) -> None:
    sender = rig.sender()
    first, balance = rig.nonce(), rig.balance()
    threads_used: set[int] = set()

    def send(_: int) -> TxResult:
        threads_used.add(threading.get_ident())
        return sender.send(rig.issuer, rig.probe, rig.issue(), context="issue")

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        results = list(pool.map(send, range(CONCURRENT_TXS)))

    assert len(threads_used) > 1
    assert_consecutive(rig, results, first)
    assert rig.balance() == balance + CONCURRENT_TXS


def test_forty_transactions_gathered_with_asend_all_succeed_in_nonce_order(rig: Rig) -> None:
    sender = rig.sender()
    first, balance = rig.nonce(), rig.balance()

    async def send_all() -> list[TxResult]:
        return await asyncio.gather(
            *(
                sender.asend(rig.issuer, rig.probe, rig.issue(), context="issue")
                for _ in range(CONCURRENT_TXS)
            )
        )

    results = asyncio.run(send_all())

    assert_consecutive(rig, results, first)
    assert rig.balance() == balance + CONCURRENT_TXS


def test_threads_and_async_tasks_sending_at_once_share_one_nonce_sequence(rig: Rig) -> None:
    sender = rig.sender()
    first = rig.nonce()

    async def tasks() -> list[TxResult]:
        return await asyncio.gather(
            *(sender.asend(rig.issuer, rig.probe, rig.issue()) for _ in range(5))
        )

    with ThreadPoolExecutor(max_workers=4) as pool:
        threaded = [pool.submit(sender.send, rig.issuer, rig.probe, rig.issue()) for _ in range(5)]
        gathered = asyncio.run(tasks())
        results = gathered + [f.result() for f in threaded]

    assert_consecutive(rig, results, first)


# --- reverts -------------------------------------------------------------------------------------


def test_a_refused_call_raises_its_decoded_error_before_anything_is_sent(rig: Rig) -> None:
    sender = rig.sender()
    stranger = Account.create().address
    first, block = rig.nonce(), rig.w3.eth.block_number

    with pytest.raises(NotAMember) as info:
        sender.send(rig.issuer, rig.probe, rig.issue(to=stranger), context="issue")

    assert info.value.error == "PointsNotAMember"
    assert info.value.args_by_name == {"account": stranger}
    assert str(info.value).endswith(
        f"{stranger} is not an active member and cannot hold or move points"
    )
    assert "tx_hash" not in info.value.details
    assert rig.nonce() == first
    assert rig.w3.eth.block_number == block
    # the refused call took no nonce: the next transaction gets the one it would have had
    result = sender.send(rig.issuer, rig.probe, rig.issue())
    assert rig.tx_nonce(result.tx_hash) == first


def test_a_revert_mined_without_simulation_is_decoded_with_its_transaction(rig: Rig) -> None:
    sender = rig.sender()
    stranger = Account.create().address
    first = rig.nonce()

    with pytest.raises(NotAMember) as info:
        # an explicit gas limit skips eth_estimateGas, so the transaction is mined and reverts
        sender.send(rig.issuer, rig.probe, rig.issue(to=stranger), gas=300_000)

    assert info.value.args_by_name == {"account": stranger}
    tx_hash = info.value.details["tx_hash"]
    assert rig.w3.eth.get_transaction_receipt(HexBytes(tx_hash))["status"] == 0
    assert rig.nonce() == first + 1


def test_a_revert_caused_by_an_earlier_transaction_of_its_block_is_decoded(rig: Rig) -> None:
    """Two issues of one source mined in one block: the second reverts because of the first,
    so replaying it on the state before the block succeeds and says nothing. Its reason must
    still be read (seen as a generic TransactionFailed for redemptions of the last units)."""
    sender = rig.sender()
    source = secrets.token_bytes(32)
    data = rig.ledger.points.contract.encode_abi(
        "issue", args=[rig.member.address, rig.scheme.id, 1, source]
    )
    # (method, params) that stop and restart mining on each node kind
    stop, start = {
        "ganache": (("miner_stop", []), ("miner_start", [])),
        "anvil": (("evm_setAutomine", [False]), ("evm_setAutomine", [True])),
    }[rig.kind]
    rpc = rig.w3.provider.make_request
    rpc(*stop)  # type: ignore[arg-type]
    try:
        first, second = (
            sender.submit(rig.issuer, rig.probe, data, gas=300_000, context="issue")
            for _ in range(2)
        )
        rpc("evm_mine", [])  # type: ignore[arg-type]
    finally:
        rpc(*start)  # type: ignore[arg-type]
    receipts = [rig.w3.eth.get_transaction_receipt(HexBytes(s.tx_hash)) for s in (first, second)]
    assert receipts[0]["blockNumber"] == receipts[1]["blockNumber"], "both in one block"

    outcomes = sender.wait_all([first, second])

    assert isinstance(outcomes[0], TxResult)
    refused = outcomes[1]
    assert isinstance(refused, StateConflict), refused
    assert refused.error == "PointsSourceAlreadyPaid"
    assert refused.details["tx_hash"] == second.tx_hash
    assert rig.balance() == 1


# --- nonces taken elsewhere ----------------------------------------------------------------------


def test_a_nonce_used_by_another_program_is_resynchronised(rig: Rig) -> None:
    sender = rig.sender()
    sender.send(rig.issuer, rig.probe, rig.issue())  # the sender now caches nonce n + 1
    taken = rig.nonce()
    tx: dict[str, Any] = {
        "chainId": rig.w3.eth.chain_id,
        "nonce": taken,
        "to": rig.probe,
        "data": rig.issue(),
        "value": 0,
        "gas": 300_000,
        "gasPrice": rig.w3.eth.gas_price,
    }
    elsewhere = rig.issuer.sign_transaction(tx)
    tx_hash = rig.w3.eth.send_raw_transaction(elsewhere.raw_transaction)
    assert rig.w3.eth.wait_for_transaction_receipt(tx_hash)["status"] == 1

    result = sender.send(rig.issuer, rig.probe, rig.issue())

    assert result.receipt["status"] == 1
    assert rig.tx_nonce(result.tx_hash) == taken + 1
    assert rig.nonce() == taken + 2


def test_reset_nonce_rereads_the_nonce_from_the_chain(rig: Rig) -> None:
    sender = rig.sender()
    first = rig.nonce()
    assert first == 1, "the issuer has deployed its probe, nothing else"
    sender.send(rig.issuer, rig.probe, rig.issue())
    sender.reset_nonce(rig.issuer.address)

    result = sender.send(rig.issuer, rig.probe, rig.issue())

    assert rig.tx_nonce(result.tx_hash) == first + 1
    assert rig.nonce() == first + 2


# --- dropped connections -------------------------------------------------------------------------


class Flaky:
    """Stands in for a provider's make_request: drops the connection on the first `drops`
    ``eth_sendRawTransaction`` calls, after forwarding them (the node got the transaction, only
    the answer was lost) or before (the request never arrived)."""

    def __init__(self, w3: Web3, *, drops: int, after_forwarding: bool) -> None:
        self._real = w3.provider.make_request  # type: ignore[attr-defined]
        self._drops = drops
        self._after = after_forwarding
        self.sent: list[str] = []

    def __call__(self, method: Any, params: Any) -> Any:
        if method != "eth_sendRawTransaction":
            return self._real(method, params)
        self.sent.append(params[0])
        if len(self.sent) <= self._drops:
            if self._after:
                self._real(method, params)
            raise requests.exceptions.ConnectionError("Connection reset by peer")
        return self._real(method, params)


@pytest.fixture
def own_w3(any_ledger: Ledger) -> Iterator[Web3]:
    yield connect(any_ledger)


def flaky_sender(
    rig: Rig, own_w3: Web3, monkeypatch: pytest.MonkeyPatch, **flaky: Any
) -> tuple[TxSender, Flaky]:
    wrapper = Flaky(own_w3, **flaky)
    monkeypatch.setattr(own_w3.provider, "make_request", wrapper)
    return rig.sender(own_w3, send_attempts=3), wrapper


def send_through(
    rig: Rig, own_w3: Web3, monkeypatch: pytest.MonkeyPatch, amount: int, **flaky: Any
) -> tuple[TxResult, Flaky, int, int]:
    """Issue `amount` through a connection that fails as `flaky` says: the result, what was
    sent, and the issuer's nonce and the member's balance before."""
    sender, wrapper = flaky_sender(rig, own_w3, monkeypatch, **flaky)
    first, balance = rig.nonce(), rig.balance()
    return sender.send(rig.issuer, rig.probe, rig.issue(amount=amount)), wrapper, first, balance


def test_an_answer_lost_after_sending_is_found_by_hash_and_mined_once(
    rig: Rig, own_w3: Web3, monkeypatch: pytest.MonkeyPatch
) -> None:
    result, flaky, first, balance = send_through(
        rig, own_w3, monkeypatch, 5, drops=1, after_forwarding=True
    )

    assert result.tx_hash == "0x" + keccak(HexBytes(flaky.sent[0])).hex()
    assert result.receipt["status"] == 1
    assert set(flaky.sent) == {flaky.sent[0]}, "only the same signed bytes may be sent again"
    assert rig.nonce() == first + 1
    assert rig.balance() == balance + 5


def test_a_request_lost_before_reaching_the_node_is_resent_and_mined_once(
    rig: Rig, own_w3: Web3, monkeypatch: pytest.MonkeyPatch
) -> None:
    result, flaky, first, balance = send_through(
        rig, own_w3, monkeypatch, 3, drops=2, after_forwarding=False
    )

    assert len(flaky.sent) == 3
    assert set(flaky.sent) == {flaky.sent[0]}, "the re-sends carry the same signed bytes"
    assert result.tx_hash == "0x" + keccak(HexBytes(flaky.sent[0])).hex()
    assert result.receipt["status"] == 1
    assert rig.nonce() == first + 1
    assert rig.balance() == balance + 3


def test_a_connection_that_stays_down_gives_up_with_a_retryable_error_having_sent_nothing(
    rig: Rig, own_w3: Web3, monkeypatch: pytest.MonkeyPatch
) -> None:
    sender, flaky = flaky_sender(rig, own_w3, monkeypatch, drops=99, after_forwarding=False)
    first = rig.nonce()

    with pytest.raises(RetryableChainError) as info:
        sender.send(rig.issuer, rig.probe, rig.issue())

    assert len(flaky.sent) == 3
    tx_hash = info.value.details["tx_hash"]
    assert str(info.value) == (
        "the chain node did not answer eth_sendRawTransaction: ConnectionError; "
        "check that it is running (`vpl chain status`); "
        f"the transaction {tx_hash} may still reach the chain: check it before sending again"
    )
    assert rig.nonce() == first
    # the failed attempt forgot its nonce: the next send uses it
    monkeypatch.undo()
    result = sender.send(rig.issuer, rig.probe, rig.issue())
    assert rig.tx_nonce(result.tx_hash) == first
