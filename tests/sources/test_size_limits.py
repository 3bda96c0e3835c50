"""Pages of JSON read into memory whole (issue 13, S5: a 300 MB Socrata page used 1.06 GB
before saying "not valid JSON"): a page larger than the limit is refused as it arrives, with
advice to lower the page size, and a page is called "not valid JSON" only when it is not. Against
the fake Socrata and ArcGIS servers on 127.0.0.1, with the limit lowered."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from lakehouse.errors import SourceError
from lakehouse.project import Lakehouse
from lakehouse.sources import pages
from tests import fakes
from tests.conftest import write_template
from tests.fakes.faults import replace_body

DATASET = "abcd-1234"  # the portal's sample dataset (tests/sources/conftest.py)
SERVICE = "Test_Service"

TOO_MANY_DIGITS = b'[{"n": 1' + b"0" * 5000 + b"}]"
TOO_DEEP = b"[" * 100_000 + b"]" * 100_000
BODIES = {
    "cut in a value": (b'[{"a": "1"}, {"b": ', r"returned a body that is not valid JSON \("),
    "not utf-8": (b'[{"a": "\xff"}]', r"returned a body that is not valid JSON \(not UTF-8"),
    "5,000 digits": (TOO_MANY_DIGITS, r"returned JSON with a number of more than [\d,]+ digits"),
    "nested deep": (TOO_DEEP, r"returned JSON that nests arrays or objects too deeply"),
}


@pytest.fixture
def arcgis() -> Iterator[fakes.ArcGISServer]:
    with fakes.ArcGISServer() as server:
        server.add_layer(
            SERVICE, 0, fakes.sample_features(250, seed=2, geometry="mixed"), max_record_count=100
        )
        yield server


def _socrata(project_dir: Path, portal: fakes.SocrataServer, **extra: object) -> None:
    options = {"mode": "api", "backoff_seconds": 0, "retries": 0, **extra}
    text = ", ".join(f"{k}: {v}" for k, v in options.items())
    write_template(
        project_dir,
        "licenses",
        f"name: licenses\nsource: {{type: socrata, domain: '{portal.base_url}', "
        f"dataset_id: {DATASET}, {text}}}\n",
    )


def _arcgis(project_dir: Path, arcgis: fakes.ArcGISServer, **extra: object) -> None:
    options = {"backoff_seconds": 0, "retries": 0, **extra}
    text = ", ".join(f"{k}: {v}" for k, v in options.items())
    write_template(
        project_dir,
        "layer",
        f"name: layer\nsource: {{type: arcgis, url: '{arcgis.layer_url(SERVICE, 0)}', {text}}}\n",
    )


def test_a_socrata_page_over_the_limit_is_refused_with_advice_to_lower_page_size(
    lake: Lakehouse, project_dir: Path, portal: fakes.SocrataServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pages, "MAX_PAGE_BYTES", 60_000)  # a page of 1,000 rows: ~450 KB
    _socrata(project_dir, portal, page_size=1000)
    with pytest.raises(
        SourceError,
        match=r"^The Socrata API for abcd-1234 sent a page of more than 60,000 bytes of JSON, more "
        r"than is read into memory at once \(at offset 0\); lower source\.page_size in the "
        r"template \(it is 1000\)\.$",
    ):
        lake.ingest("licenses")
    assert lake.versions("licenses") == []
    _socrata(project_dir, portal, page_size=100)  # ~48 KB a page
    assert lake.ingest("licenses").manifest.row_count == 2500


def test_an_arcgis_page_over_the_limit_is_refused_with_advice_to_lower_page_size(
    lake: Lakehouse, project_dir: Path, arcgis: fakes.ArcGISServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pages, "MAX_PAGE_BYTES", 10_000)  # a page of 100 features: ~36 KB
    _arcgis(project_dir, arcgis)
    with pytest.raises(
        SourceError,
        match=r"^The ArcGIS layer .*/FeatureServer/0 sent a page of more than 10,000 bytes of "
        r"JSON, more than is read into memory at once \(at offset 0\); lower source\.page_size "
        r"in the template \(it is 100\)\.$",
    ):
        lake.ingest("layer")
    assert lake.versions("layer") == []
    _arcgis(project_dir, arcgis, page_size=20)  # ~7.5 KB a page
    assert lake.ingest("layer").manifest.row_count == 250


def test_metadata_over_the_limit_is_refused_too(
    lake: Lakehouse, project_dir: Path, portal: fakes.SocrataServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pages, "MAX_PAGE_BYTES", 1_000)  # the view metadata is ~4 KB
    _socrata(project_dir, portal, page_size=100)
    with pytest.raises(SourceError, match=r"sent more than 1,000 bytes of JSON"):
        lake.ingest("licenses")


@pytest.mark.parametrize(("body", "said"), BODIES.values(), ids=BODIES.keys())
def test_a_socrata_page_is_not_valid_json_only_when_it_is_not(
    lake: Lakehouse, project_dir: Path, portal: fakes.SocrataServer, body: bytes, said: str
) -> None:
    portal.set_fault(portal.resource_path(DATASET), replace_body(body, after=1))
    _socrata(project_dir, portal, page_size=1000)
    with pytest.raises(SourceError, match=said) as raised:
        lake.ingest("licenses")
    if "valid JSON" not in said:
        assert "not valid JSON" not in str(raised.value)
    assert lake.versions("licenses") == []


@pytest.mark.parametrize(("body", "said"), BODIES.values(), ids=BODIES.keys())
def test_an_arcgis_page_is_not_valid_json_only_when_it_is_not(
    lake: Lakehouse, project_dir: Path, arcgis: fakes.ArcGISServer, body: bytes, said: str
) -> None:
    arcgis.set_fault(arcgis.query_path(SERVICE, 0), replace_body(body))
    _arcgis(project_dir, arcgis)
    with pytest.raises(SourceError, match=said) as raised:
        lake.ingest("layer")
    if "valid JSON" not in said:
        assert "not valid JSON" not in str(raised.value)
    assert lake.versions("layer") == []
