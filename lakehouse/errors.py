"""One error hierarchy; every message is a sentence for the user that says what to do."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pydantic import ValidationError


class LakehouseError(Exception):
    """Base of every error the lakehouse raises on purpose."""


class ConfigError(LakehouseError):
    """lakehouse.toml, a template or another config file is missing or invalid."""


class InvalidNameError(LakehouseError):
    """A dataset or version name could escape the store or is not allowed."""


class SourceError(LakehouseError):
    """A source could not be fetched: unreachable, timed out, truncated or not what was expected."""


class TransientSourceError(SourceError):
    """A source failure worth retrying (a server error, a timeout, a body cut off): a source
    type retries it with back-off, and reports it as a SourceError once the retries are spent."""


class FormatError(LakehouseError):
    """The fetched bytes could not be read as the declared format."""


class VersionExistsError(LakehouseError):
    """A version with this name already exists and versions are never overwritten."""


class NotFoundError(LakehouseError):
    """A dataset or version does not exist in the store."""


class IntegrityError(LakehouseError):
    """Stored bytes no longer match their recorded checksums, or a manifest is unreadable."""


class NewerRecordError(IntegrityError):
    """A stored record (build.json, publish.json...) was written by a newer lakehouse, in a
    schema version this one cannot read."""


class ContractFailed(LakehouseError):
    """Data broke a blocking rule of its contract; the layer did not move on."""


class BuildError(LakehouseError):
    """A model failed: its transform raised, or the engine could not run it."""


class ContractError(BuildError):
    """A build's outputs broke a blocking rule of their contract (the build is kept, failed)."""


class StorageError(LakehouseError):
    """The store cannot be reached or used (missing bucket, unreachable endpoint)."""


class LockError(LakehouseError):
    """A lock no longer matches the archive (or is missing where one is required)."""


class TransformError(LakehouseError):
    """A transform package is missing, malformed, cyclic or has unknown inputs."""


class DiffError(LakehouseError):
    """Two things cannot be compared (different products, no primary key)."""


class PublishError(LakehouseError):
    """A build cannot be published (failed contracts, no QA report)."""


class DistributeError(LakehouseError):
    """A published version could not be sent to a destination (or the destination is wrong)."""


class PackageError(LakehouseError):
    """The data cannot be packaged in the asked format."""


def first_line(exc: BaseException) -> str:
    """An exception's first line of text (its class name when it has none), for a message."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else exc.__class__.__name__


def describe_validation_error(exc: ValidationError) -> str:
    """One clause per problem: the dotted field path and what is wrong with it."""
    problems = []
    for error in exc.errors():
        field = ".".join(str(part) for part in error["loc"]) or "(top level)"
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] in ("extra_forbidden", "unexpected_keyword_argument"):
            problems.append(f"unknown field '{field}' (check the spelling)")
        else:
            problems.append(f"field '{field}': {message}")
    return "; ".join(problems)
