"""Zip archives the formats open: zipped shapefiles and geodatabases (unpacked here for GDAL),
and Excel workbooks (an .xlsx is a zip, read by openpyxl). A zip can say it holds far more
than it weighs (a 1 MB zip of a 1 GB attribute table: a "zip bomb"), and what is unpacked is
read into memory, so every zip is checked before anything is unpacked:

- what its members would unpack to, in all, is at most `max_unzipped_bytes` (default
  `MAX_UNZIPPED_BYTES`, 4 GiB: a whole MapPLUTO shapefile unpacks to about 1.5 GB);
- a member above `RATIO_CHECKED_FROM_BYTES` (8 MiB) is compressed at most
  `max_compression_ratio` to 1 (default `MAX_COMPRESSION_RATIO`, 200: real attribute tables
  and sheets compress 5 to 70 times; zeros, 1,000 times);
- it holds at most `MAX_MEMBERS` files, none named outside the archive's folder.

Both limits are template fields of the formats that open zips (`format: {type: shapefile,
max_unzipped_bytes: 8000000000}`), left out of the template's dump while they hold their
default, so templates written before them keep their hash.

Headers can lie about sizes, and GDAL reads a member's compressed stream to its end whatever
its header says; so GDAL is never handed a zip: `unzipped` unpacks it with Python's zipfile
(which stops at the declared size and then checks the CRC, so a lying member is refused),
counting the bytes actually written against the same limits, into a temporary folder that is
removed once read. openpyxl reads an .xlsx through Python's zipfile too, so for a workbook the
check before is enough (`check_zip`).
"""

from __future__ import annotations

import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from pydantic import Field

from lakehouse.errors import FormatError

MAX_UNZIPPED_BYTES = 4 * 1024**3
MAX_COMPRESSION_RATIO = 200.0
RATIO_CHECKED_FROM_BYTES = 8 * 1024**2
MAX_MEMBERS = 50_000
COPY_BYTES = 1024 * 1024
JUNK_FOLDERS = ("__MACOSX",)  # what macOS adds to the zips it makes


def _is(default: float) -> Callable[[float], bool]:
    return lambda value: value == default


def unzipped_bytes_field() -> Any:
    """A zip format's `max_unzipped_bytes:` (see the module's docstring)."""
    return Field(
        default=MAX_UNZIPPED_BYTES,
        gt=0,
        description="the most the zip's files may unpack to, in all (a zip bomb is refused)",
        exclude_if=_is(MAX_UNZIPPED_BYTES),
    )


def compression_ratio_field() -> Any:
    """A zip format's `max_compression_ratio:` (see the module's docstring)."""
    return Field(
        default=MAX_COMPRESSION_RATIO,
        gt=1,
        description=(
            f"the most a file of the zip above {RATIO_CHECKED_FROM_BYTES // 1024**2} MiB may be "
            "compressed, as unpacked size to packed size (a zip bomb is refused)"
        ),
        exclude_if=_is(MAX_COMPRESSION_RATIO),
    )


@dataclass(frozen=True)
class ZipLimits:
    max_unzipped_bytes: int = MAX_UNZIPPED_BYTES
    max_compression_ratio: float = MAX_COMPRESSION_RATIO

    @classmethod
    def of(cls, fmt: Any) -> ZipLimits:
        """The limits a format's spec sets (the defaults for those it does not have)."""
        return cls(
            getattr(fmt, "max_unzipped_bytes", MAX_UNZIPPED_BYTES),
            getattr(fmt, "max_compression_ratio", MAX_COMPRESSION_RATIO),
        )


def _too_large(path: Path, size: int, limits: ZipLimits, declared: bool) -> FormatError:
    said = "would unpack to" if declared else "unpacked to more than"
    return FormatError(
        f"{path.name} {said} {size:,} bytes, more than the {limits.max_unzipped_bytes:,} "
        "allowed (format.max_unzipped_bytes); if the data really is that large, raise "
        "format.max_unzipped_bytes in the template, else check the file (it may be a zip bomb)."
    )


def _unreadable(path: Path, exc: Exception) -> FormatError:
    return FormatError(
        f"{path.name} is not a zip file that can be unpacked ({exc}); check the file or "
        "download it again."
    )


