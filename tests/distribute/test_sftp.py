"""The SFTP file drop against a paramiko SFTP server on 127.0.0.1 serving a temporary folder:
the version lands whole and `latest` follows it, a connection cut half-way leaves `latest` on
the version before, host keys are always checked, and the password appears nowhere."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import logging
import os
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import paramiko
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from lakehouse.cli import app
from lakehouse.distribute import DESTINATION_TYPES, Receipt
from lakehouse.distribute.delivery import (
    DeliveredColumn,
    DeliveredTable,
    Delivery,
    ProductMetadata,
)
from lakehouse.distribute.sftp import DESTINATION, SftpSpec
from lakehouse.errors import DistributeError
from lakehouse.project import Lakehouse
from tests.distribute.test_drops import publish_next
from tests.fakes.faults import HOST
from tests.fakes.sftp_server import FakeSftpServer, sftp_server
from tests.transform.test_plan import numbers_and_letters, write

USER = "dropper"
PASSWORD = "planted-pass-7301"
WRONG_PASSWORD = "planted-wrong-5519"
HOUR = 3600
PACKAGE_FILES = ["DICTIONARY.md", "README.md", "SHA256SUMS", "data/prod.csv"]
OTHER_FINGERPRINT = "SHA256:" + base64.b64encode(hashlib.sha256(b"another key").digest()).decode()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[FakeSftpServer]:
    with sftp_server(tmp_path / "server", USER, PASSWORD) as fake:
        yield fake


@pytest.fixture(autouse=True)
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SFTP_USERNAME", USER)
    monkeypatch.setenv("SFTP_PASSWORD", PASSWORD)


def spec_for(server: FakeSftpServer, **changes: object) -> SftpSpec:
    """The destination as a destinations file would give it, validated through the registry."""
    settings: dict[str, object] = {
        "name": "agency",
        "type": "sftp",
        "host": server.host,
        "port": server.port,
        "path": "/drops/prod",
        "host_key_sha256": server.fingerprint,
        **changes,
    }
    spec = DESTINATION_TYPES.get("sftp").spec.model_validate(settings)
    assert isinstance(spec, SftpSpec)
    return spec


def make_delivery(tmp_path: Path, version: str, letters: str = "ab") -> Delivery:
    """A package like `lake package` makes (data, dictionary, readme, checksums), by hand."""
    package = tmp_path / "packages" / version
    texts = {
        "data/prod.csv": "n,letter\n" + "".join(f"{i},{c}\n" for i, c in enumerate(letters)),
        "DICTIONARY.md": f"# prod {version}\n\n| n | integer |\n| letter | text |\n",
        "README.md": f"prod, version {version}\n",
    }
    texts["SHA256SUMS"] = "".join(
        f"{hashlib.sha256(text.encode()).hexdigest()}  {name}\n"
        for name, text in sorted(texts.items())
    )
    for name, text in texts.items():
        (package / name).parent.mkdir(parents=True, exist_ok=True)
        (package / name).write_text(text)
    parquet = tmp_path / "packages" / f"{version}.parquet"
    pq.write_table(pa.table({"n": list(range(len(letters))), "letter": list(letters)}), parquet)
    columns = [
        DeliveredColumn("n", "n", "integer", "a number", "N"),
        DeliveredColumn("letter", "letter", "text", "a letter", "Letter"),
    ]
    return Delivery(
        product="prod",
        version=version,
        build_id=f"build-{version}",
        published_at=datetime(2026, 11, 3, 12, 0, tzinfo=UTC),
        package=package,
        files={name: hashlib.sha256(text.encode()).hexdigest() for name, text in texts.items()},
        tables={"prod": DeliveredTable("prod", len(letters), parquet, columns)},
        metadata=ProductMetadata("Prod", "Numbers and letters", "data team"),
    )


class Said:
    """A progress reporter that keeps what it was told."""

    def __init__(self) -> None:
        self.tasks: list[str] = []

    def __call__(self, task: str, done: int, total: int | None = None) -> None:
        self.tasks.append(task)


def send(spec: SftpSpec, delivery: Delivery) -> Receipt:
    return DESTINATION.send(spec, delivery, Said())


def files_under(folder: Path) -> dict[str, bytes]:
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def package_bytes(delivery: Delivery) -> dict[str, bytes]:
    return {name: (delivery.package / name).read_bytes() for name in sorted(delivery.files)}


def hidden(drop: Path) -> list[str]:
    return sorted(path.name for path in drop.iterdir() if path.name.startswith("."))


def age(path: Path, seconds: float) -> None:
    """Set the mtime of `path` and everything in it `seconds` in the past."""
    then = time.time() - seconds
    for inside in [path, *path.rglob("*")]:
        os.utime(inside, (then, then), follow_symlinks=False)


def test_a_drop_lands_the_version_whole_then_points_latest_at_it(
    server: FakeSftpServer, tmp_path: Path
) -> None:
    delivery = make_delivery(tmp_path, "26v1")
    said = Said()
    receipt = DESTINATION.send(spec_for(server), delivery, said)
    drop = server.root / "drops" / "prod"
    assert files_under(drop / "26v1") == package_bytes(delivery)
    assert os.readlink(drop / "latest") == "26v1"
    assert files_under(drop / "latest") == package_bytes(delivery)
    assert json.loads((drop / "latest.json").read_text()) == {
        "product": "prod",
        "version": "26v1",
        "published_at": "2026-11-03T12:00:00+00:00",
        "files": delivery.files,
    }
    assert sorted(path.name for path in drop.iterdir()) == ["26v1", "latest", "latest.json"]
    assert receipt == Receipt(
        f"sftp://127.0.0.1:{server.port}/drops/prod/26v1",
        "26v1",
        {"latest": f"sftp://127.0.0.1:{server.port}/drops/prod/latest", "pointer": "latest.json"},
    )
    assert said.tasks == [f"uploading {name}" for name in PACKAGE_FILES] + ["latest is 26v1"]


def test_a_second_version_switches_latest_and_the_dry_run_says_so_first(
    server: FakeSftpServer, tmp_path: Path
) -> None:
    first, second = make_delivery(tmp_path, "26v1"), make_delivery(tmp_path, "26v2", "abc")
    spec = spec_for(server)
    where = f"sftp://127.0.0.1:{server.port}/drops/prod"
    assert DESTINATION.preview(spec, first) == [
        f"{where}: 26v1/ would be written (4 files, 319 bytes)",
        "  latest: none -> 26v1",
    ]
    assert not (server.root / "drops").exists()  # a dry run writes nothing
    send(spec, first)
    drop = server.root / "drops" / "prod"
    before = files_under(drop)
    assert DESTINATION.preview(spec, second) == [
        f"{where}: 26v2/ would be written (4 files, 323 bytes)",
        "  latest: 26v1 -> 26v2",
    ]
    assert files_under(drop) == before
    send(spec, second)
    assert os.readlink(drop / "latest") == "26v2"
    assert json.loads((drop / "latest.json").read_text())["version"] == "26v2"
    assert files_under(drop / "26v1") == package_bytes(first)
    assert files_under(drop / "latest") == package_bytes(second)
    assert DESTINATION.preview(spec, second) == [
        f"{where}: 26v2/ is already there",
        "  latest: 26v2 -> 26v2 (unchanged)",
    ]
    send(spec, first)  # back to the first: its folder is checked, not rewritten
    assert os.readlink(drop / "latest") == "26v1"


def test_a_drop_cut_half_way_leaves_latest_on_the_version_before_and_is_cleaned_next_time(
    server: FakeSftpServer, tmp_path: Path
) -> None:
    first, second = make_delivery(tmp_path, "26v1"), make_delivery(tmp_path, "26v2", "abc")
    spec = spec_for(server)
    send(spec, first)
    drop = server.root / "drops" / "prod"
    server.files_written, server.cut_after_files = 0, 2  # SHA256SUMS, the third, is cut
    with pytest.raises(DistributeError) as cut:
        send(spec, second)
    assert str(cut.value) == (
        f"The connection to sftp://127.0.0.1:{server.port}/drops/prod was lost while "
        "uploading SHA256SUMS; what `latest` names there is whole: distribute again to finish."
    )
    assert os.readlink(drop / "latest") == "26v1"
    assert files_under(drop / "latest") == package_bytes(first)
    assert json.loads((drop / "latest.json").read_text())["version"] == "26v1"
    assert not (drop / "26v2").exists()
    (left,) = hidden(drop)
    assert left.startswith(f".26v2.tmp-{os.getpid()}-")
    partial = files_under(drop / left)
    assert sorted(partial) == ["DICTIONARY.md", "README.md", "SHA256SUMS"]
    assert len(partial["SHA256SUMS"]) < len(package_bytes(second)["SHA256SUMS"])

    server.cut_after_files = None
    age(drop / left, 2 * HOUR)  # as if the cut drop were long gone
    fresh = drop / ".26v0.tmp-999-abcdef"  # a drop that may still be running elsewhere
    (fresh / "data").mkdir(parents=True)
    (fresh / "data" / "prod.csv").write_text("n\n")
    send(spec, second)
    assert os.readlink(drop / "latest") == "26v2"
    assert files_under(drop / "latest") == package_bytes(second)
    assert hidden(drop) == [".26v0.tmp-999-abcdef"]


def test_a_wrong_password_is_refused_in_a_sentence_naming_the_variables(
    server: FakeSftpServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENCY_USER", USER)
    monkeypatch.setenv("AGENCY_PASSWORD", WRONG_PASSWORD)
    spec = spec_for(server, username_env="AGENCY_USER", password_env="AGENCY_PASSWORD")
    with pytest.raises(DistributeError) as refused:
        send(spec, make_delivery(tmp_path, "26v1"))
    assert str(refused.value) == (
        f"sftp://127.0.0.1:{server.port}/drops/prod refused the login; check the user name in "
        "AGENCY_USER and the password in AGENCY_PASSWORD."
    )
    assert server.refused_logins == 1
    assert list(server.root.iterdir()) == []


def test_a_missing_password_is_named_by_its_variable(
    server: FakeSftpServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SFTP_PASSWORD")
    with pytest.raises(DistributeError) as missing:
        send(spec_for(server), make_delivery(tmp_path, "26v1"))
    assert str(missing.value) == (
        "Destination 'agency' needs its SFTP password in the environment variable "
        "SFTP_PASSWORD; set it (credentials are never read from files)."
    )


def test_a_host_key_other_than_the_one_given_is_refused_before_logging_in(
    server: FakeSftpServer, tmp_path: Path
) -> None:
    spec = spec_for(server, host_key_sha256=OTHER_FINGERPRINT)
    with pytest.raises(DistributeError) as refused:
        send(spec, make_delivery(tmp_path, "26v1"))
    assert str(refused.value) == (
        f"127.0.0.1:{server.port} presented the host ssh-rsa key {server.fingerprint}, not the "
        f"{OTHER_FINGERPRINT.rstrip('=')} given in host_key_sha256 of destination 'agency'; "
        "refusing to connect: if the server's key changed, confirm the new one with its "
        "administrator and update host_key_sha256."
    )
    assert server.refused_logins == 0 and list(server.root.iterdir()) == []


def test_known_hosts_lets_in_the_listed_key_only(server: FakeSftpServer, tmp_path: Path) -> None:
    delivery = make_delivery(tmp_path, "26v1")
    known = tmp_path / "known_hosts"
    known.write_text(f"files.example.org {server.host_key.get_name()} AAAA\n")
    unlisted = spec_for(server, host_key_sha256=None, known_hosts=str(known))
    with pytest.raises(DistributeError) as unknown:
        send(unlisted, delivery)
    assert str(unknown.value) == (
        f"{known} has no entry for [127.0.0.1]:{server.port}, which presented the host ssh-rsa "
        f"key {server.fingerprint}; refusing an unknown host: confirm that key with the "
        "server's administrator, then add it to known_hosts or set host_key_sha256."
    )
    other = paramiko.RSAKey.generate(1024)
    known.write_text(f"[127.0.0.1]:{server.port} ssh-rsa {other.get_base64()}\n")
    with pytest.raises(DistributeError, match=r"presented the host ssh-rsa key SHA256:\S+, which"):
        send(unlisted, delivery)
    assert list(server.root.iterdir()) == []

    known.write_text(server.known_hosts_line() + "\n")
    send(unlisted, delivery)
    assert os.readlink(server.root / "drops" / "prod" / "latest") == "26v1"


def test_nothing_listening_is_one_sentence(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port = probe.getsockname()[1]
    spec = SftpSpec(
        name="agency", type="sftp", host=HOST, port=port, path="/drops",
        host_key_sha256=OTHER_FINGERPRINT,
    )  # fmt: skip
    with pytest.raises(DistributeError) as refused:
        send(spec, make_delivery(tmp_path, "26v1"))
    assert str(refused.value) == (
        f"Nothing accepts connections at 127.0.0.1:{port} (connection refused); check the "
        "host and port of destination 'agency', and that its SFTP server is running."
    )


def test_a_version_folder_holding_other_files_is_never_rewritten(
    server: FakeSftpServer, tmp_path: Path
) -> None:
    delivery = make_delivery(tmp_path, "26v1")
    spec = spec_for(server)
    send(spec, delivery)
    changed = server.root / "drops" / "prod" / "26v1" / "data" / "prod.csv"
    changed.write_text(changed.read_text().replace("0,a", "0,z"))  # same size, other bytes
    with pytest.raises(DistributeError) as refused:
        send(spec, delivery)
    assert str(refused.value) == (
        f"sftp://127.0.0.1:{server.port}/drops/prod/26v1 already holds other files than prod "
        "26v1's csv package; a dropped version is never rewritten: move that folder away (or "
        "send to another path) and distribute again."
    )
    assert changed.read_text() == "n,letter\n0,z\n1,b\n"


def test_a_real_latest_folder_is_refused_before_anything_is_sent(
    server: FakeSftpServer, tmp_path: Path
) -> None:
    drop = server.root / "drops" / "prod"
    (drop / "latest").mkdir(parents=True)
    with pytest.raises(DistributeError) as refused:
        send(spec_for(server), make_delivery(tmp_path, "26v1"))
    assert str(refused.value) == (
        f"sftp://127.0.0.1:{server.port}/drops/prod/latest is a real folder, not the link this "
        "drop switches; move it away and distribute again."
    )
    assert sorted(path.name for path in drop.iterdir()) == ["latest"]


def test_a_server_without_posix_rename_is_refused_before_anything_is_sent(
    server: FakeSftpServer, tmp_path: Path
) -> None:
    server.posix_rename = False
    with pytest.raises(DistributeError) as refused:
        send(spec_for(server), make_delivery(tmp_path, "26v1"))
    assert str(refused.value) == (
        f"sftp://127.0.0.1:{server.port}/drops/prod cannot replace a file in one step (its "
        "server lacks OpenSSH's posix-rename@openssh.com: Operation unsupported), which this "
        "drop needs to switch `latest` safely; use an OpenSSH server or another destination "
        "type."
    )
    assert list((server.root / "drops" / "prod").iterdir()) == []


def test_a_key_login_reads_the_key_text_from_its_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key, stranger = paramiko.RSAKey.generate(1024), paramiko.RSAKey.generate(1024)
    text = io.StringIO()
    key.write_private_key(text)
    monkeypatch.setenv("AGENCY_KEY", text.getvalue())
    monkeypatch.delenv("SFTP_PASSWORD")
    with sftp_server(tmp_path / "server", USER, PASSWORD, client_key=key) as server:
        spec = spec_for(server, key_env="AGENCY_KEY")
        send(spec, make_delivery(tmp_path, "26v1"))
        assert os.readlink(server.root / "drops" / "prod" / "latest") == "26v1"
        text = io.StringIO()
        stranger.write_private_key(text)
        monkeypatch.setenv("AGENCY_KEY", text.getvalue())
        with pytest.raises(DistributeError) as refused:
            send(spec, make_delivery(tmp_path, "26v2"))
    assert str(refused.value) == (
        f"sftp://127.0.0.1:{server.port}/drops/prod refused the login; check the user name in "
        "SFTP_USERNAME and the private key in AGENCY_KEY."
    )
    monkeypatch.setenv("AGENCY_KEY", "not a key")  # found before connecting: the server is gone
    with pytest.raises(DistributeError, match="The private key in AGENCY_KEY cannot be read; "):
        send(spec, make_delivery(tmp_path, "26v2"))


def test_the_planted_passwords_appear_in_no_message_receipt_or_log(
    server: FakeSftpServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    spec = spec_for(server)
    first, second = make_delivery(tmp_path, "26v1"), make_delivery(tmp_path, "26v2", "abc")
    said: list[str] = [*DESTINATION.preview(spec, first), repr(send(spec, first)), spec.where()]
    server.files_written, server.cut_after_files = 0, 1
    failures = []
    with pytest.raises(DistributeError) as cut:
        send(spec, second)
    failures.append(cut.value)
    monkeypatch.setenv("SFTP_PASSWORD", WRONG_PASSWORD)
    with pytest.raises(DistributeError) as refused:
        send(spec, second)
    failures.append(refused.value)
    for failure in failures:
        chain: BaseException | None = failure
        while chain is not None:
            said += [str(chain), repr(chain)]
            chain = chain.__cause__ or chain.__context__
    output = capsys.readouterr()
    said += [caplog.text, output.out, output.err, spec.model_dump_json()]
    assert "Authentication (password) successful" in caplog.text  # paramiko's log was kept
    assert any(text.startswith("The connection to sftp://") for text in said)
    assert any("refused the login" in text for text in said)
    for text in said:
        assert PASSWORD not in text and WRONG_PASSWORD not in text


def test_the_spec_checks_its_host_and_insists_on_a_host_key_check() -> None:
    base = {"name": "agency", "type": "sftp", "path": "drops/prod"}
    with pytest.raises(ValidationError, match=r"'me@files\.example\.org' is not a host name"):
        SftpSpec.model_validate({**base, "host": "me@files.example.org", "known_hosts": "k"})
    with pytest.raises(ValidationError, match="unknown host keys are never accepted"):
        SftpSpec.model_validate({**base, "host": "files.example.org"})
    with pytest.raises(ValidationError, match="is not a SHA256 host key fingerprint"):
        SftpSpec.model_validate({**base, "host": "files.example.org", "host_key_sha256": "abc"})
    bare = OTHER_FINGERPRINT.removeprefix("SHA256:")
    spec = SftpSpec.model_validate({**base, "host": "Files.Example.org", "host_key_sha256": bare})
    assert spec.host_key_sha256 == OTHER_FINGERPRINT.rstrip("=")
    assert spec.where() == "sftp://files.example.org:22/~/drops/prod"
    ipv6 = SftpSpec.model_validate(
        {**base, "host": "::1", "port": 2222, "path": "/srv/drops/", "known_hosts": "k"}
    )
    assert ipv6.where() == "sftp://[::1]:2222/srv/drops"
    assert ipv6.relative_to_project(Path("/project")).known_hosts == "/project/k"
    assert DESTINATION_TYPES.get("sftp") is DESTINATION


def test_lake_distribute_sends_a_published_version_over_sftp_and_records_no_password(
    lake: Lakehouse,
    project_dir: Path,
    tmp_path: Path,
    server: FakeSftpServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    numbers_and_letters(lake, project_dir, tmp_path)
    dictionary = project_dir / "contracts" / "prod" / "dictionary.yml"
    dictionary.write_text(
        dictionary.read_text().replace(
            "    description: every number with every letter\n",
            "    description: every number with every letter\n    primary_key: [n, letter]\n",
        )
    )  # publishing diffs against the version before, by key
    version = publish_next(lake)
    write(
        project_dir,
        {
            "recipes/prod.destinations.yml": (
                "destinations:\n"
                f"  - {{name: agency, type: sftp, host: 127.0.0.1, port: {server.port},\n"
                f"      path: drops/prod, host_key_sha256: '{server.fingerprint}'}}\n"
            )
        },
    )
    command = ["--config", str(project_dir / "lakehouse.toml"), "distribute", "prod"]
    sent = CliRunner().invoke(app, command)
    assert sent.exit_code == 0, sent.output
    drop = server.root / "drops" / "prod"  # a relative path starts at the account's home: /
    assert os.readlink(drop / "latest") == version
    assert (drop / "latest" / "data" / "prod.csv").read_text().splitlines()[:2] == [
        "n,letter", "2,a"
    ]  # fmt: skip
    monkeypatch.setenv("SFTP_PASSWORD", WRONG_PASSWORD)
    refused = CliRunner().invoke(app, [*command, "--force"])
    assert refused.exit_code == 1 and "refused the login" in refused.output
    sent_record, failed_record = lake.distributions("prod")
    assert (sent_record.result, failed_record.result) == ("sent", "failed")
    assert sent_record.location == f"sftp://127.0.0.1:{server.port}/~/drops/prod/{version}"
    stored = [path for path in Path(lake.store.root).rglob("*") if path.is_file()]
    for text in [sent.output, refused.output, *(p.read_bytes().decode("latin-1") for p in stored)]:
        assert PASSWORD not in text and WRONG_PASSWORD not in text
