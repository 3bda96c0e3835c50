"""How a build decides, model by model, to reuse a cached result or to rebuild it: each model's
fingerprint and the parts it is made of, and the cache lookup of that fingerprint.

A model's fingerprint covers its code (`Model.code_hash`: its source and the project code it
uses, in its product or in transforms/common/), its inputs' fingerprints (a recipe input's:
its alias, name, version and sha256 from the lock; a model's: that model's fingerprint), the
engine's name and fingerprinted package versions, and the CRS the data dictionary declares for
an output's geometry. A view is computed inside the models that read it; a table model is
reused when the cache holds a sound entry under its fingerprint (`cache.look_up`), unless the
build is a full refresh.

The builder (transform/builder.py) and `lake plan` (transform/plan.py) both decide through
`fingerprint_models`, `is_view` and `cached_result`, so that a plan and the build after it
agree. Nothing here reads data beyond what the cache lookup hashes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from lakehouse.contracts.dictionary import Dictionary
from lakehouse.provenance import package_versions as installed_versions
from lakehouse.store.storage import Store
from lakehouse.transform.cache import CACHE_AREA, Lookup, entry_path, look_up
from lakehouse.transform.engines import ENGINES
from lakehouse.transform.models import Model
from lakehouse.transform.recipe import Lock, LockedInput, Recipe


def _digest(*parts: str) -> str:
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def input_fingerprint(alias: str, dataset: str, version: str, sha256: str, *more: str) -> str:
    return _digest("input", alias, dataset, version, sha256, *more)


def model_fingerprint(found: Model, input_fingerprints: Mapping[str, str], engine: str) -> str:
    inputs = [f"{name}={input_fingerprints[name]}" for name in found.inputs]
    return _digest("model", found.name, found.code_hash, engine, *inputs)


def engine_package_versions(engine: str = "duckdb") -> dict[str, str]:
    """The package versions a build on `engine` records in build.json and puts in every
    fingerprint: the engine type's `fingerprinted_packages`."""
    return installed_versions(ENGINES.get(engine).fingerprinted_packages)


def engine_text(engine: str, packages: Mapping[str, str]) -> str:
    """The engine's part of every fingerprint: a result of another engine or version is not
    reused."""
    return json.dumps({"engine": engine, **packages}, sort_keys=True)


def declared_crs(recipe: Recipe, dictionary: Dictionary | None, name: str) -> dict[str, str]:
    """The CRS the data dictionary declares for each geometry column of an output."""
    if dictionary is None or name not in recipe.outputs or name not in dictionary.tables:
        return {}
    return dictionary.tables[name].geometry_crs()


@dataclass(frozen=True)
class ModelKey:
    """A model's fingerprint and what it is made of: its code's parts (`Model.code_parts`),
    each input's fingerprint, the engine text and the declared CRS (recorded in build.json,
    so that `lake plan` can name what changed since)."""

    name: str
    fingerprint: str
    code: Mapping[str, str]
    inputs: dict[str, str]
    engine: str
    crs: dict[str, str]


def lock_fingerprints(lock: Lock) -> dict[str, str]:
    """The fingerprint of each recipe input, from the lock alone (no data read)."""
    return {
        alias: input_fingerprint(alias, pinned.name, pinned.version, pinned.sha256, *_typed(pinned))
        for alias, pinned in lock.inputs.items()
    }


def _typed(pinned: LockedInput) -> list[str]:
    """A seed's column types are part of what it is (the same bytes read otherwise)."""
    return [json.dumps(pinned.types, sort_keys=True)] if pinned.types else []


def fingerprint_models(
    models: Mapping[str, Model],
    order: Iterable[str],
    lock: Lock,
    engine: str,
    crs: Mapping[str, dict[str, str]],
) -> dict[str, ModelKey]:
    """The key of each model of `order` (each after its inputs), on `engine` (`engine_text`),
    with `crs` the CRS declared for an output's geometry columns (by model; none if absent)."""
    fingerprints = lock_fingerprints(lock)
    keys = {}
    for name in order:
        found = models[name]
        declared = dict(crs.get(name) or {})
        # a declared CRS is written into the output: another CRS is another result
        full_engine = engine + (json.dumps(declared, sort_keys=True) if declared else "")
        fingerprint = model_fingerprint(found, fingerprints, full_engine)
        keys[name] = ModelKey(
            name,
            fingerprint,
            found.code_parts,
            {input_name: fingerprints[input_name] for input_name in found.inputs},
            engine,
            declared,
        )
        fingerprints[name] = fingerprint
    return keys


def is_published(recipe: Recipe, name: str) -> bool:
    """Whether a build writes the model out (an output, or a model the recipe keeps)."""
    return name in recipe.outputs or name in recipe.keep


def is_view(found: Model, recipe: Recipe) -> bool:
    """Whether a model is a view, computed inside its dependents (never cached)."""
    return not (found.materialized or is_published(recipe, found.name))


def cached_result(store: Store, recipe: Recipe, key: ModelKey, *, full_refresh: bool) -> Lookup:
    """What a build finds to reuse for a table model: the cache entry of its fingerprint, if it
    is sound (a published model's must have its content hash), else why not (`Lookup.damage`,
    `Lookup.note`); nothing on a full refresh."""
    if full_refresh:
        return Lookup()
    record = entry_path(recipe.name, key.name, key.fingerprint)
    return look_up(store, record, needs_content_hash=is_published(recipe, key.name))


def contract_results_path(product: str, model: str, fingerprint: str, digest: str) -> str:
    """Where a model's results against a contract (by its digest) are cached."""
    return f"{CACHE_AREA}/{product}/{model}/{fingerprint}.contract-{digest}.json"
