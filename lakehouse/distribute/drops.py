"""File drops: a published version's package files where other agencies and the website pick
them up, a local (or mounted) folder or an S3 bucket, under a versioned path, with `latest`
switched to it only once the version is complete.

Folder (`type: folder`, `path:` taken from the project folder):

    <path>/26v1/                  the package's files (data/, DICTIONARY.md, README.md, SHA256SUMS)
    <path>/latest -> 26v1         a symbolic link, replaced in one step (rename)
    <path>/latest.json            {"version": "26v1", ...}, replaced in one step

The version is written into a hidden temporary folder and renamed into place whole; a version
folder that is already there is never rewritten (its files must be the same, else the drop is
refused). A drop killed half-way leaves `latest` on the version before, whole; the next drop
removes the temporary folder of a process that is gone.

S3 (`type: s3`): `s3://<bucket>/<prefix>/26v1/...` first, then `latest.json` (one PUT: the
switch readers can trust), then a copy of the files under `latest/`, each object replaced
whole, SHA256SUMS last: S3 has no way to replace several objects at once, so a reader of
`latest/` that must not mix two versions reads `latest.json` first and then that version's
folder. Credentials: the environment variables the destination names (by default AWS's own).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import uuid
from pathlib import Path
from typing import ClassVar, Literal, Self

from lakehouse.distribute import DestinationType, Receipt
from lakehouse.distribute.delivery import Delivery
from lakehouse.distribute.spec import DestinationSpec, secret
from lakehouse.errors import DistributeError
from lakehouse.progress import Progress

LATEST = "latest"
POINTER = "latest.json"
TEMPORARY = ".tmp-"


class FolderSpec(DestinationSpec):
    type: Literal["folder"]
    path: str

    TAKES_RENAMES: ClassVar[bool] = False

    def relative_to_project(self, project_dir: Path) -> Self:
        path = Path(self.path).expanduser()
        if not path.is_absolute():
            path = project_dir / path
        return self.model_copy(update={"path": str(path)})

    def where(self) -> str:
        return f"folder {self.path}"


class S3DropSpec(DestinationSpec):
    TAKES_RENAMES: ClassVar[bool] = False

    type: Literal["s3"]
    bucket: str
    prefix: str = ""
    endpoint_url: str | None = None
    region: str | None = None
    access_key_env: str = "AWS_ACCESS_KEY_ID"
    secret_key_env: str = "AWS_SECRET_ACCESS_KEY"

    def where(self) -> str:
        return f"s3://{self.bucket}/{self.prefix.strip('/')}".rstrip("/")


def pointer(delivery: Delivery) -> bytes:
    """`latest.json`: the version `latest` is, and what it holds."""
    return json.dumps(
        {
            "product": delivery.product,
            "version": delivery.version,
            "published_at": delivery.published_at.isoformat(),
            "files": delivery.files,
        },
        indent=2,
    ).encode()


def preview_lines(where: str, delivery: Delivery, there: bool, now: str | None) -> list[str]:
    """A drop's dry run: whether the version is there or would be written, and where `latest`
    goes from (`now`) and to."""
    size = sum((delivery.package / name).stat().st_size for name in delivery.files)
    written = f"would be written ({len(delivery.files)} files, {size:,} bytes)"
    unchanged = " (unchanged)" if now == delivery.version else ""
    return [
        f"{where}: {delivery.version}/ " + ("is already there" if there else written),
        f"  latest: {now or 'none'} -> {delivery.version}{unchanged}",
    ]


def temporary_name(name: str) -> str:
    """A hidden name for `name` while it is written, naming this process (so that the next
    drop can tell a dead drop's leftovers)."""
    return f".{name}{TEMPORARY}{os.getpid()}-{uuid.uuid4().hex[:6]}"


# -- folder ---------------------------------------------------------------------------------


def preview_folder(spec: FolderSpec, delivery: Delivery) -> list[str]:
    root = Path(spec.path)
    there = (root / delivery.version).is_dir()
    return preview_lines(spec.where(), delivery, there, _folder_latest(root))


def send_folder(spec: FolderSpec, delivery: Delivery, progress: Progress) -> Receipt:
    root = Path(spec.path)
    root.mkdir(parents=True, exist_ok=True)
    _remove_dead_temporaries(root)
    version = root / delivery.version
    if version.is_dir():
        _check_same(version, delivery, spec)
    else:
        temporary = root / temporary_name(delivery.version)
        total = len(delivery.files)
        for index, name in enumerate(sorted(delivery.files)):
            progress(f"writing {name}", index, total)
            target = temporary / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(delivery.package / name, target)
        temporary.rename(version)  # the version appears whole, or not at all
    _replace_file(root / POINTER, pointer(delivery))
    _switch_link(root / LATEST, delivery.version)
    progress(f"latest is {delivery.version}", 1, 1)
    return Receipt(str(version), delivery.version, {"latest": str(root / LATEST)})


def _folder_latest(root: Path) -> str | None:
    link = root / LATEST
    return os.readlink(link) if link.is_symlink() else None


def _check_same(version: Path, delivery: Delivery, spec: FolderSpec) -> None:
    """A version folder already there must hold exactly the files being sent."""
    import hashlib

    there = {
        path.relative_to(version).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in version.rglob("*")
        if path.is_file()
    }
    if there != delivery.files:
        raise DistributeError(
            f"{version} already holds other files than {delivery.product} {delivery.version}'s "
            f"{spec.format} package; a dropped version is never rewritten: move that folder "
            "away (or send to another path) and distribute again."
        )


def _replace_file(path: Path, data: bytes) -> None:
    temporary = path.with_name(temporary_name(path.name))
    temporary.write_bytes(data)
    temporary.replace(path)


def _switch_link(link: Path, version: str) -> None:
    if link.exists() and not link.is_symlink():
        raise DistributeError(
            f"{link} is a real folder, not the link this drop switches; move it away and "
            "distribute again."
        )
    temporary = link.with_name(temporary_name(link.name))
    temporary.symlink_to(version)  # relative: the drop folder can be moved or mounted
    temporary.replace(link)


def _remove_dead_temporaries(root: Path) -> None:
    """Temporary files and folders of drops whose process is gone."""
    for entry in root.glob(f".*{TEMPORARY}*"):
        pid = entry.name.split(TEMPORARY, 1)[1].split("-", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# -- S3 -------------------------------------------------------------------------------------


def _s3(spec: S3DropSpec) -> object:
    import s3fs

    client: dict[str, str] = {}
    if spec.endpoint_url:
        client["endpoint_url"] = spec.endpoint_url
    if spec.region:
        client["region_name"] = spec.region
    return s3fs.S3FileSystem(
        key=secret(spec.access_key_env, spec.name, "access key id"),
        secret=secret(spec.secret_key_env, spec.name, "secret access key"),
        client_kwargs=client,
        skip_instance_cache=True,
    )


def _key(spec: S3DropSpec, *parts: str) -> str:
    prefix = spec.prefix.strip("/")
    return "/".join([spec.bucket, *([prefix] if prefix else []), *parts])


def preview_s3(spec: S3DropSpec, delivery: Delivery) -> list[str]:
    fs = _s3(spec)
    now = None
    with contextlib.suppress(FileNotFoundError):
        now = json.loads(fs.cat(_key(spec, POINTER)))["version"]  # type: ignore[attr-defined]
    there = fs.exists(_key(spec, delivery.version, "SHA256SUMS"))  # type: ignore[attr-defined]
    return preview_lines(spec.where(), delivery, bool(there), now)


def send_s3(spec: S3DropSpec, delivery: Delivery, progress: Progress) -> Receipt:
    fs = _s3(spec)
    names = sorted(delivery.files, key=lambda name: (name == "SHA256SUMS", name))
    try:
        for index, name in enumerate(names):
            progress(f"uploading {name}", index, len(names) * 2)
            fs.put_file(str(delivery.package / name), _key(spec, delivery.version, name))  # type: ignore[attr-defined]
        fs.pipe_file(_key(spec, POINTER), pointer(delivery))  # type: ignore[attr-defined]
        for index, name in enumerate(names):
            progress(f"latest/{name}", len(names) + index, len(names) * 2)
            fs.put_file(str(delivery.package / name), _key(spec, LATEST, name))  # type: ignore[attr-defined]
    except PermissionError as exc:
        raise DistributeError(
            f"{spec.where()} refused the upload (access denied); check the credentials in "
            f"{spec.access_key_env} and {spec.secret_key_env} and the bucket's policy."
        ) from exc
    except FileNotFoundError as exc:
        raise DistributeError(
            f"{spec.where()}: the bucket {spec.bucket!r} does not exist; create it or fix "
            "the destination's bucket."
        ) from exc
    return Receipt(f"{spec.where()}/{delivery.version}/", delivery.version, {"pointer": POINTER})


FOLDER = DestinationType(name="folder", spec=FolderSpec, preview=preview_folder, send=send_folder)
S3 = DestinationType(name="s3", spec=S3DropSpec, preview=preview_s3, send=send_s3)
