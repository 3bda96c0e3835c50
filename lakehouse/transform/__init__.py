"""Transforms: recipes and locks, the @model decorator, the builder and its engines, lineage.

A product's transforms import `model` from here: `from lakehouse.transform import model`.
"""

from lakehouse.transform.models import model

__all__ = ["model"]
