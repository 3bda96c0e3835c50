"""A fake SFTP server: paramiko's server side on 127.0.0.1 (a free port), serving a local
folder as its root (`/` on the server), for one planted user who logs in with a password or a
planted key. Its RSA host key is made once per test session. Faults: the connection cut in the
middle of a file after a number of files written (`cut_after_files`), and no
`posix-rename@openssh.com` (`posix_rename = False`)."""

from __future__ import annotations

import base64
import contextlib
import functools
import hashlib
import os
import posixpath
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paramiko
from paramiko.sftp import SFTP_FAILURE, SFTP_OK, SFTP_OP_UNSUPPORTED

from tests.fakes.faults import HOST, STOP_JOIN_SECONDS

HANDSHAKE_SECONDS = 10.0


@functools.cache
def session_host_key() -> paramiko.RSAKey:
    """The servers' RSA host key: made once per test session (making one takes a moment)."""
    return paramiko.RSAKey.generate(2048)


def openssh_fingerprint(key: paramiko.PKey) -> str:
    """`SHA256:<base64 of the key blob's SHA-256, unpadded>`, as `ssh-keygen -lf` prints it."""
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


@dataclass
class FakeSftpServer:
    root: Path
    username: str
    password: str
    client_key: paramiko.PKey | None = None  # a public key the user may also log in with
    host_key: paramiko.PKey = field(default_factory=session_host_key)
    host: str = HOST
    port: int = 0
    cut_after_files: int | None = None  # cut the connection in the next file after this many
    posix_rename: bool = True
    files_written: int = 0
    refused_logins: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _transports: list[paramiko.Transport] = field(default_factory=list)
    _channels: list[paramiko.Channel | None] = field(default_factory=list)

    @property
    def fingerprint(self) -> str:
        return openssh_fingerprint(self.host_key)

    def known_hosts_line(self) -> str:
        return f"[{self.host}]:{self.port} {self.host_key.get_name()} {self.host_key.get_base64()}"

    def cut_now(self) -> bool:
        """Count a file that starts being written; True when this one is where to cut."""
        with self._lock:
            self.files_written += 1
            return self.cut_after_files is not None and self.files_written > self.cut_after_files

    def serve(self, connection: socket.socket) -> None:
        transport = paramiko.Transport(connection)
        with self._lock:
            self._transports.append(transport)
        transport.add_server_key(self.host_key)
        transport.set_subsystem_handler("sftp", paramiko.SFTPServer, FolderSftp)
        with contextlib.suppress(paramiko.SSHException, EOFError, OSError):
            transport.start_server(server=Login(self, transport))
            channel = transport.accept(HANDSHAKE_SECONDS)
            with self._lock:
                self._channels.append(channel)  # a channel no one holds is closed

    def close_all(self) -> None:
        with self._lock:
            transports = list(self._transports)
        for transport in transports:
            transport.close()


class Login(paramiko.ServerInterface):
    """One connection's logins: the planted user with the planted password or key."""

    def __init__(self, server: FakeSftpServer, transport: paramiko.Transport) -> None:
        self.server = server
        self.transport = transport

    def get_allowed_auths(self, username: str) -> str:
        return "password,publickey"

    def check_auth_password(self, username: str, password: str) -> int:
        if (username, password) == (self.server.username, self.server.password):
            return paramiko.AUTH_SUCCESSFUL
        self.server.refused_logins += 1
        return paramiko.AUTH_FAILED

    def check_auth_publickey(self, username: str, key: paramiko.PKey) -> int:
        planted = self.server.client_key
        known = planted is not None and key.asbytes() == planted.asbytes()
        if username == self.server.username and known:
            return paramiko.AUTH_SUCCESSFUL
        return paramiko.AUTH_FAILED

    def check_channel_request(self, kind: str, chanid: int) -> int:
        if kind == "session":
            return paramiko.OPEN_SUCCEEDED
        return paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED


def _file_mode(flags: int) -> str:
    appending = bool(flags & os.O_APPEND)
    if flags & os.O_WRONLY:
        return "ab" if appending else "wb"
    if flags & os.O_RDWR:
        return "a+b" if appending else "r+b"
    return "rb"


def _status(error: OSError) -> int:
    return int(paramiko.SFTPServer.convert_errno(error.errno))


