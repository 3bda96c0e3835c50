"""Where a dataset version or a build came from, as recorded beside it: the versions of the
packages that shaped the bytes, the commit of the code, and who ran it.

The archive's manifest records `tool_versions()` and `run_details()`; a build's build.json
records `package_versions()` of its engine's packages (also part of every model's fingerprint)
and `git_state()` of the project. Only the standard library here: every stage may import it.
"""

from __future__ import annotations

import getpass
import os
import subprocess
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path
from typing import Any

from lakehouse.redact import redact_url

ARCHIVE_PACKAGES = ("lakehouse", "duckdb", "pyarrow", "deltalake", "pyogrio")
"""The packages that shape an archived version's bytes (reading, converting, writing)."""

UNKNOWN = "unknown"
RUN_URL_ENV_VAR = "LAKEHOUSE_RUN_URL"


def package_versions(packages: Iterable[str]) -> dict[str, str]:
    """The installed version of each package, in the order given ("unknown" if absent)."""
    versions = {}
    for package in packages:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = UNKNOWN
    return versions


def tool_versions() -> dict[str, str]:
    """Versions of the tools that shaped the archived bytes."""
    return package_versions(ARCHIVE_PACKAGES)


def run_details() -> dict[str, str]:
    """Who ran the ingest and how (manual or CI); nothing secret."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = UNKNOWN
    details = {"trigger": "ci" if os.environ.get("CI") else "manual", "user": user}
    if run_url := os.environ.get(RUN_URL_ENV_VAR):
        details["run_url"] = redact_url(run_url)  # a CI link can carry a token
    return details


def git_state(folder: Path, paths: tuple[str, ...] = ("transforms", "recipes")) -> dict[str, Any]:
    """The commit the transforms come from, and whether they (or the recipes) had uncommitted
    changes; other files of the work tree do not make a build dirty. Outside a git work tree
    (or without git), both are None."""
    try:
        commit = subprocess.run(
            ["git", "-C", str(folder), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
        status = subprocess.run(
            ["git", "-C", str(folder), "status", "--porcelain", "--", *paths],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}
    return {"commit": commit, "dirty": bool(status.strip())}
