"""`--json`: what `lake versions`, `builds`, `published`, `check`, `diff`, `verify`, `status` and
`update` print for scripts, one JSON document on stdout in a versioned envelope (`lake plan
--json` prints its own shape, `plan_format` 1: lakehouse/transform/plan.py).

Every document is one envelope; `format_version` changes only when a field below is removed or
changes meaning (fields may be added within a version):

    {"format": "lake-json", "format_version": 1, "command": "versions", "data": {...}}

An error is the same envelope with `error` in place of `data`, and exit code 1 (2 for an
unexpected error, a bug: run again with --debug for its traceback; 130 when interrupted):

    {"format": "lake-json", "format_version": 1, "command": "versions",
     "error": {"type": "NotFoundError", "message": "No dataset 'nope'; ..."}}

`type` is the error's class in lakehouse/errors.py (`NotFoundError`, `IntegrityError`,
`ConfigError`...), `UsageError` for arguments that do not go together, `StorageError` for a
store that cannot be written, `Interrupted`, or the Python class of an unexpected error.
Nothing else is printed on stdout; warnings (a damaged record left out) go to stderr. Times
are ISO 8601 in UTC (`2026-11-24T09:07:01+00:00`). A `record` is the stored record itself
(manifest.json, build.json, publish.json) as its own `schema_version` defines it
(lakehouse/archive/manifest.py, lakehouse/transform/records.py, lakehouse/publish/records.py).
Values from the data (sample rows) are JSON numbers, strings and nulls; dates and times among
them are ISO 8601 text, decimals and other values their text.

The `data` of each command:

`lake versions --json` (every archived dataset):

    {"datasets": [{"dataset", "versions": [version, ...],   # oldest first, manifests that read
                   "damaged": [version, ...],                # manifest unreadable
                   "latest": str | null,                     # null while a version is damaged
                   "rows": int | null, "extracted_at": time | null}]}   # of the latest

`lake versions DATASET --json` (a dataset with a template and no version yet: `versions` []):

    {"dataset", "versions": [{"version", "latest": bool, "extracted_at", "archived_at",
                              "rows", "storage": "parquet" | "delta", "source_sha256",
                              "version_origin", "record": manifest}],
     "damaged": [{"version", "path", "reason"}]}

`lake builds PRODUCT --json` (oldest first):

    {"product", "builds": [{"build_id", "status": "passed" | "failed", "engine",
                            "started_at", "finished_at",
                            "inputs": {alias: version},               # as the lock pinned them
                            "models_built": int, "models": int,       # built, of all run
                            "git": {"commit": str | null, "dirty": bool | null},
                            "record": build.json}]}

`lake published PRODUCT --json` (oldest first):

    {"product", "published": [{"version", "published_at", "build_id",
                               "git": {"commit", "dirty"},
                               "inputs": {alias: "dataset version"},
                               "qa": [{"report", "against": str | null,
                                       "tables": {output: {"added", "removed", "changed",
                                                           "identical"}} | null}],
                               "promoted_from": {"env", "published_at"} | null,
                               "record": publish.json}]}

`lake check PRODUCT --json` (exit code 1 when a blocking rule fails; the data is printed all
the same):

    {"product", "build_id", "passed": bool, "summary": str,
     "advice": str | null,                                    # what to do when not passed
     "rules": [{"table", "rule", "column", "kind", "detail", "severity": "error" | "warn",
                "passed", "failing_rows", "sample_keys": [row], "layer"}],
     "unchecked": [{"table", "rule", "detail", "reason"}],
     "rule_files": [path]}

`lake diff PRODUCT [OLD] [NEW] --json` (`BuildDiff.to_dict`, lakehouse/qa/diff.py, with
`identical`):

    {"product", "old", "new", "identical": bool, "removed_outputs": [name],
     "tables": [{"table", "key": [column], "old_rows", "new_rows", "identical",
                 "added", "removed", "changed",
                 "columns": {column: rows changed},
                 "added_columns", "removed_columns", "retyped_columns": ["name: OLD -> NEW"],
                 "numeric": [{"column", "old_min", "old_max", "old_mean",
                              "new_min", "new_max", "new_mean"}],
                 "added_sample": [row], "removed_sample": [row],
                 "changed_sample": [{key column: value, ..., column: [old, new]}],
                 "geometry": [...]}]}          # only for a table with geometry columns

`lake verify [DATASET...] --json` (exit code 1 when something is corrupt):

    {"ok": bool, "versions_checked", "builds_checked", "files_checked",
     "corrupt": [{"dataset", "version", "path", "reason"}],
     "leftovers": [{"path", "what", "abandoned": bool, "removed": bool,   # removed: --repair
                    "writer": {"command", "host", "pid", "started_at", "heartbeat_at"} | null,
                    "description"}],
     "set_aside": [folder]}                     # damaged cache entries builds moved aside

`lake status [NAME...] --json` (exit code 1 when `--fail-on` finds something; the data is
printed all the same; lakehouse/schedule/status.py):

    {"as_of": time,
     "sources": [{"dataset", "state": "never fetched" | "overdue" | "changed upstream" | "due"
                                      | "current" | "no cadence" | "error",
                  "cadence": str | null, "max_age_seconds": int | null,
                  "latest": version | null, "archived_at": time | null,
                  "age_seconds": int | null,               # of the latest version
                  "fetched_at": time | null,               # the last fetch of its bytes
                  "due": bool, "next_due": time | null, "overdue": bool,
                  "upstream": {"state": "newer" | "same" | "unknown" | "not asked" | "failed",
                               "detail": str, "edited_at": time | null},
                  "error": str | null}],
     "products": [{"product", "state": "error" | "no lock" | "lock behind" | "never built"
                                        | "build behind" | "current",
                   "locked": bool,
                   "lock_behind": [{"input", "name", "locked", "latest"}],
                   "rebuild": [model],                     # what the next build would rebuild
                   "latest_build": str | null, "built_at": time | null,
                   "build_passed": bool | null,
                   "published": version | null, "published_at": time | null,
                   "error": str | null}],
     "failures": [str]}                                    # one sentence each (--fail-on)

`lake update [DATASET...] --json` (exit code 1 when a fetch or a build failed;
lakehouse/schedule/update.py):

    {"dry_run": bool, "took_over": str | null,             # a killed run's lock taken over
     "sources": [{"dataset", "action": "archived" | "unchanged" | "failed" | "would fetch",
                  "why": str, "version": str | null, "error": str | null}],
     "current": [dataset],                                 # neither due nor changed
     "products": [{"product", "action": "built" | "published" | "failed" | "skipped"
                                        | "would build" | "not locked",
                   "why": str, "build_id": str | null, "published": str | null,
                   "error": str | null}],
     "locks_written": [path],                              # lock files to commit
     "failed": bool}
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from lakehouse.archive.manifest import Manifest
    from lakehouse.archive.versions import VersionScan
    from lakehouse.catalog.catalog import DatasetEntry
    from lakehouse.catalog.verify import VerifyReport
    from lakehouse.contracts.report import ContractReport
    from lakehouse.publish.records import PublishRecord
    from lakehouse.qa.diff import BuildDiff
    from lakehouse.store.writers import Leftover
    from lakehouse.transform.records import BuildRecord, GitState

FORMAT = "lake-json"
FORMAT_VERSION = 1
JSON_HELP = "Print JSON for scripts (its shape: lakehouse/cli/json_output.py)."

Data = dict[str, Any]


def envelope(command: str, data: Data) -> Data:
    return {"format": FORMAT, "format_version": FORMAT_VERSION, "command": command, "data": data}


def error_envelope(command: str, kind: str, message: str) -> Data:
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "command": command,
        "error": {"type": kind, "message": message},
    }


def dumps(document: Data) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False, default=_plain)


def print_data(command: str, data: Data) -> None:
    typer.echo(dumps(envelope(command, data)))


def print_error(command: str, kind: str, message: str) -> None:
    typer.echo(dumps(error_envelope(command, kind, message)))


def _plain(value: object) -> str:
    """A value from the data that JSON has no type for: a date or time as ISO 8601, else its
    text (a decimal, a UUID...)."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def _optional_utc(moment: datetime | None) -> str | None:
    return utc(moment) if moment is not None else None


