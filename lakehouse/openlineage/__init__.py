"""OpenLineage run events for ingest, build and publish, so that Marquez or a data catalog can
follow the lakehouse (docs/openlineage.md).

Off unless `[openlineage]` in lakehouse.toml sets `file` (JSON lines, one event a line,
relative to the project folder) or `url` (events are POSTed to `<url>/api/v1/lineage`), or
OPENLINEAGE_URL is set (it replaces `url`). Events are plain JSON following the OpenLineage
2-0-2 spec: writing them needs no OpenLineage package (the tests check them against the
client's models). Sending never stops a run: a failing file or endpoint gives one
`LineageWarning` and is left out for the rest of the command (emit.py, observe.py).

Runs and jobs: each `lake ingest`, `lake build` and `lake publish` (and each product of
`lake build --all`) is one run, with a UUIDv7 run id, of the job `ingest.<dataset>`,
`build.<product>` or `publish.<product>` in the jobs' namespace (`[openlineage] namespace`,
default "lakehouse"). START when it begins, then COMPLETE, or FAIL with an errorMessage run
facet (the error's sentence and traceback), or ABORT when interrupted. A dry run and a build
of selected models (`select`) commit nothing and send nothing (observe.py).

Datasets, all in the store's namespace (its root as a URL: file:///abs/path/.lakehouse or
s3://bucket/prefix, with the environment's prefix when there is one):

- `archive/<dataset>`: an archived dataset; its `version` facet is the version name, its
  `schema` facet the manifest's columns. The output of an ingest (with outputStatistics when
  the ingest archived a new version; an unchanged ingest names the version it already had),
  and an input of the builds that read it.
- the source of an ingest, its input: a URL as namespace `scheme://host` and name its path
  (with the query), a local file as namespace `file` and name its absolute path.
- `builds/<product>/<output>`: an output of a product's build (a recipe output; kept models
  are left out); `version` is the build id, `schema` the columns the build recorded (ibis
  types), `columnLineage` the columns' lineage from the build's lock (columns.py), plus
  outputStatistics. An input of a publish, and of another product's build that reads it.
- `seeds/<name>.csv`: a seed a build reads, at the version its lock pins.
- `published/<product>/<output>`: an output of a publish; `version` is the published version,
  `schema` the published Parquet file's columns (Arrow types), `columnLineage` each column
  from the same column of `builds/<product>/<output>`.
"""

from lakehouse.openlineage.emit import LineageWarning, lineage_settings
from lakehouse.openlineage.observe import RunObserver

__all__ = ["LineageWarning", "RunObserver", "lineage_settings"]
