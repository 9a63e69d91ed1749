"""Errors off the chain: access, sign-in, rate limits, certificates and the off-chain store."""

from __future__ import annotations

from typing import Any

from ledger.errors.base import LedgerError

# --- access and sign-in ------------------------------------------------------------------------


class AccessDenied(LedgerError, PermissionError):
    """The caller may not see or do this (checked off chain, e.g. unmasked personal data)."""

    code = "access_denied"


class AuthError(LedgerError):
    code = "auth_error"


class NotSignedIn(AuthError):
    code = "not_signed_in"


class SignInRefused(AuthError):
    code = "sign_in_refused"


class WrongPin(AuthError):
    code = "wrong_pin"


class WalletLocked(AuthError):
    code = "wallet_locked"


class TooManyRequests(LedgerError):
    code = "too_many_requests"


class RequestInProgress(LedgerError):
    """The first attempt with this Idempotency-Key is still running: the same request sent again
    after ``details["retry_after"]`` seconds gets its answer (never send it with a new key)."""

    code = "idempotency_in_progress"


class CertificateInvalid(LedgerError):
    """A certificate of service that is altered, forged or no longer backed by the chain; the
    message lists every reason (``details["problems"]``)."""

    code = "certificate_invalid"


# --- off-chain store ---------------------------------------------------------------------------


class StoreError(LedgerError):
    code = "store_error"


class VaultKeyError(StoreError):
    code = "vault_key_error"


class VaultCorrupt(StoreError):
    """A vault row fails authentication: its bytes were altered or copied from another row."""

    code = "vault_corrupt"


class AlreadyInVault(StoreError):
    """``field`` (``"address"`` or ``"commitment"``) is already held by a row of the vault."""

    code = "already_in_vault"

    def __init__(self, message: str, *, field: str, **details: Any) -> None:
        super().__init__(message, field=field, **details)
        self.field = field


class StatusConflict(StoreError):
    """A row's current ``status`` does not allow the requested change."""

    code = "status_conflict"

    def __init__(self, message: str, *, status: str, **details: Any) -> None:
        super().__init__(message, status=status, **details)
        self.status = status


class DuplicateEvidence(StoreError):
    """The evidence (photos, sign-in sheet) behind a record already backs another record.

    Enforced by the store, not the chain: an evidence hash per record on chain would cost a new
    storage slot per record (over 20,000 gas, more than a whole batch record costs now), and the
    chain cannot tell two hashes of the same photo apart anyway. Each hash is on chain in the
    record's event or its batch's input, so auditors can still find reuse there.
    """

    code = "duplicate_evidence"


class OverlappingService(StoreError):
    """The volunteer already has a record in another scheme for the same time.

    The chain keeps each volunteer's records in time order within a scheme; across schemes only
    the store sees every record, so it refuses the same hours claimed twice.
    """

    code = "overlapping_service"


class RecordNotFound(StoreError, LookupError):
    code = "not_found"
