"""Importing the project's own Python files (transform packages, contract modules) by path.

The project's code is always compiled from its source, never from a cached .pyc: the
lakehouse imports it afresh in one process to see edits, and a .pyc is only checked against
the source's size and whole-second modification time, so an edit of the same size within the
second would otherwise run the old code.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import linecache
import sys
import traceback
import types
from collections.abc import Iterator, Sequence
from pathlib import Path


class SourceLoader(importlib.machinery.SourceFileLoader):
    """Loads a module from its source every time (reads and writes no .pyc)."""

    def get_code(self, fullname: str) -> types.CodeType:
        path = self.get_filename(fullname)
        return self.source_to_code(self.get_data(path), path)


def import_file(
    name: str,
    path: Path,
    shown: str,
    error: type[Exception],
    *,
    package_dir: Path | None = None,
    keep: bool = True,
) -> types.ModuleType:
    """Import a project's Python file (or package, with `package_dir`) as module `name`; a
    failure is `error` naming `shown`. With `keep=False` the module is not left registered."""
    spec = importlib.util.spec_from_file_location(
        name,
        path,
        loader=SourceLoader(name, str(path)),
        submodule_search_locations=[str(package_dir)] if package_dir is not None else None,
    )
    if spec is None or spec.loader is None:
        raise error(f"Cannot import {shown}.")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise error(
            f"Importing {shown} failed: {exc.__class__.__name__}: {exc}; fix it (--debug shows "
            "the traceback)."
        ) from exc
    finally:
        if not keep:
            sys.modules.pop(name, None)
    return module


def drop_modules(package: str) -> None:
    """Forget `package` and its submodules, so the next import reads them afresh."""
    for loaded in [m for m in sys.modules if m == package or m.startswith(package + ".")]:
        del sys.modules[loaded]


@contextlib.contextmanager
def project_package(package: str, folder: Path) -> Iterator[None]:
    """While inside, `import <package>` and `import <package>.<module>...` read `folder` (its
    __init__.py is optional) afresh from source, whatever is on sys.path; copies imported
    before are dropped first. The modules stay registered afterwards (until the next time),
    so code that imports lazily still finds them; sys.path is never changed."""
    drop_modules(package)
    importlib.invalidate_caches()  # files written since the last import are seen
    for path in [p for p in linecache.cache if _inside(Path(p), folder.resolve())]:
        del linecache.cache[path]  # inspect.getsource reads the files as they are now
    finder = _PackageFinder(package, folder)
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)


class _PackageFinder(importlib.abc.MetaPathFinder):
    def __init__(self, package: str, folder: Path) -> None:
        self.package = package
        self.folder = folder

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: types.ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname == self.package:
            init = self.folder / "__init__.py"
            if not init.is_file():
                return _folder_spec(fullname, [str(self.folder)])
            return importlib.util.spec_from_file_location(
                fullname,
                init,
                loader=SourceLoader(fullname, str(init)),
                submodule_search_locations=[str(self.folder)],
            )
        if not fullname.startswith(self.package + "."):
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None:
            return None
        if spec.loader is None and spec.submodule_search_locations is not None:
            return _folder_spec(fullname, list(spec.submodule_search_locations))
        if isinstance(spec.loader, importlib.machinery.SourceFileLoader):
            spec.loader = SourceLoader(fullname, spec.loader.path)
        return spec


def _folder_spec(name: str, folders: list[str]) -> importlib.machinery.ModuleSpec:
    spec = importlib.machinery.ModuleSpec(name, _FolderLoader(), is_package=True)
    spec.submodule_search_locations = folders
    return spec


class _FolderLoader(importlib.abc.Loader):
    """A package without an __init__.py. Not a namespace package: importlib gives those
    `__file__ = None`, on which inspect.getmodule fails once it has seen a package of that
    name with a file."""

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> None:
        return None

    def exec_module(self, module: types.ModuleType) -> None:
        return None


def import_failure(exc: BaseException, entry: Path, folder: Path) -> str:
    """What to tell when importing `entry` raised `exc`: the file of `folder` (and line) where
    it happened, shown from the folder's parent, e.g. transforms/common/cleaning.py."""
    root = folder.resolve()
    site: tuple[Path, int | None] = (entry.resolve(), None)
    if isinstance(exc, SyntaxError) and exc.filename and _inside(Path(exc.filename), root):
        site = (Path(exc.filename).resolve(), exc.lineno)
    else:
        for frame in reversed(traceback.extract_tb(exc.__traceback__)):
            if _inside(Path(frame.filename), root):
                site = (Path(frame.filename).resolve(), frame.lineno)
                break
    where = [f"line {site[1]}"] if site[1] is not None else []
    if site[0] != entry.resolve():
        where.append(f"imported by {_shown(entry.resolve(), root)}")
    detail = f" ({'; '.join(where)})" if where else ""
    return (
        f"Importing {_shown(site[0], root)} failed: {exc.__class__.__name__}: {exc}{detail}; "
        "fix it (--debug shows the traceback)."
    )


def _inside(path: Path, root: Path) -> bool:
    return path.is_absolute() and path.resolve().is_relative_to(root)


def _shown(path: Path, root: Path) -> str:
    return path.relative_to(root.parent).as_posix()
