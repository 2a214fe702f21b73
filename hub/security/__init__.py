"""Who may see which customer, and which fields: authentication (API keys, JWTs), roles and permissions,
territory scoping of rows, rate limits, the audit log and log redaction (see docs/security.md).

Modules: ``config`` (``security:`` in crmhub.yaml), ``permissions`` (the catalogue), ``principal``,
``scope`` (row-level scoping of every hub database statement), ``api_keys``, ``jwt_auth``,
``authenticate``, ``ratelimit``, ``service`` (the per-hub runtime), ``middleware`` (the HTTP gate),
``attached`` (what the gate admitted a request as), ``audit``, ``redaction``, ``models`` (tables of
migration 0004), ``cli`` (``crmhub keys``) and ``demo`` (keys for ``crmhub demo``). The GraphQL side is in
``schema/permissions.py``, ``schema/limits.py``, ``schema/audit.py`` and ``schema/security.py``.
"""
