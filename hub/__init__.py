"""crmhub: the hub application (config, store, identity map, services, HTTP app, CLI)."""

__version__ = "0.1.0"
