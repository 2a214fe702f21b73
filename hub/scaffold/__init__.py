"""``crmhub adapter new NAME``: a ready-to-edit adapter plugin package.

The package it writes installs an adapter through the ``crmhub.adapters`` entry point, declares its
config model and mappings on the REST toolkit, ships a small sample upstream, and a conformance test that
passes against it out of the box, so an author starts from green and edits towards the real API.
"""

from __future__ import annotations

import keyword
import re
from pathlib import Path
from string import Template

TEMPLATES = Path(__file__).with_name("templates")
_NAME = re.compile(r"^[a-z][a-z0-9_]{1,39}$")


class ScaffoldError(ValueError):
    pass


def _class_prefix(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


def scaffold_adapter(name: str, directory: Path) -> Path:
    """Write the plugin package for adapter ``name``; returns its directory, ``crmhub-adapter-<name>``."""
    if not _NAME.match(name):
        raise ScaffoldError(
            f"adapter name {name!r} must be 2-40 lower-case letters, digits or '_', starting with a letter"
        )
    if keyword.iskeyword(name):
        raise ScaffoldError(f"adapter name {name!r} is a Python keyword; pick another, e.g. '{name}_erp'")
    root = directory / f"crmhub-adapter-{name.replace('_', '-')}"
    if root.exists():
        raise ScaffoldError(f"{root} already exists; pick another name or remove it")
    values = {"name": name, "package": f"crmhub_{name}", "Class": _class_prefix(name)}
    for template in sorted(TEMPLATES.rglob("*.tmpl")):
        relative = template.relative_to(TEMPLATES).with_suffix("")
        target = root / Path(str(relative).replace("PACKAGE", values["package"]))
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(Template(template.read_text(encoding="utf-8")).substitute(values), encoding="utf-8")
    return root
