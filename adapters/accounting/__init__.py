"""The built-in adapter of the online-accounting silo: customers, invoices and payments (entry point
``accounting``)."""

from __future__ import annotations

from .adapter import AccountingAdapter, AccountingConfig

__all__ = ["AccountingAdapter", "AccountingConfig"]
