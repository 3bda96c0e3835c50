"""`lake distribute` to file drops (a folder, moto's S3 on 127.0.0.1), and what every
destination shares: only published versions, one record per attempt, a destination that
already has a version left alone, a dry run that writes nothing, one failing destination that
does not stop the others, a kill in the middle that leaves `latest` on a whole version, and
credentials that appear nowhere."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lakehouse.cli import app
from lakehouse.distribute import DESTINATION_TYPES, DestinationType, Receipt
from lakehouse.distribute.drops import FolderSpec
from lakehouse.errors import ConfigError, DistributeError, NotFoundError
from lakehouse.project import Lakehouse
from tests.transform.test_plan import numbers_and_letters, write


def publish_next(lake: Lakehouse) -> str:
    lake.build("prod")
    lake.diff_report("prod")
    return lake.publish("prod").version


@pytest.fixture
def prod(lake: Lakehouse, project_dir: Path, tmp_path: Path) -> Lakehouse:
    """The small product of test_plan, built and published once, with a folder drop."""
    numbers_and_letters(lake, project_dir, tmp_path)
    dictionary = project_dir / "contracts" / "prod" / "dictionary.yml"
    dictionary.write_text(
        dictionary.read_text().replace(
            "    description: every number with every letter\n",
            "    description: every number with every letter\n    primary_key: [n, letter]\n",
        )
    )
    publish_next(lake)
    write(
        project_dir,
        {
            "recipes/prod.destinations.yml": (
                "destinations:\n  - {name: drop, type: folder, format: csv, path: drops/prod}\n"
            )
        },
    )
    return lake


def sent(lake: Lakehouse, **options: object) -> list[object]:
    return list(lake.distribute("prod", **options))  # type: ignore[arg-type]


def test_a_folder_drop_writes_the_version_then_switches_latest(
    prod: Lakehouse, project_dir: Path
) -> None:
    (outcome,) = sent(prod)
    assert outcome.status == "sent"  # type: ignore[attr-defined]
    drop = project_dir / "drops" / "prod"
    version = prod.published("prod")[-1].version
    files = sorted(p.relative_to(drop / version).as_posix() for p in (drop / version).rglob("*"))
    assert files == ["DICTIONARY.md", "README.md", "SHA256SUMS", "data", "data/prod.csv"]
    assert os.readlink(drop / "latest") == version
    assert (drop / "latest" / "data" / "prod.csv").read_text().splitlines()[:2] == [
        "n,letter", "2,a"
    ]  # fmt: skip
    assert json.loads((drop / "latest.json").read_text())["version"] == version
    (record,) = prod.distributions("prod")
    assert (record.destination, record.version, record.result) == ("drop", version, "sent")
    assert record.files["data/prod.csv"] and record.location == str(drop / version)


def test_sending_a_version_the_destination_has_is_a_no_op_unless_forced(prod: Lakehouse) -> None:
    sent(prod)
    (again,) = sent(prod)
    assert again.status == "unchanged"  # type: ignore[attr-defined]
    assert "already has prod" in again.message and "--force" in again.message  # type: ignore[attr-defined]
    assert len(prod.distributions("prod")) == 1
    (forced,) = sent(prod, force=True)
    assert forced.status == "sent"  # type: ignore[attr-defined]
    assert len(prod.distributions("prod")) == 2


def test_a_dry_run_says_what_would_change_and_writes_nothing(
    prod: Lakehouse, project_dir: Path
) -> None:
    (outcome,) = sent(prod, dry_run=True)
    version = prod.published("prod")[-1].version
    assert outcome.status == "dry run"  # type: ignore[attr-defined]
    assert re.fullmatch(
        rf"folder .*/drops/prod: {version}/ would be written \(4 files, [\d,]+ bytes\)",
        outcome.lines[0],  # type: ignore[attr-defined]
    )
    assert outcome.lines[1] == f"  latest: none -> {version}"  # type: ignore[attr-defined]
    assert not (project_dir / "drops").exists()
    assert prod.distributions("prod") == []


def test_only_published_versions_go_and_unknown_destinations_are_named(prod: Lakehouse) -> None:
    build_id = prod.builds("prod")[-1].build_id
    with pytest.raises(
        NotFoundError, match=r"prod has no published '2.*'; only published versions are distributed"
    ):
        sent(prod, version=build_id)
    with pytest.raises(ConfigError, match="prod has no destination 'drp'; did you mean 'drop'"):
        sent(prod, to=["drp"])


def broken_send(spec: object, delivery: object, progress: object) -> Receipt:
    raise DistributeError("The portal said no (planted failure).")


class BrokenSpec(FolderSpec):
    type: str = "broken"  # type: ignore[assignment]


def test_a_failing_destination_is_recorded_and_the_others_go_on(
    prod: Lakehouse, project_dir: Path
) -> None:
    DESTINATION_TYPES.register(
        DestinationType("broken", BrokenSpec, lambda spec, delivery: [], broken_send)
    )
    try:
        write(
            project_dir,
            {
                "recipes/prod.destinations.yml": (
                    "destinations:\n"
                    "  - {name: portal, type: broken, path: nowhere}\n"
                    "  - {name: drop, type: folder, path: drops/prod}\n"
                )
            },
        )
        outcomes = sent(prod)
        assert [o.status for o in outcomes] == ["failed", "sent"]  # type: ignore[attr-defined]
        failed = prod.distributions("prod")[0]
        assert (failed.destination, failed.result) == ("portal", "failed")
        assert failed.message == "The portal said no (planted failure)."
        said = CliRunner().invoke(
            app, ["--config", str(project_dir / "lakehouse.toml"), "distribute", "prod"]
        )
        assert said.exit_code == 1
        assert "failed portal" in said.output and "unchanged drop" in said.output
    finally:
        DESTINATION_TYPES.unregister("broken")


KILLER = """
import os, shutil, sys
import lakehouse
from lakehouse.distribute import drops