def datasets_data(entries: list[DatasetEntry]) -> Data:
    return {
        "datasets": [
            {
                "dataset": entry.name,
                "versions": entry.versions,
                "damaged": entry.damaged,
                "latest": entry.latest,
                "rows": entry.rows,
                "extracted_at": _optional_utc(entry.extracted_at),
            }
            for entry in entries
            if entry.versions or entry.damaged
        ]
    }


def versions_data(scan: VersionScan) -> Data:
    newest = len(scan.manifests) - 1
    return {
        "dataset": scan.dataset,
        # while a version is damaged, which one is the latest cannot be told
        "versions": [
            _version(manifest, latest=index == newest and not scan.damaged)
            for index, manifest in enumerate(scan.manifests)
        ],
        "damaged": [
            {"version": damaged.version, "path": damaged.path, "reason": damaged.reason}
            for damaged in scan.damaged
        ],
    }


def _version(manifest: Manifest, *, latest: bool) -> Data:
    return {
        "version": manifest.version,
        "latest": latest,
        "extracted_at": utc(manifest.extracted_at),
        "archived_at": utc(manifest.archived_at),
        "rows": manifest.row_count,
        "storage": manifest.storage,
        "source_sha256": manifest.source_sha256,
        "version_origin": manifest.version_origin,
        "record": manifest.model_dump(mode="json"),
    }


