"""The configurable list of opportunity stages, each with its default probability and forecast category."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.context import RequestContext

from ..errors import StaleVersionError, ValidationError
from ..models import OpportunityStage
from ..validation import Field, boolean, choice, clean_fields, integer, text
from ..versioning import audit_values, guarded_update, write_transaction

FORECAST_CATEGORIES = ("Pipeline", "Best Case", "Commit", "Closed", "Omitted")

STAGE_FIELDS = {
    "position": Field(integer(0, 1_000_000), required=True),
    "probability": Field(integer(0, 100), required=True),
    "forecast_category": Field(choice(FORECAST_CATEGORIES), required=True),
    "is_closed": Field(boolean),
    "is_won": Field(boolean),
}


async def stage_map(session: AsyncSession) -> dict[str, OpportunityStage]:
    rows = await session.scalars(select(OpportunityStage).order_by(OpportunityStage.position))
    return {row.name: row for row in rows}


async def list_stages(ctx: RequestContext) -> list[OpportunityStage]:
    async with ctx.hub.db.session() as session:
        return list((await stage_map(session)).values())


async def configure_stage(
    ctx: RequestContext, *, name: str, fields: Mapping[str, Any], version: int | None = None
) -> OpportunityStage:
    """Add a stage (``version`` None) or change one (``version`` = the one you read)."""
    clean_name = text(60)(name, "name")
    if clean_name is None:
        raise ValidationError("name is required", field="name")
    values = clean_fields(fields, STAGE_FIELDS, creating=version is None)
    values = {k: v for k, v in values.items() if v is not None}
    if values.get("is_won") and values.get("is_closed") is False:
        raise ValidationError("a won stage is a closed stage", field="is_closed")
    async with write_transaction(ctx) as session:
        if version is None:
            existing = await session.scalar(
                select(OpportunityStage.version).where(OpportunityStage.name == clean_name)
            )
            if existing is not None:
                raise StaleVersionError(
                    f"stage {clean_name!r} exists (version {existing}); pass its version to change it",
                    current_version=existing,
                )
            values.setdefault("is_closed", bool(values.get("is_won")))
            values.setdefault("is_won", False)
            session.add(OpportunityStage(name=clean_name, **values, **audit_values(ctx.actor)))
        else:
            await guarded_update(
                session,
                OpportunityStage,
                key=OpportunityStage.name,
                record_id=clean_name,
                version=version,
                values=values,
                actor=ctx.actor,
                what="stage",
            )
        await session.flush()
        stage = await session.get(OpportunityStage, clean_name, populate_existing=True)
        assert stage is not None
        if stage.is_won and not stage.is_closed:
            raise ValidationError("a won stage is a closed stage", field="is_closed")
    return stage
