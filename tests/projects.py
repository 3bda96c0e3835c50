"""Projects the tests build on: the repo's PLUTO-lite product on generated sources, and the
source changes the QA tests make."""

from __future__ import annotations

import csv
import io
import re
import shutil
from collections import Counter
from pathlib import Path

from lakehouse.config import init_project, load_config
from lakehouse.demo import SOURCE_FILES, generate_pluto_lite, write_demo_templates
from lakehouse.demo.mappluto import MAP_FILES, generate_mappluto_lite
from lakehouse.project import Lakehouse

REPO = Path(__file__).resolve().parents[1]


DATASETS = [name.removesuffix(".csv") for name in SOURCE_FILES]
MAP_DATASETS = [name.split(".")[0] for name in MAP_FILES]


def pluto_lite_project(
    folder: Path, lots: int, seed: int, store_root: str | None = None
) -> Lakehouse:
    """A new project with the repo's PLUTO-lite recipe, transforms, contracts and generated
    sources with their templates (nothing archived yet); `store_root` replaces the local store
    (e.g. an s3:// root, whose `[store.s3]` settings the caller adds)."""
    init_project(folder)
    config = folder / "lakehouse.toml"
    if store_root is not None:
        config.write_text(config.read_text().replace('root = ".lakehouse"', store_root))
    shutil.copytree(
        REPO / "transforms",
        folder / "transforms",
        ignore=shutil.ignore_patterns("__pycache__"),
        dirs_exist_ok=True,
    )
    shutil.copytree(REPO / "contracts" / "pluto_lite", folder / "contracts" / "pluto_lite")
    (folder / "recipes").mkdir(exist_ok=True)
    shutil.copy(REPO / "recipes" / "pluto_lite.yml", folder / "recipes" / "pluto_lite.yml")
    generate_pluto_lite(folder / "data" / "pluto_lite", lots=lots, seed=seed)
    generate_mappluto_lite(folder / "data" / "pluto_lite", lots=lots, seed=seed)
    lake = Lakehouse(load_config(config))
    write_demo_templates(lake.config.templates_dir, folder / "data" / "pluto_lite", folder)
    return lake


def make_project(folder: Path, lots: int = 1500, seed: int = 7) -> Lakehouse:
    """A project with the repo's PLUTO-lite recipe and transforms, its sources archived."""
    lake = pluto_lite_project(folder, lots, seed)
    for dataset in DATASETS:
        lake.ingest(dataset)
    return lake


def mappluto_lite_project(folder: Path, lots: int = 1500, seed: int = 7) -> Lakehouse:
    """A project with both sample products: its six sources archived, PLUTO-lite built and
    MapPLUTO-lite locked (not built)."""
    lake = make_project(folder, lots, seed)
    shutil.copytree(REPO / "contracts" / "mappluto_lite", folder / "contracts" / "mappluto_lite")
    shutil.copy(REPO / "recipes" / "mappluto_lite.yml", folder / "recipes" / "mappluto_lite.yml")
    for dataset in MAP_DATASETS:
        lake.ingest(dataset)
    lake.build("pluto_lite")
    lake.lock("mappluto_lite")
    return lake


def change_lots(source: Path) -> tuple[set[str], set[str]]:
    """Remove every 50th lot and double assessed_land of every 40th (among lots listed once);
    returns the BBLs removed and doubled."""
    rows = list(csv.DictReader(io.StringIO(source.read_text())))
    once = {bbl for bbl, n in Counter(r["bbl"] for r in rows).items() if n == 1}
    removed = {r["bbl"] for i, r in enumerate(rows) if r["bbl"] in once and i % 50 == 0}
    doubled = set()
    for i, row in enumerate(rows):
        land = row["assessed_land"].strip()
        if row["bbl"] in once - removed and i % 40 == 1 and land.isdigit() and int(land):
            row["assessed_land"] = str(2 * int(land))
            doubled.add(row["bbl"])
    kept = [r for r in rows if r["bbl"] not in removed]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(kept)
    source.write_text(out.getvalue())
    return removed, doubled


def change_dof_pts(path: Path) -> tuple[list[tuple[str, str]], list[dict[str, str]]]:
    """Drop exempt_total, double assessed_land on every fifth row, remove every 100th row."""
    rows = list(csv.DictReader(io.StringIO(path.read_text())))
    removed = [row for i, row in enumerate(rows) if i % 100 == 0]
    kept = [row for i, row in enumerate(rows) if i % 100 != 0]
    for i, row in enumerate(kept):
        if i % 5 == 0 and row["assessed_land"].strip().isdigit():
            row["assessed_land"] = str(2 * int(row["assessed_land"]))
        del row["exempt_total"]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(kept[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(kept)
    path.write_text(out.getvalue())
    return sorted((r["bbl"], r["updated_at"]) for r in removed), removed


EXTERNAL = re.compile(r"(https?:)?//|<script|@import|url\((?!#)|\bsrc=", re.IGNORECASE)


def s3_project(folder: Path, endpoint: str, bucket: str, lots: int) -> Lakehouse:
    """The PLUTO-lite project on an S3 store (nothing archived yet)."""
    root = f'root = "s3://{bucket}/lake"\n\n[store.s3]\nendpoint_url = "{endpoint}"'
    return pluto_lite_project(folder, lots, seed=11, store_root=root)
