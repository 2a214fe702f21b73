"""The built-in adapter of the e-mail marketing silo: audience members and campaign activity (entry point
``marketing``)."""

from __future__ import annotations

from .adapter import MarketingAdapter, MarketingConfig

__all__ = ["MarketingAdapter", "MarketingConfig"]
