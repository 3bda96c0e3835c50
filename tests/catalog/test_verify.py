"""`lake verify`: damaged manifests and unknown datasets are reported, not crashes."""

from __future__ import annotations

from pathlib import Path

import pytest

from lakehouse.errors import (
    IntegrityError,
    NotFoundError,
)
from lakehouse.project import Lakehouse


def test_a_damaged_manifest_is_reported_by_verify_not_a_crash(
    lake: Lakehouse, csv_file: Path
) -> None:
    manifest = lake.ingest("lots", file=csv_file).manifest
    path = Path(lake.store.root) / "raw" / "lots" / manifest.version / "manifest.json"
    path.write_text('{"broken":')
    report = lake.verify()
    assert [(p.version, p.reason) for p in report.corrupt] == [
        (manifest.version, "manifest is unreadable")
    ]
    with pytest.raises(IntegrityError, match="unreadable or damaged"):
        lake.versions("lots")


def test_verify_of_an_unknown_dataset_says_so(lake: Lakehouse) -> None:
    with pytest.raises(NotFoundError, match="not in the archive"):
        lake.verify(["nope"])
