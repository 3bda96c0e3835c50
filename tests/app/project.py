"""The project the QA app's tests look at, built once: a dataset `lots` (key `id`) in two
versions, and a product `prod` with two passed builds (one per version), the second published
as 26v1, and a third build that failed its contract.

lots 26v1: ids 1-120, name "n<id>", value id * 10.
lots 26v2: ids 1-3 removed, 121-122 added; the value of every id divisible by 10 is one more
(12 rows: 10, 20, ..., 120).
The failed build's dictionary asks value <= 1000: ids 100-122 break it (23 rows: 100 is
1001 in 26v2)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from lakehouse.config import init_project, load_config
from lakehouse.errors import ContractError
from lakehouse.project import Lakehouse

MODELS = """
from lakehouse.transform import model


@model(layer="product")
def prod(lots):
    return lots.select(
        id=lots.id.cast("int64"), name=lots.name, value=lots.value.cast("int64")
    ).order_by("id")
"""

DICTIONARY = """
product: prod
description: the lots, typed
tables:
  prod:
    description: one row per lot
    primary_key: [id]
    columns:
      - name: id
        type: integer
        description: the lot's number
      - name: name
        type: text
        description: the lot's name
      - name: value
        type: integer
        description: what the lot is worth
        range: [0, {high}]
"""

RECIPE = "name: prod\nowner: me\ninputs: {lots: latest}\noutputs: [prod]\n"


def lots_csv(ids: list[int], bumped: set[int] = frozenset()) -> str:  # type: ignore[assignment]
    lines = ["id,name,value"]
    lines += [f"{i},n{i},{i * 10 + (1 if i in bumped else 0)}" for i in ids]
    return "\n".join(lines) + "\n"


FIRST_IDS = list(range(1, 121))
SECOND_IDS = list(range(4, 123))
BUMPED = {i for i in SECOND_IDS if i % 10 == 0 and i <= 120}


@dataclass(frozen=True)
class AppProject:
    lake: Lakehouse
    config: Path
    first_build: str
    second_build: str
    failed_build: str


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def make_app_project(folder: Path) -> AppProject:
    init_project(folder)
    config = folder / "lakehouse.toml"
    source = folder / "data" / "lots.csv"
    write(
        folder,
        {
            "templates/lots.yml": (
                f"name: lots\nsource: {{type: file, path: {source}}}\nformat: {{type: csv}}\n"
                "qa: {key: [id]}\ncontract:\n  unique: [id]\n"
            ),
            "data/lots.csv": lots_csv(FIRST_IDS),
            "transforms/__init__.py": "",
            "transforms/prod/__init__.py": "",
            "transforms/prod/models.py": MODELS,
            "contracts/prod/dictionary.yml": DICTIONARY.format(high=100000),
            "recipes/prod.yml": RECIPE,
        },
    )
    lake = Lakehouse(load_config(config))
    lake.ingest("lots", version="26v1")
    lake.lock("prod")
    first = lake.build("prod").build_id
    source.write_text(lots_csv(SECOND_IDS, BUMPED))
    lake.ingest("lots", version="26v2")
    lake.lock("prod")
    second = lake.build("prod").build_id
    lake.diff_report("prod", first, second)
    lake.publish("prod", version="26v1", build_id=second)
    write(folder, {"contracts/prod/dictionary.yml": DICTIONARY.format(high=1000)})
    with pytest.raises(ContractError):
        lake.build("prod")
    failed = lake.builds("prod")[-1].build_id
    return AppProject(lake, config, first, second, failed)
