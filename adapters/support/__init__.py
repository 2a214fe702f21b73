"""The built-in adapter of the support-desk silo: organizations, end users and tickets (entry point
``support``)."""

from __future__ import annotations

from .adapter import StreamPaginator, SupportAdapter, SupportConfig

__all__ = ["StreamPaginator", "SupportAdapter", "SupportConfig"]
