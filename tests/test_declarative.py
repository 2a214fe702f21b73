"""Declarative adapters: manifests loaded from YAML, their errors, and the conformance kit run on the
help desk described by tests/support/helpdesk.yaml against a real server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from adapters.declarative import DeclarativeAdapter, ManifestError
from adapters.sdk import AdapterConfigError, AdapterRegistry, Entity
from adapters.sdk.testing import AdapterConformance, ConformanceExpectations
from tests.support.adapter_fixtures import closing, failing_adapter_fixtures
from tests.support.helpdesk import TOKEN, build_app
from tests.support.http_server import serve_app

SUPPORT = Path(__file__).parent / "support"


def declarative(base_url: str, **overrides: Any) -> DeclarativeAdapter:
    config = {
        "manifest": "helpdesk.yaml",
        "base_url": base_url,
        "secrets": {"token": TOKEN},
        "params": {"realm_id": "9130"},
        **overrides,
    }
    adapter = DeclarativeAdapter.from_config(source="desk_yaml", config=config, base_dir=SUPPORT)
    assert isinstance(adapter, DeclarativeAdapter)
    return adapter


@pytest.fixture(scope="module")
async def desk_url() -> AsyncIterator[str]:
    async with serve_app(build_app()) as url:
        yield url


@pytest.fixture(scope="module")
async def desk_yaml(desk_url: str) -> AsyncIterator[DeclarativeAdapter]:
    async with closing(declarative(desk_url)) as adapter:
        yield adapter


desk_yaml_down, desk_yaml_silent = failing_adapter_fixtures(
    "desk_yaml", declarative, slow={"http": {"timeout_seconds": 0.2}}
)


class TestDeclarativeConformance(
    AdapterConformance,
    fixture="desk_yaml",
    unreachable_fixture="desk_yaml_down",
    slow_fixture="desk_yaml_silent",
    expectations=ConformanceExpectations(
        total_records={Entity.CUSTOMER: 23, Entity.CONTACT: 57, Entity.TICKET: 40, Entity.PRODUCT: 12}
    ),
):
    pass


# -- loading ------------------------------------------------------------------------------------------


def test_registered_under_the_declarative_entry_point() -> None:
    assert AdapterRegistry.discover().get("declarative") is DeclarativeAdapter


def test_manifest_path_is_relative_to_the_config_file(tmp_path: Path) -> None:
    (tmp_path / "manifests").mkdir()
    (tmp_path / "manifests" / "desk.yaml").write_text((SUPPORT / "helpdesk.yaml").read_text())
    adapter = AdapterRegistry.discover().create(
        source="desk",
        adapter="declarative",
        config={"manifest": "manifests/desk.yaml", "secrets": {"token": "t"}, "params": {"realm_id": "1"}},
        base_dir=tmp_path,
    )
    assert adapter.config.manifest == str(tmp_path / "manifests" / "desk.yaml")
    assert set(adapter.mappings) == {
        Entity.CUSTOMER,
        Entity.CONTACT,
        Entity.TICKET,
        Entity.PRODUCT,
        Entity.INVOICE,
    }
    assert adapter.relations(Entity.CONTACT) == {"customer_external_id"}


async def test_an_inline_manifest_with_a_custom_authenticator(desk_url: str) -> None:
    manifest = {
        "base_url": desk_url,
        "auth": {
            "type": "custom",
            "class": "tests.support.helpdesk:DeskHeaderAuth",
            "options": {"token": "${secrets.api}"},
        },
        "endpoints": {
            "customer": {
                "path": "/api/v2/organizations",
                "record_path": "organizations",
                "fields": {"external_id": "id", "name": "name"},
                "get_many": {"param": "ids", "path": "/api/v2/organizations/show_many", "chunk_size": 10},
            }
        },
    }
    adapter = DeclarativeAdapter.from_config(
        source="inline", config={"manifest": manifest, "secrets": {"api": TOKEN}}
    )
    found = await adapter.get_many(Entity.CUSTOMER, ["3", "nope"])
    assert found[0] is not None and found[0].name == "Org 03" and found[1] is None
    await adapter.aclose()


def test_config_overrides_the_manifest_http_settings() -> None:
    adapter = declarative("http://127.0.0.1:9", http={"timeout_seconds": 1.5})
    settings = adapter.http_settings()
    assert settings.timeout_seconds == 1.5 and settings.max_attempts == 2  # the latter from the manifest
    assert adapter.base_url() == "http://127.0.0.1:9"
    assert adapter.build_scan_request(Entity.INVOICE).url == "/v3/company/9130/query"


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"manifest": ""}, "config.manifest: Value error, must name a manifest file"),
        ({"manifest": "helpdesk.yaml", "http": {"timeout": 3}}, "config.http: .*timeout: Extra inputs"),
        ({"manifest": "helpdesk.yaml", "base_url": "desk.example"}, "config.base_url"),
        ({"manifest": "helpdesk.yaml", "token": "t"}, "config.token: Extra inputs"),
    ],
)
def test_bad_source_config_is_a_clear_error(config: dict[str, Any], message: str) -> None:
    with pytest.raises(AdapterConfigError, match=message):
        DeclarativeAdapter.from_config(source="desk", config=config, base_dir=SUPPORT)


# -- manifest errors name the file, the YAML path and the line ----------------------------------------

BASE = """\
version: 1
base_url: http://127.0.0.1:9
auth:
  type: bearer
  token: ${secrets.token}
endpoints:
  customer:
    path: /api/v2/organizations
    record_path: organizations
    paginator: {type: cursor, cursor_path: links.next, has_more_path: meta.has_more}
    fields:
      external_id: id
      name: name
    get_many: {param: ids, chunk_size: 10, path: /api/v2/organizations/show_many}
  contact:
    path: /api/v2/users
    record_path: members
    fields:
      external_id: id
      customer_external_id: organization_id
    related:
      customer_external_id: {param: organization_id, chunk_size: 5}
