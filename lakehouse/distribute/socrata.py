"""Socrata destination: a published version replaces a dataset on an open-data portal (NYC Open
Data, data.cityofnewyork.us) through Socrata's publishing API (the Dataset Management API,
"DSMAPI"): every change goes through a revision, and only applying it changes what readers see.

    - name: open_data
      type: socrata
      format: csv                       # csv (default), xlsx or geojson: files Socrata parses
      domain: https://data.cityofnewyork.us
      dataset_id: abcd-1234             # the dataset's four-by-four
      username_env: SOCRATA_USERNAME    # a user name (or API key id) and its password (or
      password_env: SOCRATA_PASSWORD    #   secret), sent as HTTP Basic credentials
      token_env: SOCRATA_APP_TOKEN      # optional: an app token, sent as X-App-Token
      cadence_field: Update/Update Frequency   # optional: the domain's custom metadata fields
      owner_field: Dataset Information/Agency  #   (section/field) for the cadence and owner

What `send` does, in the API's own calls (all JSON, under `/api/publishing/v1`):

1. `POST /revision/{id}` `{"action": {"type": "replace"}}`: a replace revision; its
   `revision_seq` numbers it.
2. `POST /revision/{id}/{seq}/source` `{"source_type": {"type": "upload", "filename": ...},
   "parse_options": {"parse_source": true}}`, then `POST /source/{source}` with the package's
   data file as the body (`text/csv`), then `GET /source/{source}` until it is parsed
   (`finished_at`, or `failed_at` with `failure_details`): its input schema (the file's columns,
   `total_rows`) and the output schema Socrata guessed.
3. `POST /source/{source}/schema/{input}` `{"output_columns": [...]}`: a new output schema with
   each column's `field_name` (the name the destination gets), `display_name` and `description`
   from the data dictionary and a transform from the dictionary's type (`to_number(...)`, ...),
   not Socrata's guess; then `GET /source/{source}/schema/{input}/output/{output}` until it is
   done and checked (`error_count`, each transform's `failed_at`).
4. `PATCH /revision/{id}/{seq}` `{"metadata": {"name", "description", "attribution", "tags",
   "metadata": {"custom_fields": ...}}}`: the product's metadata from its recipe.
5. `PUT /revision/{id}/{seq}/apply` `{"output_schema_id": ...}`: the job that replaces the live
   dataset; then `GET /revision/{id}/{seq}` until its task set (the job) is `successful` or
   `failure` (its `log` holds the server's message), within `deadline_seconds`.

A failure before step 5 discards the revision (`DELETE /revision/{id}/{seq}`): the live dataset
never changed. A job that fails leaves it unchanged too (Socrata applies a revision whole) and
the revision open, for a look in the portal. `preview` only reads: `GET /api/views/{id}.json`
(metadata and columns) and `GET /resource/{id}.json?$select=count(*)` (the live row count).

Sources for these calls: Socrata's DSMAPI guide (https://dev.socrata.com/publishers/dsmapi) and
API blueprint (https://socratapublishing.docs.apiary.io/), the `socrata-py` client
(socrata/socrata-py: revisions.py, sources.py, output_schema.py, job.py), RSocrata's dsmapi.R
and the NYC Department of City Planning's connector (dcpy/connectors/socrata/publish.py), which
patches revision metadata and custom fields this way on data.cityofnewyork.us.

The package's own data file is what is uploaded (the bytes whose checksums are recorded), with
the output's column names as its header; the destination's renames are applied in step 3, as
output `field_name`s, which is how Socrata itself separates a file's columns from a dataset's.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx
from pydantic import Field, field_validator

from lakehouse.distribute import DestinationType, Receipt
from lakehouse.distribute.delivery import DeliveredColumn, DeliveredTable, Delivery, ProductMetadata
from lakehouse.distribute.spec import DestinationSpec, secret
from lakehouse.errors import DistributeError
from lakehouse.progress import Progress

log = logging.getLogger(__name__)

API = "/api/publishing/v1"
USER_AGENT = "lakehouse-distribute/0.1"
FOUR_BY_FOUR = re.compile(r"^[a-z0-9]{4}-[a-z0-9]{4}$")
FIELD_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
WGS84 = frozenset({"EPSG:4326", "OGC:CRS84"})
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
MAX_RETRY_AFTER_SECONDS = 120.0
MAX_SERVER_MESSAGE = 300
JOB_DONE = frozenset({"successful", "failure"})
CONTENT_TYPES = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "geojson": "application/vnd.geo+json",
}
# the SoQL transform of each data dictionary type (and Parquet type, without a dictionary);
# a type not here (geometry) keeps the transform Socrata guessed from the file
TRANSFORMS = {
    "text": "`{}`",
    "string": "`{}`",
    "large_string": "`{}`",
    "integer": "to_number(`{}`)",
    "float": "to_number(`{}`)",
    "decimal": "to_number(`{}`)",
    "bbl": "to_number(`{}`)",
    "bool": "to_boolean(`{}`)",
    "date": "to_floating_timestamp(`{}`)",
    "datetime": "to_floating_timestamp(`{}`)",
}
NUMBER_TYPE = re.compile(r"^(u?int\d+|double|float\d*|halffloat|decimal\d*\(.*\))$")
STEPS = 6


class SocrataSpec(DestinationSpec):
    """A dataset on a Socrata portal that each version replaces."""

    type: Literal["socrata"]
    format: Literal["csv", "xlsx", "geojson"] = "csv"
    domain: str
    dataset_id: str
    username_env: str = "SOCRATA_USERNAME"
    password_env: str = "SOCRATA_PASSWORD"
    token_env: str | None = None
    cadence_field: str | None = None  # "Section/Field" of the domain's custom metadata
    owner_field: str | None = None
    timeout_seconds: float = Field(default=120.0, gt=0)
    retries: int = Field(default=3, ge=0, le=10)
    backoff_seconds: float = Field(default=2.0, ge=0)
    poll_seconds: float = Field(default=5.0, gt=0)
    deadline_seconds: float = Field(default=3600.0, gt=0)

    @field_validator("domain")
    @classmethod
    def _portal_url(cls, value: str) -> str:
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be the portal's address, like https://data.cityofnewyork.us")
        if parts.username or parts.password or parts.query or parts.path.strip("/"):
            raise ValueError(
                "must be the portal's address alone (no path, query or user:password), "
                "like https://data.cityofnewyork.us; credentials come from username_env"
            )
        if parts.scheme == "http" and parts.hostname not in LOOPBACK:
            raise ValueError("must start with https:// (credentials are never sent in clear)")
        return f"{parts.scheme}://{parts.netloc}"

    @field_validator("dataset_id")
    @classmethod
    def _four_by_four(cls, value: str) -> str:
        if not FOUR_BY_FOUR.match(value):
            raise ValueError(
                "must be a dataset's four-by-four id, like abcd-1234 (the end of its address)"
            )
        return value

    @field_validator("username_env", "password_env", "token_env")
    @classmethod
    def _variable_name(cls, value: str | None) -> str | None:
        if value is not None and not ENV_NAME.match(value):
            raise ValueError("must be the name of an environment variable, like SOCRATA_USERNAME")
        return value

    @field_validator("cadence_field", "owner_field")
    @classmethod
    def _section_and_field(cls, value: str | None) -> str | None:
        if value is not None and len([p for p in value.split("/") if p.strip()]) != 2:
            raise ValueError("must be a custom metadata section and field, like 'Update/Frequency'")
        return value

    def where(self) -> str:
        return f"socrata {self.dataset_url}"

    @property
    def dataset_url(self) -> str:
        return f"{self.domain}/d/{self.dataset_id}"

    def revision_url(self, seq: int) -> str:
        return f"{self.dataset_url}/revisions/{seq}"

    def credential_names(self) -> str:
        names = [self.username_env, self.password_env] + (
            [self.token_env] if self.token_env else []
        )
        return ", ".join(names[:-1]) + f" and {names[-1]}"


# the HTTP client ----------------------------------------------------------------------------


class _Retryable(Exception):
    """A failure worth another try: what went wrong, and how long the server asked to wait."""

    def __init__(self, problem: str, wait: float | None = None) -> None:
        super().__init__(problem)
        self.problem, self.wait = problem, wait


class _Portal:
    """The portal's API for one send or preview: credentials, timeouts, retries of what is worth
    retrying (5xx, 429 after its Retry-After, a connection lost), all within one deadline."""

    def __init__(self, spec: SocrataSpec, *, need_credentials: bool = True) -> None:
        self.spec = spec
        self.applying: int | None = None  # the revision once applied: the live data may change
        self._end = time.monotonic() + spec.deadline_seconds
        credentials = _credentials(spec, need_credentials)
        token = secret(spec.token_env, spec.name, "Socrata app token") if spec.token_env else None
        self._secrets = [s for s in (*(credentials or ()), token) if s]
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if token:
            headers["X-App-Token"] = token
        self._http = httpx.Client(
            base_url=spec.domain,
            auth=credentials,
            headers=headers,
            timeout=httpx.Timeout(spec.timeout_seconds, connect=min(spec.timeout_seconds, 30.0)),
            follow_redirects=False,  # a redirect would carry the credentials elsewhere
        )

    def __enter__(self) -> _Portal:
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.close()

    def remaining(self) -> float:
        return self._end - time.monotonic()

    def resource(self, method: str, path: str, what: str, **options: Any) -> dict[str, Any]:
        """The `resource` of a publishing API answer (see `json`)."""
        answer = self.json(method, path, what, **options)
        inner = answer.get("resource", answer) if isinstance(answer, dict) else None
        if not isinstance(inner, dict):
            raise DistributeError(
                f"Socrata answered {what} with something unexpected; check that "
                f"{self.spec.domain} is a Socrata portal."
            )
        return inner

    def json(
        self,
        method: str,
        path: str,
        what: str,
        *,
        body: Any = None,
        upload: Path | None = None,
        params: dict[str, str] | None = None,
        retry: bool = True,
    ) -> Any:
        """The JSON answer to one request; `what` names it for a person ("the upload of x")."""
        attempts = (self.spec.retries if retry else 0) + 1
        for attempt in range(1, attempts + 1):
            try:
                return self._answer(method, path, what, body, upload, params)
            except _Retryable as failed:
                if attempt == attempts:
                    tried = f" (tried {attempts} times)" if attempts > 1 else ""
                    raise DistributeError(
                        f"Socrata at {self.spec.domain} {failed.problem} to {what}{tried}; "
                        f"try again later ({self.live_note()})."
                    ) from None
                wait = failed.wait
                if wait is None:
                    wait = self.spec.backoff_seconds * 2 ** (attempt - 1)
                if self.remaining() <= wait:
                    raise self.out_of_time(f"{failed.problem} to {what}") from None
                log.info("Socrata %s to %s; trying again in %.3g s", failed.problem, what, wait)
                time.sleep(wait)
        raise AssertionError("unreachable")

    def _answer(
        self,
        method: str,
        path: str,
        what: str,
        body: Any,
        upload: Path | None,
        params: dict[str, str] | None,
    ) -> Any:
        timeout = max(min(self.spec.timeout_seconds, self.remaining()), 0.001)
        try:
            with _request_body(body, upload, self.spec.format) as (content, headers):
                response = self._http.request(
                    method, path, content=content, headers=headers, params=params, timeout=timeout
                )
        except httpx.TimeoutException:
            raise _Retryable(f"did not answer within {timeout:g} s") from None
        except httpx.TransportError as exc:
            raise _Retryable(f"could not be reached ({exc.__class__.__name__})") from None
        status = response.status_code
        if status == 429 or status >= 500:
            raise _Retryable(f"answered HTTP {status}", _retry_after(response))
        if status >= 400:
            raise self._refusal(status, what, response)
        return _json(response, what)

    def _refusal(self, status: int, what: str, response: httpx.Response) -> DistributeError:
        spec = self.spec
        if status == 401:
            return DistributeError(
                f"Socrata at {spec.domain} refused the credentials (HTTP 401) to {what}; check "
                f"or renew the values of {spec.credential_names()} ({self.live_note()})."
            )
        if status == 403:
            return DistributeError(
                f"Socrata at {spec.domain} does not let the account in {spec.username_env} "
                f"change dataset {spec.dataset_id} (HTTP 403 to {what}); ask the dataset's owner "
                "to make it a collaborator, or check the dataset id."
            )
        if status == 404:
            return DistributeError(
                f"Socrata at {spec.domain} has no dataset {spec.dataset_id} (HTTP 404 to "
                f"{what}); check dataset_id and domain in the destination."
            )
        return DistributeError(
            f"Socrata at {spec.domain} refused {what} (HTTP {status}: "
            f"{self.scrub(_server_message(response))}); check the destination's settings."
        )

    def out_of_time(self, doing: str) -> DistributeError:
        return DistributeError(
            f"Sending to Socrata dataset {self.spec.dataset_id} did not finish within its "
            f"deadline of {self.spec.deadline_seconds:g} s ({doing}); raise deadline_seconds in "
            "the destination if the portal is really this slow, or try again later "
            f"({self.live_note()})."
        )

    def live_note(self) -> str:
        """What a failure now means for what readers see."""
        if self.applying is None:
            return "the live dataset was not changed"
        return (
            f"revision {self.applying} may still apply: see {self.spec.revision_url(self.applying)}"
        )

    def scrub(self, text: str) -> str:
        """A server's text with any credential it echoed masked."""
        for value in self._secrets:
            text = text.replace(value, "***")
        return text[:MAX_SERVER_MESSAGE]


