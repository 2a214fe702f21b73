"""The audit log of mutations, secrets kept out of logs, and migration 0004."""

from __future__ import annotations

import io
import json
import logging
import sys
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, select
from sqlalchemy.engine import Connection

import hub.security.models  # noqa: F401  (registers the security tables on the shared metadata)
from hub.crm.services import territories
from hub.security.models import AuditEntry
from hub.security.redaction import RedactSecrets, install_log_redaction, redact
from hub.store.db import Database, alembic_config
from hub.store.models import Base

from .support.crm import ctx_for
from .support.hub import api_client, gql
from .support.security import issue, plain_hub
from .support.servers import fresh_pg_database

AUDIT = """query($entity: String, $entityId: String) { auditLog(first: 50, entity: $entity, entityId: $entityId) {
    totalCount edges { node { actor role operation entity entityId outcome detail occurredAt } } } }"""


async def test_every_mutation_is_audited(tmp_path: Path) -> None:
    async with plain_hub(tmp_path) as hub:
        north = await territories.create_territory(ctx_for(hub), fields={"name": "North", "type": "region"})
        south = await territories.create_territory(ctx_for(hub), fields={"name": "South", "type": "region"})
        rep = await issue(hub, "sales_rep", territories=[north.id])
        async with api_client(hub, key=rep) as client:
            _, created = await gql(
                client,
                'mutation($t: ID!) { createLead(input: { name: "Ola", email: "ola.private@example.com", territoryId: $t })'
                " { lead { id } errors { code } } }",
                {"t": north.id},
            )
            lead_id = created["data"]["createLead"]["lead"]["id"]
            await gql(
                client,
                'mutation($id: ID!) { updateLead(id: $id, version: 7, input: { name: "x" }) { errors { code } } }',
                {"id": lead_id},
            )
            _, moved = await gql(
                client,
                "mutation($id: ID!, $t: ID!) { assignLead(id: $id, version: 1, territoryId: $t) { errors { code } } }",
                {"id": lead_id, "t": south.id},
            )
            assert moved["data"]["assignLead"]["errors"] == [{"code": "NOT_FOUND"}]
        async with api_client(hub, key=await issue(hub, "finance")) as finance:
            _, refused = await gql(finance, 'mutation { createLead(input: { name: "x" }) { lead { id } } }')
            assert refused["data"] is None
            _, hidden = await gql(finance, AUDIT)
            assert hidden["errors"][0]["extensions"]["code"] == "FORBIDDEN"

        async with api_client(hub) as admin:
            _, body = await gql(admin, AUDIT, {"entity": "lead", "entityId": lead_id})
            entries = [edge["node"] for edge in body["data"]["auditLog"]["edges"]]
            assert [(e["operation"], e["outcome"], e["detail"]) for e in entries] == [
                ("assignLead", "rejected", "NOT_FOUND"),
                ("updateLead", "rejected", "STALE_VERSION"),
                ("createLead", "ok", None),
            ]
            assert {(e["actor"], e["role"]) for e in entries} == {("t sales_rep", "sales_rep")}
            _, everything = await gql(admin, AUDIT)
            outcomes = [
                (e["node"]["operation"], e["node"]["outcome"], e["node"]["role"])
                for e in everything["data"]["auditLog"]["edges"]
            ]
            assert ("createLead", "forbidden", "finance") in outcomes
        async with hub.db.session() as session:
            stored = [
                {c.name: getattr(row, c.name) for c in AuditEntry.__table__.columns}
                for row in await session.scalars(select(AuditEntry))
            ]
        assert "ola.private@example.com" not in json.dumps(stored, default=str)  # no input values


# -- logs --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "secret"),
    [
        ("Authorization: Bearer crmhub_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdefg", "crmhub_AbCd"),
        (
            "GET /graphql?headers=%7B%22Authorization%22%3A%20%22Bearer%20crmhub_zzzzzzzzzzzzzzzz",
            "crmhub_zzzz",
        ),
        ("token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLXZhbHVl rejected", "eyJzdWIiOiJ4In0"),
        ("connecting to postgresql://crm:s3cr3t-pw@db:5432/hub", "s3cr3t-pw"),
        ("config password=hunter22 client_secret: 'abc123def'", "hunter22"),
        ('{"api_key": "live-key-material"}', "live-key-material"),
    ],
)
def test_secrets_are_redacted(line: str, secret: str) -> None:
    cleaned = redact(line)
    assert secret not in cleaned and "[REDACTED]" in cleaned


