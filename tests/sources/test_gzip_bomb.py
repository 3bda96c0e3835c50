"""Gzip bombs (issue 13, S5): a body sent with Content-Encoding gzip is decompressed a bounded
step at a time, so a small body that expands a thousand times (or a million times, gzip inside
gzip) meets the page limit and the deadline as it expands, in bounded memory, instead of being
expanded whole first. Real servers on 127.0.0.1; memory measured with tracemalloc."""

from __future__ import annotations

import functools
import gzip
import itertools
import random
import struct
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from lakehouse.errors import SourceError, TransientSourceError
from lakehouse.project import Lakehouse
from lakehouse.sources import http_body, pages
from lakehouse.sources.http import HttpSettings, get_json
from lakehouse.sources.http_body import BodyDecoder
from tests import fakes
from tests.conftest import write_template
from tests.fakes.faults import replace_body

DATASET = "abcd-1234"  # the portal's sample dataset (tests/sources/conftest.py)
GiB = 1 << 30
MiB = 1 << 20
BOUND = 40 * MiB  # the most memory a refused bomb may take (it expands to 1 GiB or more)
LIMIT = 10_000_000  # the page limit the tests set
FILL = 16 * MiB


@functools.cache
def gzip_of_spaces(size: int, head: bytes = b"[", tail: bytes = b"]") -> bytes:
    """A valid gzip stream (one member) of `size` bytes: `head`, spaces, `tail` (by default
    an empty JSON list); about 1,000 times smaller. Built from one deflate block of 16 MiB
    of spaces, ended by a full flush (so independent of what came before) and repeated."""
    deflate = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    spaces = b" " * FILL
    start = deflate.compress(head) + deflate.flush(zlib.Z_FULL_FLUSH)
    block = deflate.compress(spaces) + deflate.flush(zlib.Z_FULL_FLUSH)
    count, rest = divmod(size - len(head) - len(tail), FILL)
    end = b" " * rest + tail
    last = deflate.compress(end) + deflate.flush()
    crc = zlib.crc32(head)
    for _ in range(count):
        crc = zlib.crc32(spaces, crc)
    trailer = struct.pack("<II", zlib.crc32(end, crc), size & 0xFFFFFFFF)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"  # no name, no time, best compression
    return header + start + block * count + last + trailer


@contextmanager
def peak_memory() -> Iterator[Callable[[], int]]:
    """The most memory (bytes) allocated at once by the block, beyond what it started with."""
    started = not tracemalloc.is_tracing()
    if started:
        tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    peak: list[int] = []
    try:
        yield lambda: peak[0]
    finally:
        peak.append(tracemalloc.get_traced_memory()[1] - base)
        if started:
            tracemalloc.stop()


def test_the_bombs_are_what_they_say() -> None:
    one = gzip_of_spaces(GiB)
    assert len(one) < 1.1e6  # 1 MB that expands to 1 GiB
    assert len(gzip.compress(one)) < 10_000  # and 2 KB that expands to 1 MB, then 1 GiB
    small = gzip_of_spaces(3 * FILL + 5)
    assert gzip.decompress(small) == b"[" + b" " * (3 * FILL + 3) + b"]"


def test_a_json_page_that_is_a_gzip_bomb_is_refused_at_the_page_limit_in_bounded_memory(
    lake: Lakehouse, project_dir: Path, portal: fakes.SocrataServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pages, "MAX_PAGE_BYTES", LIMIT)
    write_template(
        project_dir,
        "licenses",
        f"name: licenses\nsource: {{type: socrata, domain: '{portal.base_url}', "
        f"dataset_id: {DATASET}, mode: api, page_size: 1000, retries: 0, backoff_seconds: 0}}\n",
    )
    refusal = (
        r"^The Socrata API for abcd-1234 sent a page of more than 10,000,000 bytes of JSON, more "
        r"than is read into memory at once \(at offset 0\); lower source\.page_size in the "
        r"template \(it is 1000\)\.$"
    )
    bomb = replace_body(gzip_of_spaces(GiB), headers={"Content-Encoding": "gzip"}, after=1)

    def ingest_the_bomb() -> None:
        portal.set_fault(portal.resource_path(DATASET), bomb)  # the first request is the count
        with pytest.raises(SourceError, match=refusal):
            lake.ingest("licenses")

    ingest_the_bomb()  # the first ingest also imports what an ingest uses: not measured
    with peak_memory() as peak:
        ingest_the_bomb()
    assert peak() < BOUND
    assert lake.versions("licenses") == []


