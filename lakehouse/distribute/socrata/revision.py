"""A send: one replace revision on the dataset, staged (the package's data file uploaded as a
source and parsed, its output schema set from the dictionary, the dataset's metadata patched)
and applied only once everything in it is checked, then the applying job followed to its end.
A failure before the apply discards the revision, so the live dataset never changes."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import httpx

from lakehouse.distribute import Receipt
from lakehouse.distribute.delivery import DeliveredTable, Delivery
from lakehouse.distribute.socrata.client import API, Portal, details_text, poll
from lakehouse.distribute.socrata.metadata import dataset_metadata
from lakehouse.distribute.socrata.schema import (
    check_converted,
    check_crs,
    check_field_names,
    failed_columns,
    output_columns,
)
from lakehouse.distribute.socrata.spec import SocrataSpec
from lakehouse.errors import DistributeError
from lakehouse.progress import Progress

log = logging.getLogger(__name__)

STEPS = 6
JOB_DONE = frozenset({"successful", "failure"})


def send(spec: SocrataSpec, delivery: Delivery, progress: Progress) -> Receipt:
    """Replace the dataset's rows, columns and metadata with the version's, through a revision
    that is applied only once everything in it is checked."""
    table = delivery.only_table(spec.name)
    check_field_names(spec, table)
    check_crs(spec, delivery, table)
    upload = data_file(spec, delivery, table)
    with Portal(spec) as portal:
        progress("opening a Socrata revision", 0, STEPS)
        seq = _open_revision(portal)
        try:
            staged = _stage(portal, delivery, table, upload, seq, progress)
        except BaseException:
            _discard(portal, seq)
            raise
        progress("applying the revision", 4, STEPS)
        job = _apply(portal, seq, staged["output_schema_id"])
        finished = _wait_for_job(portal, seq, job, progress)
    progress("applied", STEPS, STEPS)
    return Receipt(
        location=spec.where(),
        remote_id=f"revision {seq}, job {job.get('id')}",
        details={
            **staged,
            "dataset_id": spec.dataset_id,
            "revision_seq": seq,
            "job_id": job.get("id"),
            "job_status": finished.get("status"),
            "revision_url": spec.revision_url(seq),
        },
    )


def data_file(spec: SocrataSpec, delivery: Delivery, table: DeliveredTable) -> Path:
    """The package's data file to upload, in the destination's format."""
    path = delivery.package / "data" / f"{table.name}.{spec.format}"
    if not path.is_file():
        raise DistributeError(
            f"The {spec.format} package of {delivery.product} {delivery.version} has no "
            f"data/{path.name} to send to Socrata; package it again (lake package)."
        )
    return path


def _open_revision(portal: Portal) -> int:
    """A new replace revision on the dataset: its number."""
    spec = portal.spec
    revision = portal.resource(
        "POST",
        f"{API}/revision/{spec.dataset_id}",
        f"open a revision on {spec.dataset_id}",
        body={"action": {"type": "replace"}},
    )
    seq = int(revision["revision_seq"])
    log.info("Socrata revision %s opened on %s", seq, spec.dataset_id)
    return seq


def _stage(
    portal: Portal,
    delivery: Delivery,
    table: DeliveredTable,
    upload: Path,
    seq: int,
    progress: Progress,
) -> dict[str, Any]:
    """Upload the file, set its columns and the dataset's metadata on revision `seq`; what the
    receipt records of it."""
    spec = portal.spec
    progress(f"uploading {upload.name}", 1, STEPS)
    source_id, input_schema, guessed = _upload(portal, upload, seq)
    rows = int(input_schema.get("total_rows") or 0)
    _check_rows(rows, delivery, table, upload)
    progress("setting column names, labels and descriptions", 2, STEPS)
    output = _set_columns(portal, source_id, input_schema, guessed, table)
    progress("setting the dataset's metadata", 3, STEPS)
    portal.json(
        "PATCH",
        f"{API}/revision/{spec.dataset_id}/{seq}",
        f"set the metadata of revision {seq}",
        body={"metadata": dataset_metadata(spec, delivery.metadata)},
    )
    return {
        "source_id": source_id,
        "input_schema_id": input_schema.get("id"),
        "output_schema_id": output["id"],
        "rows": rows,
        "file": f"data/{upload.name}",
        "file_sha256": delivery.files.get(f"data/{upload.name}"),
        "columns": [column["field_name"] for column in output.get("output_columns", [])],
    }


def _check_rows(rows: int, delivery: Delivery, table: DeliveredTable, upload: Path) -> None:
    """Refuse a parse that did not read as many rows as the version has."""
    if rows != table.rows:
        raise DistributeError(
            f"Socrata read {rows:,} rows from {upload.name} and {delivery.product} "
            f"{delivery.version} has {table.rows:,}; the upload was discarded and the live "
            "dataset was not changed (check the file, or the portal's parse of it)."
        )


def _upload(portal: Portal, upload: Path, seq: int) -> tuple[int, dict[str, Any], dict[str, Any]]:
    """The new source's id, its input schema and the output schema Socrata guessed."""
    source = portal.resource(
        "POST",
        f"{API}/revision/{portal.spec.dataset_id}/{seq}/source",
        f"create a source on revision {seq}",
        body={
            "source_type": {"type": "upload", "filename": upload.name},
            "parse_options": {"parse_source": True},
        },
    )
    path = f"{API}/source/{int(source['id'])}"
    source = portal.resource("POST", path, f"the upload of {upload.name}", upload=upload)
    source = poll(
        portal,
        lambda: portal.resource("GET", path, f"the source of {upload.name}"),
        lambda found: bool(
            found.get("failed_at") or (found.get("finished_at") and found.get("schemas"))
        ),
        f"Socrata reading {upload.name}",
        source,
    )
    if source.get("failed_at"):
        why = portal.scrub(details_text(source.get("failure_details")))
        raise DistributeError(
            f"Socrata could not read {upload.name} ({why}); the upload was discarded and the "
            "live dataset was not changed."
        )
    input_schema = max(source["schemas"], key=lambda schema: schema["id"])
    guessed = max(input_schema.get("output_schemas") or [{}], key=lambda s: s.get("id", 0))
    return int(source["id"]), input_schema, guessed


