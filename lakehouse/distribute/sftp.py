"""An SFTP server as a file drop, with the folder drop's layout and guarantees (see `drops.py`):

    - name: agency_drop
      type: sftp
      host: files.example.org
      port: 22                          # the default
      path: /drops/pluto_lite           # relative paths start at the account's home folder
      username_env: SFTP_USERNAME       # the defaults; or key_env: SFTP_KEY (a private key's
      password_env: SFTP_PASSWORD       #   text, unencrypted, in that variable)
      host_key_sha256: SHA256:Q3x...    # the server's key as `ssh-keygen -lf` prints it, or
      known_hosts: ~/.ssh/known_hosts   #   a known_hosts file that lists the server

On the server:

    <path>/26v1/             the package's files, uploaded into `.26v1.tmp-<pid>-<id>/` and
                             renamed into place whole; never rewritten (a version folder already
                             there must hold the same files, read back and compared)
    <path>/latest.json       written under a temporary name, then renamed over
    <path>/latest -> 26v1    a symbolic link made under a temporary name, then renamed over

Both replacements use OpenSSH's `posix-rename@openssh.com` (plain SFTP rename refuses to
replace); a server without it is refused before anything is sent. A drop cut half-way leaves
`latest` on the version before, whole. The next drop removes temporary entries (`.*.tmp-*`)
left behind: the pid in their name cannot be checked on another machine, so an entry counts as
left behind when nothing in it has changed for an hour, by the server's own clock (the mtime of
a file the drop has just made there). A drop still writing into its temporary folder keeps it
fresh; one stalled for an hour on a single write would lose it, and its rename then fails.

The server's host key is always checked, never accepted unseen: against `host_key_sha256`, or
against the entries of `known_hosts` for the host (`[host]:port` when the port is not 22), or
both. A mismatch is refused, and the error shows the key seen (its type and fingerprint), to
compare with what the server's administrator gives. With `host_key_sha256`, the key checked is
the one the client and server agree on (Ed25519 first, then ECDSA, then RSA): give that one's
fingerprint.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import io
import ipaddress
import posixpath
import re
import socket
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal, Self

import paramiko
from pydantic import Field, field_validator, model_validator

from lakehouse.distribute import DestinationType, Receipt
from lakehouse.distribute.delivery import Delivery
from lakehouse.distribute.drops import (
    LATEST,
    POINTER,
    TEMPORARY,
    pointer,
    preview_lines,
    temporary_name,
)
from lakehouse.distribute.spec import DestinationSpec, secret
from lakehouse.errors import DistributeError, first_line
from lakehouse.progress import Progress

MAX_TEMPORARY_AGE_SECONDS = 3600.0
HOST_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
READ_CHUNK = 1 << 20
# known_hosts stores RSA keys as ssh-rsa; the client negotiates them under these names
KEY_TYPE_ALGORITHMS = {"ssh-rsa": ("rsa-sha2-512", "rsa-sha2-256", "ssh-rsa")}


class SftpSpec(DestinationSpec):
    type: Literal["sftp"]
    host: str
    port: int = Field(default=22, ge=1, le=65535)
    path: str
    username_env: str = "SFTP_USERNAME"
    password_env: str = "SFTP_PASSWORD"
    key_env: str | None = None  # when set, log in with this key, not a password
    known_hosts: str | None = None
    host_key_sha256: str | None = None
    timeout_seconds: float = Field(default=30.0, gt=0)

    @field_validator("host")
    @classmethod
    def _a_host_name(cls, value: str) -> str:
        with contextlib.suppress(ValueError):
            return str(ipaddress.ip_address(value))
        if len(value) > 253 or not all(HOST_LABEL.match(label) for label in value.split(".")):
            raise ValueError(
                f"{value!r} is not a host name or IP address; give the host alone (no user, "
                "scheme or port: those are username_env and port)"
            )
        return value.lower()

    @field_validator("path")
    @classmethod
    def _a_folder(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("give the folder on the server the versions go into")
        return posixpath.normpath(value)

    @field_validator("host_key_sha256")
    @classmethod
    def _a_fingerprint(cls, value: str | None) -> str | None:
        return None if value is None else _normal_fingerprint(value)

    @model_validator(mode="after")
    def _a_host_key_check(self) -> Self:
        if self.known_hosts is None and self.host_key_sha256 is None:
            raise ValueError(
                "give host_key_sha256 (the server's key as `ssh-keygen -lf` prints it) or "
                "known_hosts (a file that lists the server): unknown host keys are never accepted"
            )
        return self

    def relative_to_project(self, project_dir: Path) -> Self:
        if self.known_hosts is None:
            return self
        path = Path(self.known_hosts).expanduser()
        if not path.is_absolute():
            path = project_dir / path
        return self.model_copy(update={"known_hosts": str(path)})

    def where(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        if self.path.startswith("/"):
            path = self.path
        else:
            path = "/~" if self.path == "." else f"/~/{self.path}"
        return f"sftp://{host}:{self.port}{path}"


def _normal_fingerprint(value: str) -> str:
    """`SHA256:<base64, unpadded>` as OpenSSH prints it, from that or the bare base64."""
    text = value.strip().removeprefix("SHA256:").rstrip("=")
    try:
        digest = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except binascii.Error:
        digest = b""
    if len(digest) != hashlib.sha256().digest_size:
        raise ValueError(
            f"{value!r} is not a SHA256 host key fingerprint; give it as `ssh-keygen -lf` "
            "prints it (SHA256:...)"
        )
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


# -- preview and send -----------------------------------------------------------------------


def preview_sftp(spec: SftpSpec, delivery: Delivery) -> list[str]:
    with _session(spec) as remote:
        remote.doing = "reading what the drop holds"
        now = _latest_now(remote)
        there = _attributes(remote, _in_drop(spec, delivery.version)) is not None
    return preview_lines(spec.where(), delivery, there, now)


def send_sftp(spec: SftpSpec, delivery: Delivery, progress: Progress) -> Receipt:
    with _session(spec) as remote:
        _make_folders(remote, spec.path)
        server_now = _probe_posix_rename(remote)
        _remove_left_behind(remote, server_now)
        _refuse_a_real_latest_folder(remote)
        version = _in_drop(spec, delivery.version)
        if _attributes(remote, version) is not None:
            _check_same(remote, version, delivery)
        else:
            _upload_version(remote, delivery, progress)
        _replace_pointer(remote, pointer(delivery))
        _switch_latest(remote, delivery.version)
        progress(f"latest is {delivery.version}", 1, 1)
    return Receipt(
        f"{spec.where()}/{delivery.version}",
        delivery.version,
        {"latest": f"{spec.where()}/{LATEST}", "pointer": POINTER},
    )


# -- connecting -----------------------------------------------------------------------------


class _Remote:
    """An open SFTP session on a destination's server, and what it is doing (for errors)."""

    def __init__(self, spec: SftpSpec, transport: Any) -> None:
        self.spec = spec
        self.transport = transport
        self.sftp: Any = None
        self.doing = "opening the SFTP session"