def check_zip(path: Path, limits: ZipLimits) -> list[zipfile.ZipInfo]:
    """Refuse a zip, before anything in it is unpacked, that declares more than `limits`
    allow, holds too many files or names one outside its folder; its file members if not."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = [info for info in archive.infolist() if not info.is_dir()]
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise _unreadable(path, exc) from exc
    if len(members) > MAX_MEMBERS:
        raise FormatError(
            f"{path.name} holds {len(members):,} files, more than the {MAX_MEMBERS:,} a zip "
            "read here may hold; check the file (it may be a zip bomb)."
        )
    total = 0
    for info in members:
        _member_path(path, info)  # refuses a name outside the folder
        total += info.file_size
        if info.file_size > RATIO_CHECKED_FROM_BYTES and (
            info.file_size > info.compress_size * limits.max_compression_ratio
        ):
            ratio = info.file_size / max(info.compress_size, 1)
            raise FormatError(
                f"{path.name}: its file {info.filename} would unpack to {info.file_size:,} "
                f"bytes from {info.compress_size:,} ({ratio:,.0f} to 1, more than the "
                f"{limits.max_compression_ratio:g} to 1 allowed: format.max_compression_ratio); "
                "if the data really is that repetitive, raise format.max_compression_ratio in "
                "the template, else check the file (it may be a zip bomb)."
            )
    if total > limits.max_unzipped_bytes:
        raise _too_large(path, total, limits, declared=True)
    return members


def _member_path(path: Path, info: zipfile.ZipInfo) -> PurePosixPath:
    """A member's path inside the folder it is unpacked to; one that would land outside it
    (an absolute path, a `..`) is refused."""
    name = PurePosixPath(info.filename.replace("\\", "/"))
    if name.is_absolute() or ".." in name.parts or not name.parts or ":" in name.parts[0]:
        raise FormatError(
            f"{path.name} holds a file named {info.filename!r}, which points outside the "
            "archive's folder; check the file (it may be crafted), or unzip and re-zip it."
        )
    return name


@contextmanager
def unzipped(path: Path, limits: ZipLimits) -> Iterator[Path]:
    """Unpack the zip `path` into a temporary folder (removed on leaving), checked before by
    `check_zip` and while unpacking by counting the bytes written; yields what GDAL should
    open: the only file of a zip of one file, the only `.gdb` folder at its top, else the
    folder (named `<name>.gdb` for a `<name>.gdb.zip`: a geodatabase zipped without its
    folder), as GDAL's /vsizip/ would."""
    members = check_zip(path, limits)
    with tempfile.TemporaryDirectory(prefix="lakehouse-unzip-") as temporary:
        gdb = path.name.lower().endswith(".gdb.zip")
        root = Path(temporary) / (path.name[: -len(".zip")] if gdb else "zip")
        root.mkdir()
        written = 0
        try:
            with zipfile.ZipFile(path) as archive:
                for info in members:
                    target = root.joinpath(*_member_path(path, info).parts)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    written += _copy_member(path, archive, info, target, limits, written)
        except (zipfile.BadZipFile, EOFError, RuntimeError, NotImplementedError, zlib.error) as exc:
            # a CRC that does not match (a header that lies), a cut or encrypted member...
            raise _unreadable(path, exc) from exc
        except OSError as exc:
            raise FormatError(
                f"{path.name} could not be unpacked into {temporary} ({exc}); make room there, "
                "or point the TMPDIR environment variable at a folder with room."
            ) from exc
        yield _what_gdal_opens(root)


def _copy_member(
    path: Path,
    archive: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    target: Path,
    limits: ZipLimits,
    written_before: int,
) -> int:
    """Unpack one member to `target`, counting: more than its header declared, or more than
    the limit in all, stops it."""
    size = 0
    with archive.open(info) as member, open(target, "wb") as out:
        while piece := member.read(COPY_BYTES):
            size += len(piece)
            if size > info.file_size:
                raise FormatError(
                    f"{path.name}: its file {info.filename} unpacked to more than the "
                    f"{info.file_size:,} bytes its header declares; the zip is damaged or "
                    "crafted, check the file."
                )
            if written_before + size > limits.max_unzipped_bytes:
                raise _too_large(path, written_before + size, limits, declared=False)
            out.write(piece)
    return size


def _what_gdal_opens(root: Path) -> Path:
    files = [p for p in root.rglob("*") if p.is_file()]
    if len(files) == 1:
        return files[0]
    tops = [p for p in root.iterdir() if p.name not in JUNK_FOLDERS]
    folders = [p for p in tops if p.is_dir() and p.name.lower().endswith(".gdb")]
    if len(folders) == 1 and not any(p.suffix.lower() == ".gdbtable" for p in tops):
        return folders[0]
    return root