def _set_columns(
    portal: Portal,
    source_id: int,
    input_schema: dict[str, Any],
    guessed: dict[str, Any],
    table: DeliveredTable,
) -> dict[str, Any]:
    """The output schema with the destination's column names, labels, descriptions and types,
    once Socrata has transformed every value without an error."""
    path = f"{API}/source/{source_id}/schema/{input_schema['id']}"
    output = portal.resource(
        "POST",
        path,
        f"set the columns of source {source_id}",
        body={"output_columns": output_columns(input_schema, guessed, table), "sort_bys": []},
    )
    shown = f"{path}/output/{output['id']}"
    output = poll(
        portal,
        lambda: portal.resource("GET", shown, f"output schema {output['id']}"),
        lambda found: bool(found.get("finished_at") or failed_columns(found)),
        "Socrata checking the columns",
        output,
    )
    check_converted(output, table)
    return output


def _apply(portal: Portal, seq: int, output_schema_id: Any) -> dict[str, Any]:
    """Start the job that replaces the live dataset with revision `seq`: the job as answered."""
    job = portal.resource(
        "PUT",
        f"{API}/revision/{portal.spec.dataset_id}/{seq}/apply",
        f"apply revision {seq}",
        body={"output_schema_id": output_schema_id},
    )
    portal.applying = seq
    return job


def _wait_for_job(
    portal: Portal, seq: int, applied: dict[str, Any], progress: Progress
) -> dict[str, Any]:
    """The applying job (as `apply` answered it, then as the revision shows it) once it is
    done: it succeeded, else its failure is raised."""
    spec, job_id = portal.spec, applied.get("id")

    def job() -> dict[str, Any]:
        revision = portal.resource(
            "GET", f"{API}/revision/{spec.dataset_id}/{seq}", f"the status of revision {seq}"
        )
        tasks = [t for t in revision.get("task_sets") or [] if t.get("id") == job_id]
        return tasks[-1] if tasks else {"status": "initializing"}

    def done(found: dict[str, Any]) -> bool:
        progress(f"Socrata job {job_id}: {found.get('status')}", 5, STEPS)
        return found.get("status") in JOB_DONE

    finished = poll(portal, job, done, f"Socrata job {job_id}", applied)
    if finished["status"] == "failure":
        raise DistributeError(
            f"Socrata's job {job_id} applying revision {seq} to {spec.dataset_id} failed "
            f"({portal.scrub(_job_message(finished))}); the live dataset was not changed, and "
            f"the revision is left open at {spec.revision_url(seq)} to look at."
        )
    log.info("Socrata revision %s applied to %s by job %s", seq, spec.dataset_id, job_id)
    return finished


def _job_message(job: dict[str, Any]) -> str:
    """The server's own words on why a job failed: its failure's log entry, else the last."""
    entries = [e for e in job.get("log") or [] if isinstance(e, dict)]
    failures = [e for e in entries if "fail" in str(e.get("stage", ""))] or entries[-1:]
    if job.get("failure_details"):
        return details_text(job["failure_details"])
    return (
        details_text(failures[-1].get("details") or failures[-1].get("stage"))
        if failures
        else "no message"
    )


def _discard(portal: Portal, seq: int) -> None:
    """Close the revision unapplied; a failure here leaves it open, which changes nothing live."""
    path = f"{API}/revision/{portal.spec.dataset_id}/{seq}"
    try:
        portal.json("DELETE", path, f"discard revision {seq}", retry=False)
    except (DistributeError, httpx.HTTPError) as exc:
        log.warning("Socrata revision %s was left open (%s)", seq, exc)
    else:
        log.info("Socrata revision %s of %s discarded", seq, portal.spec.dataset_id)
