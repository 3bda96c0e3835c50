"""`lake status`: is each source fresh, and is each product up to date with its sources?

Per source (a template): its latest version and that version's age; when it was last fetched
(the archive of that version, or a later fetch that found the same bytes: `checks/`); whether
it is *due* (a time of its `cadence` passed since that fetch), *overdue* (that fetch is older
than `max_age`), and whether the source has something newer (`lakehouse.schedule.upstream`).
Per product (a recipe): whether its lock is behind the archive (an input has a newer version),
whether its latest build is behind its lock (the plan would rebuild a model), and its latest
published version.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from lakehouse.archive.archive import Archive
from lakehouse.archive.checks import read_check
from lakehouse.archive.manifest import Manifest
from lakehouse.archive.template import IngestTemplate, list_templates, load_template_for
from lakehouse.cadence import describe_duration
from lakehouse.config import LakehouseConfig
from lakehouse.errors import LakehouseError
from lakehouse.publish.reading import find_published, latest_version
from lakehouse.schedule.upstream import NOT_ASKED, UpstreamNews, upstream_news
from lakehouse.store.storage import Store
from lakehouse.transform.index import list_builds
from lakehouse.transform.plan import InputPlan, plan_product
from lakehouse.transform.recipe import list_recipes

SourceState = Literal[
    "never fetched", "overdue", "changed upstream", "due", "current", "no cadence", "error"
]
ProductState = Literal["error", "no lock", "lock behind", "never built", "build behind", "current"]
FailOn = Literal["overdue", "behind"]


@dataclass(frozen=True)
class SourceStatus:
    dataset: str
    as_of: datetime
    cadence: str | None = None
    max_age: timedelta | None = None  # the template's, or the cadence's default
    latest: str | None = None
    archived_at: datetime | None = None
    fetched_at: datetime | None = None  # the last fetch that found the latest version's bytes
    next_due: datetime | None = None  # the first time of the cadence after that fetch
    upstream: UpstreamNews = NOT_ASKED
    error: str | None = None  # the template or the archive could not be read

    @property
    def age(self) -> timedelta | None:
        return None if self.archived_at is None else self.as_of - self.archived_at

    @property
    def due(self) -> bool:
        return self.latest is None or (self.next_due is not None and self.next_due <= self.as_of)

    @property
    def overdue(self) -> bool:
        if self.fetched_at is None or self.max_age is None:
            return False
        return self.as_of - self.fetched_at > self.max_age

    @property
    def needs_fetch(self) -> bool:
        """What `lake update` fetches: never fetched, due, overdue, or changed upstream."""
        return self.error is None and (self.due or self.overdue or self.upstream.state == "newer")

    @property
    def state(self) -> SourceState:
        if self.error is not None:
            return "error"
        if self.latest is None:
            return "never fetched"
        if self.overdue:
            return "overdue"
        if self.upstream.state == "newer":
            return "changed upstream"
        if self.due:
            return "due"
        return "current" if self.cadence or self.max_age else "no cadence"

    def to_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "state": self.state,
            "cadence": self.cadence,
            "max_age_seconds": _seconds(self.max_age),
            "latest": self.latest,
            "archived_at": _iso(self.archived_at),
            "age_seconds": _seconds(self.age),
            "fetched_at": _iso(self.fetched_at),
            "due": self.due,
            "next_due": _iso(self.next_due),
            "overdue": self.overdue,
            "upstream": self.upstream.to_dict(),
            "error": self.error,
        }


@dataclass(frozen=True)
class ProductStatus:
    product: str
    locked: bool = False
    behind: list[InputPlan] = field(default_factory=list)  # inputs with a newer version
    rebuild: list[str] = field(default_factory=list)  # models the next build would rebuild
    latest_build: str | None = None
    built_at: datetime | None = None
    build_passed: bool | None = None
    published: str | None = None
    published_at: datetime | None = None
    error: str | None = None

    @property
    def state(self) -> ProductState:
        if self.error is not None:
            return "error"
        if not self.locked:
            return "no lock"
        if self.behind:
            return "lock behind"
        if self.latest_build is None:
            return "never built"
        if self.rebuild:
            return "build behind"
        return "current"

    @property
    def is_behind(self) -> bool:
        return self.state in ("lock behind", "build behind", "never built")

    def to_dict(self) -> dict[str, Any]:
        return {
            "product": self.product,
            "state": self.state,
            "locked": self.locked,
            "lock_behind": [
                {
                    "input": found.alias,
                    "name": found.name,
                    "locked": found.pinned,
                    "latest": found.latest,
                }
                for found in self.behind
            ],
            "rebuild": self.rebuild,
            "latest_build": self.latest_build,
            "built_at": _iso(self.built_at),
            "build_passed": self.build_passed,
            "published": self.published,
            "published_at": _iso(self.published_at),
            "error": self.error,
        }


@dataclass(frozen=True)
class Status:
    as_of: datetime
    sources: list[SourceStatus]
    products: list[ProductStatus]

    def failures(self, fail_on: Iterable[FailOn]) -> list[str]:
        """One line per source or product that fails the `--fail-on` conditions."""
        wanted = set(fail_on)
        lines = []
        if "overdue" in wanted:
            lines += [
                f"{s.dataset} is overdue: last fetched {describe_duration(s.as_of - s.fetched_at)}"
                f" ago, more than its max_age of {describe_duration(s.max_age)}"
                for s in self.sources
                if s.overdue and s.fetched_at is not None and s.max_age is not None
            ]
        if "behind" in wanted:
            lines += [f"{p.product}: {p.state}" for p in self.products if p.is_behind]
            lines += [
                f"{s.dataset} has something newer upstream ({s.upstream.detail})"
                for s in self.sources
                if s.upstream.state == "newer"
            ]
        return lines

    def to_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "sources": [source.to_dict() for source in self.sources],
            "products": [product.to_dict() for product in self.products],
        }


def source_status(
    config: LakehouseConfig,
    archive: Archive,
    dataset: str,
    *,
    now: datetime | None = None,
    ask_upstream: bool = True,
) -> SourceStatus:
    """The freshness of one dataset's source (see the module docstring); asking the source
    itself only with `ask_upstream` (and only once something was fetched to compare with)."""
    now = now or datetime.now(UTC)
    try:
        template = load_template_for(config.templates_dir, dataset)
        versions = archive.readable_versions(dataset)
    except LakehouseError as exc:
        return SourceStatus(dataset, now, error=str(exc))
    planned = _planned(template, now)
    if not versions:
        return SourceStatus(dataset, now, **planned)
    latest = versions[-1]
    fetched_at, seen = _last_fetch(archive.store, latest)
    news = NOT_ASKED
    if ask_upstream:
        news = upstream_news(template, config.project_dir, seen, fetched_at)
    next_due = template.cadence.next_due(fetched_at) if template.cadence else None
    return SourceStatus(
        dataset,
        now,
        latest=latest.version,
        archived_at=latest.archived_at,
        fetched_at=fetched_at,
        next_due=next_due,
        upstream=news,
        **planned,
    )


def _planned(template: IngestTemplate, now: datetime) -> dict[str, Any]:
    cadence = template.cadence
    max_age = template.max_age
    if max_age is None and cadence is not None:
        max_age = cadence.default_max_age(now)
    return {"cadence": str(cadence) if cadence else None, "max_age": max_age}


def _last_fetch(store: Store, latest: Manifest) -> tuple[datetime, dict[str, Any]]:
    """When the latest version's bytes were last fetched, and what the source said then."""
    check = read_check(store, latest.dataset)
    if (
        check is not None
        and check.version == latest.version
        and (check.checked_at > latest.archived_at)
    ):
        return check.checked_at, check.marker
    return latest.archived_at, latest.source.details