@contextlib.contextmanager
def _session(spec: SftpSpec) -> Iterator[_Remote]:
    transport = _logged_in_transport(spec)
    remote = _Remote(spec, transport)
    try:
        with _explained(remote):
            remote.sftp = paramiko.SFTPClient.from_transport(transport)
            remote.sftp.get_channel().settimeout(spec.timeout_seconds)
            yield remote
    finally:
        transport.close()


def _logged_in_transport(spec: SftpSpec) -> Any:
    known = _known_host_keys(spec)
    username = secret(spec.username_env, spec.name, "SFTP user name")
    if spec.key_env is not None:
        proof = _private_key(spec.key_env, spec)
    else:
        proof = secret(spec.password_env, spec.name, "SFTP password")
    transport = paramiko.Transport(_connected_socket(spec))
    try:
        transport.banner_timeout = spec.timeout_seconds
        transport.handshake_timeout = spec.timeout_seconds
        transport.auth_timeout = spec.timeout_seconds
        if known:
            _prefer_key_types(transport, known)
        _handshake(transport, spec)
        _check_host_key(transport.get_remote_server_key(), known, spec)
        _log_in(transport, spec, username, proof)
    except BaseException:
        transport.close()
        raise
    return transport


def _connected_socket(spec: SftpSpec) -> socket.socket:
    address = f"{spec.host}:{spec.port}"
    try:
        return socket.create_connection((spec.host, spec.port), timeout=spec.timeout_seconds)
    except ConnectionRefusedError as exc:
        raise DistributeError(
            f"Nothing accepts connections at {address} (connection refused); check the host "
            f"and port of destination {spec.name!r}, and that its SFTP server is running."
        ) from exc
    except socket.gaierror as exc:
        raise DistributeError(
            f"The host {spec.host!r} of destination {spec.name!r} cannot be found; check its "
            "spelling and this machine's network."
        ) from exc
    except TimeoutError as exc:
        raise DistributeError(
            f"{address} did not answer within {spec.timeout_seconds:g} s; check the host and "
            f"port of destination {spec.name!r}, and any firewall between."
        ) from exc
    except OSError as exc:
        raise DistributeError(
            f"Could not connect to {address} ({exc.strerror or first_line(exc)}); check the "
            f"host and port of destination {spec.name!r}."
        ) from exc


