"""The one place an error becomes an HTTP answer.

Every error answer has the same shape::

    {"error": {"code": "insufficient_balance", "message": "...", "message_zh": "...",
               "details": {...}, "request_id": "..."}}

``code`` is stable (clients branch on it); ``message`` is the English text of the ledger (what is
wrong and what to do); ``message_zh`` says it in Chinese. Validation errors list every bad field.
Contract refusals are 4xx with the contract's error name and arguments in ``details``. Nothing
else leaves the server: an unexpected exception is logged with its request id and answered with a
generic 500, never a stack trace, and details never carry personal data or RPC internals.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from ledger import errors

log = logging.getLogger("api")

_STATUS: tuple[tuple[type[errors.LedgerError], int], ...] = (
    (errors.SignatureRequired, 428),
    (errors.IdempotencyConflict, 422),
    (errors.StaleAuthorization, 409),
    (errors.RecordNotFound, 404),
    (errors.UnknownScheme, 404),
    (errors.UnknownName, 404),
    (errors.NotAMember, 404),
    (errors.WalletLocked, 423),
    (errors.AuthError, 401),
    (errors.TooManyRequests, 429),
    (errors.RequestInProgress, 409),
    (errors.NotAuthorized, 403),
    (errors.AccessDenied, 403),
    (errors.CertificateInvalid, 422),
    (errors.InputError, 422),
    (errors.ContractRevert, 409),
    (errors.StoreError, 409),
    (errors.IndexBehind, 409),
    (errors.RetryableIndexerError, 503),
    (errors.IndexerError, 503),
    (errors.RetryableChainError, 503),
    (errors.NodeError, 503),
    (errors.DeploymentError, 503),
    (errors.ConfigError, 500),
)

#: What each code says in Chinese. Every code of ledger.errors and of this module has an entry
#: (tests/api/test_errors.py checks it).
MESSAGES_ZH: dict[str, str] = {
    "access_denied": "无权访问该数据。",
    "already_in_vault": "该账户或身份已登记。",
    "already_registered": "该账户或该居民已注册。",
    "auth_error": "无法确认调用者身份。",
    "authorization_expired": "签名请求或登录消息已过期，请重新获取。",
    "body_too_large": "请求内容过大。",
    "build_error": "合约编译失败。",
    "store_unavailable": "服务暂时无法保存数据，请稍后用同一个幂等键重试。",
    "certificate_invalid": "证书校验未通过。",
    "chain_error": "与区块链通信出错。",
    "chain_unavailable": "区块链节点暂时不可用，请稍后重试。",
    "config_error": "服务器配置有误。",
    "contract_revert": "合约拒绝了该操作。",
    "council_refused": "理事会拒绝了该操作。",
    "deployment_error": "合约部署与链上状态不一致。",
    "duplicate_evidence": "该凭证已用于另一条服务记录。",
    "earning_refused": "防刷分规则拒绝了该记录。",
    "exchange_declined": "该积分体系不参与此项通兑。",
    "foreign_code": "部署地址上的合约代码不符。",
    "idempotency_conflict": "该幂等键已用于另一个请求，请使用新的键。",
    "idempotency_in_progress": "该请求仍在处理中，请稍后用同一个幂等键重试，不要换新键。",
    "insecure_default": "生产环境不能使用开发用密钥。",
    "insufficient_balance": "积分余额不足。",
    "internal_error": "服务器内部错误，请凭请求编号联系管理员。",
    "invalid_address": "账户地址格式不正确。",
    "invalid_cursor": "分页游标无效，请从第一页重新查询。",
    "index_behind": "索引尚未同步到该区块，请稍后再试。",
    "index_mismatch": "索引属于另一个部署。",
    "indexer_error": "事件索引出错。",
    "indexer_retry": "事件索引暂时不可用，请稍后重试。",
    "reorg_too_deep": "链重组超出可回滚深度，需要重建索引。",
    "invalid_amount": "数量不正确。",
    "invalid_identity": "身份证号码不正确。",
    "invalid_input": "输入有误。",
    "invalid_phone": "手机号码不正确。",
    "invalid_request": "请求参数不被合约接受。",
    "invalid_rows": "文件中有错误的行。",
    "limit_exceeded": "超出限额。",
    "member_frozen": "该成员账户已冻结。",
    "method_not_allowed": "不支持该请求方法。",
    "node_already_running": "节点已在运行。",
    "node_error": "区块链节点出错。",
    "node_not_running": "区块链节点未运行。",
    "not_a_member": "该账户不是已注册成员。",
    "not_authorized": "没有执行该操作的权限。",
    "not_deployed": "合约尚未部署。",
    "not_found": "未找到。",
    "not_signed_in": "未登录或登录已过期，请重新登录。",
    "overlapping_service": "同一时段的服务已在别处登记。",
    "paused": "该积分体系已暂停。",
    "price_changed": "价格已变动，请按新价格确认。",
    "quota_exceeded": "超出积分发放额度。",
    "relay_refused": "转发合约拒绝了该签名请求。",
    "sign_in_refused": "登录签名无效。",
    "signature_mismatch": "签名与请求不符。",
    "signature_required": "请用您的账户签名后重新提交。",
    "sold_out": "库存不足。",
    "stale_authorization": "签名已失效（已有其他请求使用了该序号），请重新签名。",
    "stale_node": "节点状态异常。",
    "wrong_chain": "节点属于另一条链（链 ID 不符）。",
    "stale_quote": "兑换价值已变动，请重新报价。",
    "state_conflict": "当前状态不允许该操作。",
    "status_conflict": "当前状态不允许该变更。",
    "store_error": "链下数据库出错。",
    "too_many_requests": "请求过于频繁，请稍后再试。",
    "transaction_failed": "交易执行失败。",
    "unknown_name": "名称不存在。",
    "unknown_scheme": "积分体系不存在。",
    "validation_error": "请求参数有误。",
    "vault_corrupt": "加密数据校验失败。",
    "vault_key_error": "数据加密密钥缺失或错误。",
    "wallet_locked": "PIN 错误次数过多，钱包已锁定。",
    "wrong_pin": "PIN 或密码错误。",
    "ledger_error": "操作失败。",
}

#: Detail keys that never leave the server.
_PRIVATE_DETAILS = frozenset({"rpc_error", "data", "personal", "id_number", "phone", "name"})


def status_for(exc: errors.LedgerError) -> int:
    for cls, status in _STATUS:
        if isinstance(exc, cls):
            return status
    return 500


def error_body(
    code: str, message: str, details: dict[str, Any] | None = None, *, request: Request | None
) -> dict[str, Any]:
    return {
        "error": {
            "code": code,
            "message": message,
            "message_zh": MESSAGES_ZH.get(code, MESSAGES_ZH["ledger_error"]),
            "details": details or {},
            "request_id": getattr(request.state, "request_id", None) if request else None,
        }
    }


def ledger_error_response(exc: errors.LedgerError, request: Request | None) -> JSONResponse:
    """The answer for a ledger error (also used to store an idempotent request's answer)."""
    status = status_for(exc)
    details = {k: _jsonable(v) for k, v in exc.details.items() if k not in _PRIVATE_DETAILS}
    message = exc.message
    if status >= 500:  # configuration and deployment problems are the operator's, not the caller's
        log.error("request %s: %s: %s", _rid(request), exc.code, exc.message)
        details, message = {}, "the service is not available; the operators have been told"
    headers = {}
    retryable = errors.TooManyRequests | errors.WalletLocked | errors.RetryableChainError
    if isinstance(exc, retryable | errors.RequestInProgress):
        retry = exc.details.get("retry_after")
        headers["Retry-After"] = str(int(retry)) if retry else "5"
    return JSONResponse(
        status_code=status,
        content=error_body(exc.code, message, details, request=request),
        headers=headers,
    )


def _rid(request: Request | None) -> str | None:
    return getattr(request.state, "request_id", None) if request else None


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def install(app: FastAPI) -> None:
    """Register the handlers that shape every error."""

    @app.exception_handler(errors.LedgerError)
    async def _ledger_error(request: Request, exc: errors.LedgerError) -> JSONResponse:
        return ledger_error_response(exc, request)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        fields = [
            {
                "field": ".".join(str(p) for p in err["loc"]),
                "problem": err["msg"],
                "type": err["type"],
            }
            for err in exc.errors()
        ]
        names = ", ".join(f["field"] for f in fields)
        return JSONResponse(
            status_code=422,
            content=error_body(
                "validation_error",
                f"{len(fields)} field(s) are not valid: {names}",
                {"fields": fields},
                request=request,
            ),
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "invalid_input")
        message = str(exc.detail) if exc.status_code != 404 else f"no such path: {request.url.path}"
        return JSONResponse(
            status_code=exc.status_code,
            content=error_body(code, message, request=request),
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(OperationalError)
    async def _store_unavailable(request: Request, exc: OperationalError) -> JSONResponse:
        # The store cannot be read or written now: its disk is full, an I/O error, the database
        # server went away. Logged without the statement or its parameters.
        reason = exc.orig.args[0] if exc.orig is not None and exc.orig.args else type(exc).__name__
        log.error("request %s: the store is unavailable: %s", _rid(request), reason)
        return JSONResponse(
            status_code=503,
            content=error_body(
                "store_unavailable",
                "the service cannot write its records now; retry shortly (the same request, with "
                "the same Idempotency-Key)",
                {"retry_after": 5},
                request=request,
            ),
            headers={"Retry-After": "5"},
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("request %s failed", _rid(request))
        return JSONResponse(
            status_code=500,
            content=error_body(
                "internal_error",
                "an unexpected error; quote the request id to the operators",
                request=request,
            ),
        )