copied = []
real = shutil.copyfile

def copy_then_die(source, target):
    copied.append(target)
    if len(copied) == 3:
        os.kill(os.getpid(), 9)
    return real(source, target)

drops.shutil.copyfile = copy_then_die
lake = lakehouse.open(sys.argv[1])
list(lake.distribute("prod"))
"""


def test_a_drop_killed_half_way_leaves_latest_on_a_whole_version(
    prod: Lakehouse, project_dir: Path
) -> None:
    first = prod.published("prod")[-1].version
    sent(prod)
    second = publish_next(prod)
    killed = subprocess.run(
        [sys.executable, "-c", KILLER, str(project_dir / "lakehouse.toml")],
        capture_output=True,
        check=False,
    )
    assert killed.returncode == -9, killed.stderr
    drop = project_dir / "drops" / "prod"
    assert os.readlink(drop / "latest") == first and not (drop / second).exists()
    leftovers = [p.name for p in drop.iterdir() if p.name.startswith(f".{second}.tmp-")]
    assert len(leftovers) == 1
    sums = (drop / "latest" / "SHA256SUMS").read_text().splitlines()
    assert len(sums) == 3  # the version latest names is whole

    (outcome,) = sent(prod)
    assert outcome.status == "sent"  # type: ignore[attr-defined]
    assert os.readlink(drop / "latest") == second
    assert not any(p.name.startswith(".") for p in drop.iterdir())  # the dead drop's is gone


def test_an_s3_drop_on_moto_with_credentials_that_appear_nowhere(
    prod: Lakehouse, project_dir: Path, s3_endpoint: str, s3_bucket: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    key, secret = "PLANTEDKEY1234", "planted-secret-5678"
    monkeypatch.setenv("DROP_KEY", key)
    monkeypatch.setenv("DROP_SECRET", secret)
    write(
        project_dir,
        {
            "recipes/prod.destinations.yml": (
                "destinations:\n"
                f"  - {{name: bucket, type: s3, bucket: {s3_bucket}, prefix: drops/prod,\n"
                f"      endpoint_url: '{s3_endpoint}', access_key_env: DROP_KEY,\n"
                "      secret_key_env: DROP_SECRET}\n"
            )
        },
    )
    said = CliRunner().invoke(
        app, ["--config", str(project_dir / "lakehouse.toml"), "distribute", "prod"]
    )
    assert said.exit_code == 0, said.output
    version = prod.published("prod")[-1].version
    import s3fs

    fs = s3fs.S3FileSystem(key=key, secret=secret, client_kwargs={"endpoint_url": s3_endpoint})
    base = f"{s3_bucket}/drops/prod"
    assert json.loads(fs.cat(f"{base}/latest.json"))["version"] == version
    assert fs.cat(f"{base}/{version}/data/prod.csv") == fs.cat(f"{base}/latest/data/prod.csv")
    assert fs.exists(f"{base}/latest/SHA256SUMS")
    stored = [p for p in Path(prod.store.root).rglob("*") if p.is_file()]
    for text in [said.output, *(p.read_bytes().decode("latin-1") for p in stored)]:
        assert key not in text and secret not in text


def test_a_missing_credential_is_named_by_its_variable(
    prod: Lakehouse, project_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NO_SUCH_KEY", raising=False)
    write(
        project_dir,
        {
            "recipes/prod.destinations.yml": (
                "destinations:\n"
                "  - {name: bucket, type: s3, bucket: b, access_key_env: NO_SUCH_KEY}\n"
            )
        },
    )
    (outcome,) = sent(prod)
    assert outcome.status == "failed"  # type: ignore[attr-defined]
    assert outcome.message == (  # type: ignore[attr-defined]
        "Destination 'bucket' needs its access key id in the environment variable NO_SUCH_KEY; "
        "set it (credentials are never read from files)."
    )


def test_metadata_as_markdown_and_a_workbook(prod: Lakehouse, project_dir: Path) -> None:
    recipe = project_dir / "recipes" / "prod.yml"
    recipe.write_text(
        recipe.read_text() + "title: Numbers and letters\ntags: [demo, test]\ncadence: monthly\n"
    )
    markdown = prod.metadata("prod", "md").read_text()
    assert markdown.startswith("# Numbers and letters\n\n- **Title**: Numbers and letters\n")
    assert "- **Tags**: demo, test" in markdown and "- **Updated**: monthly" in markdown
    assert "| n | int64 | yes | a number plus one |" in markdown
    from openpyxl import load_workbook

    book = load_workbook(prod.metadata("prod", "xlsx"))
    assert book.sheetnames == ["product", "prod"]
    assert [c.value for c in book["prod"][2]][:4] == ["n", "int64", "yes", "a number plus one"]
    assert ["Updated", "monthly"] in [[c.value for c in row] for row in book["product"].rows]


def test_a_file_drop_takes_no_renames(prod: Lakehouse, project_dir: Path) -> None:
    write(
        project_dir,
        {
            "recipes/prod.destinations.yml": (
                "destinations:\n"
                "  - {name: drop, type: folder, path: drops/prod, renames: {n: number}}\n"
            )
        },
    )
    with pytest.raises(
        ConfigError, match=r"prod\.destinations\.yml.*a folder drop sends the package"
    ):
        sent(prod)


def test_every_built_in_destination_type_loads_under_its_name() -> None:
    assert DESTINATION_TYPES.builtin_names() == ["folder", "s3", "sftp", "socrata", "arcgis"]
    for name in DESTINATION_TYPES.builtin_names():
        kind = DESTINATION_TYPES.get(name)
        assert kind.name == name
        assert kind.spec.model_fields["type"].annotation.__args__ == (name,)  # type: ignore[union-attr]
    assert DESTINATION_TYPES.get("arcgis").geometry_only
