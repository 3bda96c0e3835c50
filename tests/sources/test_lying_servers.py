"""Servers that say one thing and send another (issue 13, W3 and W4), on 127.0.0.1: a web page
(a login or error page) served as data, and bodies cut short, whether or not the HTTP framing
says so. Nothing of either kind may be archived."""

from __future__ import annotations

import csv
import gzip
import io
import json
import random
import zlib
from pathlib import Path

import pytest

from lakehouse.errors import SourceError, TransientSourceError
from lakehouse.formats.csv import count_csv_records
from lakehouse.project import Lakehouse
from lakehouse.sources.http_body import BodyDecoder, looks_like_a_web_page
from tests import fakes
from tests.conftest import write_template
from tests.fakes.faults import JSON_TYPE, LOGIN_PAGE, reframe, replace_body, truncate

CSV = b"bbl,owner\n" + b"".join(b"%d,OWNER %d\n" % (1000010000 + i, i) for i in range(2000))
DATASET = "abcd-1234"
SERVICE = "Test_Service"


def _http_template(project_dir: Path, url: str, **extra: object) -> None:
    options = {"timeout_seconds": 5, "retries": 1, "backoff_seconds": 0, **extra}
    text = ", ".join(f"{k}: {v}" for k, v in options.items())
    write_template(
        project_dir,
        "lots",
        f"name: lots\nsource: {{type: http, url: '{url}', {text}}}\nformat: {{type: csv}}\n",
    )


def _socrata_template(
    project_dir: Path, portal: fakes.SocrataServer, mode: str, **extra: object
) -> None:
    options = ", ".join(f"{k}: {v}" for k, v in {"backoff_seconds": 0, **extra}.items())
    write_template(
        project_dir,
        "licenses",
        f"name: licenses\nsource: {{type: socrata, domain: '{portal.base_url}', "
        f"dataset_id: {DATASET}, mode: {mode}, {options}}}\n",
    )


def _nothing_archived(lake: Lakehouse, dataset: str) -> None:
    assert lake.versions(dataset) == []
    root = Path(lake.store.root)
    assert not [
        p for p in root.rglob("*") if p.is_file() and p.suffix in {".csv", ".json", ".part"}
    ]


# W3: a web page is never archived as data -------------------------------------------------------

WEB_PAGES = {
    "login page": LOGIN_PAGE,
    "BOM, blank lines, upper case": (
        b"\xef\xbb\xbf\r\n  \n\t<HTML>\n<BODY>Sign in, please</BODY></HTML>\n"
    ),
    "head first": b"<head><title>Error</title></head><body>Session expired, log in</body>\n",
    "body only": b"<body>\n<p>Access denied, sorry</p>\n</body>\n",
    "comment then html": b"<!-- portal v2 -->\n<html><body>Log in</body></html>\n",
    "xhtml": b'<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0'
    b' Strict//EN">\n<html xmlns="http://www.w3.org/1999/xhtml"><body>Log in</body></html>\n',
    "utf-16": "\ufeff<!doctype html><html><body>Log in, please</body></html>\n".encode("utf-16-le"),
}


@pytest.mark.parametrize("content_type", ["text/csv", "application/octet-stream"])
@pytest.mark.parametrize("page", WEB_PAGES.values(), ids=WEB_PAGES.keys())
def test_a_web_page_served_as_data_archives_nothing(
    lake: Lakehouse, project_dir: Path, files: fakes.FileServer, content_type: str, page: bytes
) -> None:
    files.add("/data/lots.csv", page, content_type=content_type)
    _http_template(project_dir, f"{files.base_url}/data/lots.csv?token=S3CRET&year=2026")
    with pytest.raises(SourceError) as error:
        lake.ingest("lots")
    message = str(error.value)
    assert message.startswith(
        f"{files.base_url}/data/lots.csv?token=REDACTED&year=2026 sent a web page "
        "(an HTML login or error page, perhaps) instead of a data file;"
    )
    assert "S3CRET" not in message and message.count(";") == 1 and message.endswith(".")
    assert len(files.requests_to("/data/lots.csv")) == 1  # a web page is not retried
    _nothing_archived(lake, "lots")


