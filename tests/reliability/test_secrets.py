"""Secrets planted in every channel a lakehouse receives them by, then looked for in every
artefact and every output: none may be there, not once.

Channels: a URL's query (token=, apikey=, pwd=, access_code=, sas=, session=), basic auth in
a URL, a token as a URL path segment and in its #fragment, a Socrata app token (sent as the
X-App-Token header), S3 keys in the environment, and LAKEHOUSE_RUN_URL holding a token. The
sources are fake servers on 127.0.0.1, which must have received the secrets (the test plants
them where they are used, not only where they are written).

Commands: ingest (those sources, and one that fails, with and without --debug), build, QA
report, publish, package, docs, show, catalog, versions, published, verify; on an S3 store
(moto) ingests of a Parquet and a Delta dataset. Looked in: every file under the store and the
workspace (where docs and packages go), every member of the package zip, every S3 object, and
everything every command printed (a --debug failure's traceback too).
"""

from __future__ import annotations

import base64
import traceback
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from click.testing import Result
from typer.testing import CliRunner

from lakehouse.cli import app
from tests import fakes
from tests.conftest import write_template
from tests.fakes.s3 import create_bucket
from tests.reliability.conftest import (
    PRODUCT,
    Stages,
    copy_project,
    move_store_to_s3,
)

pytestmark = pytest.mark.reliability

QUERY_SECRETS = {
    "token": "tokSECRET1q2w3e4r",
    "apikey": "keySECRET5t6y7u8i",
    "pwd": "pwdSECRET9o0p1a2s",
    "access_code": "codeSECRET3d4f5g6h",
    "sas": "sasSECRET7j8k9l0z",
    "session": "sesSECRET1x2c3v4b",
}
BASIC_USER, BASIC_PASSWORD = "ingester", "basicSECRET5n6m7q8w"
PATH_TOKEN = "pathSECRET9e0r1t2y3u4i5o"  # a key-like path segment
FRAGMENT = "fragSECRET6p7a8s9d"
APP_TOKEN = "appSECRET0f1g2h3j"
AWS_KEY_ID, AWS_SECRET = "AKIASECRET4k5l6z7x", "awsSECRET8c9v0b1n2m"
RUN_TOKEN = "runSECRET3q4w5e6r"
SECRETS = {
    **{f"query {name}=": value for name, value in QUERY_SECRETS.items()},
    "basic auth password": BASIC_PASSWORD,
    "basic auth header": base64.b64encode(f"{BASIC_USER}:{BASIC_PASSWORD}".encode()).decode(),
    "path token": PATH_TOKEN,
    "fragment": FRAGMENT,
    "Socrata app token": APP_TOKEN,
    "AWS_ACCESS_KEY_ID": AWS_KEY_ID,
    "AWS_SECRET_ACCESS_KEY": AWS_SECRET,
    "LAKEHOUSE_RUN_URL token": RUN_TOKEN,
}
CSV = b"id,name\n" + b"".join(b"%d,name %d\n" % (i, i) for i in range(40))
SOCRATA_ID = "abcd-1234"


@pytest.fixture
def secret_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", AWS_KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", AWS_SECRET)
    monkeypatch.setenv("LAKEHOUSE_RUN_URL", f"https://ci.example.org/runs/7?token={RUN_TOKEN}")
    monkeypatch.setenv("SECRET_APP_TOKEN", APP_TOKEN)


@pytest.fixture
def servers() -> Iterator[tuple[fakes.FileServer, fakes.SocrataServer]]:
    with fakes.FileServer() as files, fakes.SocrataServer() as portal:
        portal.add_sample_dataset(SOCRATA_ID, n=300, seed=5)
        yield files, portal


class Outputs:
    """Everything the commands printed, by command."""

    def __init__(self, project: Path) -> None:
        self.project = project
        self.said: dict[str, str] = {}

    def run(self, *args: str, ok: bool = True) -> Result:
        config = str(self.project / "lakehouse.toml")
        result = CliRunner().invoke(app, ["--config", config, *args], env={"COLUMNS": "250"})
        text = result.output
        if result.exc_info is not None and not isinstance(result.exception, SystemExit):
            text += "".join(traceback.format_exception(*result.exc_info))
        self.said[f"`lake {' '.join(args)}`"] = text
        assert (result.exit_code == 0) == ok, f"lake {' '.join(args)}: {text}"
        return result


def leaks(texts: dict[str, bytes]) -> list[str]:
    """Each (secret, place) where a secret occurs."""
    return [
        f"{secret} in {place}"
        for place, data in texts.items()
        for secret, value in SECRETS.items()
        if value.encode() in data
    ]