def test_gzip_inside_gzip_is_refused_by_get_json_at_its_limit_in_bounded_memory(
    files: fakes.FileServer,
) -> None:
    body = gzip.compress(gzip_of_spaces(GiB))  # 2 KB that expand to 1 MB, then 1 GiB
    url = files.add(
        "/api/answer.json", body, "application/json", headers={"Content-Encoding": "gzip, gzip"}
    )
    settings = HttpSettings(retries=0, backoff_seconds=0)
    with (
        peak_memory() as peak,
        pytest.raises(
            SourceError,
            match=rf"^{files.base_url}/api/answer\.json sent more than 10,000,000 bytes of JSON, "
            r"more than is read into memory at once; check the source's URL \(it should answer "
            r"with a short document\)\.$",
        ),
    ):
        get_json(url, params=None, settings=settings, max_bytes=LIMIT)
    assert peak() < BOUND


def test_a_json_bomb_under_the_limit_is_read(files: fakes.FileServer) -> None:
    body = gzip.compress(gzip_of_spaces(3 * FILL + 5))
    url = files.add(
        "/api/answer.json", body, "application/json", headers={"Content-Encoding": "gzip, gzip"}
    )
    settings = HttpSettings(retries=0, backoff_seconds=0)
    assert get_json(url, params=None, settings=settings, max_bytes=4 * FILL) == (
        [],
        b"[" + b" " * (3 * FILL + 3) + b"]",
    )


def test_a_download_that_is_a_gzip_bomb_stops_at_the_deadline_in_bounded_memory(
    lake: Lakehouse, project_dir: Path, files: fakes.FileServer
) -> None:
    member = gzip_of_spaces(GiB, head=b"bbl,owner\n1,", tail=b"\n")
    body = gzip.compress(member * 16)  # 20 KB that expand to 16 MB, then 16 GiB
    url = files.add("/data/lots.csv", body, "text/csv", headers={"Content-Encoding": "gzip, gzip"})
    write_template(
        project_dir,
        "lots",
        f"name: lots\nsource: {{type: http, url: '{url}', retries: 0, backoff_seconds: 0, "
        "deadline_seconds: 1}\nformat: {type: csv}\n",
    )
    with (
        peak_memory() as peak,
        pytest.raises(
            SourceError,
            match=rf"^The fetch of {files.base_url}/data/lots\.csv did not finish within its "
            r"deadline of 1 s \(.*\); raise source\.deadline_seconds in the template if the "
            r"source is really this slow, or try again later\.$",
        ),
    ):
        lake.ingest("lots")
    assert peak() < BOUND
    assert lake.versions("lots") == []
    assert not list(Path(lake.store.root).rglob("*.part"))


def test_no_step_of_decoding_is_larger_than_the_step() -> None:
    decoder = BodyDecoder("gzip, gzip", "http://h/x")
    body = gzip.compress(gzip_of_spaces(GiB))
    first = list(itertools.islice(decoder.pieces(body), 50))
    assert len(first) == 50
    assert max(len(piece) for piece in first) <= http_body.DECODE_STEP_BYTES


@pytest.mark.parametrize("step", [1, 7, 4096])
def test_compressed_bodies_decode_the_same_in_small_steps(
    step: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(http_body, "DECODE_STEP_BYTES", step)
    rng = random.Random(step)
    data = bytes(rng.choice(b"ab,\n0123456789") for _ in range(3000)) + b" " * 5000
    raw_deflate = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    members = gzip.compress(data[:1000]) + gzip.compress(data[1000:])
    for encoding, body in [
        ("gzip", gzip.compress(data)),
        ("gzip", gzip.compress(data) + b"\0\0\0"),  # trailing zeros after the end: ignored
        ("gzip", members),
        ("deflate", zlib.compress(data)),
        ("deflate", raw_deflate.compress(data) + raw_deflate.flush()),
        ("gzip, deflate", zlib.compress(gzip.compress(data))),
        ("gzip, gzip", gzip.compress(members)),
    ]:
        for size in (1, 3, 1000, len(body)):
            decoder = BodyDecoder(encoding, "http://h/x")
            pieces = [
                piece
                for start in range(0, len(body), size)
                for piece in decoder.pieces(body[start : start + size])
            ]
            assert decoder.finish() == b""
            assert max(len(piece) for piece in pieces) <= step
            assert b"".join(pieces) == data, (encoding, size)
        decoder = BodyDecoder(encoding, "http://h/x")
        list(decoder.pieces(body[: len(body) // 2]))
        with pytest.raises(TransientSourceError, match="cut off before the end of its"):
            decoder.finish()
