"""Discovers adapter classes through the ``crmhub.adapters`` entry-point group.

Built-in adapters are registered by crmhub's own ``pyproject.toml``; a third-party package registers its
adapter the same way, so the hub never needs to import it by name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Any

from .adapter import Adapter
from .errors import AdapterConfigError

ENTRY_POINT_GROUP = "crmhub.adapters"


class AdapterRegistry:
    """Adapter types by name."""

    def __init__(self, adapters: Mapping[str, type[Adapter[Any]]] | None = None) -> None:
        self._adapters: dict[str, type[Adapter[Any]]] = dict(adapters or {})

    @classmethod
    def discover(cls, points: Iterable[EntryPoint] | None = None) -> AdapterRegistry:
        """Load every adapter of the entry-point group; fail loudly on duplicate names or bad targets."""
        registry = cls()
        origins: dict[str, str] = {}
        eps = entry_points(group=ENTRY_POINT_GROUP) if points is None else points
        for point in eps:
            if point.name in origins:
                if origins[point.name] == point.value:  # the same distribution seen twice on sys.path
                    continue
                raise AdapterConfigError(
                    f"adapter name {point.name!r} is registered twice: by {origins[point.name]!r} and by "
                    f"{point.value!r}; uninstall one of the packages or rename its entry point"
                )
            try:
                target = point.load()
            except Exception as exc:
                raise AdapterConfigError(
                    f"adapter {point.name!r} ({point.value}) failed to load: {type(exc).__name__}: {exc}"
                ) from exc
            registry.register(target, name=point.name)
            origins[point.name] = point.value
        return registry

    def register(self, adapter: Any, *, name: str | None = None) -> None:
        if not (isinstance(adapter, type) and issubclass(adapter, Adapter)):
            raise AdapterConfigError(f"adapter {name or adapter!r} is not a subclass of adapters.sdk.Adapter")
        key = name or adapter.name
        existing = self._adapters.get(key)
        if existing is not None and existing is not adapter:
            raise AdapterConfigError(
                f"adapter name {key!r} is registered twice: {existing.__module__}.{existing.__qualname__} "
                f"and {adapter.__module__}.{adapter.__qualname__}"
            )
        self._adapters[key] = adapter

    def names(self) -> list[str]:
        return sorted(self._adapters)

    def get(self, name: str) -> type[Adapter[Any]]:
        try:
            return self._adapters[name]
        except KeyError:
            known = ", ".join(self.names()) or "none"
            raise AdapterConfigError(f"unknown adapter {name!r} (installed: {known})") from None

    def create(
        self, *, source: str, adapter: str, config: Mapping[str, Any], base_dir: Path | None = None
    ) -> Adapter[Any]:
        return self.get(adapter).from_config(source=source, config=config, base_dir=base_dir)
