"""The Builds page's logic: a product's builds and published versions, and for one of them its
inputs (the lock), its models' timing and its contract results (the failing rows of a rule are
`lakehouse.app.failing`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lakehouse.errors import NotFoundError
from lakehouse.transform.index import contract_results

if TYPE_CHECKING:
    import pandas as pd

    from lakehouse.project import Lakehouse
    from lakehouse.publish.records import PublishRecord
    from lakehouse.transform.records import BuildRecord, LockRecord


def product_names(lake: Lakehouse) -> list[str]:
    """Every product with a recipe, by name."""
    return sorted(entry.name for entry in lake.products())


def build_ids(lake: Lakehouse, product: str) -> list[str]:
    """The product's builds, oldest first."""
    return [entry.build_id for entry in lake.builds(product)]


def published_versions(lake: Lakehouse, product: str) -> list[str]:
    """The product's published versions, oldest first."""
    return [entry.version for entry in lake.published(product)]


def builds_frame(lake: Lakehouse, product: str) -> pd.DataFrame:
    """One row per build, newest first: its status, when it ran and for how long, its engine,
    its contracts' summary and the versions it was published as."""
    import pandas as pd

    published: dict[str, list[str]] = {}
    for entry in lake.published(product):
        published.setdefault(entry.build_id, []).append(entry.version)
    rows = [
        {
            "build": b.build_id,
            "status": b.status,
            "started_at": b.started_at,
            "seconds": round((b.finished_at - b.started_at).total_seconds(), 2),
            "engine": b.engine,
            "contracts": b.contracts.summary,
            "stopped_at": b.contracts.stopped_at,
            "published_as": ", ".join(published.get(b.build_id, [])),
        }
        for b in reversed(lake.builds(product))
    ]
    columns = ["build", "status", "started_at", "seconds", "engine", "contracts", "stopped_at",
               "published_as"]  # fmt: skip
    return pd.DataFrame(rows, columns=columns)


def published_frame(lake: Lakehouse, product: str) -> pd.DataFrame:
    """One row per published version, newest first: its build, when, its contracts and QA."""
    import pandas as pd

    rows = [
        {
            "version": p.version,
            "build": p.build_id,
            "published_at": p.published_at,
            "contracts": p.contracts.summary,
            "qa_reports": len(p.qa),
            "promoted_from": p.promoted_from.env if p.promoted_from else None,
        }
        for p in reversed(lake.published(product))
    ]
    columns = ["version", "build", "published_at", "contracts", "qa_reports", "promoted_from"]
    return pd.DataFrame(rows, columns=columns)


def find_entry(lake: Lakehouse, product: str, reference: str) -> BuildRecord | PublishRecord:
    """A build (by id) or a published version (by name); an unknown one is refused naming
    the builds and versions that exist."""
    for build in lake.builds(product):
        if build.build_id == reference:
            return build
    for published in lake.published(product):
        if published.version == reference:
            return published
    known = [*build_ids(lake, product), *published_versions(lake, product)]
    raise NotFoundError(
        f"{product!r} has no build or published version {reference!r}; the ones that exist: "
        f"{', '.join(known) or 'none yet'}."
    )


def inputs_frame(lock: LockRecord) -> pd.DataFrame:
    """The lock: each input's alias, what it names, its exact version and sha256."""
    import pandas as pd

    rows = [
        {"input": alias, "reads": pinned.name, "version": pinned.version, "sha256": pinned.sha256}
        for alias, pinned in lock.inputs.items()
    ]
    return pd.DataFrame(rows, columns=["input", "reads", "version", "sha256"])


def models_frame(build: BuildRecord) -> pd.DataFrame:
    """Each model in the order it ran: its layer, whether it was built, reused or a view, its
    seconds and rows."""
    import pandas as pd

    rows = [
        {
            "model": name,
            "layer": run.layer,
            "status": run.status,
            "seconds": run.seconds,
            "rows": run.rows,
        }
        for name in build.order
        if (run := build.models.get(name)) is not None
    ]
    return pd.DataFrame(rows, columns=["model", "layer", "status", "seconds", "rows"])


def contracts_frame(lake: Lakehouse, product: str, build_id: str) -> pd.DataFrame:
    """The build's contract report, a row per rule: failed rules first, then by table."""
    import pandas as pd

    columns = ["layer", "table", "rule", "detail", "severity", "passed", "failing_rows"]
    rows = [
        {name: row.get(name) for name in columns}
        for row in contract_results(lake.store, product, build_id)
    ]
    frame = pd.DataFrame(rows, columns=columns)
    if frame.empty:
        return frame
    return frame.sort_values(["passed", "table"], kind="stable").reset_index(drop=True)


def failed_rules(lake: Lakehouse, product: str, build_id: str) -> list[tuple[str, str]]:
    """The (table, rule) of each rule the build's contracts found failing rows for."""
    return [
        (row["table"], row["rule"])
        for row in contract_results(lake.store, product, build_id)
        if not row["passed"] and row["failing_rows"]
    ]