def files_under(folder: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def zip_members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {f"{path.name}:{name}": archive.read(name) for name in archive.namelist()}


def test_no_secret_reaches_any_artefact_or_output(
    stages: Stages,
    tmp_path: Path,
    secret_env: None,
    servers: tuple[fakes.FileServer, fakes.SocrataServer],
) -> None:
    files, portal = servers
    project = tmp_path / "p"
    copy_project(stages.published, project)
    query = "&".join(f"{name}={value}" for name, value in QUERY_SECRETS.items())
    files.add("/q.csv", CSV, content_type="text/csv")
    files.add("/b.csv", CSV.replace(b"name", b"nom"), content_type="text/csv")
    files.add(f"/dl/{PATH_TOKEN}/p.csv", CSV.replace(b"name", b"label"), content_type="text/csv")
    base = f"http://127.0.0.1:{files.port}"
    urls = {
        "q": f"{base}/q.csv?{query}&limit=5",
        "basic": f"http://{BASIC_USER}:{BASIC_PASSWORD}@127.0.0.1:{files.port}/b.csv",
        "pathtok": f"{base}/dl/{PATH_TOKEN}/p.csv#key={FRAGMENT}",
        "broken": f"{base}/missing.csv?{query}",
    }
    for name, url in urls.items():
        write_template(
            project,
            name,
            f"name: {name}\nsource: {{type: http, url: '{url}', retries: 0}}\n"
            "format: {type: csv}\n",
        )
    write_template(
        project,
        "soc",
        f"name: soc\nsource: {{type: socrata, domain: '{portal.base_url}', dataset_id: "
        f"{SOCRATA_ID}, mode: export, app_token_env: SECRET_APP_TOKEN, backoff_seconds: 0}}\n"
        "format: {type: csv}\n",
    )

    lake = Outputs(project)
    lake.run("ingest", "q", "basic", "pathtok", "soc")
    lake.run("ingest", "broken", ok=False)
    lake.run("--debug", "ingest", "broken", ok=False)
    # the secrets were used, not only written down
    received = files.requests
    assert any(r.query.get("token") == QUERY_SECRETS["token"] for r in received)
    assert any(
        r.headers.get("authorization", "").endswith(SECRETS["basic auth header"]) for r in received
    )
    assert any(PATH_TOKEN in r.path for r in received)
    assert any(r.headers.get("x-app-token") == APP_TOKEN for r in portal.requests)

    lake.run("build", PRODUCT, "--full-refresh")
    lake.run("qa", "report", "diff", PRODUCT)
    lake.run("publish", PRODUCT, "--version", "26v2")
    package = tmp_path / "package.zip"
    lake.run("package", PRODUCT, "--version", "26v2", "--format", "csv", "--out", str(package))
    lake.run("docs")
    for dataset in ("q", "basic", "pathtok", "soc"):
        lake.run("show", dataset)
        lake.run("catalog", dataset)
    lake.run("catalog")
    lake.run("versions")
    lake.run("published", PRODUCT)
    lake.run("verify")

    looked = {
        **files_under(project / ".lakehouse"),  # the store, and the workspace (docs, packages)
        **files_under(project / "recipes"),  # the lock
        **zip_members(package),
        **{f"the output of {cmd}": text.encode() for cmd, text in lake.said.items()},
    }
    assert len(looked) > 100
    found = leaks(looked)
    assert not found, f"{len(found)} secret(s) in clear:\n" + "\n".join(found)


def test_no_secret_reaches_an_s3_store(
    stages: Stages,
    tmp_path: Path,
    s3_endpoint: str,
    secret_env: None,
) -> None:
    """The S3 keys in the environment are used (moto takes any) and written nowhere: not in
    the Parquet or the Delta dataset's objects, not in what the commands print."""
    project = tmp_path / "p"
    copy_project(stages.locked, project)
    bucket = create_bucket(s3_endpoint, f"secret-{uuid.uuid4().hex[:12]}")
    move_store_to_s3(project, s3_endpoint, bucket)
    lake = Outputs(project)
    lake.run("ingest", "kp", "kd")
    lake.run("show", "kd")
    lake.run("catalog", "kd")
    lake.run("verify")
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    objects = client.list_objects_v2(Bucket=bucket)["Contents"]
    looked = {
        f"s3://{bucket}/{o['Key']}": client.get_object(Bucket=bucket, Key=o["Key"])["Body"].read()
        for o in objects
    }
    assert any("/kd/_delta/_delta_log/" in key for key in looked)
    looked |= files_under(project / ".lakehouse")
    looked |= {f"the output of {cmd}": text.encode() for cmd, text in lake.said.items()}
    found = leaks(looked)
    assert not found, f"{len(found)} secret(s) in clear:\n" + "\n".join(found)
