"""Transforms: plain functions from ibis tables to an ibis table, declared as models.

    from lakehouse.transform.models import model

    @model(layer="staging")
    def stg_lots(dof_pts):            # reads the recipe input `dof_pts`
        ...

    @model(layer="product")
    def pluto_lite(stg_lots, zoning):  # reads two other models
        ...

A model's inputs are its parameter names: recipe inputs or other models. The engine orders the
models from those names; nobody keeps an order by hand. Staging models are views, computed
inside the models that read them; the others are tables, kept in the cache by fingerprint. A
model's code fingerprint covers its own source and the helpers and constants it uses.
"""

from __future__ import annotations

import graphlib
import hashlib
import importlib
import inspect
import pkgutil
import sys
import types
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from lakehouse.errors import LakehouseError
from lakehouse.project_code import import_file

Layer = Literal["staging", "intermediate", "product"]
MODEL_ATTRIBUTE = "__lakehouse_model__"
PACKAGE_PREFIX = "lakehouse_transforms_"


class TransformError(LakehouseError):
    """A transform package is missing, malformed, cyclic or has unknown inputs."""


@dataclass(frozen=True)
class Model:
    name: str
    layer: Layer
    materialized: bool  # a table kept in the cache; else a view, computed inside its dependents
    func: Callable[..., Any]
    inputs: tuple[str, ...]
    code_hash: str
    defined_in: str  # "<file>:<line>", for messages

    def __call__(self, **tables: Any) -> Any:
        return self.func(**tables)


