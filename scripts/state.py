"""One run of ``vpl``: its global options, and the Settings and Ledger built from them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from eth_account.signers.local import LocalAccount
from pydantic import ValidationError

from ledger.chain.contracts import Scheme
from ledger.config import Settings
from ledger.errors import ConfigError, InputError
from ledger.ledger import Ledger
from ledger.values import parse_address
from scripts.output import Output

#: Options every command group shares.
APP_OPTIONS: dict[str, Any] = {
    "no_args_is_help": True,
    "add_completion": False,
    "pretty_exceptions_show_locals": False,
}


class State:
    """One run's global options, and the Settings and Ledger built from them on first use."""

    def __init__(
        self,
        *,
        network: str | None,
        data_dir: Path | None,
        rpc_url: str | None,
        json_mode: bool,
        signer: str | None,
    ) -> None:
        given = {"network": network, "data_dir": data_dir, "rpc_url": rpc_url}
        self.options: dict[str, Any] = {k: v for k, v in given.items() if v is not None}
        self.signer = signer
        self.out = Output(json_mode=json_mode)
        self._settings: Settings | None = None
        self._ledger: Ledger | None = None

    def override(self, **values: Any) -> None:
        """Add settings from a command's own options (before the settings are first used)."""
        if self._settings is not None:
            raise RuntimeError("settings are already built")
        self.options.update({k: v for k, v in values.items() if v is not None})

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            try:
                self._settings = Settings(**self.options)
            except ValidationError as exc:
                problems = "; ".join(
                    f"{'.'.join(str(p) for p in err['loc']) or 'settings'}: {err['msg']}"
                    for err in exc.errors()
                )
                raise ConfigError(
                    f"invalid settings (options or VPL_* variables): {problems}"
                ) from None
        return self._settings

    @property
    def ledger(self) -> Ledger:
        if self._ledger is None:
            self._ledger = Ledger(self.settings)
        return self._ledger

    def close(self) -> None:
        if self._ledger is not None:
            self._ledger.close()

    def signer_name(self, default: str) -> str:
        """The operator that signs: ``--as``, else the command's default."""
        return self.signer or default

    def sign_as(self, default: str) -> LocalAccount:
        return self.ledger.operator(self.signer_name(default))

    @property
    def first_council_member(self) -> str:
        return self.ledger.network.council.members[0]

    def labels(self) -> dict[str, str]:
        """Address -> operator name (keystore addresses are read without unlocking them)."""
        return self.ledger.operators_by_address

    def label(self, address: str | None) -> str | None:
        """``0xAbC… (issuer-vol)`` for a known operator or contract, else the address."""
        if address is None:
            return None
        name = self.labels().get(address)
        if name is None:
            contracts = self.ledger.manifest.contracts
            name = next((n for n, c in contracts.items() if c.address == address), None)
        return f"{address} ({name})" if name else address

    def key_holder(self, address: str, *, whose: str) -> LocalAccount:
        """``--as``, else the configured operator whose address is `address` (`whose` key it is,
        for the message when there is none)."""
        if self.signer is not None:
            return self.ledger.operator(self.signer)
        name = self.labels().get(address)
        if name is None:
            raise InputError(
                f"no operator configured here holds the key of {whose} {address}; name the "
                "signer with --as"
            )
        return self.ledger.operator(name)

    def issuer_signer(self, scheme: Scheme) -> LocalAccount:
        """``--as``, else the configured operator whose address is the scheme's issuer."""
        return self.key_holder(scheme.issuer, whose=f"{scheme.code}'s issuer")

    def named_signer(self, refusal: str) -> LocalAccount:
        """The operator ``--as`` names, for commands with no default signer (a member's proxy);
        without one, `refusal` says what to do."""
        if self.signer is None:
            raise InputError(refusal)
        return self.ledger.operator(self.signer)

    def account(self, text: str, *, what: str = "account") -> str:
        """An address given as ``0x…`` or as an operator name from the network file."""
        if text.strip().lower().startswith("0x"):
            return parse_address(text, what=what)
        return self.ledger.operator(text.strip()).address

    def optional_account(self, text: str | None, *, what: str) -> str | None:
        """``account`` of an option that may be left out (None then)."""
        return self.account(text, what=what) if text else None

    def command(self, rest: str) -> str:
        """A ``vpl`` command line to suggest, with the network option if one was given."""
        network = self.options.get("network")
        prefix = f"vpl --network {network}" if network else "vpl"
        return f"{prefix} {rest}"


def state_of(ctx: typer.Context) -> State:
    """The state the top-level callback put on the context."""
    state = ctx.find_object(State)
    assert state is not None, "the top-level callback sets the state"
    return state
