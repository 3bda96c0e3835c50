"""What the Dagster definitions are generated from, read from the project's files alone: each
source (a template) with its cadence, each product (a recipe) with what it reads, and where the
project's lakehouse.toml is, so that each run opens the project afresh.

Reading it touches no store and imports nothing of Dagster: it is what `definitions()` turns
into assets, jobs, schedules and a sensor.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from lakehouse.archive.template import list_templates, load_template_for
from lakehouse.config import CONFIG_FILE_NAME, find_config_file, load_config
from lakehouse.cron import SHORTHANDS
from lakehouse.errors import ConfigError
from lakehouse.project import Lakehouse, open_lakehouse
from lakehouse.transform.recipe import DatasetInput, list_recipes, load_recipe
from lakehouse.transform.selection import product_order, products_read

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,7}")


@dataclass(frozen=True)
class SourceOutline:
    """A template: the dataset it archives and when its source is expected to change."""

    dataset: str
    description: str
    source_type: str
    storage: str
    cadence: str | None = None  # as the template writes it: daily, '0 6 * * 1-5'...
    cron: str | None = None  # the cron expression it stands for, five fields
    timezone: str = "UTC"  # the clock its cron expression is read on


@dataclass(frozen=True)
class ProductOutline:
    """A recipe: the product, the datasets and products it reads."""

    product: str
    description: str
    owner: str
    datasets: list[str]
    products: list[str]

    @property
    def owner_email(self) -> str | None:
        """The owner's e-mail address, if the owner text holds one (Dagster's asset owners
        must be addresses)."""
        found = EMAIL.search(self.owner)
        return found.group(0) if found else None


@dataclass(frozen=True)
class ProjectOutline:
    """A project's sources and products, and how to open it for a run."""

    config_path: Path
    env: str | None
    sources: dict[str, SourceOutline] = field(default_factory=dict)
    products: dict[str, ProductOutline] = field(default_factory=dict)  # readers after reads

    def open(self) -> Lakehouse:
        """The project, opened now (each run opens its own: nothing is held between runs)."""
        return open_lakehouse(self.config_path, self.env)

    def downstream(self, datasets: set[str]) -> list[str]:
        """Every product that reads one of `datasets`, directly or through other products, in
        build order."""
        found: list[str] = []
        for product in self.products.values():
            reads_source = any(dataset in datasets for dataset in product.datasets)
            if reads_source or any(upstream in found for upstream in product.products):
                found.append(product.product)
        return found

    def by_cron(self) -> dict[tuple[str, str], list[str]]:
        """The datasets of each distinct cron expression and time zone of the cadences
        (sources without a cadence are left out), in the order they first appear."""
        groups: dict[tuple[str, str], list[str]] = {}
        for source in self.sources.values():
            if source.cron is not None:
                groups.setdefault((source.cron, source.timezone), []).append(source.dataset)
        return groups


def find_project_config(project: Path | str | None) -> Path:
    """The lakehouse.toml of `project` (a project folder or the file itself), or, without one,
    the file LAKEHOUSE_CONFIG names or the nearest one at or above the current folder."""
    if project is None:
        found = find_config_file()
        if found is None:
            raise ConfigError(
                f"No {CONFIG_FILE_NAME} found here or in any parent folder; start Dagster from "
                "the project folder or set LAKEHOUSE_CONFIG to the project's lakehouse.toml."
            )
        return found.resolve()
    path = Path(project).expanduser()
    return (path / CONFIG_FILE_NAME if path.is_dir() else path).resolve()


def read_outline(project: Path | str | None = None, env: str | None = None) -> ProjectOutline:
    """The outline of `project` (see `find_project_config`) in `env`; a ConfigError or a
    NotFoundError names a template or recipe that cannot be read."""
    config_path = find_project_config(project)
    config = load_config(config_path)
    outline = ProjectOutline(config_path=config_path, env=env)
    for dataset in list_templates(config.templates_dir):
        template = load_template_for(config.templates_dir, dataset)
        cadence = template.cadence
        outline.sources[dataset] = SourceOutline(
            dataset=dataset,
            description=template.description.strip(),
            source_type=template.source.type,
            storage=template.storage,
            cadence=cadence.text if cadence else None,
            cron=five_fields(cadence.cron.text) if cadence else None,
            timezone=cadence.cron.zone if cadence else "UTC",
        )
    known = set(list_recipes(config.recipes_dir))
    for product in product_order(config.recipes_dir):
        recipe = load_recipe(config.recipes_dir, product)
        outline.products[product] = ProductOutline(
            product=product,
            description=(recipe.title or recipe.description).strip(),
            owner=recipe.owner,
            datasets=sorted(
                {w.dataset for w in recipe.inputs.values() if isinstance(w, DatasetInput)}
            ),
            products=sorted(p for p in set(products_read(recipe)) if p in known),
        )
    return outline


def five_fields(cron: str) -> str:
    """A cron expression as five fields: the shorthands (`@daily`, `@weekly`...) written out as
    `lakehouse.cron` reads them (its `@weekly` is Monday, as `weekly` is), spaces normalized."""
    text = cron.strip()
    return " ".join(SHORTHANDS.get(text.lower(), text).split())