def model(
    layer: Layer = "intermediate", name: str | None = None, materialized: bool | None = None
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare a function as a model of the product's DAG.

    Staging models are views by default (cheap per-row cleaning, computed inside the models
    that read them); intermediate and product models are tables, cached by fingerprint.
    """

    def declare(func: Callable[..., Any]) -> Callable[..., Any]:
        setattr(
            func,
            MODEL_ATTRIBUTE,
            {
                "layer": layer,
                "name": name or func.__name__,
                "materialized": layer != "staging" if materialized is None else materialized,
            },
        )
        return func

    return declare


def load_models(transforms_dir: Path, product: str) -> dict[str, Model]:
    """Import `transforms/<product>/` and collect its models by name."""
    package_dir = transforms_dir / product
    if not (package_dir / "__init__.py").is_file():
        raise TransformError(
            f"No transforms for {product!r}: create {package_dir}/__init__.py and model modules."
        )
    package = _import_package(transforms_dir, product)
    models: dict[str, Model] = {}
    for module in _modules_of(package):
        for func in vars(module).values():
            declared = getattr(func, MODEL_ATTRIBUTE, None)
            if (
                declared is None
                or not inspect.isfunction(func)
                or func.__module__ != module.__name__
            ):
                continue
            found = _as_model(func, declared, package.__name__)
            if found.name in models:
                raise TransformError(
                    f"Model {found.name!r} is defined twice: {models[found.name].defined_in} and "
                    f"{found.defined_in}; rename one."
                )
            models[found.name] = found
    if not models:
        raise TransformError(f"{package_dir} declares no @model functions.")
    return models


def _import_package(transforms_dir: Path, product: str) -> types.ModuleType:
    """Import the product's package fresh, so an edited transform is seen in the same process."""
    package_name = f"{PACKAGE_PREFIX}{product}"
    for loaded in [m for m in sys.modules if m == package_name or m.startswith(package_name + ".")]:
        del sys.modules[loaded]
    return import_file(
        package_name,
        transforms_dir / product / "__init__.py",
        f"transforms/{product}",
        TransformError,
        package_dir=transforms_dir / product,
    )


def _modules_of(package: types.ModuleType) -> Iterable[types.ModuleType]:
    yield package
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
        name = f"{package.__name__}.{info.name}"
        try:
            yield importlib.import_module(name)
        except Exception as exc:
            raise TransformError(
                f"Importing transforms/{package.__name__.removeprefix(PACKAGE_PREFIX)}/"
                f"{info.name}.py failed: {exc.__class__.__name__}: {exc}"
            ) from exc


def _as_model(func: Callable[..., Any], declared: dict[str, Any], package: str) -> Model:
    parameters = inspect.signature(func).parameters.values()
    for parameter in parameters:
        if parameter.kind not in (parameter.POSITIONAL_OR_KEYWORD, parameter.KEYWORD_ONLY):
            raise TransformError(
                f"Model {func.__name__} takes *{parameter.name}: inputs must be named parameters."
            )
    code = inspect.getsourcefile(func) or "?"
    line = inspect.getsourcelines(func)[1]
    return Model(
        name=declared["name"],
        layer=declared["layer"],
        materialized=declared["materialized"],
        func=func,
        inputs=tuple(parameter.name for parameter in parameters),
        code_hash=code_fingerprint(func, package),
        defined_in=f"{Path(code).name}:{line}",
    )


SCALAR_TYPES = (str, int, float, bool, bytes, type(None))


def code_fingerprint(func: Callable[..., Any], package: str) -> str:
    """sha256 of what decides a model's result in code: its source, its default arguments and
    closure values, and, transitively, the package functions and modules it uses and the
    module constants it reads. A value that has no stable text form (an ibis literal, an
    object) brings in the whole source of its module instead, to be safe."""
    digest = hashlib.sha256()
    seen: set[str] = set()
    pending: list[Any] = [func]
    while pending:
        current = pending.pop()
        if inspect.ismodule(current):
            key = current.__name__
            if key not in seen:
                seen.add(key)
                digest.update(key.encode() + b"\n" + inspect.getsource(current).encode())
            continue
        key = f"{current.__module__}.{current.__qualname__}"
        if key in seen:
            continue
        seen.add(key)
        digest.update(key.encode() + b"\n" + inspect.getsource(current).encode())
        values: list[tuple[str, Any]] = [
            (name, current.__globals__[name])
            for name in sorted(_names_used(current.__code__))
            if name in current.__globals__
        ]
        values += [(f"default{i}", v) for i, v in enumerate(current.__defaults__ or ())]
        values += [(f"keyword {k}", v) for k, v in sorted((current.__kwdefaults__ or {}).items())]
        cells = zip(current.__code__.co_freevars, current.__closure__ or (), strict=True)
        values += [(f"closure {name}", cell.cell_contents) for name, cell in cells]
        for name, value in values:
            if inspect.isfunction(value) or inspect.ismodule(value):
                if _in_package(value, package) and not hasattr(value, MODEL_ATTRIBUTE):
                    pending.append(value)
                continue
            text = _stable_text(value)
            if text is None:  # no stable form: depend on the whole module's source
                pending.append(sys.modules[current.__module__])
            else:
                digest.update(f"{key}:{name}={text}".encode())
    return digest.hexdigest()


def _in_package(value: Any, package: str) -> bool:
    """Whether a function or module belongs to the product's transforms package."""
    name = value.__name__ if inspect.ismodule(value) else value.__module__
    return bool(name == package or name.startswith(package + "."))


def _stable_text(value: Any) -> str | None:
    """A text form of a constant that is the same in every process, or None if there is none."""
    if isinstance(value, SCALAR_TYPES):
        return repr(value)
    if isinstance(value, list | tuple):
        parts = [_stable_text(v) for v in value]
        return None if None in parts else f"{type(value).__name__}({','.join(map(str, parts))})"
    if isinstance(value, set | frozenset):
        parts = [_stable_text(v) for v in value]
        return None if None in parts else f"set({','.join(sorted(map(str, parts)))})"
    if isinstance(value, dict):
        items = [(_stable_text(k), _stable_text(v)) for k, v in value.items()]
        if any(k is None or v is None for k, v in items):
            return None
        return f"dict({','.join(sorted(f'{k}:{v}' for k, v in items))})"
    if inspect.isclass(value) or inspect.isbuiltin(value):
        return f"{getattr(value, '__module__', '')}.{value.__qualname__}"
    return None


def _names_used(code: types.CodeType) -> set[str]:
    """Global names a code object reads, including in its nested functions and comprehensions."""
    names = set(code.co_names)
    for constant in code.co_consts:
        if isinstance(constant, types.CodeType):
            names |= _names_used(constant)
    return names


def plan(models: dict[str, Model], inputs: Iterable[str], targets: Iterable[str]) -> list[str]:
    """The models needed for `targets`, in an order where each comes after its inputs."""
    available = set(inputs)
    clashes = available & set(models)
    if clashes:
        raise TransformError(
            f"{', '.join(sorted(clashes))} is both a recipe input and a model; rename one."
        )
    needed: set[str] = set()
    stack = list(targets)
    for target in stack:
        if target not in models:
            raise TransformError(
                f"The recipe asks for {target!r}, which no @model defines; models are: "
                f"{', '.join(sorted(models))}."
            )
    while stack:
        name = stack.pop()
        if name in needed:
            continue
        needed.add(name)
        for dependency in models[name].inputs:
            if dependency in models:
                stack.append(dependency)
            elif dependency not in available:
                raise TransformError(
                    f"Model {name!r} ({models[name].defined_in}) reads {dependency!r}, which is "
                    f"neither a recipe input ({', '.join(sorted(available))}) nor a model."
                )
    sorter = graphlib.TopologicalSorter(
        {name: [d for d in models[name].inputs if d in models] for name in sorted(needed)}
    )
    try:
        return list(sorter.static_order())
    except graphlib.CycleError as exc:
        cycle = " -> ".join(exc.args[1])
        raise TransformError(f"The models form a cycle: {cycle}; break it.") from exc
