"""The root of the hierarchy, and the errors of settings and of input caught before anything
is sent (``ledger.errors`` draws the whole tree)."""

from __future__ import annotations

from typing import Any, ClassVar


class LedgerError(Exception):
    """Root of every error this project raises on purpose."""

    code: ClassVar[str] = "ledger_error"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def __str__(self) -> str:
        return self.message


# --- configuration -----------------------------------------------------------------------------


class ConfigError(LedgerError):
    code = "config_error"


class InsecureDefault(ConfigError):
    code = "insecure_default"


# --- input -------------------------------------------------------------------------------------


class InputError(LedgerError, ValueError):
    code = "invalid_input"


class InvalidAddress(InputError):
    code = "invalid_address"


class InvalidAmount(InputError):
    code = "invalid_amount"


class InvalidIdentity(InputError):
    code = "invalid_identity"


class InvalidPhone(InputError):
    code = "invalid_phone"


class InvalidCursor(InputError):
    code = "invalid_cursor"


class UnknownName(InputError):
    code = "unknown_name"


class InvalidRows(InputError):
    """A file with bad rows: every problem, each with its line number (``details["rows"]``)."""

    code = "invalid_rows"


# --- relayed writes ----------------------------------------------------------------------------


class SignatureRequired(InputError):
    """A relayed write must be signed by the person first: ``typed_data`` is what they sign (the
    API answers 428); they send the request again with the signature, nonce, deadline and gas."""

    code = "signature_required"


class SignatureMismatch(InputError):
    code = "signature_mismatch"


class AuthorizationExpired(InputError):
    code = "authorization_expired"


class StaleAuthorization(InputError):
    code = "stale_authorization"


class IdempotencyConflict(InputError):
    code = "idempotency_conflict"
