"""Transforms: recipes and locks, the @model decorator and a product's DAG, the builder and its
engines, where builds live and their records, lineage.

A product's transforms import `model` from here: `from lakehouse.transform import model`. That
import stays light (every transforms file pays it); the rest of this package's public names are
imported on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from lakehouse.transform.models import Model, load_models, model

if TYPE_CHECKING:
    from lakehouse.transform.builder import Builder, BuildResult
    from lakehouse.transform.index import find_build, list_builds
    from lakehouse.transform.lineage import Lineage
    from lakehouse.transform.products import build_product, lineage_of, lock_product
    from lakehouse.transform.recipe import Lock, Recipe, load_recipe, resolve_lock
    from lakehouse.transform.records import BuildRecord

_LAZY = {
    "BuildRecord": "lakehouse.transform.records",
    "BuildResult": "lakehouse.transform.builder",
    "Builder": "lakehouse.transform.builder",
    "Lineage": "lakehouse.transform.lineage",
    "Lock": "lakehouse.transform.recipe",
    "Recipe": "lakehouse.transform.recipe",
    "build_product": "lakehouse.transform.products",
    "find_build": "lakehouse.transform.index",
    "lineage_of": "lakehouse.transform.products",
    "lock_product": "lakehouse.transform.products",
    "list_builds": "lakehouse.transform.index",
    "load_recipe": "lakehouse.transform.recipe",
    "resolve_lock": "lakehouse.transform.recipe",
}

__all__ = [
    "BuildRecord",
    "BuildResult",
    "Builder",
    "Lineage",
    "Lock",
    "Model",
    "Recipe",
    "build_product",
    "find_build",
    "lineage_of",
    "list_builds",
    "load_models",
    "load_recipe",
    "lock_product",
    "model",
    "resolve_lock",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'lakehouse.transform' has no attribute {name!r}")