@contextmanager
def _request_body(body: Any, upload: Path | None, fmt: str) -> Iterator[tuple[Any, dict[str, str]]]:
    """The content and headers of a request: JSON, or a file streamed with its length."""
    if upload is not None:
        with open(upload, "rb") as handle:
            yield handle, {"Content-Type": CONTENT_TYPES[fmt]}
    elif body is not None:
        yield json.dumps(body).encode(), {"Content-Type": "application/json"}
    else:
        yield None, {}


def _retry_after(response: httpx.Response) -> float | None:
    """The wait a 429 or 503 asks for (seconds or an HTTP date), within a bound."""
    value = response.headers.get("retry-after", "").strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError):
            return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_SECONDS)


def _json(response: httpx.Response, what: str) -> Any:
    if not response.content:
        return {}
    try:
        return response.json()
    except ValueError:
        kind = response.headers.get("content-type", "none")
        raise DistributeError(
            f"Socrata answered {what} with something other than JSON (content type {kind}); "
            "check that the destination's domain is a Socrata portal."
        ) from None


def _server_message(response: httpx.Response) -> str:
    try:
        document = response.json()
    except ValueError:
        text = response.text.strip()
        return text.splitlines()[0] if text else "no message"
    return _details_text(document)


def _credentials(spec: SocrataSpec, required: bool) -> tuple[str, str] | None:
    given = os.environ.get(spec.username_env) and os.environ.get(spec.password_env)
    if not required and not given:
        return None
    return (
        secret(spec.username_env, spec.name, "Socrata user name (or API key id)"),
        secret(spec.password_env, spec.name, "Socrata password (or API key secret)"),
    )


