"""Zips the formats open (zipped shapefiles and geodatabases, .xlsx workbooks) against size
bombs (issue 13, S5: a 1.1 MB shapefile zip holding 1 GB of attributes peaked at 3.4 GB): refused
before anything is unpacked when they declare too much, and counted while unpacked, since a
header can lie. Each through a real ingest."""

from __future__ import annotations

import struct
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from lakehouse.errors import FormatError
from lakehouse.project import Lakehouse
from tests.conftest import write_template
from tests.formats.samples import features
from tests.formats.test_filegdb import write_geodatabase

ZEROS = 64 * 1024 * 1024  # 64 MiB of zeros: about 64 KB deflated, 1,000 to 1


def _shapefile(tmp_path: Path) -> tuple[Path, str]:
    folder = tmp_path / "shp"
    folder.mkdir()
    features().iloc[[0]].to_file(folder / "pts.shp")
    archive = tmp_path / "pts.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        for part in sorted(folder.iterdir()):
            zipped.write(part, part.name)
    return archive, "{type: shapefile"


def _geodatabase(tmp_path: Path) -> tuple[Path, str]:
    return write_geodatabase(tmp_path), "{type: filegdb, layer: lots"


def _workbook(tmp_path: Path) -> tuple[Path, str]:
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.active.append(["bbl", "owner"])
    workbook.active.append(["1000010001", "SMITH"])
    path = tmp_path / "lots.xlsx"
    workbook.save(path)
    return path, "{type: excel"


KINDS: dict[str, Callable[[Path], tuple[Path, str]]] = {
    "shapefile": _shapefile,
    "filegdb": _geodatabase,
    "excel": _workbook,
}


def _add(archive: Path, name: str, data: bytes) -> None:
    with zipfile.ZipFile(archive, "a", zipfile.ZIP_DEFLATED) as zipped:
        zipped.writestr(name, data)


def _template(project_dir: Path, path: Path, fmt: str, extra: str = "") -> None:
    write_template(
        project_dir, "d", f"name: d\nsource: {{type: file, path: {path}}}\nformat: {fmt}{extra}}}\n"
    )


def _declare_size(archive: Path, member: str, size: int) -> None:
    """Make both headers of `member` (its local header and its central directory entry) say
    it unpacks to `size` bytes, whatever its data does."""
    data = bytearray(archive.read_bytes())
    with zipfile.ZipFile(archive) as zipped:
        info = zipped.getinfo(member)
        central = zipped.start_dir  # type: ignore[attr-defined]
    assert data[info.header_offset : info.header_offset + 4] == b"PK\x03\x04"
    struct.pack_into("<I", data, info.header_offset + 22, size)
    while data[central : central + 4] == b"PK\x01\x02":
        name_length, extra_length, comment_length = struct.unpack_from("<HHH", data, central + 28)
        if data[central + 46 : central + 46 + name_length] == member.encode():
            struct.pack_into("<I", data, central + 24, size)
        central += 46 + name_length + extra_length + comment_length
    archive.write_bytes(bytes(data))


