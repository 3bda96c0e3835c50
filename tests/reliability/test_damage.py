"""Damage injection, systematically: every kind of stored file, every kind of damage.

The project (one per module, copied by each case) has two versions of dof_pts and of the
Delta dataset kd, two builds of PLUTO-lite (b1 on dof_pts' first version, b2 on its second),
and both published (26v1 from b1, 26v2 from b2, the latest). Each case damages one file of
the newer side (dof_pts' second version, b2, its cache entry, 26v2) in one way:

- flip: one byte in the middle of the file XOR 0xFF, in place (the same inode);
- truncate: the file cut to half its length;
- replace: the file replaced by another valid file of its kind (the older side's: the first
  version's data, b1's output, 26v1's publish.json..., and for latest.json a valid pointer to
  a version that does not exist);
- delete: the file removed.

Then `lake verify` must find it (exit 1, a CORRUPT line naming the file or the thing
damaged), and no command may use the damaged data silently: a build reading a damaged raw
version is refused (or reads the right data), publishing a damaged build is refused, a damaged
cache entry is rebuilt (the build's output the same as before), packaging or promoting a
damaged published version is refused, reading a damaged Delta version is refused (or gives
its own rows).

Kinds `lake verify` does not see by design (nothing records what they must hold, or they are
re-checked where they are used) are in NOT_SEEN_BY_VERIFY: for them verify must only run
cleanly (no crash), and their users must still work.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from lakehouse.cli import app
from lakehouse.project import Lakehouse
from lakehouse.transform.index import build_folder
from tests.projects import change_lots
from tests.reliability.conftest import PRODUCT, SECOND_ROWS, Stages, copy_project, open_lake

pytestmark = pytest.mark.reliability

DAMAGES = ["flip", "truncate", "replace", "delete"]
NOT_SEEN_BY_VERIFY = {
    # the copy of a manifest kept for when the manifest is lost; read only then
    ("committed.json", "*"),
    # a published version's QA diff: publish.json records its summary, not its checksum
    ("published QA json", "*"),
    # cached contract results: not checksummed; a build checks them again before reuse
    ("cache contract json", "*"),
    # a cache entry without its record is a cache miss: the next build computes it again
    ("cache record", "delete"),
}
# what a kill between a commit and moving latest leaves too: not damage, a pointer behind, which
# verify lists (exit 0) and `verify --repair` (or the next publish) moves to the version
# published last
HEALED = {("latest.json", "delete")}


@dataclass(frozen=True)
class Sides:
    """What the damage project holds: the older and newer side of each kind (paths relative to
    the store root), and the newer build's output content hash."""

    files: dict[str, tuple[str, str]]  # kind -> (the file to damage, its older counterpart)
    names: dict[str, list[str]]  # kind -> what a CORRUPT line may name instead of the file
    b2: str
    content: str
    kd2: str  # the newer version of the Delta dataset


@pytest.fixture(scope="module")
def damaged_project(stages: Stages, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Sides]:
    folder = tmp_path_factory.mktemp("damage") / "p"
    lake = copy_project(stages.published, folder)
    change_lots(folder / "data" / "pluto_lite" / "dof_pts.csv")
    lake.ingest("dof_pts")
    lake.ingest("kd")
    lake.lock(PRODUCT)
    b2 = lake.build(PRODUCT)
    lake.diff_report(PRODUCT)
    lake.publish(PRODUCT, "26v2")
    return folder, sides_of(lake, b2.build_id)


