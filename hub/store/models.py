"""SQLAlchemy models of the identity map.

A hub customer is the golden record; each ``CustomerLink`` attaches one silo record ``(source,
external_id)`` to it and says why (rule, score, when), so identity resolution stays explainable. A
customer merged into another keeps its row with ``merged_into`` set, so old ids keep resolving.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, DateTime, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    pass


class HubCustomer(Base):
    __tablename__ = "hub_customers"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    #: Golden-profile snapshot used to list, sort and search without calling the silos.
    display_name: Mapped[str] = mapped_column(String(300), default="")
    search_text: Mapped[str] = mapped_column(String(1000), default="")
    country: Mapped[str | None] = mapped_column(String(2))
    merged_into: Mapped[str | None] = mapped_column(ForeignKey("hub_customers.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)

    __table_args__ = (Index("ix_hub_customers_listing", "merged_into", "display_name", "id"),)


class CustomerLink(Base):
    __tablename__ = "customer_links"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    hub_customer_id: Mapped[str] = mapped_column(
        ForeignKey("hub_customers.id", ondelete="CASCADE"), index=True
    )
    source: Mapped[str] = mapped_column(String(40))
    #: The canonical entity of the linked record: a customer/organisation, or e.g. a marketing member.
    entity: Mapped[str] = mapped_column(String(40), default="customer")
    external_id: Mapped[str] = mapped_column(String(200))
    #: Which rule made the link ("seed" = first record of a new customer, "manual" = an admin's merge).
    rule: Mapped[str] = mapped_column(String(100))
    score: Mapped[float] = mapped_column(Float, default=1.0)
    manual: Mapped[bool] = mapped_column(Boolean, default=False)
    linked_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    __table_args__ = (UniqueConstraint("source", "entity", "external_id", name="uq_customer_links_record"),)
