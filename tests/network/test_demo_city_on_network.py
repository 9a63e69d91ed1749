"""`vpl up` on the validator network: the contracts and the demo city, as a developer gets them.

The same command as on a development node, through the CLI: it finds the validators running,
deploys (already done: nothing sent again), seeds the demo city's schemes, staff, rules, limits,
activities and catalogue, and indexes the chain. Every validator then holds the same state, and a
second `vpl up` finds everything in place and sends nothing."""

from __future__ import annotations

import json

import pytest

from ledger.chain.validators import ValidatorNetwork
from ledger.ledger import Ledger
from scripts.commands.chain.deploy import DEFAULT_DEMO_CITY
from tests.network.conftest import rpc, vpl
from tests.network.test_validators import wait_until


def state_roots(network: ValidatorNetwork, number: int) -> set[str]:
    """The state root of block `number` on every validator."""
    roots = set()
    for node in network.validators():
        roots.add(rpc(node.rpc_url, "eth_getBlockByNumber", [hex(number), False])["stateRoot"])
    return roots


def test_vpl_up_seeds_the_demo_city_on_every_validator_once(
    validator_network: ValidatorNetwork,
    network_ledger: Ledger,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings, ledger = validator_network.settings, network_ledger
    city = json.loads(DEFAULT_DEMO_CITY.read_text(encoding="utf-8"))
    codes = [s["code"] for s in city["schemes"]]

    first = vpl(settings, monkeypatch, "--json", "up", "--no-serve")
    assert first.exit_code == 0, (first.stdout, first.stderr)
    done = json.loads(first.stdout)
    assert done["deploy"]["created"] is False  # deployed by the fixture already: nothing sent
    assert sorted(done["demo"]["schemes_added"]) == sorted(codes)
    assert len(done["demo"]["items_listed"]) == len(city["catalogue"])
    assert len(done["demo"]["activities_published"]) == len(city["activities"])
    for code in codes:
        assert ledger.scheme(code).code == code
    # every validator has sealed or imported the same state
    head = ledger.w3.eth.block_number
    wait_until(lambda: all((s.head or 0) >= head for s in validator_network.status()),
               what="every validator at the head")  # fmt: skip
    assert len(state_roots(validator_network, head)) == 1

    nonce = ledger.w3.eth.get_transaction_count(ledger.operator("deployer").address)
    again = vpl(settings, monkeypatch, "--json", "up", "--no-serve")
    assert again.exit_code == 0, (again.stdout, again.stderr)
    seeded = json.loads(again.stdout)["demo"]
    assert not any(seeded[key] for key in seeded if key != "proposal_id"), seeded
    assert ledger.w3.eth.get_transaction_count(ledger.operator("deployer").address) == nonce