"""
CURSOR = "{type: cursor, cursor_path: links.next, has_more_path: meta.has_more}"


def load(tmp_path: Path, text: str, **config: Any) -> DeclarativeAdapter:
    (tmp_path / "m.yaml").write_text(text)
    settings = {"manifest": "m.yaml", "secrets": {"token": "t"}, **config}
    adapter = DeclarativeAdapter.from_config(source="desk", config=settings, base_dir=tmp_path)
    assert isinstance(adapter, DeclarativeAdapter)
    return adapter


def test_the_base_manifest_loads(tmp_path: Path) -> None:
    assert set(load(tmp_path, BASE).mappings) == {Entity.CUSTOMER, Entity.CONTACT}


@pytest.mark.parametrize(
    ("old", "new", "path", "line", "message"),
    [
        ("version: 1", "version: 2", "version", 1, "version 2 is not supported"),
        ("  type: bearer", "  type: kerberos", "auth", 3, "'kerberos' found using 'type' does not match"),
        ("${secrets.token}", "${secrets.tokn}", "auth.token", 5, "secret 'tokn' is not configured .*: token"),
        ("  customer:\n", "  customers:\n", "endpoints.customers", 7, "Input should be 'customer'"),
        (
            "    record_path: organizations",
            "    recod_path: x",
            "endpoints.customer.recod_path",
            9,
            "Extra inputs",
        ),
        ("type: cursor,", "type: cursr,", "endpoints.customer.paginator", 10, "'cursr' found using 'type'"),
        (
            "has_more_path: meta.has_more}",
            "has_more_path: meta.has_more, page_size: ten}",
            "endpoints.customer.paginator.page_size",
            10,
            "valid integer",
        ),
        (
            "      name: name",
            "      nme: name",
            "endpoints.customer.fields",
            11,
            "unknown canonical field 'nme'",
        ),
        (
            "{param: ids, chunk_size: 10,",
            "{param: ids, template: 'ids={values}', chunk_size: 10,",
            "endpoints.customer.get_many.template",
            14,
            r"must contain \{items\}",
        ),
        (
            "/api/v2/users",
            "/api/${params.version}/users",
            "endpoints.contact.path",
            16,
            "param 'version' is not",
        ),
        (
            "    record_path: members",
            "    record_path: members\n    params: {key: '${secrets.token}'}",
            "endpoints.contact.params.key",
            18,
            "may only be used under auth or http.headers",
        ),
        (
            "      customer_external_id: organization_id\n",
            "",
            "endpoints.contact.related.customer_external_id",
            21,
            "must also be mapped under fields",
        ),
        (
            "organization_id, chunk_size: 5}",
            "organization_id, chunk_size: 0}",
            "endpoints.contact.related.customer_external_id.chunk_size",
            22,
            "greater than or equal to 1",
        ),
        (
            CURSOR,
            "{type: custom, class: 'no_such_module:Pager'}",
            "endpoints.customer.paginator.class",
            10,
            "cannot import 'no_such_module:Pager': ModuleNotFoundError",
        ),
        (
            CURSOR,
            "{type: custom, class: 'collections:OrderedDict'}",
            "endpoints.customer.paginator.class",
            10,
            "is not a adapters.sdk.rest.paginators.Paginator",
        ),
        (
            CURSOR,
            "{type: custom, class: 'adapters.sdk.rest:PageNumberPaginator', options: {page_sise: 5}}",
            "endpoints.customer.paginator.options",
            10,
            "rejected its options: .*page_sise",
        ),
        (CURSOR, "{type: offset, query_param: q}", "endpoints.customer.paginator", 10, "go together"),
    ],
)
def test_manifest_errors_point_at_the_bad_field(
    tmp_path: Path, old: str, new: str, path: str, line: int, message: str
) -> None:
    assert old in BASE
    with pytest.raises(ManifestError, match=message) as caught:
        load(tmp_path, BASE.replace(old, new))
    error = caught.value
    assert (error.file, error.yaml_path, error.line) == (str(tmp_path / "m.yaml"), path, line)
    assert f"manifest {tmp_path / 'm.yaml'}: {path} (line {line}): " in str(error)
    assert error.source == "desk" and isinstance(error, AdapterConfigError)


def test_yaml_syntax_errors_name_the_line(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match=r"m\.yaml \(line 10\): is not valid YAML") as caught:
        load(tmp_path, BASE.replace("has_more_path: meta.has_more}", "has_more_path: [meta}"))
    assert caught.value.line == 10


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (None, "the file does not exist"),
        ("- just\n- a list\n", "must be a mapping"),
        (
            BASE.replace("base_url: http://127.0.0.1:9\n", ""),
            "base_url: set it in the manifest or in the source",
        ),
        (BASE.replace("endpoints:", "endpoint:"), r"endpoints: Field required"),
    ],
)
def test_whole_manifest_errors(tmp_path: Path, text: str | None, message: str) -> None:
    with pytest.raises(ManifestError, match=message):
        if text is None:
            DeclarativeAdapter.from_config(
                source="desk", config={"manifest": "absent.yaml"}, base_dir=tmp_path
            )
        else:
            load(tmp_path, text)


def test_secrets_never_reach_error_messages(tmp_path: Path) -> None:
    text = BASE.replace(
        "    record_path: members", "    record_path: members\n    max_pages: ${secrets.token}"
    )
    with pytest.raises(ManifestError) as caught:
        load(tmp_path, text, secrets={"token": "sup3r-secret"})
    assert "sup3r-secret" not in str(caught.value)
