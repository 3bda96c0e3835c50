"""`RunObserver`, through which `Lakehouse.ingest`, `build`, `build_all` and `publish` run
their work: as it is when lineage is off, and as an observed run (START, then COMPLETE or
FAIL) when `[openlineage]` or OPENLINEAGE_URL turns it on. A Lakehouse has one observer, so
one emitter: a file or endpoint that fails warns once, and is left out for the rest of the
Lakehouse's life (a `lake` command: `lake ingest` of six datasets warns once, not six times).

Not observed: an ingest's dry run and a build's selection (`select`), which commit nothing.
`build_all` runs each product's build through `build`, so each sends START as it begins and
COMPLETE or FAIL as it ends; a product skipped for a failed upstream product never ran and
sends nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from lakehouse.openlineage.emit import Emitter, lineage_settings, open_emitter
from lakehouse.openlineage.events import JobKind, job

if TYPE_CHECKING:  # what describes a run is imported only when lineage is on
    from lakehouse.archive.archive import Archive, IngestResult
    from lakehouse.config import LakehouseConfig
    from lakehouse.openlineage.describe import Project
    from lakehouse.publish.records import PublishRecord
    from lakehouse.transform.builder import BuildResult


class RunObserver:
    """Observes the runs of one project (one per `Lakehouse`)."""

    def __init__(self, config: LakehouseConfig, archive: Archive) -> None:
        self.config, self.archive = config, archive
        self.emitter: Emitter | None = open_emitter(config)  # None: lineage is off

    def _job(self, kind: JobKind, subject: str) -> dict[str, Any]:
        return job(lineage_settings(self.config).namespace, kind, subject)

    def _project(self) -> Project:
        from lakehouse.openlineage.describe import Project

        return Project(self.config, self.archive)

    def ingest(
        self, dataset: str, ingest: Callable[[], IngestResult], *, dry_run: bool = False
    ) -> IngestResult:
        """Run `ingest()`, observed unless lineage is off or it is a dry run."""
        if self.emitter is None or dry_run:
            return ingest()
        from lakehouse.openlineage.describe import ingest_described
        from lakehouse.openlineage.run import lineage_run

        project = self._project()
        with lineage_run(self.emitter, self._job("ingest", dataset)) as run:
            result = ingest()
            run.complete_with(lambda: ingest_described(project, result))
        return result

    def build(
        self,
        product: str,
        build: Callable[[], BuildResult],
        *,
        latest: bool = False,
        selection: bool = False,
    ) -> BuildResult:
        """Run `build()`, observed unless lineage is off or it builds a selection of models."""
        if self.emitter is None or selection:
            return build()
        from lakehouse.openlineage.describe import build_described, lock_inputs
        from lakehouse.openlineage.run import lineage_run

        project = self._project()
        inputs = partial(lock_inputs, project, product, latest=latest)
        with lineage_run(self.emitter, self._job("build", product), inputs) as run:
            result = build()
            run.complete_with(lambda: build_described(project, result))
        return result

    def publish(
        self, product: str, build_id: str | None, publish: Callable[[], PublishRecord]
    ) -> PublishRecord:
        """Run `publish()`, observed unless lineage is off."""
        if self.emitter is None:
            return publish()
        from lakehouse.openlineage.describe import publish_described, publish_inputs
        from lakehouse.openlineage.run import lineage_run

        project = self._project()
        inputs = partial(publish_inputs, project, product, build_id)
        with lineage_run(self.emitter, self._job("publish", product), inputs) as run:
            record = publish()
            run.complete_with(lambda: publish_described(project, record))
        return record
