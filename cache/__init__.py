"""Caching of upstream reads (aiocache: in-memory by default, Redis when shared by several hubs)."""
