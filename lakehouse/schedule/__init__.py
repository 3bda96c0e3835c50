"""Running it every day: cadences, freshness, upstream news, and `lake update`.

From a notebook or a script::

    import lakehouse
    from lakehouse.schedule import status, update

    lake = lakehouse.open()
    status(lake).to_dict()          # what `lake status --json` prints
    update(lake, dry_run=True)      # what `lake update --dry-run` would do
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from lakehouse.schedule.status import Status, project_status
from lakehouse.schedule.update import UpdateReport, update
from lakehouse.transform.recipe import list_recipes

if TYPE_CHECKING:
    from lakehouse.project import Lakehouse


def status(
    lake: Lakehouse,
    names: Iterable[str] | None = None,
    *,
    ask_upstream: bool = True,
) -> Status:
    """`lake status`: the freshness of the project's sources and products (`names`: only
    these datasets and products)."""
    if names is None:
        return project_status(lake.config, lake.store, lake.archive, ask_upstream=ask_upstream)
    wanted = set(names)
    return project_status(
        lake.config,
        lake.store,
        lake.archive,
        datasets=[d for d in lake.templates() if d in wanted],
        products=[p for p in list_recipes(lake.config.recipes_dir) if p in wanted],
        ask_upstream=ask_upstream,
    )


__all__ = ["Status", "UpdateReport", "status", "update"]