class FolderSftp(paramiko.SFTPServerInterface):
    """The server's files: paths on the server are paths under the fake's root folder."""

    def __init__(self, login: Login, *args: Any, **kwargs: Any) -> None:
        super().__init__(login, *args, **kwargs)
        self.server = login.server
        self.transport = login.transport

    def canonicalize(self, path: str) -> str:
        return posixpath.normpath(posixpath.join("/", path)).replace("//", "/")

    def local(self, path: str) -> Path:
        return self.server.root / self.canonicalize(path).lstrip("/")

    def list_folder(self, path: str) -> Any:
        folder = self.local(path)
        try:
            return [
                paramiko.SFTPAttributes.from_stat(os.lstat(folder / name), name)
                for name in sorted(os.listdir(folder))
            ]
        except OSError as error:
            return _status(error)

    def stat(self, path: str) -> Any:
        try:
            return paramiko.SFTPAttributes.from_stat(os.stat(self.local(path)))
        except OSError as error:
            return _status(error)

    def lstat(self, path: str) -> Any:
        try:
            return paramiko.SFTPAttributes.from_stat(os.lstat(self.local(path)))
        except OSError as error:
            return _status(error)

    def open(self, path: str, flags: int, attr: Any) -> Any:
        writing = bool(flags & (os.O_WRONLY | os.O_RDWR))
        try:
            descriptor = os.open(self.local(path), flags, 0o644)
        except OSError as error:
            return _status(error)
        mode = _file_mode(flags)
        handle = FileHandle(flags, self.server, self.transport)
        handle.readfile = os.fdopen(descriptor, mode)
        if writing:
            handle.writefile = handle.readfile
        return handle

    def remove(self, path: str) -> int:
        return self._do(os.remove, self.local(path))

    def rename(self, oldpath: str, newpath: str) -> int:
        if os.path.lexists(self.local(newpath)):
            return SFTP_FAILURE  # plain SFTP rename never replaces
        return self._do(os.rename, self.local(oldpath), self.local(newpath))

    def posix_rename(self, oldpath: str, newpath: str) -> int:
        if not self.server.posix_rename:
            return SFTP_OP_UNSUPPORTED
        return self._do(os.replace, self.local(oldpath), self.local(newpath))

    def mkdir(self, path: str, attr: Any) -> int:
        return self._do(os.mkdir, self.local(path))

    def rmdir(self, path: str) -> int:
        return self._do(os.rmdir, self.local(path))

    def chattr(self, path: str, attr: Any) -> int:
        return self._do(paramiko.SFTPServer.set_file_attr, str(self.local(path)), attr)

    def symlink(self, target_path: str, path: str) -> int:
        target = str(self.local(target_path)) if target_path.startswith("/") else target_path
        return self._do(os.symlink, target, self.local(path))

    def readlink(self, path: str) -> Any:
        try:
            target = os.readlink(self.local(path))
        except OSError as error:
            return _status(error)
        root = str(self.server.root)
        return "/" + os.path.relpath(target, root) if target.startswith(root) else target

    @staticmethod
    def _do(operation: Any, *arguments: Any) -> int:
        try:
            operation(*arguments)
        except OSError as error:
            return _status(error)
        return SFTP_OK


class FileHandle(paramiko.SFTPHandle):
    """An open file; the fake's cut fires in a file's first write: half the bytes land, then
    the connection goes."""

    def __init__(self, flags: int, server: FakeSftpServer, transport: paramiko.Transport) -> None:
        super().__init__(flags)
        self.server = server
        self.transport = transport
        self.counted = False

    def stat(self) -> Any:
        try:
            return paramiko.SFTPAttributes.from_stat(os.fstat(self.readfile.fileno()))
        except OSError as error:
            return _status(error)

    def write(self, offset: int, data: bytes) -> int:
        if not self.counted:
            self.counted = True
            if self.server.cut_now():
                super().write(offset, data[: len(data) // 2])
                self.writefile.flush()
                self.transport.close()
                return SFTP_FAILURE
        return int(super().write(offset, data))


@contextlib.contextmanager
def sftp_server(
    root: Path, username: str, password: str, client_key: paramiko.PKey | None = None
) -> Iterator[FakeSftpServer]:
    """Run a fake SFTP server serving `root` (made if missing) until the block ends."""
    root.mkdir(parents=True, exist_ok=True)
    server = FakeSftpServer(root.resolve(), username, password, client_key)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind((HOST, 0))
    listener.listen(8)
    server.port = listener.getsockname()[1]
    accepting = threading.Thread(target=_accept, args=(listener, server), daemon=True)
    accepting.start()
    try:
        yield server
    finally:
        with contextlib.suppress(OSError):
            listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        listener.close()
        server.close_all()
        accepting.join(STOP_JOIN_SECONDS)


def _accept(listener: socket.socket, server: FakeSftpServer) -> None:
    while True:
        try:
            connection, _ = listener.accept()
        except OSError:
            return  # the listener was closed: the server stops
        threading.Thread(target=server.serve, args=(connection,), daemon=True).start()
