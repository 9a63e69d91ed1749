"""Operator accounts (deployer, council members, registrars, issuers, relayer) by name."""

from __future__ import annotations

import difflib
import json
import os
from functools import lru_cache

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address

from ledger.config import NetworkConfig
from ledger.errors import ConfigError, UnknownName


@lru_cache(maxsize=512)
def from_mnemonic(mnemonic: str, index: int) -> LocalAccount:
    """The account at BIP-44 path m/44'/60'/0'/0/index of `mnemonic` (as ganache and anvil derive)."""
    Account.enable_unaudited_hdwallet_features()
    account: LocalAccount = Account.from_mnemonic(mnemonic, account_path=f"m/44'/60'/0'/0/{index}")
    return account


def operator(network: NetworkConfig, name: str) -> LocalAccount:
    """The signing account of the operator called `name` in the network file."""
    spec = network.operators.get(name)
    if spec is None:
        close = difflib.get_close_matches(name, network.operators, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise UnknownName(
            f"no operator named {name!r} in network {network.name!r}.{hint} "
            f"Known: {', '.join(sorted(network.operators))}"
        )
    if spec.index is not None:
        assert network.mnemonic is not None  # checked by NetworkConfig
        return from_mnemonic(network.mnemonic, spec.index)
    assert spec.keystore is not None and spec.password_env is not None
    password = os.environ.get(spec.password_env)
    if password is None:
        raise ConfigError(f"operator {name!r} needs its keystore password in ${spec.password_env}")
    try:
        keyfile = json.loads(spec.keystore.read_text(encoding="utf-8"))
        key = Account.decrypt(keyfile, password)
    except FileNotFoundError:
        raise ConfigError(f"operator {name!r}: keystore {spec.keystore} does not exist") from None
    except ValueError:
        raise ConfigError(f"operator {name!r}: wrong password or damaged keystore") from None
    account: LocalAccount = Account.from_key(key)
    return account


def operator_address(network: NetworkConfig, name: str) -> str:
    """An operator's address without unlocking its key (keystores carry the address in clear)."""
    spec = network.operators.get(name)
    if spec is not None and spec.keystore is not None:
        try:
            address = json.loads(spec.keystore.read_text(encoding="utf-8")).get("address")
        except (OSError, ValueError):
            address = None
        if address:
            return to_checksum_address(address if address.startswith("0x") else "0x" + address)
    return operator(network, name).address


def operator_names(network: NetworkConfig) -> list[str]:
    """Every operator name of the network."""
    return sorted(network.operators)
