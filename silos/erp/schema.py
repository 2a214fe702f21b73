"""The ERP's database schema (SQLAlchemy Core), portable between SQLite and PostgreSQL.

Snake_case names and integer surrogate keys, like a home-grown ERP. Money is ``Numeric``, timestamps are
naive UTC ``DateTime``. Every foreign key used for lookups is indexed; ``erp_meta`` records the parameters a
database was generated with.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
)

metadata = MetaData()

# Order and line ids are derived from company indexes and outgrow 32 bits for large databases; on SQLite an
# INTEGER primary key stays the rowid alias, which keeps inserts and lookups fast.
_BigId = BigInteger().with_variant(Integer(), "sqlite")

regions = Table(
    "regions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("code", String(32), nullable=False, unique=True),
    Column("name", String(100), nullable=False),
)

territories = Table(
    "territories",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("code", String(16), nullable=False, unique=True),
    Column("name", String(100), nullable=False),
    Column("region_id", Integer, ForeignKey("regions.id"), nullable=False, index=True),
    Column("parent_id", Integer, ForeignKey("territories.id"), nullable=True, index=True),
    Column("country", String(2), nullable=False),
)

employees = Table(
    "employees",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("first_name", String(80), nullable=False),
    Column("last_name", String(80), nullable=False),
    Column("email", String(200), nullable=False, unique=True),
    Column("phone", String(40)),
    Column("title", String(100), nullable=False),
    Column("reports_to", Integer, ForeignKey("employees.id"), nullable=True, index=True),
    Column("hired_at", DateTime, nullable=False),
    Column("active", Boolean, nullable=False),
)

employee_territories = Table(
    "employee_territories",
    metadata,
    Column("employee_id", Integer, ForeignKey("employees.id"), primary_key=True),
    Column("territory_id", Integer, ForeignKey("territories.id"), primary_key=True, index=True),
)

products = Table(
    "products",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("sku", String(32), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("category", String(80), nullable=False),
    Column("unit_price", Numeric(12, 2), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("discontinued", Boolean, nullable=False),
)

companies = Table(
    "companies",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("code", String(16), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("legal_form", String(40)),
    Column("tax_id", String(32), index=True),
    Column("email", String(200)),
    Column("phone", String(40)),
    Column("website", String(200)),
    Column("street", String(200)),
    Column("city", String(100)),
    Column("region", String(100)),
    Column("postal_code", String(16)),
    Column("country", String(2), nullable=False),
    Column("industry", String(80)),
    Column("annual_revenue", Numeric(16, 2)),
    Column("territory_id", Integer, ForeignKey("territories.id"), nullable=False, index=True),
    Column("sales_rep_id", Integer, ForeignKey("employees.id"), nullable=False, index=True),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False, index=True),
)

contacts = Table(
    "contacts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("company_id", Integer, ForeignKey("companies.id"), nullable=False, index=True),
    Column("first_name", String(80), nullable=False),
    Column("last_name", String(80), nullable=False),
    Column("email", String(200), index=True),
    Column("phone", String(40)),
    Column("title", String(100)),
    Column("is_primary", Boolean, nullable=False),
)

credit_terms = Table(
    "credit_terms",
    metadata,
    Column("company_id", Integer, ForeignKey("companies.id"), primary_key=True, autoincrement=False),
    Column("credit_limit", Numeric(14, 2), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("payment_terms_days", Integer, nullable=False),
    Column("on_hold", Boolean, nullable=False),
    Column("updated_at", DateTime, nullable=False, index=True),
)

orders = Table(
    "orders",
    metadata,
    Column("id", _BigId, primary_key=True, autoincrement=False),
    Column("number", String(24), nullable=False, unique=True),
    Column("company_id", Integer, ForeignKey("companies.id"), nullable=False, index=True),
    Column("ordered_at", DateTime, nullable=False),
    Column("status", String(16), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("total", Numeric(14, 2), nullable=False),
    Column("sales_rep_id", Integer, ForeignKey("employees.id"), nullable=False, index=True),
    Column("updated_at", DateTime, nullable=False, index=True),
)

order_lines = Table(
    "order_lines",
    metadata,
    Column("id", _BigId, primary_key=True, autoincrement=False),
    Column("order_id", _BigId, ForeignKey("orders.id"), nullable=False),
    Column("line_no", Integer, nullable=False),
    Column("product_id", Integer, ForeignKey("products.id"), nullable=False, index=True),
    Column("description", String(200), nullable=False),
    Column("quantity", Numeric(12, 2), nullable=False),
    Column("unit_price", Numeric(12, 2), nullable=False),
    # A fraction: 0.1000 is ten percent off.
    Column("discount", Numeric(5, 4), nullable=False),
    Column("amount", Numeric(14, 2), nullable=False),
    # Also the lookup index of an order's lines (order_id leads).
    Index("ix_order_lines_order_id_line_no", "order_id", "line_no", unique=True),
)

erp_meta = Table(
    "erp_meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", String(200), nullable=False),
)

#: The generated tables by name (``erp_meta`` is written by the database writers).
TABLES: dict[str, Table] = {
    table.name: table
    for table in (
        regions,
        territories,
        employees,
        employee_territories,
        products,
        companies,
        contacts,
        credit_terms,
        orders,
        order_lines,
    )
}