def builds_data(product: str, records: list[BuildRecord]) -> Data:
    return {"product": product, "builds": [_build(record) for record in records]}


def _build(record: BuildRecord) -> Data:
    return {
        "build_id": record.build_id,
        "status": record.status,
        "engine": record.engine,
        "started_at": utc(record.started_at),
        "finished_at": utc(record.finished_at),
        "inputs": {alias: entry.version for alias, entry in record.lock.inputs.items()},
        "models_built": sum(1 for run in record.models.values() if run.status == "built"),
        "models": len(record.models),
        "git": _git(record.git),
        "record": record.model_dump(mode="json"),
    }


def _git(git: GitState) -> Data:
    return {"commit": git.commit, "dirty": git.dirty}


def published_data(product: str, records: list[PublishRecord]) -> Data:
    return {"product": product, "published": [_published(record) for record in records]}


def _published(record: PublishRecord) -> Data:
    promoted = record.promoted_from
    return {
        "version": record.version,
        "published_at": utc(record.published_at),
        "build_id": record.build_id,
        "git": _git(record.git),
        "inputs": dict(record.inputs),
        "qa": [
            {
                "report": qa.report,
                "against": qa.against,
                "tables": (
                    {name: table.model_dump() for name, table in qa.tables.items()}
                    if qa.tables is not None
                    else None
                ),
            }
            for qa in record.qa
        ],
        "promoted_from": (
            {"env": promoted.env, "published_at": utc(promoted.published_at)}
            if promoted is not None
            else None
        ),
        "record": record.model_dump(mode="json"),
    }


def check_data(product: str, record: BuildRecord, report: ContractReport) -> Data:
    return {
        "product": product,
        "build_id": record.build_id,
        "passed": report.passed,
        "summary": report.summary(),
        "advice": None if report.passed else report.advice(),
        "rules": [asdict(result) for result in report.results],
        "unchecked": [asdict(rule) for rule in report.unchecked],
        "rule_files": list(report.rule_files),
    }


def diff_data(found: BuildDiff) -> Data:
    return {**found.to_dict(), "identical": found.identical}


def verify_data(report: VerifyReport) -> Data:
    removed = {leftover.path for leftover in report.repaired}
    return {
        "ok": report.ok,
        "versions_checked": report.versions_checked,
        "builds_checked": report.builds_checked,
        "files_checked": report.files_checked,
        "corrupt": [asdict(problem) for problem in report.corrupt],
        "leftovers": [
            _leftover(leftover, leftover.path in removed) for leftover in report.leftovers
        ],
        "set_aside": list(report.set_aside),
    }


def _leftover(leftover: Leftover, removed: bool) -> Data:
    writer = leftover.writer
    return {
        "path": leftover.path,
        "what": leftover.what,
        "abandoned": leftover.abandoned,
        "removed": removed,
        "writer": (
            {
                "command": writer.command,
                "host": writer.host,
                "pid": writer.pid,
                "started_at": utc(writer.started_at),
                "heartbeat_at": utc(writer.heartbeat_at),
            }
            if writer is not None
            else None
        ),
        "description": leftover.describe(),
    }
