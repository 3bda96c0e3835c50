"""Importing the project's own Python files (transform packages, contract modules) by path."""

from __future__ import annotations

import importlib.util
import sys
import types
from pathlib import Path


def import_file(
    name: str,
    path: Path,
    shown: str,
    error: type[Exception],
    *,
    package_dir: Path | None = None,
    keep: bool = True,
) -> types.ModuleType:
    """Import a project's Python file (or package, with `package_dir`) as module `name`; a
    failure is `error` naming `shown`. With `keep=False` the module is not left registered."""
    spec = importlib.util.spec_from_file_location(
        name,
        path,
        submodule_search_locations=[str(package_dir)] if package_dir is not None else None,
    )
    if spec is None or spec.loader is None:
        raise error(f"Cannot import {shown}.")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise error(
            f"Importing {shown} failed: {exc.__class__.__name__}: {exc}; fix it (--debug shows "
            "the traceback)."
        ) from exc
    finally:
        if not keep:
            sys.modules.pop(name, None)
    return module