def _handshake(transport: Any, spec: SftpSpec) -> None:
    try:
        transport.start_client(timeout=spec.timeout_seconds)
    except (paramiko.SSHException, EOFError, OSError) as exc:
        raise DistributeError(
            f"{spec.host}:{spec.port} did not answer as an SSH server ({first_line(exc)}); "
            f"check the host and port of destination {spec.name!r}."
        ) from exc


def _known_host_keys(spec: SftpSpec) -> list[Any]:
    """The keys `known_hosts` lists for the destination's host (none when it names no file)."""
    if spec.known_hosts is None:
        return []
    try:
        keys = paramiko.HostKeys(spec.known_hosts)
    except OSError as exc:
        raise DistributeError(
            f"The known_hosts file {spec.known_hosts} of destination {spec.name!r} cannot be "
            f"read ({exc.strerror or first_line(exc)}); fix the path or give host_key_sha256."
        ) from exc
    entry = keys.lookup(_known_hosts_name(spec))
    return list(entry.values()) if entry else []


def _known_hosts_name(spec: SftpSpec) -> str:
    return spec.host if spec.port == 22 else f"[{spec.host}]:{spec.port}"


def _prefer_key_types(transport: Any, known: list[Any]) -> None:
    """Ask first for the key types known_hosts has, so a server with several host keys shows
    one that can be checked."""
    options = transport.get_security_options()
    wanted: list[str] = []
    for key in known:
        wanted.extend(KEY_TYPE_ALGORITHMS.get(key.get_name(), (key.get_name(),)))
    first = [name for name in wanted if name in options.key_types]
    options.key_types = first + [name for name in options.key_types if name not in first]


def _check_host_key(key: Any, known: list[Any], spec: SftpSpec) -> None:
    seen = f"{key.get_name()} key {key.fingerprint}"
    if spec.host_key_sha256 is not None and key.fingerprint != spec.host_key_sha256:
        raise DistributeError(
            f"{spec.host}:{spec.port} presented the host {seen}, not the "
            f"{spec.host_key_sha256} given in host_key_sha256 of destination {spec.name!r}; "
            "refusing to connect: if the server's key changed, confirm the new one with its "
            "administrator and update host_key_sha256."
        )
    if spec.known_hosts is None:
        return
    if not known:
        raise DistributeError(
            f"{spec.known_hosts} has no entry for {_known_hosts_name(spec)}, which presented "
            f"the host {seen}; refusing an unknown host: confirm that key with the server's "
            "administrator, then add it to known_hosts or set host_key_sha256."
        )
    if not any(bytes(candidate) == bytes(key) for candidate in known):
        raise DistributeError(
            f"{spec.host}:{spec.port} presented the host {seen}, which is not the key "
            f"{spec.known_hosts} has for it; refusing to connect: if the server's key changed, "
            "confirm the new one with its administrator and update known_hosts."
        )


def _log_in(transport: Any, spec: SftpSpec, username: str, proof: Any) -> None:
    """Log in with a key (a `PKey`) or a password (a `str`)."""
    try:
        if spec.key_env is not None:
            transport.auth_publickey(username, proof)
        else:
            transport.auth_password(username, proof)
    except paramiko.BadAuthenticationType as exc:
        raise DistributeError(
            f"{spec.where()} does not take this kind of login (it allows "
            f"{', '.join(exc.allowed_types) or 'none'}); set key_env of destination "
            f"{spec.name!r} for a key login, or leave it out for a password login."
        ) from None
    except paramiko.AuthenticationException:
        raise DistributeError(
            f"{spec.where()} refused the login; check the user name in {spec.username_env} "
            f"and {_credential(spec)}."
        ) from None
    except (paramiko.SSHException, EOFError, OSError) as exc:
        raise DistributeError(
            f"The connection to {spec.where()} was lost while logging in "
            f"({first_line(exc)}); try again, and check the server if it keeps happening."
        ) from exc


def _credential(spec: SftpSpec) -> str:
    if spec.key_env is not None:
        return f"the private key in {spec.key_env}"
    return f"the password in {spec.password_env}"