# send -------------------------------------------------------------------------------------


def send(spec: SocrataSpec, delivery: Delivery, progress: Progress) -> Receipt:
    """Replace the dataset's rows, columns and metadata with the version's, through a revision
    that is applied only once everything in it is checked."""
    table = delivery.only_table(spec.name)
    _check_field_names(spec, table)
    _check_crs(spec, delivery, table)
    upload = _data_file(spec, delivery, table)
    with _Portal(spec) as portal:
        progress("opening a Socrata revision", 0, STEPS)
        revision = portal.resource(
            "POST",
            f"{API}/revision/{spec.dataset_id}",
            f"open a revision on {spec.dataset_id}",
            body={"action": {"type": "replace"}},
        )
        seq = int(revision["revision_seq"])
        log.info("Socrata revision %s opened on %s", seq, spec.dataset_id)
        try:
            staged = _stage(portal, delivery, table, upload, seq, progress)
        except BaseException:
            _discard(portal, seq)
            raise
        progress("applying the revision", 4, STEPS)
        job = portal.resource(
            "PUT",
            f"{API}/revision/{spec.dataset_id}/{seq}/apply",
            f"apply revision {seq}",
            body={"output_schema_id": staged["output_schema_id"]},
        )
        portal.applying = seq
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


def _stage(
    portal: _Portal,
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
    if rows != table.rows:
        raise DistributeError(
            f"Socrata read {rows:,} rows from {upload.name} and {delivery.product} "
            f"{delivery.version} has {table.rows:,}; the upload was discarded and the live "
            "dataset was not changed (check the file, or the portal's parse of it)."
        )
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


def _check_field_names(spec: SocrataSpec, table: DeliveredTable) -> None:
    bad = [column.name for column in table.columns if not FIELD_NAME.match(column.name)]
    if bad:
        raise DistributeError(
            f"Socrata field names are lower-case letters, digits and underscores, and "
            f"{table.name} has {', '.join(bad)}; give them Socrata names in the renames of "
            f"destination {spec.name!r}."
        )


def _check_crs(spec: SocrataSpec, delivery: Delivery, table: DeliveredTable) -> None:
    if table.geometry is not None and table.crs not in WGS84:
        raise DistributeError(
            "Socrata keeps geometry as longitude and latitude (EPSG:4326) and "
            f"{delivery.product}'s {table.geometry} is in {table.crs or 'an unknown CRS'}; "
            "transform it to EPSG:4326 in the product, or send it to ArcGIS instead of "
            f"{spec.name!r}."
        )


def _data_file(spec: SocrataSpec, delivery: Delivery, table: DeliveredTable) -> Path:
    path = delivery.package / "data" / f"{table.name}.{spec.format}"
    if not path.is_file():
        raise DistributeError(
            f"The {spec.format} package of {delivery.product} {delivery.version} has no "
            f"data/{path.name} to send to Socrata; package it again (lake package)."
        )
    return path


def _upload(portal: _Portal, upload: Path, seq: int) -> tuple[int, dict[str, Any], dict[str, Any]]:
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
    source = _poll(
        portal,
        lambda: portal.resource("GET", path, f"the source of {upload.name}"),
        lambda found: bool(
            found.get("failed_at") or (found.get("finished_at") and found.get("schemas"))
        ),
        f"Socrata reading {upload.name}",
        source,
    )
    if source.get("failed_at"):
        why = portal.scrub(_details_text(source.get("failure_details")))
        raise DistributeError(
            f"Socrata could not read {upload.name} ({why}); the upload was discarded and the "
            "live dataset was not changed."
        )
    input_schema = max(source["schemas"], key=lambda schema: schema["id"])
    guessed = max(input_schema.get("output_schemas") or [{}], key=lambda s: s.get("id", 0))
    return int(source["id"]), input_schema, guessed


def _set_columns(
    portal: _Portal,
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
    output = _poll(
        portal,
        lambda: portal.resource("GET", shown, f"output schema {output['id']}"),
        lambda found: bool(found.get("finished_at") or _failed_columns(found)),
        "Socrata checking the columns",
        output,
    )
    failed = _failed_columns(output)
    errors = int(output.get("error_count") or 0)
    if failed or errors:
        where = f" (in {', '.join(failed)})" if failed else ""
        raise DistributeError(
            f"Socrata could not convert {errors:,} value{'s' if errors != 1 else ''} of "
            f"{table.name} to the dictionary's types{where}; the upload was discarded and the "
            "live dataset was not changed (check those columns' types in the dictionary)."
        )
    return output


def output_columns(
    input_schema: dict[str, Any], guessed: dict[str, Any], table: DeliveredTable
) -> list[dict[str, Any]]:
    """The output columns to ask for: one per delivered column, in its order, each made from
    the column Socrata guessed for the same file column."""
    inputs = {column["field_name"]: column for column in input_schema.get("input_columns", [])}
    by_input = {}
    for column in guessed.get("output_columns", []):
        sources = (column.get("transform") or {}).get("transform_input_columns") or []
        if len(sources) == 1:
            by_input[sources[0].get("input_column_id")] = column
    columns, missing = [], []
    for position, delivered in enumerate(table.columns, start=1):
        file_column = inputs.get(socrata_field_name(delivered.source))
        made = by_input.get(file_column["id"]) if file_column else None
        if file_column is None or made is None:
            missing.append(delivered.source)
            continue
        columns.append(_output_column(delivered, file_column, made, position))
    if missing:
        found = ", ".join(sorted(inputs)) or "none"
        raise DistributeError(
            f"Socrata's parse of the upload has no column for {', '.join(missing)} (it found "
            f"{found}); the upload was discarded and the live dataset was not changed."
        )
    return columns


def _output_column(
    delivered: DeliveredColumn, file_column: dict[str, Any], made: dict[str, Any], position: int
) -> dict[str, Any]:
    transform = dict(made.get("transform") or {})
    expression = transform_expression(delivered.type, file_column["field_name"])
    if expression is not None:
        transform = {"transform_expr": expression}
    column = {
        "field_name": delivered.name,
        "display_name": delivered.display_name,
        "description": delivered.description,
        "position": position,
        "is_primary_key": False,
        "transform": transform,
    }
    if "id" in made:
        column["initial_output_column_id"] = made["id"]
    return column


def socrata_field_name(header: str) -> str:
    """The field name Socrata gives a file's column header."""
    return re.sub(r"[^a-z0-9]+", "_", header.lower()).strip("_")


def transform_expression(kind: str, field: str) -> str | None:
    """The SoQL transform that makes a file column the dictionary's type (None: keep Socrata's)."""
    template = TRANSFORMS.get(kind)
    if template is None and NUMBER_TYPE.match(kind):
        template = TRANSFORMS["float"]
    if template is None and kind.startswith(("date", "timestamp")):
        template = TRANSFORMS["datetime"]
    return template.format(field) if template is not None else None


def _failed_columns(output: dict[str, Any]) -> list[str]:
    return [
        str(column.get("field_name"))
        for column in output.get("output_columns", [])
        if (column.get("transform") or {}).get("failed_at")
        or int((column.get("transform") or {}).get("error_count") or 0)
    ]


def dataset_metadata(spec: SocrataSpec, metadata: ProductMetadata) -> dict[str, Any]:
    """The dataset's metadata on the revision, from the product's recipe: the owner and cadence
    in the domain's custom fields when the destination names them, else in the description."""
    custom: dict[str, dict[str, str]] = {}
    notes = []
    for label, value, field in (
        ("Owner", metadata.owner, spec.owner_field),
        ("Updated", metadata.cadence, spec.cadence_field),
    ):
        if not value:
            continue
        if field is None:
            notes.append(f"{label}: {value}")
        else:
            section, name = (part.strip() for part in field.split("/"))
            custom.setdefault(section, {})[name] = value
    description = "\n\n".join(
        part for part in (metadata.description.strip(), "\n".join(notes)) if part
    )
    found: dict[str, Any] = {
        "name": metadata.title,
        "description": description,
        "tags": list(metadata.tags),
    }
    if metadata.attribution:
        found["attribution"] = metadata.attribution
    if custom:
        found["metadata"] = {"custom_fields": custom}
    return found


def _wait_for_job(
    portal: _Portal, seq: int, applied: dict[str, Any], progress: Progress
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

    finished = _poll(portal, job, done, f"Socrata job {job_id}", applied)
    if finished["status"] == "failure":
        raise DistributeError(
            f"Socrata's job {job_id} applying revision {seq} to {spec.dataset_id} failed "
            f"({portal.scrub(_job_message(finished))}); the live dataset was not changed, and "
            f"the revision is left open at {spec.revision_url(seq)} to look at."
        )
    log.info("Socrata revision %s applied to %s by job %s", seq, spec.dataset_id, job_id)
    return finished


def _poll(
    portal: _Portal,
    fetch: Callable[[], dict[str, Any]],
    done: Callable[[dict[str, Any]], bool],
    waiting_for: str,
    first: dict[str, Any],
) -> dict[str, Any]:
    """`first`, or what `fetch` finds every poll_seconds, once it is `done`; within the
    deadline."""
    found = first
    while not done(found):
        if portal.remaining() <= portal.spec.poll_seconds:
            raise portal.out_of_time(f"waiting for {waiting_for}")
        time.sleep(portal.spec.poll_seconds)
        found = fetch()
    return found


def _job_message(job: dict[str, Any]) -> str:
    """The server's own words on why a job failed: its failure's log entry, else the last."""
    entries = [e for e in job.get("log") or [] if isinstance(e, dict)]
    failures = [e for e in entries if "fail" in str(e.get("stage", ""))] or entries[-1:]
    if job.get("failure_details"):
        return _details_text(job["failure_details"])
    return (
        _details_text(failures[-1].get("details") or failures[-1].get("stage"))
        if failures
        else "no message"
    )


def _details_text(details: Any) -> str:
    if isinstance(details, dict):
        for key in ("message", "error", "reason"):
            if details.get(key):
                return str(details[key])
        return ", ".join(f"{k}: {v}" for k, v in details.items()) or "no message"
    return str(details) if details else "no message"


def _discard(portal: _Portal, seq: int) -> None:
    """Close the revision unapplied; a failure here leaves it open, which changes nothing live."""
    path = f"{API}/revision/{portal.spec.dataset_id}/{seq}"
    try:
        portal.json("DELETE", path, f"discard revision {seq}", retry=False)
    except (DistributeError, httpx.HTTPError) as exc:
        log.warning("Socrata revision %s was left open (%s)", seq, exc)
    else:
        log.info("Socrata revision %s of %s discarded", seq, portal.spec.dataset_id)


# preview ------------------------------------------------------------------------------------


def preview(spec: SocrataSpec, delivery: Delivery) -> list[str]:
    """What sending would change in the dataset: rows, columns, metadata; reads only."""
    table = delivery.only_table(spec.name)
    has_credentials = bool(os.environ.get(spec.username_env) and os.environ.get(spec.password_env))
    with _Portal(spec, need_credentials=False) as portal:
        view = portal.json(
            "GET", f"/api/views/{spec.dataset_id}.json", f"dataset {spec.dataset_id}"
        )
        counted = portal.json(
            "GET",
            f"/resource/{spec.dataset_id}.json",
            f"the row count of {spec.dataset_id}",
            params={"$select": "count(*) AS row_count"},
        )
    now = _row_count(counted)
    lines = [
        f"{spec.where()}: replace {now:,} rows with {table.rows:,} "
        f"({delivery.product} {delivery.version})"
    ]
    lines += column_changes(view, table)
    lines += metadata_changes(view, dataset_metadata(spec, delivery.metadata))
    if not has_credentials:
        lines.append(
            f"read without credentials: set {spec.username_env} and {spec.password_env} to send"
        )
    return lines


def _row_count(answer: Any) -> int:
    if isinstance(answer, list) and answer and isinstance(answer[0], dict):
        value = answer[0].get("row_count", 0)
        try:
            return int(value)
        except (TypeError, ValueError):
            pass
    raise DistributeError("Socrata's row count of the dataset was not a number; try again later.")


def column_changes(view: dict[str, Any], table: DeliveredTable) -> list[str]:
    """Columns added, removed, renamed, relabelled and redescribed, as lines."""
    live = {
        str(c["fieldName"]): c
        for c in view.get("columns") or []
        if not str(c.get("fieldName", ":")).startswith(":")  # system and computed columns
    }
    lines, kept = [], set()
    for column in table.columns:
        current = live.get(column.name)
        if current is None and column.source != column.name and column.source in live:
            current = live[column.source]
            lines.append(f"column renamed: {column.source} -> {column.name}")
        if current is None:
            lines.append(f"column added: {column.name}")
            continue
        kept.add(str(current["fieldName"]))
        if (current.get("name") or "") != column.display_name:
            lines.append(
                f"column {column.name} label: {current.get('name')!r} -> {column.display_name!r}"
            )
        if (current.get("description") or "") != column.description:
            lines.append(f"column {column.name} description changes")
    lines += [f"column removed: {name}" for name in live if name not in kept]
    return lines or ["columns: no change"]


def metadata_changes(view: dict[str, Any], wanted: dict[str, Any]) -> list[str]:
    """The dataset's metadata fields that sending would change, as lines."""
    lines = []
    for key in ("name", "description", "attribution"):
        if key in wanted and (view.get(key) or "") != wanted[key]:
            lines.append(f"metadata {key}: {_short(view.get(key))} -> {_short(wanted[key])}")
    if sorted(view.get("tags") or []) != sorted(wanted["tags"]):
        lines.append(f"metadata tags: {sorted(view.get('tags') or [])} -> {sorted(wanted['tags'])}")
    live_custom = (view.get("metadata") or {}).get("custom_fields") or {}
    for section, fields in (wanted.get("metadata") or {}).get("custom_fields", {}).items():
        for name, value in fields.items():
            before = (live_custom.get(section) or {}).get(name)
            if before != value:
                lines.append(f"metadata {section}/{name}: {_short(before)} -> {_short(value)}")
    return lines or ["metadata: no change"]


def _short(value: Any, limit: int = 60) -> str:
    text = " ".join(str(value or "").split())
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


DESTINATION = DestinationType(name="socrata", spec=SocrataSpec, preview=preview, send=send)
