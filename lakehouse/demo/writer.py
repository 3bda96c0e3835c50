"""`lake demo` in one call: the PLUTO-lite sample sources written into a project, with the
templates it lacks."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lakehouse.config import LakehouseConfig
from lakehouse.demo.generator import generate_pluto_lite
from lakehouse.demo.mappluto import generate_mappluto_lite
from lakehouse.demo.templates import demo_dataset, write_demo_templates
from lakehouse.progress import Progress, no_progress


@dataclass(frozen=True)
class DemoFiles:
    """What `write_demo` wrote: the sample sources with their sizes, and the new templates."""

    sources: list[tuple[Path, int]]  # each source file and its size in bytes
    templates: list[Path]  # the templates written (an existing one is never replaced)

    @property
    def datasets(self) -> list[str]:
        """The datasets of the sample sources, as `lake ingest` names them."""
        return [demo_dataset(path.name) for path, _ in self.sources]


def write_demo(
    config: LakehouseConfig,
    out: Path,
    *,
    lots: int = 10_000,
    seed: int = 42,
    progress: Progress = no_progress,
) -> DemoFiles:
    """Write the sample sources into `out`: PLUTO-lite's four CSVs and MapPLUTO-lite's lot and
    zoning maps (the same `lots` and `seed`, the same bytes), and the project's templates for
    them where it has none yet."""
    templates_dir = config.templates_dir  # a project with misplaced templates stops here
    progress(f"generating {lots:,} lots", 0, 2)
    written = generate_pluto_lite(out, lots=lots, seed=seed)
    progress(f"drawing {lots:,} lots and their zoning on the map", 1, 2)
    written |= generate_mappluto_lite(out, lots=lots, seed=seed)
    progress("sample sources written", 2, 2)
    sources = [(path, path.stat().st_size) for path in written.values()]
    templates = write_demo_templates(templates_dir, out, config.project_dir)
    return DemoFiles(sources, templates)
