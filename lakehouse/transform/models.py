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
inside the models that read them; the others are tables, kept in the cache by fingerprint.

Sharing code between products. The transforms folder is the package `transforms` (whatever the
folder is called): each product is `transforms.<product>`, and code that several products use
lives in `transforms/common/`, imported by its absolute name; a product's own modules import
each other relatively. Nothing is copied from one product to another, and no product imports
another product's package (a shared helper moves to common/ instead):

    transforms/
        __init__.py          (may stay empty)
        common/              shared helpers; no @model here
            __init__.py
            cleaning.py      def ct(value): ...
        pluto_lite/
            __init__.py
            staging.py       from transforms.common.cleaning import ct
                             from .zoning import DISTRICTS

Loading a product imports `transforms` afresh from source (sys.path is left alone; copies
imported before are dropped), so an edit, to a product or to common/, is seen in the same
process. A failed import names the file and line that failed, in common/ too.

A model's code fingerprint covers its own source, its default arguments and closure values,
and, transitively (each once, so cycles end), the project's functions, classes, modules and
constants it uses, through helpers and module attributes, in its product or in common/; not
third-party libraries nor the lakehouse (the build records their versions). Editing a shared
helper rebuilds exactly the models that use it, directly or through other helpers, and what
depends on them.
"""

from __future__ import annotations

import graphlib
import hashlib
import importlib
import inspect
import linecache
import pkgutil
import sys
import types
from collections.abc import Callable, Iterable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from lakehouse.errors import BuildError, TransformError, first_line
from lakehouse.project_code import import_failure, project_package

Layer = Literal["staging", "intermediate", "product"]
MODEL_ATTRIBUTE = "__lakehouse_model__"
PACKAGE = "transforms"  # the transforms folder's package: transforms.<product>, transforms.common
COMMON = "common"  # transforms/common/: the code products share


@dataclass(frozen=True)
class Model:
    name: str
    layer: Layer
    materialized: bool  # a table kept in the cache; else a view, computed inside its dependents
    func: Callable[..., Any]
    inputs: tuple[str, ...]
    code_hash: str
    defined_in: str  # "<file>:<line>", for messages
    # what code_hash is made of: each function, class or module of the project's transforms
    # it covers -> a digest of its part (so `lake plan` can name what changed)
    code_parts: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    def __call__(self, **tables: Any) -> Any:
        return self.func(**tables)

    def expression(
        self, tables: Mapping[str, Any], *, where: str = "", advice: str = "fix the transform"
    ) -> Any:
        """The model's ibis table expression on `tables` (its inputs by name); what it raises,
        or a result that is not a table, is a BuildError naming the model (after `where`, the
        file and test it runs for, if any)."""
        import ibis.expr.types as ir

        subject = f"{where}: model" if where else "Model"
        try:
            expression = self.func(**{name: tables[name] for name in self.inputs})
        except Exception as exc:
            raise BuildError(
                f"{subject} {self.name!r} ({self.defined_in}) raised "
                f"{exc.__class__.__name__}: {first_line(exc)}; {advice}."
            ) from exc
        if not isinstance(expression, ir.Table):
            raise BuildError(
                f"{subject} {self.name!r} ({self.defined_in}) returned a "
                f"{type(expression).__name__}, not a table; return an ibis table expression."
            )
        return expression


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
    """Import `transforms/<product>/` (as `transforms.<product>`, with the rest of the
    `transforms` package afresh) and collect its models by name."""
    package_dir = transforms_dir / product
    if not (package_dir / "__init__.py").is_file():
        raise TransformError(
            f"No transforms for {product!r}: create {package_dir}/__init__.py and model modules."
        )
    if product == COMMON:
        raise TransformError(
            f"{package_dir} holds the code products share, not a product; give the product "
            "another name."
        )
    models: dict[str, Model] = {}
    with project_package(PACKAGE, transforms_dir):
        for module in _modules_of(transforms_dir, product):
            for func in vars(module).values():
                declared = getattr(func, MODEL_ATTRIBUTE, None)
                if (
                    declared is None
                    or not inspect.isfunction(func)
                    or func.__module__ != module.__name__
                ):
                    continue
                found = _as_model(func, declared)
                if found.name in models:
                    raise TransformError(
                        f"Model {found.name!r} is defined twice: {models[found.name].defined_in} "
                        f"and {found.defined_in}; rename one."
                    )
                models[found.name] = found
    if not models:
        raise TransformError(f"{package_dir} declares no @model functions.")
    return models


def _modules_of(transforms_dir: Path, product: str) -> Iterable[types.ModuleType]:
    """The product's package and its modules (not subpackages), imported from source."""
    package = _import(f"{PACKAGE}.{product}", transforms_dir, f"{product}/__init__.py")
    yield package
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
        if info.ispkg:  # a subpackage (a tests/ folder made one) holds no models
            continue
        yield _import(
            f"{package.__name__}.{info.name}", transforms_dir, f"{product}/{info.name}.py"
        )


