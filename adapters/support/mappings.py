"""How the support desk's organizations, end users and tickets map onto the canonical entities."""

from __future__ import annotations

from adapters.sdk import Entity, EntityMapping

#: Derived by the adapter: the desk keeps one ``name``; contacts have first and last names.
FIRST_NAME = "_first_name"
LAST_NAME = "_last_name"
#: Derived by the adapter from ``requester_id``: tickets name their requester by user id only.
REQUESTER_EMAIL = "_requester_email"

ORGANIZATION = EntityMapping(
    Entity.CUSTOMER,
    {
        "external_id": "id",
        "name": "name",
        "website": "domain_names.0",
        "created_at": "created_at",
        "updated_at": "updated_at",
    },
)

USER = EntityMapping(
    Entity.CONTACT,
    {
        "external_id": "id",
        "customer_external_id": "organization_id",
        "first_name": FIRST_NAME,
        "last_name": LAST_NAME,
        "email": "email",
        "phone": "phone",
        "updated_at": "updated_at",
    },
    relations=frozenset({"customer_external_id"}),
)

TICKET = EntityMapping(
    Entity.TICKET,
    {
        "external_id": "id",
        "customer_external_id": "organization_id",
        "requester_email": REQUESTER_EMAIL,
        "subject": "subject",
        "status": "status",
        "priority": "priority",
        "created_at": "created_at",
        "updated_at": "updated_at",
    },
    relations=frozenset({"customer_external_id"}),
)


def split_name(name: object) -> tuple[str | None, str | None]:
    """``"Ada King Lovelace"`` -> ``("Ada", "King Lovelace")``; a single word is a first name."""
    if not isinstance(name, str) or not name.strip():
        return None, None
    first, _, rest = name.strip().partition(" ")
    return first, rest.strip() or None