def sides_of(lake: Lakehouse, b2: str) -> Sides:
    v1, v2 = lake.versions("dof_pts")
    k1, k2 = lake.versions("kd")
    b1 = next(b for b in lake.builds(PRODUCT) if b.build_id != b2)
    build2 = next(b for b in lake.builds(PRODUCT) if b.build_id == b2)
    f1, f2 = (b.models[PRODUCT].fingerprint for b in (b1, build2))
    cache = f"cache/{PRODUCT}/{PRODUCT}"
    record1, record2 = (f"{cache}/{f}.json" for f in (f1, f2))
    result1, result2 = (json.loads(lake.store.read_bytes(r))["file"] for r in (record1, record2))
    contracts1, contracts2 = (
        next(f for f in lake.store.list_files(cache) if f"{fingerprint}.contract-" in f)
        for fingerprint in (f1, f2)
    )
    qa1, qa2 = (
        next(f for f in lake.store.list_files(f"publish/{PRODUCT}/{v}/qa") if f.endswith("json"))
        for v in ("26v1", "26v2")
    )
    out = f"outputs/{PRODUCT}.parquet"
    raw1, raw2 = (f"raw/dof_pts/{m.version}" for m in (v1, v2))
    built1, built2 = (build_folder(PRODUCT, b) for b in (b1.build_id, b2))
    files = {
        "raw data.parquet": (v2.data_files[0].path, v1.data_files[0].path),
        "raw source file": (v2.source_files[0].path, v1.source_files[0].path),
        "manifest.json": (f"{raw2}/manifest.json", f"{raw1}/manifest.json"),
        "committed.json": (f"{v2.run_folder}/committed.json", f"{v1.run_folder}/committed.json"),
        "delta data file": (k2.data_files[0].path, k1.data_files[0].path),
        "delta log entry": (k2.data_files[-1].path, k1.data_files[-1].path),
        "build.json": (f"{built2}/build.json", f"{built1}/build.json"),
        "build output": (f"{built2}/{out}", f"{built1}/{out}"),
        "cache result": (result2, result1),
        "cache record": (record2, record1),
        "cache contract json": (contracts2, contracts1),
        "published output": (f"publish/{PRODUCT}/26v2/{out}", f"publish/{PRODUCT}/26v1/{out}"),
        "publish.json": (
            f"publish/{PRODUCT}/26v2/publish.json",
            f"publish/{PRODUCT}/26v1/publish.json",
        ),
        "published QA json": (qa2, qa1),
        "latest.json": (f"publish/{PRODUCT}/latest.json", ""),
    }
    raw, delta = f"dof_pts {v2.version}", f"kd {k2.version}"
    names = {
        "raw data.parquet": [raw],
        "raw source file": [raw],
        "manifest.json": [raw, f"raw/dof_pts/{v2.version}/"],
        "delta data file": [delta],
        "delta log entry": [delta],
        "build.json": [b2],
        "build output": [b2],
        "cache result": [f2],
        "cache record": [f2],
        "published output": [f"{PRODUCT} 26v2"],
        "publish.json": [f"{PRODUCT} 26v2"],
        "latest.json": [f"{PRODUCT}/latest.json", f"{PRODUCT} latest"],
    }
    content = build2.outputs[f"outputs/{PRODUCT}"].content_sha256
    return Sides(files, names, b2, content, k2.version)


# -- damage ----------------------------------------------------------------------------------


