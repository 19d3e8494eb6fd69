"""SQLModel table models. Internal product fields live in a table of their own."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

metadata = SQLModel.metadata
# Stable constraint names so migrations can refer to them on every backend.
metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class CatalogMeta(SQLModel, table=True):
    __tablename__ = "catalog_meta"
    key: str = Field(primary_key=True, max_length=64)
    value: int = Field(default=0, sa_type=sa.BigInteger)


class PricingBandRow(SQLModel, table=True):
    __tablename__ = "pricing_band"
    code: str = Field(primary_key=True, max_length=32)
    label: str = Field(max_length=200)
    min_amount: int = Field(sa_type=sa.BigInteger)
    max_amount: int | None = Field(default=None, sa_type=sa.BigInteger)
    currency: str = Field(max_length=3)
    position: int = 0


class RegionRow(SQLModel, table=True):
    __tablename__ = "region"
    code: str = Field(primary_key=True, max_length=32)
    name: str = Field(max_length=200)
    parent_code: str | None = Field(default=None, max_length=32)
    aliases: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    briefing_target_per_quarter: int | None = None
    position: int = 0


class ProductRow(SQLModel, table=True):
    __tablename__ = "product"
    id: int | None = Field(default=None, primary_key=True)
    sku: str = Field(max_length=64, unique=True)
    name: str = Field(max_length=200)
    aliases: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    lifecycle: str = Field(max_length=16)
    pricing_band_code: str | None = Field(default=None, max_length=32)
    summary: str = Field(default="", sa_type=sa.Text)
    traits: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    competitors: list[dict[str, Any]] = Field(default_factory=list, sa_type=sa.JSON)
    docs: list[dict[str, Any]] = Field(default_factory=list, sa_type=sa.JSON)
    owner: str | None = Field(default=None, max_length=64)
    position: int = 0


class AvailabilityRuleRow(SQLModel, table=True):
    __tablename__ = "availability_rule"
    __table_args__ = (sa.UniqueConstraint("product_id", "region_code"),)
    id: int | None = Field(default=None, primary_key=True)
    product_id: int = Field(
        sa_column=sa.Column(
            sa.Integer, sa.ForeignKey("product.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    region_code: str = Field(max_length=32)
    status: str = Field(max_length=16)
    reason: str | None = Field(default=None, sa_type=sa.Text)
    from_date: dt.date | None = None
    pricing_band_code: str | None = Field(default=None, max_length=32)
    position: int = 0


class ProductInternalRow(SQLModel, table=True):
    """Margins, costs, notes: read only by catalog export, never by a lookup."""

    __tablename__ = "product_internal"
    product_id: int = Field(
        sa_column=sa.Column(
            sa.Integer, sa.ForeignKey("product.id", ondelete="CASCADE"), primary_key=True
        )
    )
    data: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
