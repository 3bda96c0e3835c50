"""What the documentation site keeps between runs (`DocsCache`): content that is slow to make
(a product's traced lineage, a build's contract results, its maps), as JSON in the workspace,
`<workspace>/docs-cache/<product>/<kind>-<key>.json`, under a key (`content_key`) that is a
digest of everything the content is made from, of the lakehouse's own code and of the versions
of the packages that make it: a change to any of them gives another key, so kept content is
never shown for what it was not made from."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lakehouse.provenance import package_versions
from lakehouse.store.storage import replace_whole

SITE_PACKAGES = ("ibis-framework", "sqlglot", "duckdb", "pyarrow")  # they trace, read and draw


@dataclass(frozen=True)
class DocsCache:
    """What a site keeps between runs: one JSON file per product and kind of content,
    `<folder>/<product>/<kind>-<key>.json`, whose key is a digest of everything the content
    depends on; keeping a new key removes the kind's other keys."""

    folder: Path

    def read(self, product: str, kind: str, key: str, shape: Any) -> Any | None:
        """The content kept under `key`, made a value of the type `shape` again; None when
        there is none, or it does not read as one (it is then made afresh)."""
        try:
            data = json.loads(self._path(product, kind, key).read_text(encoding="utf-8"))
            return from_json(shape, data)
        except (OSError, ValueError, TypeError, KeyError, AttributeError, NameError):
            return None

    def keep(self, product: str, kind: str, key: str, value: Any, shape: Any) -> None:
        """Keep `value` (of the type `shape`), unless it would not read back equal."""
        try:
            text = json.dumps(value, default=_dataclass_fields)
            if from_json(shape, json.loads(text)) != value:
                return
        except (TypeError, ValueError, KeyError, AttributeError, NameError):
            return
        path = self._path(product, kind, key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            replace_whole(path, lambda temporary: temporary.write_text(text, encoding="utf-8"))
            for other in path.parent.glob(f"{kind}-*.json"):
                if other != path:
                    other.unlink(missing_ok=True)
        except OSError:  # a workspace that cannot be written to makes the next site slower only
            return

    def _path(self, product: str, kind: str, key: str) -> Path:
        return self.folder / product / f"{kind}-{key}.json"


def _dataclass_fields(value: Any) -> dict[str, Any]:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    raise TypeError(f"{type(value).__name__} is not kept as JSON")


def from_json(shape: Any, data: Any) -> Any:
    """`data`, as `json.loads` gives it, as a value of the type `shape`: dataclasses (their
    fields by type hint), lists, tuples, dicts with text keys, and optional values of them."""
    args = typing.get_args(shape)
    origin = typing.get_origin(shape)
    if dataclasses.is_dataclass(shape) and isinstance(shape, type):
        hints = typing.get_type_hints(shape)
        fields = [f.name for f in dataclasses.fields(shape) if f.init]
        return shape(**{name: from_json(hints[name], data[name]) for name in fields})
    if origin is list:
        return [from_json(args[0], item) for item in data]
    if origin is tuple:
        shapes = [args[0]] * len(data) if args[-1] is Ellipsis else list(args)
        return tuple(from_json(s, item) for s, item in zip(shapes, data, strict=True))
    if origin is dict:
        return {key: from_json(args[1], item) for key, item in data.items()}
    if origin in (typing.Union, types.UnionType) and data is not None:
        (given,) = [arg for arg in args if arg is not type(None)]
        return from_json(given, data)
    return data


def content_key(*parts: Any) -> str:
    """A digest of `parts` (JSON) and of the code that makes the content from them."""
    text = json.dumps([_code_fingerprint(), *parts], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


@functools.cache
def _code_fingerprint() -> str:
    """A digest of every module of the installed lakehouse and of the versions of the packages
    that trace, read and draw for the site."""
    package = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256(json.dumps(package_versions(SITE_PACKAGES)).encode())
    for module in sorted(package.rglob("*.py")):
        digest.update(module.relative_to(package).as_posix().encode() + b"\0")
        digest.update(module.read_bytes())
    return digest.hexdigest()
