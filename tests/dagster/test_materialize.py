"""Materializing the assets in-process: the sources are archived, PLUTO-lite is locked to them
and built with its contracts; a lakehouse error fails its asset with the error's sentence."""

from __future__ import annotations

from dagster import AssetKey, Definitions, ExecuteInProcessResult

from lakehouse.dagster import product_key, source_key
from lakehouse.project import Lakehouse
from lakehouse.transform.recipe import read_lock
from tests.dagster.conftest import run, source_file
from tests.projects import DATASETS


def materialized(result: ExecuteInProcessResult) -> dict[AssetKey, dict[str, object]]:
    """Each asset materialized, with its metadata's plain values."""
    return {
        event.asset_key: {
            name: getattr(value, "value", value)
            for name, value in event.materialization.metadata.items()
        }
        for event in result.get_asset_materialization_events()
        if event.asset_key is not None
    }


def failures(result: ExecuteInProcessResult) -> dict[str, str]:
    """Each failed step, with the description of its failure."""
    found = {}
    for event in result.get_step_failure_events():
        data = event.step_failure_data
        assert event.step_key is not None and data.user_failure_data is not None
        found[event.step_key] = data.user_failure_data.description or ""
    return found


def test_materializing_every_asset_archives_the_sources_and_builds_pluto_lite(
    pluto: Lakehouse, defs: Definitions
) -> None:
    result = run(defs)
    assert result.success
    done = materialized(result)
    for dataset in pluto.templates():
        [version] = pluto.versions(dataset)
        assert done[source_key(dataset)]["version"] == version.version
        assert done[source_key(dataset)]["status"] == "archived"
        assert done[source_key(dataset)]["rows"] == version.row_count
    [build] = pluto.builds("pluto_lite")
    assert build.passed
    built = done[product_key("pluto_lite")]
    assert built["build id"] == build.build_id
    assert built["contracts"] == build.contracts.summary
    assert str(built["contracts"]).endswith("checks passed")
    lock = read_lock(pluto.config.recipes_dir, "pluto_lite")
    assert lock is not None
    pinned = {alias: found.version for alias, found in lock.inputs.items()}
    assert pinned == {dataset: pluto.manifest(dataset).version for dataset in DATASETS}
    assert built["inputs"] == pinned
    assert built["lock"] == "recipes/pluto_lite.lock"
    assert {alias: found.version for alias, found in build.lock.inputs.items()} == pinned


def test_a_source_with_the_same_bytes_is_a_success_that_says_unchanged(
    pluto: Lakehouse, defs: Definitions
) -> None:
    first = materialized(run(defs, [source_key("landmarks")]))
    again = run(defs, [source_key("landmarks")])
    assert again.success
    second = materialized(again)[source_key("landmarks")]
    assert second["status"] == "unchanged"
    assert second["version"] == first[source_key("landmarks")]["version"]
    assert len(pluto.versions("landmarks")) == 1


def test_a_product_whose_contract_fails_fails_its_asset_with_the_errors_sentence(
    pluto: Lakehouse, defs: Definitions
) -> None:
    path = pluto.config.project_dir / "contracts" / "pluto_lite" / "dictionary.yml"
    rule = "range: [{}, 2025]\n        source: dof_pts.year_built"
    path.write_text(path.read_text().replace(rule.format(0), rule.format(1)))
    result = run(defs)
    assert not result.success
    [build] = pluto.builds("pluto_lite")
    assert not build.passed  # the build is kept, failed
    description = failures(result)["pluto_lite"]
    assert description.startswith(
        f"Build {build.build_id} of 'pluto_lite' failed its product contract: "
        "pluto_lite.yearbuilt: range (between 1 and 2025)"
    )
    assert "\n" not in description.strip()
    assert product_key("pluto_lite") not in materialized(result)
    assert len(materialized(result)) == len(pluto.templates())  # every source was archived


def test_a_source_that_cannot_be_fetched_fails_and_what_reads_it_is_not_built(
    pluto: Lakehouse, defs: Definitions
) -> None:
    missing = source_file(pluto, "dob_jobs")
    missing.unlink()
    result = run(defs)
    assert not result.success
    assert failures(result) == {
        "raw__dob_jobs": f"Source file {missing} does not exist; check the path."
    }
    assert pluto.builds("pluto_lite") == []
    assert pluto.versions("dof_pts")  # the other sources went on


def test_materializing_again_with_the_same_sources_reuses_every_model(
    pluto: Lakehouse, defs: Definitions
) -> None:
    assert run(defs).success
    again = run(defs)
    assert again.success
    done = materialized(again)
    assert {done[source_key(dataset)]["status"] for dataset in pluto.templates()} == {"unchanged"}
    built = done[product_key("pluto_lite")]
    assert (built["models built"], built["models reused"]) == (0, 1)
    first, second = pluto.builds("pluto_lite")
    assert second.build_id == built["build id"] and second.passed
    assert second.lock.inputs == first.lock.inputs
