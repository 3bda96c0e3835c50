"""A template's `expect:` refuses a download that parses but is not what the source holds: too
few rows, or a row count far from the latest version's. Nothing is archived then."""

from __future__ import annotations

from pathlib import Path

import pytest

from lakehouse.errors import ConfigError, ContractFailed
from lakehouse.project import Lakehouse
from tests import fakes
from tests.conftest import write_template


def _csv(rows: int) -> bytes:
    return b"bbl,owner\n" + b"".join(b"%d,OWNER %d\n" % (1000010000 + i, i) for i in range(rows))


def _template(project_dir: Path, url: str, expect: str) -> None:
    write_template(
        project_dir,
        "lots",
        f"name: lots\nsource: {{type: http, url: '{url}'}}\nformat: {{type: csv}}\n"
        f"expect: {expect}\n",
    )


def test_fewer_rows_than_expected_are_refused(lake: Lakehouse, project_dir: Path) -> None:
    with fakes.FileServer() as files:
        url = files.add("/lots.csv", _csv(40), content_type="text/csv")
        _template(project_dir, url, "{min_rows: 100}")
        with pytest.raises(ContractFailed) as refused:
            lake.ingest("lots")
        assert "the source gave 40 rows, fewer than the template's expect.min_rows (100)" in (
            str(refused.value)
        )
        assert "nothing was archived" in str(refused.value)
        assert lake.versions("lots") == []
        files.add("/lots.csv", _csv(100), content_type="text/csv")
        assert lake.ingest("lots").manifest.row_count == 100


def test_a_row_count_far_from_the_latest_version_is_refused(
    lake: Lakehouse, project_dir: Path
) -> None:
    """A server that starts sending a filtered export (a fifth of the rows) is caught; an
    ordinary change within max_change is archived; the first version has nothing to compare."""
    with fakes.FileServer() as files:
        url = files.add("/lots.csv", _csv(1000), content_type="text/csv")
        _template(project_dir, url, "{max_change: 0.25}")
        first = lake.ingest("lots", version="v1").manifest
        files.add("/lots.csv", _csv(200), content_type="text/csv")
        with pytest.raises(ContractFailed) as refused:
            lake.ingest("lots", version="v2")
        said = str(refused.value)
        assert "the source gave 200 rows, 80% fewer than version v1 (1,000)" in said
        assert "expect.max_change (25%)" in said
        assert [m.version for m in lake.versions("lots")] == [first.version]
        files.add("/lots.csv", _csv(1200), content_type="text/csv")
        assert lake.ingest("lots", version="v2").manifest.row_count == 1200
        files.add("/lots.csv", _csv(2000), content_type="text/csv")
        with pytest.raises(ContractFailed, match=r"67% more than version v2 \(1,200\)"):
            lake.ingest("lots", version="v3")


def test_expect_is_validated_when_the_template_is_read(lake: Lakehouse, project_dir: Path) -> None:
    _template(project_dir, "http://127.0.0.1:9/lots.csv", "{max_change: 0}")
    with pytest.raises(ConfigError, match=r"lots\.yml.*expect\.max_change"):
        lake.ingest("lots")
    _template(project_dir, "http://127.0.0.1:9/lots.csv", "{min_row: 5}")
    with pytest.raises(ConfigError, match=r"expect\.min_row"):
        lake.ingest("lots")
