"""One way to extend the lakehouse: a registry per kind of plugin (source types, formats,
engines; destinations later), each member a module that owns its typed spec and its code.

Built-in members are named here by module and imported on first use (some pull in heavy
clients); members from other packages arrive the same way, through the entry point group of
the kind (`lakehouse.<kind>s`, spaces as underscores), e.g. in the plugin's pyproject.toml:

    [project.entry-points."lakehouse.source_types"]
    ftp = "lakehouse_ftp:SOURCE"          # the member object; its `name` must be "ftp"

or by `SOURCE_TYPES.register(member)` at run time (tests, notebooks). A member is any object
with a `name`; what else it must have is the kind's own (see `sources.SourceType`,
`formats.Format`, `transform.engines.EngineType`).

An entry point is imported only when its name is asked for (or when every member is listed),
so a broken plugin breaks only its own name, with an error that says which package to fix.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from importlib import metadata
from typing import Any, Generic, Protocol, TypeVar

from pydantic import BaseModel

from lakehouse.errors import ConfigError, LakehouseError


class Named(Protocol):
    @property
    def name(self) -> str: ...


M = TypeVar("M", bound=Named)


class Registry(Generic[M]):
    """The members of one kind of plugin, by name."""

    def __init__(
        self,
        kind: str,
        builtins: dict[str, str],
        *,
        unknown_error: type[LakehouseError] = ConfigError,
    ) -> None:
        """`kind` names the kind in messages ("source type"); `builtins` maps each built-in
        member's name to "module:attribute"; the entry point group is `lakehouse.<kind>s`
        with spaces as underscores (e.g. `lakehouse.source_types`)."""
        self.kind = kind
        self.group = "lakehouse." + kind.replace(" ", "_") + "s"
        self._builtins = dict(builtins)
        self._members: dict[str, M] = {}
        self._unknown_error = unknown_error
        self._entry_points: dict[str, metadata.EntryPoint] | None = None  # found on first need
        self._clashes: dict[str, metadata.EntryPoint] = {}  # entry points named as a built-in
        self._from_entry_points: set[str] = set()

    def register(self, member: M) -> M:
        """Add a member; a second, different member of the same name (a built-in's included)
        is refused."""
        if member.name in self._builtins and member.name not in self._members:
            self._members[member.name] = self._builtin(member.name)
        existing = self._members.get(member.name)
        if existing is not None and existing is not member:
            raise ConfigError(
                f"Two {self.kind}s are named {member.name!r}; uninstall or rename one."
            )
        self._members[member.name] = member
        return member

    def unregister(self, name: str) -> None:
        """Remove a member registered at run time (built-ins and entry points come back)."""
        self._members.pop(name, None)
        self._from_entry_points.discard(name)

    def reload_entry_points(self) -> None:
        """Look for the entry points of the group again on next need, forgetting the members
        loaded from them (after installing a plugin in a running process, and in tests)."""
        for name in self._from_entry_points:
            self._members.pop(name, None)
        self._from_entry_points.clear()
        self._entry_points = None
        self._clashes = {}

    def builtin_names(self) -> list[str]:
        """The names of the built-in members, in order."""
        return list(self._builtins)

    def names(self) -> list[str]:
        """Every member's name: built-ins first, then those of entry points, then the others
        in the order they came (listing them imports no entry point)."""
        return list(dict.fromkeys([*self._builtins, *self._found_entry_points(), *self._members]))

    def get(self, name: str) -> M:
        """The member called `name`, or an error that lists the names there are."""
        clash = self._found_clashes().get(name)
        if clash is not None:
            raise ConfigError(
                f"Two {self.kind}s are named {name!r}: the built-in one and the entry point "
                f"{clash.value} ({self.group}); uninstall or rename the plugin's."
            )
        if name in self._members:
            return self._members[name]
        if name in self._builtins:
            return self.register(self._builtin(name))
        entry = self._found_entry_points().get(name)
        if entry is not None:
            member = self.register(self._import(entry, name))
            self._from_entry_points.add(name)
            return member
        raise self._unknown_error(
            f"Unknown {self.kind} {name!r}; use one of: {', '.join(self.names())}."
        )

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self.names()

    def __iter__(self) -> Iterator[M]:
        """Every member in the order of `names()`, each loaded when the iteration reaches it."""
        return (self.get(name) for name in self.names())

    def _found_entry_points(self) -> dict[str, metadata.EntryPoint]:
        """The group's entry points by name, but those named as a built-in (see `_clashes`)."""
        if self._entry_points is None:
            found = {entry.name: entry for entry in metadata.entry_points(group=self.group)}
            self._clashes = {name: e for name, e in found.items() if name in self._builtins}
            self._entry_points = {n: e for n, e in found.items() if n not in self._builtins}
        return self._entry_points

    def _found_clashes(self) -> dict[str, metadata.EntryPoint]:
        self._found_entry_points()
        return self._clashes

    def _builtin(self, name: str) -> M:
        target = self._builtins[name]
        module_name, _, attribute = target.partition(":")
        return self._checked(
            lambda: getattr(importlib.import_module(module_name), attribute),
            name,
            f"built-in: {target}",
        )

    def _import(self, entry: metadata.EntryPoint, name: str) -> M:
        return self._checked(entry.load, name, f"entry point {self.group}: {entry.value}")

    def _checked(self, load: Callable[[], Any], name: str, origin: str) -> M:
        """The member `load` gives, which must call itself `name`."""
        try:
            member: M = load()
        except (ImportError, AttributeError) as exc:
            raise ConfigError(
                f"The {self.kind} {name!r} ({origin}) cannot be loaded "
                f"({exc.__class__.__name__}: {exc}); reinstall the package that provides it."
            ) from exc
        if member.name != name:
            raise ConfigError(
                f"The {self.kind} of {origin} calls itself {member.name!r}, not {name!r}; make "
                "the names match."
            )
        return member


def spec_validator(registry: Registry[Any], base: type[BaseModel]) -> Callable[[Any, Any], Any]:
    """A pydantic wrap validator for a field that holds the spec of one of `registry`'s members
    (a template's `source:` or `format:`): its `type` picks the member, and the member's `spec`
    (a subclass of `base`) validates it, so its errors keep their places (`source.url`). Use it
    as `Annotated[SerializeAsAny[Base], WrapValidator(spec_validator(REGISTRY, Base))]`
    (SerializeAsAny: a dump keeps the fields of the member's spec)."""

    def validate(value: Any, handler: Any) -> Any:
        if isinstance(value, base):
            if isinstance(value, _member_of(registry, getattr(value, "type", None)).spec):
                return value
            value = value.model_dump()
        if not isinstance(value, dict):
            raise ValueError(f"must be a mapping with a type ({_choices(registry)})")
        return _member_of(registry, value.get("type")).spec.model_validate(value)

    return validate


def _member_of(registry: Registry[Any], name: Any) -> Any:
    if not isinstance(name, str):
        raise ValueError(f"needs a type ({_choices(registry)})")
    try:
        return registry.get(name)
    except LakehouseError as exc:  # as a ValueError, the message names the file and the field
        raise ValueError(str(exc)) from exc


def _choices(registry: Registry[Any]) -> str:
    return f"one of: {', '.join(registry.names())}"
