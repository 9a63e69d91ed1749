"""The audit log of admin actions taken through the API, for auditors and registrars."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sqlmodel import col, func, select

from api.deps import CallerDep, ServicesDep, require_any_role
from ledger.store import session
from ledger.store.sessions import AdminAction

router = APIRouter(prefix="/v1/admin", tags=["admin"])


class AdminActionPublic(BaseModel):
    id: int
    at: datetime
    actor: str
    action: str
    subject: str
    outcome: str
    request_id: str


class AdminActionsPage(BaseModel):
    total: int
    offset: int
    limit: int
    items: list[AdminActionPublic]


@router.get("/actions", response_model=AdminActionsPage)
def admin_actions(
    caller: CallerDep,
    services: ServicesDep,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    action: Annotated[str | None, Query(max_length=64, description="e.g. member.register")] = None,
    actor: Annotated[str | None, Query(max_length=42)] = None,
) -> AdminActionsPage:
    """Admin actions, newest first (auditors and registrars)."""
    require_any_role(services, caller, ("auditor", "registrar"))
    query = select(AdminAction)
    counting = select(func.count()).select_from(AdminAction)
    if action:
        query = query.where(AdminAction.action == action)
        counting = counting.where(AdminAction.action == action)
    if actor:
        query = query.where(AdminAction.actor == actor)
        counting = counting.where(AdminAction.actor == actor)
    with session(services.ledger.engine) as db:
        total = db.exec(counting).one()
        rows = db.exec(query.order_by(col(AdminAction.id).desc()).offset(offset).limit(limit))
        items = [AdminActionPublic.model_validate(r, from_attributes=True) for r in rows]
    return AdminActionsPage(total=int(total), offset=offset, limit=limit, items=items)
