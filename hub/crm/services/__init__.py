"""CRM service functions: keyword-only, taking the ``RequestContext``; every mutation runs in one
transaction and answers bad input with a typed ``HubError`` (code + field)."""