def test_a_csv_whose_header_only_looks_like_a_tag_is_data(
    lake: Lakehouse, project_dir: Path, files: fakes.FileServer
) -> None:
    body = b"<html_id>,<body>text\n1,<b>bold</b>\n"
    url = files.add("/data/lots.csv", body, content_type="text/csv")
    _http_template(project_dir, url)
    assert lake.ingest("lots").manifest.row_count == 1


def test_a_login_page_instead_of_a_socrata_export_archives_nothing(
    lake: Lakehouse, project_dir: Path, portal: fakes.SocrataServer
) -> None:
    portal.set_fault(portal.export_path(DATASET), replace_body(LOGIN_PAGE, "text/csv"))
    _socrata_template(project_dir, portal, "export")
    with pytest.raises(SourceError, match=r"rows\.csv.* sent a web page .* instead of CSV data"):
        lake.ingest("licenses")
    _nothing_archived(lake, "licenses")


def test_a_web_page_instead_of_a_socrata_api_page_is_called_one(
    lake: Lakehouse, project_dir: Path, portal: fakes.SocrataServer
) -> None:
    portal.set_fault(portal.resource_path(DATASET), replace_body(LOGIN_PAGE, JSON_TYPE))
    _socrata_template(project_dir, portal, "api", retries=3)
    with pytest.raises(SourceError, match=rf"{DATASET}\.json.* sent a web page .* instead of JSON"):
        lake.ingest("licenses")
    requests = portal.requests_to(portal.resource_path(DATASET))
    assert [r for r in requests if "$offset" in r.query] == requests[1:2]  # not retried
    _nothing_archived(lake, "licenses")


def test_a_web_page_instead_of_an_arcgis_page_is_called_one(
    lake: Lakehouse, project_dir: Path
) -> None:
    with fakes.ArcGISServer() as arcgis:
        arcgis.add_layer(SERVICE, 0, fakes.sample_features(20, seed=2), max_record_count=10)
        arcgis.set_fault(arcgis.query_path(SERVICE, 0), replace_body(LOGIN_PAGE, JSON_TYPE))
        url = arcgis.layer_url(SERVICE, 0)
        write_template(
            project_dir, "layer", f"name: layer\nsource: {{type: arcgis, url: '{url}'}}\n"
        )
        with pytest.raises(SourceError, match=r"query.* sent a web page .* instead of JSON"):
            lake.ingest("layer")
    assert lake.versions("layer") == []


# W4: a body cut short is never archived ---------------------------------------------------------


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_body_cut_at_a_row_boundary_before_its_framing_ends_is_refused(
    lake: Lakehouse, project_dir: Path, files: fakes.FileServer, chunked: bool
) -> None:
    url = files.add("/data/lots.csv", CSV, content_type="text/csv", chunked=chunked)
    files.set_fault("/data/lots.csv", truncate(fraction=0.53, at_line=True))
    _http_template(project_dir, url)
    with pytest.raises(SourceError, match=r"was cut off .*\(tried 2 times\)"):
        lake.ingest("lots")
    _nothing_archived(lake, "lots")
    files.set_fault("/data/lots.csv", truncate(times=1, fraction=0.53, at_line=True))
    assert lake.ingest("lots").manifest.row_count == 2000  # retried, then whole


def test_a_gzip_encoded_body_with_its_content_length_is_archived_whole(
    lake: Lakehouse, project_dir: Path, files: fakes.FileServer
) -> None:
    url = files.add("/data/lots.csv", CSV, content_type="text/csv")
    files.set_fault("/data/lots.csv", reframe("length", gzip=True))
    _http_template(project_dir, url)
    manifest = lake.ingest("lots").manifest
    assert (Path(lake.store.root) / manifest.source_files[0].path).read_bytes() == CSV


