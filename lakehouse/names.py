"""Safe names for datasets and versions: nothing that can escape the store's root."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated

from pydantic import AfterValidator

from lakehouse.errors import InvalidNameError

_DATASET_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_VERSION_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
LATEST = "latest"  # the newest version, build or published version, wherever a name is asked
RESERVED_VERSIONS = frozenset({LATEST})


def check_dataset_name(name: str) -> str:
    """Return `name` if it is a valid dataset name, else raise InvalidNameError."""
    if not _DATASET_NAME.match(name):
        raise InvalidNameError(
            f"Dataset name {name!r} is not allowed: use lower-case letters, digits and '_', "
            "starting with a letter (at most 63 characters)."
        )
    return name


def check_version_name(name: str) -> str:
    """Return `name` if it is a valid version name, else raise InvalidNameError."""
    if not _VERSION_NAME.match(name) or ".." in name or name.lower() in RESERVED_VERSIONS:
        raise InvalidNameError(
            f"Version name {name!r} is not allowed: use letters, digits, '.', '_' and '-' "
            "(no '/', no '..', not 'latest'), e.g. 25v1 or 20240101."
        )
    return name


def is_dataset_name(name: str) -> bool:
    """Whether `name` is a valid dataset name (for skipping stray folders)."""
    return bool(_DATASET_NAME.match(name))


def _as_value_error(check: Callable[[str], str]) -> Callable[[str], str]:
    """A name check that pydantic reports as a field error (with the file and field)."""

    def validate(name: str) -> str:
        try:
            return check(name)
        except InvalidNameError as exc:
            raise ValueError(str(exc)) from exc

    return validate


def _version_or_latest(name: str) -> str:
    return name if name == "latest" else check_version_name(name)


DatasetName = Annotated[str, AfterValidator(_as_value_error(check_dataset_name))]
VersionName = Annotated[str, AfterValidator(_as_value_error(check_version_name))]
VersionOrLatest = Annotated[str, AfterValidator(_as_value_error(_version_or_latest))]