@pytest.fixture
def temporary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The folder zips are unpacked into, checked empty after each ingest."""
    folder = tmp_path / "temporary"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


@pytest.mark.parametrize("kind", KINDS)
def test_a_zip_bomb_is_refused_before_it_is_unpacked(
    lake: Lakehouse, project_dir: Path, tmp_path: Path, temporary: Path, kind: str
) -> None:
    archive, fmt = KINDS[kind](tmp_path)
    _add(archive, "padding.bin", bytes(ZEROS))
    _template(project_dir, archive, fmt)
    with pytest.raises(FormatError) as raised:
        lake.ingest("d")
    message = str(raised.value)
    assert message.startswith(f"{archive.name}: its file padding.bin would unpack to 67,108,864")
    assert "to 1 allowed: format.max_compression_ratio); if the data really" in message
    assert "raise format.max_compression_ratio in the template" in message
    assert lake.versions("d") == []
    assert list(temporary.iterdir()) == []  # nothing was unpacked
    _template(project_dir, archive, fmt, ", max_compression_ratio: 2000")
    assert lake.ingest("d").manifest.row_count in (1, 2)  # raised, the zip is read
    assert list(temporary.iterdir()) == []  # and what was unpacked is gone


@pytest.mark.parametrize("kind", KINDS)
def test_a_zip_that_unpacks_to_more_than_max_unzipped_bytes_is_refused(
    lake: Lakehouse, project_dir: Path, tmp_path: Path, temporary: Path, kind: str
) -> None:
    archive, fmt = KINDS[kind](tmp_path)
    with zipfile.ZipFile(archive) as zipped:
        total = sum(info.file_size for info in zipped.infolist())
    _template(project_dir, archive, fmt, ", max_unzipped_bytes: 100")
    with pytest.raises(
        FormatError,
        match=rf"^{archive.name} would unpack to {total:,} bytes, more than the 100 allowed "
        r"\(format\.max_unzipped_bytes\); if the data really is that large, raise "
        r"format\.max_unzipped_bytes in the template, else check the file "
        r"\(it may be a zip bomb\)\.$",
    ):
        lake.ingest("d")
    assert lake.versions("d") == []
    _template(project_dir, archive, fmt, f", max_unzipped_bytes: {total}")
    lake.ingest("d")
    assert list(temporary.iterdir()) == []


@pytest.mark.parametrize("member", ["padding.bin", "pts.dbf"])
def test_a_file_whose_header_lies_about_its_size_is_refused_while_unpacked(
    lake: Lakehouse, project_dir: Path, tmp_path: Path, temporary: Path, member: str
) -> None:
    """GDAL reads a member's data to its end, whatever its header declares: a zip saying it
    holds 1,000 bytes can hand it 64 MiB."""
    archive, fmt = _shapefile(tmp_path)
    if member == "padding.bin":
        _add(archive, member, bytes(ZEROS))
    _declare_size(archive, member, 100)
    _template(project_dir, archive, fmt)
    with pytest.raises(
        FormatError,
        match=rf"^pts\.zip is not a zip file that can be unpacked \(Bad CRC-32 for file "
        rf"'{member}'\); check the file or download it again\.$",
    ):
        lake.ingest("d")
    assert lake.versions("d") == []
    assert list(temporary.iterdir()) == []


@pytest.mark.parametrize("name", ["../outside.txt", "/etc/outside.txt", "..\\outside.txt"])
def test_a_zip_naming_a_file_outside_its_folder_is_refused(
    lake: Lakehouse, project_dir: Path, tmp_path: Path, temporary: Path, name: str
) -> None:
    archive, fmt = _shapefile(tmp_path)
    _add(archive, name, b"hello")
    _template(project_dir, archive, fmt)
    with pytest.raises(FormatError, match=r"which points outside the archive's folder"):
        lake.ingest("d")
    assert not (tmp_path / "outside.txt").exists() and list(temporary.iterdir()) == []


def test_zips_open_as_gdal_opened_them(lake: Lakehouse, project_dir: Path, tmp_path: Path) -> None:
    """What GDAL's /vsizip/ opened before the zips were unpacked first: the only file of a zip,
    a geodatabase zipped with or without its folder, shapefiles at the zip's top."""
    one = tmp_path / "one"
    one.mkdir()
    features().to_file(one / "pts.gpkg", layer="pts")
    single = tmp_path / "single.zip"
    with zipfile.ZipFile(single, "w") as zipped:
        zipped.write(one / "pts.gpkg", "deep/folder/pts.gpkg")
    assert lake.ingest("single", file=single).manifest.row_count == 2
    folder_gdb = write_geodatabase(tmp_path)
    flat_gdb = tmp_path / "flat.gdb.zip"
    with zipfile.ZipFile(folder_gdb) as source, zipfile.ZipFile(flat_gdb, "w") as zipped:
        for info in source.infolist():
            zipped.writestr(info.filename.removeprefix("parcels.gdb/"), source.read(info))
    for path in (folder_gdb, flat_gdb):
        _template(project_dir, path, "{type: filegdb, layer: sites")
        assert lake.ingest("d").manifest.geometry_crs == "EPSG:4326"
    nested = tmp_path / "nested.zip"
    archive, _ = _shapefile(tmp_path)
    with zipfile.ZipFile(archive) as source, zipfile.ZipFile(nested, "w") as zipped:
        for info in source.infolist():
            zipped.writestr(f"inner/{info.filename}", source.read(info))
    with pytest.raises(FormatError, match=r"^nested\.zip is not a readable geo file \('nested"):
        lake.ingest("nested", file=nested)  # as before: GDAL looks at the zip's top only


@pytest.mark.parametrize("name", ["pts.shz", "pts.shp.zip", "download"])
def test_a_zip_is_checked_whatever_its_name(
    lake: Lakehouse, project_dir: Path, tmp_path: Path, temporary: Path, name: str
) -> None:
    """GDAL opens a .shz or a .shp.zip by itself, without /vsizip/; a zip by any name is
    unpacked (and checked) first."""
    archive, fmt = _shapefile(tmp_path)
    renamed = archive.rename(tmp_path / name)
    _template(project_dir, renamed, fmt)
    assert lake.ingest("d").manifest.row_count == 1
    _add(renamed, "padding.bin", bytes(ZEROS))
    with pytest.raises(FormatError, match=rf"^{name}: its file padding\.bin would unpack to"):
        lake.ingest("d")
    assert list(temporary.iterdir()) == []