@pytest.mark.parametrize("framing", ["close", "length", "chunked"])
def test_a_gzip_body_cut_short_is_refused_however_it_is_framed(
    lake: Lakehouse, project_dir: Path, files: fakes.FileServer, framing: str
) -> None:
    url = files.add("/data/lots.csv", CSV, content_type="text/csv")
    files.set_fault("/data/lots.csv", reframe(framing, gzip=True, cut=0.6))  # type: ignore[arg-type]
    _http_template(project_dir, url)
    with pytest.raises(SourceError, match=r"was cut off before the end of its gzip data"):
        lake.ingest("lots")
    _nothing_archived(lake, "lots")


@pytest.mark.parametrize("framing", ["chunked", "length", "close"])
def test_a_socrata_export_cut_at_a_row_boundary_is_refused(
    lake: Lakehouse, project_dir: Path, portal: fakes.SocrataServer, framing: str
) -> None:
    export = portal.export_path(DATASET)
    portal.set_fault(export, reframe(framing, cut=0.4, at_line=True))  # type: ignore[arg-type]
    _socrata_template(project_dir, portal, "export", retries=1)
    with pytest.raises(SourceError) as error:
        lake.ingest("licenses")
    assert f"/api/views/{DATASET}/rows.csv?accessType=DOWNLOAD has " in str(error.value)
    assert "rows where the dataset reports 2,500: it was cut short" in str(error.value)
    assert len(portal.requests_to(export)) == 2  # retried
    _nothing_archived(lake, "licenses")
    portal.set_fault(export, reframe(framing, cut=0.4, at_line=True, times=1))  # type: ignore[arg-type]
    manifest = lake.ingest("licenses").manifest
    assert manifest.row_count == 2500
    assert manifest.source.details["rows_reported"] == 2500


def test_a_socrata_export_of_a_dataset_that_shrank_meanwhile_is_archived(
    lake: Lakehouse, project_dir: Path, portal: fakes.SocrataServer
) -> None:
    # the count says 2,600 (taken before rows were deleted); asked again, it agrees with the export
    count = json.dumps([{"count": "2600"}]).encode()
    portal.set_fault(portal.resource_path(DATASET), replace_body(count, times=1))
    _socrata_template(project_dir, portal, "export")
    manifest = lake.ingest("licenses").manifest
    assert manifest.row_count == 2500
    assert manifest.source.details["rows_reported"] == 2500


def test_socrata_api_pages_that_end_early_are_refused(
    lake: Lakehouse, project_dir: Path, portal: fakes.SocrataServer
) -> None:
    # the count (request 0) and page 1 go through; page 2 comes back empty: the paging ends early
    portal.set_fault(portal.resource_path(DATASET), replace_body(b"[]", after=2, times=1))
    _socrata_template(project_dir, portal, "api", page_size=1000)
    with pytest.raises(SourceError) as error:
        lake.ingest("licenses")
    assert str(error.value) == (
        f"The Socrata API for {DATASET} returned 1,000 rows in 2 pages where the dataset reports "
        "2,500 (rows deleted while paging, or pages cut short); try again, and if it happens "
        "again, use mode: export."
    )
    _nothing_archived(lake, "licenses")


def test_a_socrata_portal_without_counts_still_pages(
    lake: Lakehouse, project_dir: Path, portal: fakes.SocrataServer
) -> None:
    refusal = json.dumps({"code": "query.soql.no-such-function", "error": True}).encode()
    portal.set_fault(portal.resource_path(DATASET), replace_body(refusal, status=400, times=1))
    _socrata_template(project_dir, portal, "api", page_size=1000)
    manifest = lake.ingest("licenses").manifest
    assert manifest.row_count == 2500
    assert manifest.source.details["rows_reported"] is None