def _private_key(variable: str, spec: SftpSpec) -> Any:
    text = secret(variable, spec.name, "SFTP private key")
    for kind in (paramiko.Ed25519Key, paramiko.ECDSAKey, paramiko.RSAKey):
        with contextlib.suppress(paramiko.SSHException, ValueError, TypeError):
            return kind.from_private_key(io.StringIO(text))
    raise DistributeError(
        f"The private key in {variable} cannot be read; put an unencrypted OpenSSH or PEM "
        "private key's text (Ed25519, ECDSA or RSA) in that variable."
    )


@contextlib.contextmanager
def _explained(remote: _Remote) -> Iterator[None]:
    """SFTP and connection failures as one sentence saying what the drop was doing."""
    try:
        yield
    except DistributeError:
        raise
    except (paramiko.SSHException, EOFError, OSError) as exc:
        raise DistributeError(_failure(remote, exc)) from exc


def _failure(remote: _Remote, exc: BaseException) -> str:
    spec = remote.spec
    if isinstance(exc, TimeoutError):
        return (
            f"{spec.where()} did not answer within {spec.timeout_seconds:g} s while "
            f"{remote.doing}; what `latest` names there is whole: distribute again (or raise "
            "timeout_seconds)."
        )
    channel = remote.sftp.get_channel() if remote.sftp is not None else None
    lost = not remote.transport.is_active() or (channel is not None and channel.closed)
    if lost or not isinstance(exc, OSError):
        return (
            f"The connection to {spec.where()} was lost while {remote.doing}; what `latest` "
            "names there is whole: distribute again to finish."
        )
    reason = exc.strerror or first_line(exc)
    return (
        f"{spec.where()} refused {remote.doing} ({reason}); check that the account in "
        f"{spec.username_env} may write there."
    )


# -- the drop -------------------------------------------------------------------------------


def _in_drop(spec: SftpSpec, *names: str) -> str:
    return posixpath.join(spec.path, *names)


def _attributes(remote: _Remote, path: str) -> Any:
    """What `lstat` says of `path`, or None when nothing is there."""
    try:
        return remote.sftp.lstat(path)
    except FileNotFoundError:
        return None


def _make_folders(remote: _Remote, path: str) -> None:
    remote.doing = f"making the folder {path}"
    parts = path.split("/")
    for depth in range(1, len(parts) + 1):
        folder = "/".join(parts[:depth])
        if folder in ("", ".") or _attributes(remote, folder) is not None:
            continue
        remote.sftp.mkdir(folder)


def _probe_posix_rename(remote: _Remote) -> float:
    """Refuse a server without posix-rename before anything is sent (the switch needs it), and
    return the server's clock: the time of a file just made there."""
    spec = remote.spec
    remote.doing = "making a probe file"
    probe = _in_drop(spec, temporary_name("probe"))
    renamed = _in_drop(spec, temporary_name("probe"))
    remote.sftp.open(probe, "wb").close()
    try:
        remote.sftp.posix_rename(probe, renamed)
    except OSError as exc:
        if not remote.transport.is_active():
            raise
        remote.sftp.remove(probe)
        raise DistributeError(
            f"{spec.where()} cannot replace a file in one step (its server lacks OpenSSH's "
            f"posix-rename@openssh.com: {exc.strerror or first_line(exc)}), which this drop "
            "needs to switch `latest` safely; use an OpenSSH server or another destination type."
        ) from exc
    server_now = float(remote.sftp.lstat(renamed).st_mtime)
    remote.sftp.remove(renamed)
    return server_now


def _remove_left_behind(remote: _Remote, server_now: float) -> None:
    """Temporary entries nothing has touched for an hour: left by a drop that was cut."""
    root = remote.spec.path
    remote.doing = f"listing {root}"
    for entry in remote.sftp.listdir_attr(root):
        name = entry.filename
        if not (name.startswith(".") and TEMPORARY in name):
            continue
        path = posixpath.join(root, name)
        if server_now - _newest_change(remote, path, entry) > MAX_TEMPORARY_AGE_SECONDS:
            remote.doing = f"removing the left-behind {path}"
            _remove_tree(remote, path, entry)


def _newest_change(remote: _Remote, path: str, entry: Any) -> float:
    newest = float(entry.st_mtime or 0)
    if stat.S_ISDIR(entry.st_mode or 0):
        for child in remote.sftp.listdir_attr(path):
            inside = posixpath.join(path, child.filename)
            newest = max(newest, _newest_change(remote, inside, child))
    return newest


def _remove_tree(remote: _Remote, path: str, entry: Any) -> None:
    if not stat.S_ISDIR(entry.st_mode or 0):
        remote.sftp.remove(path)
        return
    for child in remote.sftp.listdir_attr(path):
        _remove_tree(remote, posixpath.join(path, child.filename), child)
    remote.sftp.rmdir(path)