def _import(name: str, transforms_dir: Path, file: str) -> types.ModuleType:
    """Import module `name` (transforms_dir/`file`); a failure names the file that failed."""
    entry = transforms_dir / file
    try:
        return importlib.import_module(name)
    except Exception as exc:
        message = import_failure(exc, entry, transforms_dir)
        missing = exc.name if isinstance(exc, ModuleNotFoundError) else None
        if missing is not None and missing.startswith(PACKAGE + "."):
            parts = missing.split(".")[1:]
            message += f" There is no {'/'.join([transforms_dir.name, *parts])}.py nor package"
            if parts[0] == Path(file).parts[0]:  # one of the product's own modules
                message += "."
            else:
                message += (
                    f"; code that products share goes in {transforms_dir.name}/{COMMON}/ (with "
                    f"an __init__.py), imported as `from {PACKAGE}.{COMMON}.<module> import "
                    "<name>`."
                )
        raise TransformError(message) from exc


def _as_model(func: Callable[..., Any], declared: dict[str, Any], package: str = PACKAGE) -> Model:
    parameters = inspect.signature(func).parameters.values()
    for parameter in parameters:
        if parameter.kind not in (parameter.POSITIONAL_OR_KEYWORD, parameter.KEYWORD_ONLY):
            raise TransformError(
                f"Model {func.__name__} takes *{parameter.name}: inputs must be named parameters."
            )
    code = inspect.getsourcefile(func) or "?"
    line = inspect.getsourcelines(func)[1]
    fingerprint = _Fingerprint(package)
    code_hash = fingerprint.of(func)
    return Model(
        name=declared["name"],
        layer=declared["layer"],
        materialized=declared["materialized"],
        func=func,
        inputs=tuple(parameter.name for parameter in parameters),
        code_hash=code_hash,
        defined_in=f"{Path(code).name}:{line}",
        code_parts=fingerprint.parts(),
    )


SCALAR_TYPES = (str, int, float, bool, bytes, type(None))


def code_fingerprint(func: Callable[..., Any], package: str = PACKAGE) -> str:
    """sha256 of what decides a model's result in code: its source, its default arguments and
    closure values, and, transitively, the functions, classes and modules of `package` (the
    project's transforms: the products and common/) that it uses, through helpers and module
    attributes, and the constants they read. Each is taken once, so cycles end. A value that
    has no stable text form (an ibis literal, an object) brings in the whole source of its
    module instead, and what that module holds from `package`, to be safe."""
    return _Fingerprint(package).of(func)


