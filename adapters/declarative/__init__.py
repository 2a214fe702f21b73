"""Declarative adapters: a REST source added with a YAML manifest, no Python.

A manifest declares the base URL, the authenticator, the HTTP settings and, per canonical entity, the
endpoint: path, record path, paginator, field mapping and batch lookups. Custom paginators and
authenticators are named as ``module:Class``. The schema is in ``adapters.declarative.manifest``.
"""

from __future__ import annotations

from .adapter import DeclarativeAdapter, DeclarativeConfig
from .manifest import Manifest, ManifestError, ManifestSource, read_manifest, validate_manifest

__all__ = [
    "DeclarativeAdapter",
    "DeclarativeConfig",
    "Manifest",
    "ManifestError",
    "ManifestSource",
    "read_manifest",
    "validate_manifest",
]
