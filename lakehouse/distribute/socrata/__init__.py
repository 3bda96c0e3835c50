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

The modules: `spec` (the destination's settings), `client` (HTTP, credentials, retries, the
deadline), `schema` (the output columns and the checks around them), `metadata` (the dataset's
metadata from the recipe), `revision` (`send`) and `preview` (the dry run).

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

from lakehouse.distribute import DestinationType
from lakehouse.distribute.socrata.metadata import dataset_metadata
from lakehouse.distribute.socrata.preview import column_changes, metadata_changes, preview
from lakehouse.distribute.socrata.revision import send
from lakehouse.distribute.socrata.schema import (
    output_columns,
    socrata_field_name,
    transform_expression,
)
from lakehouse.distribute.socrata.spec import SocrataSpec

DESTINATION = DestinationType(name="socrata", spec=SocrataSpec, preview=preview, send=send)

__all__ = [
    "DESTINATION",
    "SocrataSpec",
    "column_changes",
    "dataset_metadata",
    "metadata_changes",
    "output_columns",
    "preview",
    "send",
    "socrata_field_name",
    "transform_expression",
]