def _refuse_a_real_latest_folder(remote: _Remote) -> None:
    remote.doing = f"reading {LATEST}"
    found = _attributes(remote, _in_drop(remote.spec, LATEST))
    if found is not None and stat.S_ISDIR(found.st_mode or 0):
        raise DistributeError(
            f"{remote.spec.where()}/{LATEST} is a real folder, not the link this drop switches; "
            "move it away and distribute again."
        )


def _latest_now(remote: _Remote) -> str | None:
    link = _in_drop(remote.spec, LATEST)
    found = _attributes(remote, link)
    if found is None:
        return None
    if stat.S_ISLNK(found.st_mode or 0):
        return str(remote.sftp.readlink(link))
    return "a real folder (a drop would refuse to replace it)"


def _upload_version(remote: _Remote, delivery: Delivery, progress: Progress) -> None:
    temporary = _in_drop(remote.spec, temporary_name(delivery.version))
    remote.doing = f"making {temporary}"
    remote.sftp.mkdir(temporary)
    made = {temporary}
    names = sorted(delivery.files)
    for index, name in enumerate(names):
        progress(f"uploading {name}", index, len(names))
        target = posixpath.join(temporary, name)
        _make_parents(remote, temporary, name, made)
        remote.doing = f"uploading {name}"
        remote.sftp.put(str(delivery.package / name), target, confirm=True)
    version = _in_drop(remote.spec, delivery.version)
    remote.doing = f"renaming the uploaded version to {version}"
    try:
        remote.sftp.rename(temporary, version)  # plain rename: never onto a version there
    except OSError:
        if not remote.transport.is_active() or _attributes(remote, version) is None:
            raise
        _check_same(remote, version, delivery)  # another drop landed it meanwhile
        _remove_tree(remote, temporary, remote.sftp.lstat(temporary))


def _make_parents(remote: _Remote, temporary: str, name: str, made: set[str]) -> None:
    parts = name.split("/")[:-1]
    for depth in range(1, len(parts) + 1):
        folder = posixpath.join(temporary, *parts[:depth])
        if folder not in made:
            remote.doing = f"making {folder}"
            remote.sftp.mkdir(folder)
            made.add(folder)


def _check_same(remote: _Remote, version: str, delivery: Delivery) -> None:
    """A version folder already there must hold exactly the files being sent: the same names
    and sizes, and, read back, the same SHA-256."""
    remote.doing = f"comparing {version} with the version being sent"
    sizes = {name: (delivery.package / name).stat().st_size for name in delivery.files}
    same = _remote_sizes(remote, version, "") == sizes and all(
        _remote_sha256(remote, posixpath.join(version, name)) == sha
        for name, sha in sorted(delivery.files.items())
    )
    if not same:
        raise DistributeError(
            f"{remote.spec.where()}/{delivery.version} already holds other files than "
            f"{delivery.product} {delivery.version}'s {remote.spec.format} package; a dropped "
            "version is never rewritten: move that folder away (or send to another path) and "
            "distribute again."
        )


def _remote_sizes(remote: _Remote, folder: str, under: str) -> dict[str, int]:
    sizes: dict[str, int] = {}
    for entry in remote.sftp.listdir_attr(posixpath.join(folder, under)):
        name = posixpath.join(under, entry.filename)
        if stat.S_ISDIR(entry.st_mode or 0):
            sizes.update(_remote_sizes(remote, folder, name))
        else:
            sizes[name] = int(entry.st_size or 0)
    return sizes


def _remote_sha256(remote: _Remote, path: str) -> str:
    digest = hashlib.sha256()
    with remote.sftp.open(path, "rb") as handle:
        handle.prefetch()
        while chunk := handle.read(READ_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _replace_pointer(remote: _Remote, data: bytes) -> None:
    temporary = _in_drop(remote.spec, temporary_name(POINTER))
    remote.doing = f"writing {POINTER}"
    remote.sftp.putfo(io.BytesIO(data), temporary, confirm=True)
    remote.sftp.posix_rename(temporary, _in_drop(remote.spec, POINTER))


def _switch_latest(remote: _Remote, version: str) -> None:
    temporary = _in_drop(remote.spec, temporary_name(LATEST))
    remote.doing = f"switching {LATEST} to {version}"
    remote.sftp.symlink(version, temporary)  # relative: the drop folder can be moved
    remote.sftp.posix_rename(temporary, _in_drop(remote.spec, LATEST))


DESTINATION = DestinationType(name="sftp", spec=SftpSpec, preview=preview_sftp, send=send_sftp)