def test_a_body_without_length_or_chunks_is_archived_with_its_end_unverified(
    lake: Lakehouse, project_dir: Path, files: fakes.FileServer
) -> None:
    # What no client can detect: the server ends the body by closing the connection, at a row
    # boundary; the manifest says the end could not be checked. (No ETag: details hold only
    # the framing.)
    url = files.add("/data/lots.csv", CSV, content_type="text/csv", etag=False)
    files.set_fault("/data/lots.csv", reframe("close", cut=0.5, at_line=True))
    _http_template(project_dir, url)
    manifest = lake.ingest("lots").manifest
    assert manifest.row_count < 2000
    assert manifest.source.details == {"framing": "connection close (end unverified)"}
    files.set_fault("/data/lots.csv", None)
    assert lake.ingest("lots").manifest.source.details == {}


# the checks themselves --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "start",
    [
        b"bbl,owner\n",
        b'\xef\xbb\xbf"bbl","owner"\n',
        b'[{"bbl": "1"}]',
        b'{"type": "FeatureCollection"}',
        b"PK\x03\x04\x14\x00",  # zip, xlsx
        b"PAR1\x15\x04",
        b"<html_id>,<body>\n",
        b"<htm",
        b"",
    ],
)
def test_data_does_not_look_like_a_web_page(start: bytes) -> None:
    assert not looks_like_a_web_page(start)


@pytest.mark.parametrize("page", WEB_PAGES.values(), ids=WEB_PAGES.keys())
def test_web_pages_look_like_one(page: bytes) -> None:
    assert looks_like_a_web_page(page)


def _decoded(encoding: str, pieces: list[bytes]) -> bytes:
    decoder = BodyDecoder(encoding, "http://h/x")
    return b"".join(decoder.decode(piece) for piece in pieces) + decoder.finish()


def test_compressed_bodies_are_decoded_and_checked_to_their_end() -> None:
    data = CSV
    raw_deflate = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    members = gzip.compress(data[:5000]) + gzip.compress(data[5000:])
    for encoding, body in [
        ("gzip", gzip.compress(data)),
        ("x-gzip", gzip.compress(data) + b"\0\0\0"),  # trailing zeros after the end: ignored
        ("gzip", members),  # two gzip members, one after the other
        ("deflate", zlib.compress(data)),
        ("deflate", raw_deflate.compress(data) + raw_deflate.flush()),  # without a zlib header
        ("gzip, deflate", zlib.compress(gzip.compress(data))),
        ("identity", data),
        ("", data),
        ("UTF-8", data),  # a bogus coding, passed through as httpx does
    ]:
        assert _decoded(encoding, [body[i : i + 100] for i in range(0, len(body), 100)]) == data
        if encoding not in ("identity", "", "UTF-8"):
            with pytest.raises(TransientSourceError, match="cut off before the end of its"):
                _decoded(encoding, [body[: len(body) // 2]])
    assert _decoded("gzip", []) == b""  # an empty body is empty, not cut
    with pytest.raises(TransientSourceError, match="not valid compressed data"):
        _decoded("gzip", [b"not gzip at all"])


def test_csv_records_are_counted_across_quoted_line_breaks(tmp_path: Path) -> None:
    rng = random.Random(7)
    values = ["a", 'b"c', "x\ny", "", "q,r", '"', "\r\n", "é"]
    for trial in range(100):
        rows = [[rng.choice(values) for _ in range(3)] for _ in range(rng.randint(0, 30))]
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator=rng.choice(["\n", "\r\n"])).writerows([["h"] * 3, *rows])
        data = buffer.getvalue().encode()
        if trial % 3 == 0:
            data = data.rstrip(b"\r\n")  # no line break after the last row
        path = tmp_path / "x.csv"
        path.write_bytes(data)
        for chunk_bytes in (1, 5, 1 << 20):
            assert count_csv_records(path, chunk_bytes) == len(rows) + 1, data
