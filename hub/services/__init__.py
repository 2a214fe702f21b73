"""Keyword-only service functions: the domain API that the GraphQL layer (and the CLI) call."""