class _Fingerprint:
    def __init__(self, package: str) -> None:
        self.package = package
        self.digest = hashlib.sha256()
        self.seen: set[int] = set()  # ids of the functions, classes and whole modules taken
        self.pending: list[Any] = []
        self.by_key: dict[str, Any] = {}  # the same text, split by the key it was taken for

    def of(self, func: Callable[..., Any]) -> str:
        self.pending.append(func)
        while self.pending:
            current = self.pending.pop()
            if id(current) in self.seen:
                continue
            self.seen.add(id(current))
            if inspect.ismodule(current):
                self._module(current)
            elif inspect.isclass(current):
                self._class(current)
            else:
                self._function(current)
        return self.digest.hexdigest()

    def parts(self) -> dict[str, str]:
        """The digest of each key's part of the text taken (for naming what changed)."""
        return {key: part.hexdigest() for key, part in sorted(self.by_key.items())}

    def _add(self, key: str, text: str) -> None:
        data = text.encode()
        self.digest.update(data)
        self.by_key.setdefault(key, hashlib.sha256()).update(data)

    def _take(self, kind: str, key: str, source: str) -> None:
        self._add(key, f"{kind} {key}\n{source}\n")

    def _function(self, func: types.FunctionType) -> None:
        key = f"{func.__module__}.{func.__qualname__}"
        holder = func.__globals__.get("__name__", "")
        wrapped = getattr(func, "__wrapped__", None)
        if not _in_package(holder, self.package):
            # a library's wrapper around a function of the package (functools.wraps, an ibis
            # UDF): the function it wraps, and the plain values the wrapper was made with
            if wrapped is not None:
                self._use(key, "wrapped", wrapped, holder)
            for index, value in enumerate(_closure_values(func)):
                if _stable_text(value) is not None:
                    self._use(key, f"closure{index}", value, holder)
            return
        self._take("function", key, _source(func.__code__))
        names = _names_used(func.__code__)
        values = [(name, func.__globals__[name]) for name in sorted(names & set(func.__globals__))]
        values += [(f"default{i}", v) for i, v in enumerate(func.__defaults__ or ())]
        values += [(f"keyword {k}", v) for k, v in sorted((func.__kwdefaults__ or {}).items())]
        values += [
            (f"closure {name}", value)
            for name, value in zip(func.__code__.co_freevars, _closure_values(func), strict=True)
            if value is not _EMPTY_CELL
        ]
        if wrapped is not None:
            values.append(("wrapped", wrapped))
        for name, value in values:
            self._use(key, name, value, holder, names)

    def _class(self, cls: type) -> None:
        key = f"{cls.__module__}.{cls.__qualname__}"
        self._take("class", key, _source(cls))
        for index, base in enumerate(cls.__bases__):
            self._use(key, f"base{index}", base, cls.__module__)
        for name, value in sorted(vars(cls).items()):
            inner = getattr(value, "__func__", getattr(value, "fget", value))  # static, property
            if inspect.isfunction(inner):
                self._use(key, name, inner, cls.__module__)

    def _module(self, module: types.ModuleType) -> None:
        """The whole module, for a value of it that has no stable text form: its source, and
        what it holds from the package (which that value may have been made with)."""
        key = module.__name__
        self._take("module", key, _source(module))
        for name, value in sorted(vars(module).items()):
            if name.startswith("__"):
                continue
            if inspect.ismodule(value) and _in_package(value.__name__, self.package):
                self.pending.append(value)
            else:
                self._use(key, name, value, key)

    def _use(
        self,
        key: str,
        name: str,
        value: Any,
        holder: str,
        names: AbstractSet[str] = frozenset(),
        modules: frozenset[str] = frozenset(),
    ) -> None:
        """`key` reads `value` as `name`; `holder` is the module whose source defines the
        value, `names` the names `key`'s code reads: the attributes it may take from a module
        (`modules`: those already followed on the way, so a cycle of imports ends)."""
        if inspect.ismodule(value):
            if _in_package(value.__name__, self.package) and value.__name__ not in modules:
                for attribute in sorted(names & set(vars(value))):
                    self._use(
                        key,
                        f"{value.__name__}.{attribute}",
                        getattr(value, attribute),
                        value.__name__,
                        names,
                        modules | {value.__name__},
                    )
            return  # a library's module: its version is the build's, not the model's
        if inspect.isfunction(value) or inspect.isclass(value):
            if _in_package(value.__module__, self.package):
                if not hasattr(value, MODEL_ATTRIBUTE):
                    self.pending.append(value)
                return
            if inspect.isfunction(value):
                return  # a library's function: as for its module
        text = _stable_text(value)
        if text is not None:
            self._add(key, f"{key}:{name}={text}\n")
        else:  # no stable form: depend on the whole source of the modules that hold it
            self.pending.extend(self._modules_holding(value, holder))

    def _modules_holding(self, value: Any, holder: str) -> list[types.ModuleType]:
        """The module whose code reads `value`, and every module of the package that holds the
        same object (where it was defined, e.g. `transforms.common.dates.CUTOFF` imported by
        name): editing it there must change the fingerprint too."""
        found = [sys.modules[holder]] if holder in sys.modules else []
        for name, module in list(sys.modules.items()):
            shared = _in_package(name, self.package) and name != holder
            if shared and any(held is value for held in vars(module).values()):
                found.append(module)
        return found


_EMPTY_CELL = object()


def _closure_values(func: types.FunctionType) -> list[Any]:
    values = []
    for cell in func.__closure__ or ():
        try:
            values.append(cell.cell_contents)
        except ValueError:  # a name not bound yet
            values.append(_EMPTY_CELL)
    return values


def _in_package(module: str, package: str) -> bool:
    """Whether a module (by name) belongs to `package`, the project's transforms."""
    return module == package or module.startswith(package + ".")


def _source(value: Any) -> str:
    """The source text of a module (its file; '' for a folder without __init__.py), class or
    code object. Code without readable source (made by exec, as dataclasses do) gives its
    bytecode and names instead, which are the same in every process."""
    if inspect.ismodule(value):
        file = getattr(value, "__file__", None)
        return Path(file).read_text(encoding="utf-8") if file else ""
    try:
        if isinstance(value, types.CodeType):
            return _code_source(value)
        return inspect.getsource(value)
    except (OSError, TypeError):
        if not isinstance(value, types.CodeType):
            return ""
        constants = [c for c in value.co_consts if not isinstance(c, types.CodeType)]
        return f"bytecode {value.co_code.hex()} {value.co_names} {_stable_text(constants)}"


def _code_source(code: types.CodeType) -> str:
    """The source lines of a function's code, as inspect.getsource gives them, read straight
    from its file: inspect would first look for the code's module among every loaded module
    (a code object names no module), which costs ~0.1 s per build."""
    linecache.checkcache(code.co_filename)
    lines = linecache.getlines(code.co_filename)
    if not lines or code.co_firstlineno > len(lines):
        raise OSError(f"no source for {code.co_name}")
    return "".join(inspect.getblock(lines[code.co_firstlineno - 1 :]))


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