def test_the_filter_redacts_messages_arguments_and_tracebacks() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger = logging.getLogger("crmhub.test.redaction")
    logger.addHandler(handler)
    logger.propagate = False
    root = logging.getLogger()
    root_handler = logging.StreamHandler(io.StringIO())
    root.addHandler(root_handler)
    try:
        install_log_redaction(("", "crmhub.test.redaction"))
        install_log_redaction(("", "crmhub.test.redaction"))  # idempotent
        assert sum(isinstance(f, RedactSecrets) for f in handler.filters) == 1
        assert any(isinstance(f, RedactSecrets) for f in root_handler.filters)
        logger.warning("request with %s from %s", "Bearer crmhub_secretsecretsecret", "10.0.0.1")
        try:
            raise RuntimeError("upstream https://svc:pa55word@api.test/ refused")
        except RuntimeError:
            logger.exception("call failed")
        output = stream.getvalue()
        assert "crmhub_secret" not in output and "pa55word" not in output
        assert "from 10.0.0.1" in output and "RuntimeError" in output and "call failed" in output
    finally:
        logger.removeHandler(handler)
        root.removeHandler(root_handler)


def test_uvicorn_s_access_log_keeps_working_with_the_filter() -> None:
    """uvicorn's access formatter reads its five fields from ``record.args``: the filter must leave them
    there (redacted), or every request line becomes a logging error."""
    from uvicorn.logging import AccessFormatter

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        AccessFormatter('%(client_addr)s - "%(request_line)s" %(status_code)s', use_colors=False)
    )
    handler.addFilter(RedactSecrets())
    logger = logging.getLogger("crmhub.test.access")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    errors: list[BaseException | None] = []
    handle_error = handler.handleError
    handler.handleError = lambda record: errors.append(sys.exc_info()[1])  # type: ignore[method-assign]
    try:
        line = '%s - "%s %s HTTP/%s" %d'
        logger.info(line, "127.0.0.1:5000", "GET", "/healthz", "1.1", 200)
        logger.info(line, "127.0.0.1:5001", "GET", "/export?api_key=crmhub_livekeylivekey", "1.1", 200)
        output = stream.getvalue()
    finally:
        handler.handleError = handle_error  # type: ignore[method-assign]
        logger.removeHandler(handler)
    assert errors == []
    assert '127.0.0.1:5000 - "GET /healthz HTTP/1.1" 200' in output
    assert "livekey" not in output and '"GET /export?api_key=[REDACTED] HTTP/1.1" 200' in output


def test_a_secret_split_between_message_and_argument_is_merged_and_redacted() -> None:
    record = logging.LogRecord("crmhub", logging.INFO, __file__, 1, "token=%s", ("abc123def",), None)
    untouched = logging.LogRecord("crmhub", logging.INFO, __file__, 1, "%s rows in %s", (3, "orders"), None)
    RedactSecrets().filter(record)
    RedactSecrets().filter(untouched)
    assert record.getMessage() == "token=[REDACTED]" and record.args is None
    assert untouched.args == (3, "orders")  # nothing secret: the record is left as it was


# -- migration ---------------------------------------------------------------------------------------


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return [d for d in compare_metadata(context, Base.metadata) if "security_" in repr(d)]


def _downgrade(connection: Connection) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.downgrade(config, "0003")


async def _check(url: str) -> None:
    db = Database(url)
    try:
        await db.migrate()
        async with db.engine.connect() as conn:
            assert await conn.run_sync(_differences) == []
        async with db.engine.begin() as conn:
            await conn.run_sync(_downgrade)
        async with db.engine.connect() as conn:
            tables = await conn.run_sync(lambda sync: inspect(sync).get_table_names())
        assert not [t for t in tables if t.startswith("security_")] and "crm_leads" in tables
        await db.migrate()
    finally:
        await db.aclose()


async def test_migration_on_sqlite(tmp_path: Path) -> None:
    await _check(f"sqlite+aiosqlite:///{tmp_path / 'hub.sqlite'}")


@pytest.mark.postgres
async def test_migration_on_postgres() -> None:
    async with fresh_pg_database("crmhub_security_migration") as url:
        await _check(url)


async def test_duplicate_hints_name_only_records_in_scope(tmp_path: Path) -> None:
    async with plain_hub(tmp_path) as hub:
        ctx = ctx_for(hub)
        north = await territories.create_territory(ctx, fields={"name": "North", "type": "region"})
        south = await territories.create_territory(ctx, fields={"name": "South", "type": "region"})
        from hub.crm.services import leads

        await leads.create_lead(
            ctx, fields={"name": "Southern Twin", "email": "twin@shared.example", "territory_id": south.id}
        )
        create = """mutation($t: ID!) { createLead(input: { name: "Northern Twin", email: "twin@shared.example",
            territoryId: $t }) { lead { id } duplicates { name reason } } }"""
        async with api_client(hub, key=await issue(hub, "sales_rep", territories=[north.id])) as rep:
            _, body = await gql(rep, create, {"t": north.id})
            assert body["data"]["createLead"]["lead"] and body["data"]["createLead"]["duplicates"] == []
        async with api_client(hub) as admin:
            _, body = await gql(admin, create, {"t": north.id})
            names = {d["name"] for d in body["data"]["createLead"]["duplicates"]}
            assert "Southern Twin" in names and "Northern Twin" in names
