"""The transactions of one batch run in flight: sent, not yet landed, each refusal written down."""

from __future__ import annotations

from collections.abc import Callable

from ledger.chain.tx import Sent, TxResult, TxSender
from ledger.earning.refusals import RefusalLog
from ledger.errors import LedgerError

#: Transactions one batch run keeps in flight (a validator's pool holds thousands per sender).
IN_FLIGHT = 64


class Flight:
    """The transactions of one batch run that are sent and not yet landed, by key.

    A refusal, at simulation or mined, is written down as a refused attempt; after it nothing
    new is sent, but the transactions already in flight land and are recorded (they are paid,
    nothing is lost), and then the first refusal is raised."""

    def __init__(self, sender: TxSender, refusals: RefusalLog) -> None:
        self.sender, self.refusals = sender, refusals
        self.pending: dict[tuple[str, int], tuple[Sent, tuple[str, str, str]]] = {}
        self.refusal: LedgerError | None = None

    def room(self) -> bool:
        return self.refusal is None and len(self.pending) < IN_FLIGHT

    def send(
        self,
        key: tuple[str, int],
        start: Callable[[], Sent],
        *,
        actor: str,
        action: str,
        subject: str,
    ) -> None:
        try:
            with self.refusals.attempt(actor, action, subject):
                sent = start()
                if key[0] == "submit":
                    # its approval follows as soon as it is mined and is confirmed itself
                    sent.confirmations = 0
                self.pending[key] = (sent, (actor, action, subject))
        except LedgerError as exc:
            self.fail(exc)

    def fail(self, exc: LedgerError) -> None:
        self.refusal = self.refusal or exc

    def landed(self) -> list[tuple[tuple[str, int], TxResult]]:
        """Wait until some of the pending transactions land; those that succeeded, by key."""
        outcomes = self.sender.wait_some([sent for sent, _ in self.pending.values()])
        succeeded = []
        for key in sorted(self.pending):
            sent, (actor, action, subject) = self.pending[key]
            if sent.tx_hash not in outcomes:
                continue
            del self.pending[key]
            outcome = outcomes[sent.tx_hash]
            if isinstance(outcome, TxResult):
                succeeded.append((key, outcome))
                continue
            try:
                with self.refusals.attempt(actor, action, subject):
                    raise outcome
            except LedgerError as exc:
                self.fail(exc)
        return succeeded

    def raise_first_refusal(self) -> None:
        if self.refusal is not None:
            raise self.refusal
