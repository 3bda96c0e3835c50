"""Transforms: recipes and locks, the @model decorator and a product's DAG, the builder and its
engines, where builds live and their records, lineage.

A product's transforms import `model` from here: `from lakehouse.transform import model`.
"""

from lakehouse.transform.builder import Builder, BuildResult
from lakehouse.transform.index import find_build, list_builds
from lakehouse.transform.lineage import Lineage
from lakehouse.transform.models import Model, load_models, model
from lakehouse.transform.products import build_product, lineage_of
from lakehouse.transform.recipe import Lock, Recipe, load_recipe, resolve_lock
from lakehouse.transform.records import BuildRecord

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
    "model",
    "resolve_lock",
]
