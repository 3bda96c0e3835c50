import pytest

from lakehouse.errors import InvalidNameError
from lakehouse.names import check_dataset_name, check_version_name


@pytest.mark.parametrize("name", ["dof_pts", "a", "zoning_lots2"])
def test_dataset_names_accepted(name: str) -> None:
    assert check_dataset_name(name) == name


@pytest.mark.parametrize(
    "name", ["../etc", "a/b", "..", "", "Upper", "_hidden", ".tmp", "a b", "x" * 64, "a\\b"]
)
def test_dataset_names_that_could_escape_or_confuse_are_rejected(name: str) -> None:
    with pytest.raises(InvalidNameError, match="not allowed"):
        check_dataset_name(name)


@pytest.mark.parametrize("name", ["25v1", "24v1.1", "24Q3", "FY2024", "2024-01-01", "20261124-2"])
def test_version_names_in_use_are_accepted(name: str) -> None:
    assert check_version_name(name) == name


@pytest.mark.parametrize(
    "name", ["../x", "a/b", "..", "a..b", ".hidden", "latest", "", "v 1", "/abs"]
)
def test_bad_version_names_are_rejected(name: str) -> None:
    with pytest.raises(InvalidNameError):
        check_version_name(name)
