"""The permissions a role can grant: ``<entity>:<action>`` strings, matched exactly, by ``<entity>:*`` or by
``*`` (everything).

Reading customers and reading their financial fields are separate permissions: ``finance:read`` guards the
balance, invoices, payments, credit terms and lifetime value wherever they appear (customer fields and the
invoice and payment entries of the timeline).
"""

from __future__ import annotations

from collections.abc import Iterable

EVERYTHING = "*"

CUSTOMER_READ = "customer:read"
CUSTOMER_EXPORT = "customer:export"
ORDER_READ = "order:read"
FINANCE_READ = "finance:read"
TICKET_READ = "ticket:read"
MARKETING_READ = "marketing:read"
LEAD_READ = "lead:read"
LEAD_WRITE = "lead:write"
OPPORTUNITY_READ = "opportunity:read"
OPPORTUNITY_WRITE = "opportunity:write"
OPPORTUNITY_CONFIGURE = "opportunity:configure"
ACTIVITY_READ = "activity:read"
ACTIVITY_WRITE = "activity:write"
COMPETITOR_NOTE_READ = "competitor_note:read"
COMPETITOR_NOTE_WRITE = "competitor_note:write"
TERRITORY_READ = "territory:read"
TERRITORY_WRITE = "territory:write"
SALES_REP_READ = "sales_rep:read"
SALES_REP_WRITE = "sales_rep:write"
SOURCE_READ = "source:read"
CACHE_WRITE = "cache:write"
METRICS_READ = "metrics:read"
AUDIT_READ = "audit:read"
API_KEY_ADMIN = "api_key:admin"
#: Merging and splitting customers, running identity resolution.
IDENTITY_WRITE = "identity:write"

KNOWN = frozenset(
    {
        CUSTOMER_READ,
        CUSTOMER_EXPORT,
        ORDER_READ,
        FINANCE_READ,
        TICKET_READ,
        MARKETING_READ,
        LEAD_READ,
        LEAD_WRITE,
        OPPORTUNITY_READ,
        OPPORTUNITY_WRITE,
        OPPORTUNITY_CONFIGURE,
        ACTIVITY_READ,
        ACTIVITY_WRITE,
        COMPETITOR_NOTE_READ,
        COMPETITOR_NOTE_WRITE,
        TERRITORY_READ,
        TERRITORY_WRITE,
        SALES_REP_READ,
        SALES_REP_WRITE,
        SOURCE_READ,
        CACHE_WRITE,
        METRICS_READ,
        AUDIT_READ,
        API_KEY_ADMIN,
        IDENTITY_WRITE,
    }
)
_ENTITIES = frozenset(p.split(":", 1)[0] for p in KNOWN)

#: What reading each kind of timeline entry needs. A kind missing here (a silo kind registered later) is
#: shown only to principals holding ``*``: new data stays private until someone decides who may see it.
TIMELINE_KINDS: dict[str, str] = {
    "order": ORDER_READ,
    "invoice": FINANCE_READ,
    "payment": FINANCE_READ,
    "ticket": TICKET_READ,
    "campaign": MARKETING_READ,
    "activity": ACTIVITY_READ,
    "competitor_note": COMPETITOR_NOTE_READ,
    "lead": LEAD_READ,
    "opportunity": OPPORTUNITY_READ,
}


def grants(granted: Iterable[str], wanted: str) -> bool:
    """Whether the permissions ``granted`` include ``wanted``."""
    held = granted if isinstance(granted, frozenset | set) else frozenset(granted)
    if EVERYTHING in held or wanted in held:
        return True
    entity = wanted.split(":", 1)[0]
    return f"{entity}:*" in held


def pattern_problem(pattern: str) -> str | None:
    """Why ``pattern`` is not a permission a role may grant, or ``None`` when it is one."""
    if pattern == EVERYTHING or pattern in KNOWN:
        return None
    entity, _, action = pattern.partition(":")
    if action == "*" and entity in _ENTITIES:
        return None
    known = ", ".join(sorted(KNOWN))
    return f"unknown permission {pattern!r}; use '*', '<entity>:*' or one of: {known}"


def timeline_kind_permission(kind: str) -> str:
    return TIMELINE_KINDS.get(kind, EVERYTHING)
