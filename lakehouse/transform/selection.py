"""Choosing what to build: part of a product's models (`lake build p --select ...`), or every
product of the project in the order their inputs need (`lake build --all`).

A selection names models of one product, as dbt's graph operators do:

- `m`: the model (with what it reads: a model cannot run without its inputs; cached ones are
  reused, not recomputed);
- `m+`: the model and every model that reads it, directly or through others;
- `+m`: the model and every model it reads (the same models `m` runs: written for readers who
  know dbt).

Products are ordered so that a product comes after every product whose build output it reads
(`inputs: {x: {product: p, output: o}}`); a cycle is refused, naming it.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from pathlib import Path

from lakehouse.errors import ConfigError, NotFoundError
from lakehouse.transform.models import Model
from lakehouse.transform.recipe import ProductInput, Recipe, list_recipes, load_recipe

PLUS = "+"  # `m+`: and what reads it; `+m`: and what it reads


def select_models(models: Mapping[str, Model], patterns: Iterable[str], product: str) -> list[str]:
    """The models `patterns` select (see the module's doc), in the product's model order."""
    chosen: set[str] = set()
    for pattern in patterns:
        name = pattern.strip().removeprefix(PLUS).removesuffix(PLUS)
        if name not in models:
            raise NotFoundError(_unknown_model(name, models, product))
        chosen.add(name)
        if pattern.strip().endswith(PLUS):
            chosen |= readers_of(models, name)
        if pattern.strip().startswith(PLUS):
            chosen |= read_by(models, name)
    return [name for name in models if name in chosen]


def readers_of(models: Mapping[str, Model], name: str) -> set[str]:
    """Every model that reads `name`, directly or through other models."""
    found: set[str] = set()
    pending = [name]
    while pending:
        current = pending.pop()
        for other in models.values():
            if current in other.inputs and other.name not in found:
                found.add(other.name)
                pending.append(other.name)
    return found


def read_by(models: Mapping[str, Model], name: str) -> set[str]:
    """Every model `name` reads, directly or through other models."""
    found: set[str] = set()
    pending = [name]
    while pending:
        for dependency in models[pending.pop()].inputs:
            if dependency in models and dependency not in found:
                found.add(dependency)
                pending.append(dependency)
    return found


def _unknown_model(name: str, models: Mapping[str, Model], product: str) -> str:
    close = difflib.get_close_matches(name, list(models), n=1)
    hint = f"did you mean {close[0]!r}?" if close else f"its models are {', '.join(models)}."
    return f"{product!r} has no model {name!r}; {hint}"


def product_order(recipes_dir: Path) -> list[str]:
    """Every product of the project, alphabetically except that each comes after the
    products whose outputs it reads."""
    recipes = {name: load_recipe(recipes_dir, name) for name in list_recipes(recipes_dir)}
    order: list[str] = []
    visiting: list[str] = []

    def visit(name: str) -> None:
        if name in order:
            return
        if name in visiting:
            cycle = " -> ".join([*visiting[visiting.index(name) :], name])
            raise ConfigError(
                f"The recipes read each other in a cycle ({cycle}); a product cannot be built "
                "from its own output: remove one of those inputs."
            )
        visiting.append(name)
        for upstream in products_read(recipes[name]):
            if upstream in recipes:  # an unknown product: its own build says so
                visit(upstream)
        visiting.pop()
        order.append(name)

    for name in recipes:
        visit(name)
    return order


def products_read(recipe: Recipe) -> list[str]:
    """The products whose build outputs a recipe reads."""
    return [wanted.product for wanted in recipe.inputs.values() if isinstance(wanted, ProductInput)]
