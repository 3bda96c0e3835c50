"""One way to extend the lakehouse: a registry per kind of plugin (source types, formats,
engines; destinations later), each member a module that owns its typed spec and its code.

Built-in members are named here by module and imported on first use (some pull in heavy
clients); members from other packages arrive the same way, through the entry point group of
the kind, e.g. in the plugin's pyproject.toml:

    [project.entry-points."lakehouse.sources"]
    ftp = "lakehouse_ftp:SOURCE"          # the member object; its `name` must be "ftp"

or by `SOURCES.register(member)` at run time (tests, notebooks). A member is any object with a
`name`; what else it must have is the kind's own Protocol (see `sources.SourceType`,
`formats.Format`, `transform.engines.EngineType`).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from importlib import metadata
from typing import Generic, Protocol, TypeVar

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
        self._entry_points_loaded = False

    def register(self, member: M) -> M:
        """Add a member; a second, different member of the same name is refused."""
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

    def names(self) -> list[str]:
        """Every member's name: built-ins first, then the others in the order they came."""
        self._load_entry_points()
        return list(dict.fromkeys([*self._builtins, *self._members]))

    def get(self, name: str) -> M:
        """The member called `name`, or an error that lists the names there are."""
        if name in self._members:
            return self._members[name]
        if name in self._builtins:
            return self.register(self._import(self._builtins[name], name, "built-in"))
        self._load_entry_points()
        if name in self._members:
            return self._members[name]
        raise self._unknown_error(
            f"Unknown {self.kind} {name!r}; use one of: {', '.join(self.names())}."
        )

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self.names()

    def __iter__(self) -> Iterator[M]:
        """Every member, loaded."""
        return iter([self.get(name) for name in self.names()])

    def _load_entry_points(self) -> None:
        if self._entry_points_loaded:
            return
        self._entry_points_loaded = True
        for entry in metadata.entry_points(group=self.group):
            if entry.name not in self._builtins and entry.name not in self._members:
                self.register(self._import(entry.value, entry.name, f"entry point {self.group}"))

    def _import(self, target: str, name: str, origin: str) -> M:
        module_name, _, attribute = target.partition(":")
        try:
            member: M = getattr(importlib.import_module(module_name), attribute)
        except (ImportError, AttributeError) as exc:
            raise ConfigError(
                f"The {self.kind} {name!r} ({origin}: {target}) cannot be loaded "
                f"({exc.__class__.__name__}: {exc}); reinstall the package that provides it."
            ) from exc
        if member.name != name:
            raise ConfigError(
                f"The {self.kind} {target} ({origin}) calls itself {member.name!r}, not "
                f"{name!r}; make the names match."
            )
        return member