def product_status(
    config: LakehouseConfig, store: Store, archive: Archive, product: str
) -> ProductStatus:
    """Whether `product`'s lock and latest build are behind (see the module docstring)."""
    published, published_at = _latest_published(store, product)
    try:
        plan = plan_product(config, store, archive, product)
        builds = list_builds(store, product)
    except LakehouseError as exc:
        return ProductStatus(product, error=str(exc), published=published,
                             published_at=published_at)  # fmt: skip
    latest = builds[-1] if builds else None
    return ProductStatus(
        product,
        locked=plan.lock is not None,
        behind=plan.stale,
        rebuild=plan.rebuild,
        latest_build=latest.build_id if latest else None,
        built_at=latest.finished_at if latest else None,
        build_passed=latest.status == "passed" if latest else None,
        published=published,
        published_at=published_at,
    )


def _latest_published(store: Store, product: str) -> tuple[str | None, datetime | None]:
    try:
        version = latest_version(store, product)
        if version is None:
            return None, None
        return version, find_published(store, product, version).published_at
    except LakehouseError:
        return None, None


def project_status(
    config: LakehouseConfig,
    store: Store,
    archive: Archive,
    *,
    datasets: Iterable[str] | None = None,
    products: Iterable[str] | None = None,
    ask_upstream: bool = True,
    now: datetime | None = None,
    on_source: Callable[[str], None] = lambda dataset: None,
) -> Status:
    """The status of the given datasets and products (default: every template and recipe)."""
    now = now or datetime.now(UTC)
    sources = []
    for dataset in list_templates(config.templates_dir) if datasets is None else datasets:
        on_source(dataset)
        sources.append(source_status(config, archive, dataset, now=now, ask_upstream=ask_upstream))
    names = list_recipes(config.recipes_dir) if products is None else products
    return Status(now, sources, [product_status(config, store, archive, p) for p in names])


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _seconds(span: timedelta | None) -> int | None:
    return None if span is None else int(span.total_seconds())
