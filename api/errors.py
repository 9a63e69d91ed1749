"""The one place LedgerError becomes an HTTP answer: a stable code, a message, details; no traces."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from ledger import errors

_STATUS: tuple[tuple[type[errors.LedgerError], int], ...] = (
    (errors.RecordNotFound, 404),
    (errors.UnknownScheme, 404),
    (errors.NotAMember, 404),
    (errors.NotAuthorized, 403),
    (errors.AccessDenied, 403),
    (errors.InputError, 422),
    (errors.ContractRevert, 409),
    (errors.RetryableChainError, 503),
    (errors.NodeError, 503),
    (errors.DeploymentError, 503),
    (errors.ConfigError, 500),
)


def status_for(exc: errors.LedgerError) -> int:
    for cls, status in _STATUS:
        if isinstance(exc, cls):
            return status
    return 500


def install(app: FastAPI) -> None:
    """Register the handler that shapes every ledger error."""

    @app.exception_handler(errors.LedgerError)
    async def _ledger_error(_: Request, exc: errors.LedgerError) -> JSONResponse:
        details = {k: v for k, v in exc.details.items() if k != "rpc_error"}
        return JSONResponse(
            status_code=status_for(exc),
            content={"error": {"code": exc.code, "message": exc.message, "details": details}},
        )