def damage(path: Path, how: str, other: Path | None) -> None:
    if how == "flip":
        with open(path, "r+b") as handle:
            handle.seek(path.stat().st_size // 2)
            byte = handle.read(1)
            handle.seek(-1, 1)
            handle.write(bytes([byte[0] ^ 0xFF]))
    elif how == "truncate":
        with open(path, "r+b") as handle:
            handle.truncate(path.stat().st_size // 2)
    elif how == "replace":
        if other is None:  # latest.json: a valid pointer, to a version that is not there
            path.write_text(json.dumps({"schema_version": 1, "version": "26v9"}))
        else:
            copied = path.with_name(path.name + ".replacing")
            shutil.copyfile(other, copied)
            copied.replace(path)
    else:
        path.unlink()


def lake_cli(project: Path, *args: str) -> Result:
    config = str(project / "lakehouse.toml")
    return CliRunner().invoke(app, ["--config", config, *args], env={"COLUMNS": "250"})


def clean_failure(result: Result) -> list[str]:
    """A command that went wrong must say so in sentences, not crash."""
    if "Traceback" in result.output or (
        result.exception is not None and not isinstance(result.exception, SystemExit)
    ):
        return [f"it crashed: {result.exception!r}"]
    return []


# -- what must not use the damage -------------------------------------------------------------


def build_refused_or_right(project: Path, sides: Sides) -> list[str]:
    """A build reading the damaged raw version is refused, or reads the right data."""
    result = lake_cli(project, "build", PRODUCT, "--full-refresh")
    if result.exit_code != 0:
        return clean_failure(result)
    built = open_lake(project).builds(PRODUCT)[-1]
    if built.outputs[f"outputs/{PRODUCT}"].content_sha256 != sides.content:
        return [f"`lake build --full-refresh` built {built.build_id} from the damaged data"]
    return []


def delta_read_refused_or_right(project: Path, sides: Sides) -> list[str]:
    """Reading the damaged Delta version (`lake show`) is refused, or gives its own rows."""
    rows = str(2 * SECOND_ROWS)
    result = lake_cli(project, "show", "kd", "--version", sides.kd2, "--rows", rows)
    if result.exit_code != 0:
        return clean_failure(result)
    if f"first {SECOND_ROWS} rows" not in result.output or "first " in result.output.replace(
        f"first {SECOND_ROWS} rows", ""
    ):
        return [f"`lake show kd --version {sides.kd2}` showed other rows than the version's"]
    return []


def publish_refused(project: Path, sides: Sides) -> list[str]:
    """Publishing the damaged build is refused."""
    result = lake_cli(project, "publish", PRODUCT, "--build", sides.b2, "--version", "26v3")
    if result.exit_code == 0:
        return [f"`lake publish --build {sides.b2}` published the damaged build as 26v3"]
    return clean_failure(result)


def rebuilt(project: Path, sides: Sides) -> list[str]:
    """A build after a damaged cache entry rebuilds: the same output as before, passed."""
    result = lake_cli(project, "build", PRODUCT)
    if result.exit_code != 0:
        return [f"`lake build` failed: {result.output.strip()[:300]}", *clean_failure(result)]
    built = open_lake(project).builds(PRODUCT)[-1]
    problems = []
    if built.outputs[f"outputs/{PRODUCT}"].content_sha256 != sides.content:
        problems.append(f"`lake build` reused the damaged cache entry in {built.build_id}")
    if not built.passed:
        problems.append(f"`lake build` failed its contracts: {built.contracts.summary}")
    return problems


def package_and_promote_refused(project: Path, sides: Sides) -> list[str]:
    """Packaging or promoting the damaged published version is refused."""
    problems = []
    out = project / "x.zip"
    result = lake_cli(project, "package", PRODUCT, "--version", "26v2", "--out", str(out))
    if result.exit_code == 0 or out.exists():
        problems.append("`lake package --version 26v2` packaged the damaged version")
    problems += clean_failure(result)
    result = lake_cli(project, "promote", PRODUCT, "26v2", "--to", "prod")
    prod = open_lake(project, "prod")
    if result.exit_code == 0 or prod.store.exists(f"publish/{PRODUCT}/26v2/publish.json"):
        problems.append("`lake promote 26v2 --to prod` promoted the damaged version")
    return problems + clean_failure(result)


def latest_package_refused(project: Path, sides: Sides) -> list[str]:
    """Packaging `latest` through a damaged latest.json is refused in a sentence."""
    out = project / "x.zip"
    result = lake_cli(project, "package", PRODUCT, "--out", str(out))
    problems = clean_failure(result)
    if result.exit_code == 0:
        problems.append("`lake package` (latest) packaged through the damaged latest.json")
    if "Unexpected error" in result.output:
        problems.append(f"`lake package` (latest): {result.output.strip()[:300]}")
    return problems


USES: dict[str, Callable[[Path, Sides], list[str]]] = {
    "raw data.parquet": build_refused_or_right,
    "manifest.json": build_refused_or_right,
    "delta data file": delta_read_refused_or_right,
    "delta log entry": delta_read_refused_or_right,
    "build.json": publish_refused,
    "build output": publish_refused,
    "cache result": rebuilt,
    "cache record": rebuilt,
    "cache contract json": rebuilt,
    "published output": package_and_promote_refused,
    "publish.json": package_and_promote_refused,
    "latest.json": latest_package_refused,
}
KINDS = [
    "raw data.parquet",
    "raw source file",
    "manifest.json",
    "committed.json",
    "delta data file",
    "delta log entry",
    "build.json",
    "build output",
    "cache result",
    "cache record",
    "cache contract json",
    "published output",
    "publish.json",
    "published QA json",
    "latest.json",
]


@pytest.mark.parametrize("how", DAMAGES)
@pytest.mark.parametrize("kind", KINDS)
def test_damage_is_found_by_verify_and_used_by_no_command(
    damaged_project: tuple[Path, Sides], tmp_path: Path, kind: str, how: str
) -> None:
    pristine, sides = damaged_project
    project = tmp_path / "p"
    copy_project(pristine, project)
    store = project / ".lakehouse"
    target, other = sides.files[kind]
    damage(store / target, how, store / other if other else None)

    verify = lake_cli(project, "verify")
    problems = [f"lake verify: {p}" for p in clean_failure(verify)]
    corrupt = [line for line in verify.output.splitlines() if line.startswith("CORRUPT")]
    if (kind, how) in HEALED:
        if verify.exit_code != 0 or target not in verify.output:
            problems.append(f"lake verify did not list it as behind: {verify.output[:300]}")
    elif not {(kind, "*"), (kind, how)} & NOT_SEEN_BY_VERIFY:
        named = [target, *sides.names.get(kind, [])]
        if verify.exit_code != 1 or not any(n in line for n in named for line in corrupt):
            said = verify.output.strip().replace("\n", " | ")[:400]
            problems.append(f"lake verify did not find it (exit {verify.exit_code}: {said})")
    if kind in USES:
        problems += USES[kind](project, sides)
    if (kind, how) in HEALED:
        repaired = lake_cli(project, "verify", "--repair")
        if repaired.exit_code != 0 or not (store / target).is_file():
            problems.append(f"lake verify --repair did not restore it: {repaired.output[:300]}")
    assert not problems, f"{kind} {how} ({target}):\n" + "\n".join(problems)
