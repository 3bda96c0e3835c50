"""`lake update`: fetch every source that is due or changed upstream, then bring the products
that read them up to date (lock, build with its contracts; publish only where the recipe says
`publish_on_update: true`). Safe from cron or CI: one run at a time per store.

One run at a time: a run holds `locks/update.json` in the store, an exclusive writer lease
(`lakehouse.store.writers`) whose heartbeat it keeps while it works. A second run waits up to
`wait_seconds` and then stops with an error naming the run it waited for; the lease of a run
that was killed (its process gone, or on another host its heartbeat stopped) is taken over, and
the report says so.

A source's fetch failing does not stop the others; a product whose build fails does not stop
the others either, but the products that read it are skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from lakehouse.errors import LakehouseError, LockError
from lakehouse.schedule.status import SourceStatus, project_status
from lakehouse.store.writers import HeldLease, LeaseBusy, acquire_exclusive
from lakehouse.transform.recipe import DatasetInput, load_recipe, read_lock, resolve_lock
from lakehouse.transform.selection import product_order, products_read

if TYPE_CHECKING:
    from lakehouse.project import Lakehouse

UPDATE_LOCK = "locks/update.json"

SourceAction = Literal["archived", "unchanged", "failed", "would fetch"]
ProductAction = Literal["built", "published", "failed", "skipped", "would build", "not locked"]


@dataclass(frozen=True)
class SourceUpdate:
    dataset: str
    action: SourceAction
    why: str  # why it was fetched: "due", "changed upstream", "never fetched"
    version: str | None = None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"dataset": self.dataset, "action": self.action, "why": self.why,
                "version": self.version, "error": self.error}  # fmt: skip


@dataclass(frozen=True)
class ProductUpdate:
    product: str
    action: ProductAction
    why: str
    build_id: str | None = None
    published: str | None = None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"product": self.product, "action": self.action, "why": self.why,
                "build_id": self.build_id, "published": self.published,
                "error": self.error}  # fmt: skip


@dataclass
class UpdateReport:
    """What a run of `lake update` did (or, in a dry run, would do)."""

    dry_run: bool = False
    took_over: str | None = None  # the killed run whose lock this run took over
    sources: list[SourceUpdate] = field(default_factory=list)
    current: list[str] = field(default_factory=list)  # sources neither due nor changed
    products: list[ProductUpdate] = field(default_factory=list)
    locks_written: list[str] = field(default_factory=list)  # lock files to commit

    @property
    def failed(self) -> bool:
        return any(s.action == "failed" for s in self.sources) or any(
            p.action in ("failed", "skipped") for p in self.products
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "took_over": self.took_over,
            "sources": [source.to_dict() for source in self.sources],
            "current": self.current,
            "products": [product.to_dict() for product in self.products],
            "locks_written": self.locks_written,
            "failed": self.failed,
        }


Say = Callable[[str], None]


def update(
    lake: Lakehouse,
    *,
    datasets: Iterable[str] | None = None,
    dry_run: bool = False,
    wait_seconds: float = 0.0,
    say: Say = lambda line: None,
    now: datetime | None = None,
) -> UpdateReport:
    """Fetch what is due or changed upstream among `datasets` (default: every template), then
    lock and build the products that read what changed (see the module docstring); `say`
    hears a line as each step begins. A dry run asks the sources and plans, and changes
    nothing (it takes no lock). `now` (default: the time it starts) decides what is due."""
    report = UpdateReport(dry_run=dry_run)
    if dry_run:
        _run(lake, report, datasets, say, now)
        return report
    held = _take_update_lock(lake, wait_seconds)
    try:
        if held.took_over:
            report.took_over = "a run that was stopped before it finished"
            say("took over the update lock of a run that was stopped before it finished")
        _run(lake, report, datasets, say, now)
    finally:
        held.release()
    return report


def _take_update_lock(lake: Lakehouse, wait_seconds: float) -> HeldLease:
    try:
        return acquire_exclusive(lake.store, UPDATE_LOCK, "update", wait_seconds=wait_seconds)
    except LeaseBusy as busy:
        waited = f"waited {wait_seconds:g} s for it" if wait_seconds else "did not wait"
        raise LockError(
            f"Another update is running ({busy.holder.describe()}) and this one {waited}; let "
            "it finish, or pass --wait SECONDS to wait for it."
        ) from None


def _run(
    lake: Lakehouse,
    report: UpdateReport,
    datasets: Iterable[str] | None,
    say: Say,
    now: datetime | None,
) -> None:
    status = project_status(
        lake.config,
        lake.store,
        lake.archive,
        datasets=datasets,
        products=[],
        now=now,
        on_source=lambda dataset: say(f"asking {dataset}"),
    )
    changed: set[str] = set()
    for source in status.sources:
        if not source.needs_fetch:
            report.current.append(source.dataset)
            continue
        outcome = _fetch(lake, source, report.dry_run, say)
        report.sources.append(outcome)
        if outcome.action in ("archived", "would fetch"):
            changed.add(source.dataset)
    _update_products(lake, report, changed, say)


def _why(source: SourceStatus) -> str:
    if source.latest is None:
        return "never fetched"
    if source.upstream.state == "newer":
        return f"changed upstream: {source.upstream.detail}"
    return "overdue" if source.overdue else "due"


def _fetch(lake: Lakehouse, source: SourceStatus, dry_run: bool, say: Say) -> SourceUpdate:
    why = _why(source)
    if dry_run:
        return SourceUpdate(source.dataset, "would fetch", why)
    say(f"fetching {source.dataset} ({why})")
    try:
        result = lake.ingest(source.dataset)
    except LakehouseError as exc:
        return SourceUpdate(source.dataset, "failed", why, error=str(exc))
    return SourceUpdate(source.dataset, result.status, why, version=result.version)


def _update_products(lake: Lakehouse, report: UpdateReport, changed: set[str], say: Say) -> None:
    """Each product, after the products it reads: re-locked and built when an input changed
    in this run (or its lock is behind the archive), built when its build is behind its lock."""
    config = lake.config
    rebuilt: set[str] = set()
    failed: set[str] = set()
    for product in product_order(config.recipes_dir):
        recipe = load_recipe(config.recipes_dir, product)
        reads_failed = next((p for p in products_read(recipe) if p in failed), None)
        if reads_failed is not None:
            failed.add(product)
            report.products.append(
                ProductUpdate(product, "skipped", f"it reads {reads_failed}, whose build failed")
            )
            continue
        why = _product_why(lake, product, changed | rebuilt, report.dry_run)
        if why is None:
            continue
        if why == "not locked":
            report.products.append(
                ProductUpdate(
                    product,
                    "not locked",
                    f"an input changed, but it has no lock; run `lake lock {product}` once to let "
                    "updates keep it current",
                )
            )
            continue
        if report.dry_run:
            report.products.append(ProductUpdate(product, "would build", why))
            rebuilt.add(product)
            continue
        outcome = _build(lake, report, product, why, say)
        report.products.append(outcome)
        if outcome.action == "failed":
            failed.add(product)
        else:
            rebuilt.add(product)


def _product_why(lake: Lakehouse, product: str, changed: set[str], dry_run: bool) -> str | None:
    """Why `product` needs a build now (None: it does not)."""
    config = lake.config
    recipe = load_recipe(config.recipes_dir, product)
    lock = read_lock(config.recipes_dir, product)
    reads = {w.dataset for w in recipe.inputs.values() if isinstance(w, DatasetInput)}
    reads |= set(products_read(recipe))
    touched = sorted(name for name in reads if name in changed)
    if lock is None:
        return "not locked" if touched else None
    if touched and dry_run:
        return f"it reads {', '.join(touched)}"
    fresh = resolve_lock(recipe, lake.archive, config.recipes_dir, config.seeds_dir)
    moved = sorted(
        alias
        for alias, pinned in fresh.inputs.items()
        if alias not in lock.inputs or lock.inputs[alias].sha256 != pinned.sha256
    )
    if moved:
        return f"newer {', '.join(moved)}"
    plan = lake.plan(product)
    if plan.rebuild:
        return f"its build is behind its lock ({', '.join(plan.rebuild)})"
    return None


def _build(
    lake: Lakehouse, report: UpdateReport, product: str, why: str, say: Say
) -> ProductUpdate:
    if why.startswith("newer "):
        say(f"locking {product}")
        try:
            _, path = lake.lock(product)
        except LakehouseError as exc:
            return ProductUpdate(product, "failed", why, error=str(exc))
        report.locks_written.append(str(path))
    say(f"building {product} ({why})")
    try:
        result = lake.build(product)
    except LakehouseError as exc:
        return ProductUpdate(product, "failed", why, error=str(exc))
    if not load_recipe(lake.config.recipes_dir, product).publish_on_update:
        return ProductUpdate(product, "built", why, build_id=result.build_id)
    say(f"publishing {product}")
    try:
        lake.diff_report(product, new=result.build_id)
        record = lake.publish(product, build_id=result.build_id)
    except LakehouseError as exc:
        return ProductUpdate(product, "failed", why, build_id=result.build_id,
                             error=f"built, but not published: {exc}")  # fmt: skip
    return ProductUpdate(product, "published", why, build_id=result.build_id,
                         published=record.version)  # fmt: skip
