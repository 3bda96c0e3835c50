"""A dataset name with no archived version: a typo is told by the closest name that exists,
not answered with `lake ingest` of a template that does not exist."""

from __future__ import annotations

from pathlib import Path

import pytest

from lakehouse.archive.versions import no_versions_message
from lakehouse.errors import NotFoundError
from lakehouse.project import Lakehouse


def test_a_misspelt_dataset_suggests_the_archived_one_it_meant(
    lake: Lakehouse, csv_file: Path
) -> None:
    lake.ingest("nypl_libraries", file=csv_file)
    with pytest.raises(NotFoundError) as error:
        lake.manifest("nypl_library")
    assert str(error.value).startswith("No dataset 'nypl_library'; did you mean 'nypl_libraries'?")
    assert (
        lake.archive.scan_versions("nypl_library")
        .missing_message()
        .startswith("No dataset 'nypl_library'; did you mean 'nypl_libraries'?")
    )


def test_a_misspelt_dataset_asked_for_by_version_suggests_it_too(
    lake: Lakehouse, csv_file: Path
) -> None:
    lake.ingest("nypl_libraries", file=csv_file, version="v1")
    with pytest.raises(NotFoundError, match="did you mean 'nypl_libraries'"):
        lake.manifest("nypl_library", "v1")


def test_a_name_like_no_other_is_told_to_ingest(lake: Lakehouse) -> None:
    with pytest.raises(NotFoundError) as error:
        lake.manifest("landmarks")
    assert str(error.value) == (
        "Dataset 'landmarks' has no archived versions; run `lake ingest landmarks`."
    )


def test_templates_are_names_to_suggest_and_to_tell_a_new_dataset_by() -> None:
    assert no_versions_message("nypl_library", [], ["nypl_libraries", "dcp_zoning"]).startswith(
        "No dataset 'nypl_library'; did you mean 'nypl_libraries'?"
    )
    assert no_versions_message("dcp_zoning", [], ["dcp_zoning"]) == (
        "Dataset 'dcp_zoning' has no archived versions; run `lake ingest dcp_zoning`."
    )
    assert no_versions_message("hpd_units", ["lots"], ["dcp_zoning"]) == (
        "No dataset 'hpd_units': nothing is archived under that name and it has no template; "
        "write one, then run `lake ingest hpd_units`."
    )
