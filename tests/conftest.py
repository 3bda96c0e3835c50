"""Shared fixtures: a fresh project per test, template writing, and an S3 server on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from lakehouse.config import init_project, load_config
from lakehouse.project import Lakehouse
from tests.fakes.realdata import require_realdata
from tests.fakes.s3 import create_bucket, s3_server


def realdata(name: str) -> Path:
    """A file of ../shared/realdata, or skip the test when the shared folder is absent."""
    return require_realdata(name) / name


@pytest.fixture
def project_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "project"
    init_project(folder)
    config = load_config(folder / "lakehouse.toml")
    config.templates_dir.mkdir(parents=True)
    config.recipes_dir.mkdir(parents=True)
    return folder


@pytest.fixture
def lake(project_dir: Path) -> Lakehouse:
    return Lakehouse(load_config(project_dir / "lakehouse.toml"))


def write_template(project_dir: Path, name: str, text: str) -> Path:
    """Write `<name>.yml` into the project's templates folder (as its lakehouse.toml says)."""
    path = load_config(project_dir / "lakehouse.toml").templates_dir / f"{name}.yml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def csv_file(tmp_path: Path) -> Path:
    path = tmp_path / "lots.csv"
    path.write_text(
        'bbl,Owner Name,zip\n1000010001,"SMITH, JOHN",10001\n2000020002,  ACME  ,00123\n'
        "3000030003,,11201\n",
        encoding="utf-8",
    )
    return path


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """moto's S3 server on 127.0.0.1, with test credentials in the environment."""
    with s3_server() as endpoint:
        yield endpoint


@pytest.fixture
def s3_bucket(s3_endpoint: str, request: pytest.FixtureRequest) -> str:
    """A new, empty bucket for one test."""
    return create_bucket(s3_endpoint, "lake-" + request.node.name)
