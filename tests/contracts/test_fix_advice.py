"""A failing build names the files its failing rules are
written in, as `lake check` and `lake publish` do."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from lakehouse.cli import app
from lakehouse.errors import ContractError
from lakehouse.project import Lakehouse
from tests.transform.test_check_build import DICTIONARY, shop  # noqa: F401


def test_a_build_failing_a_dictionary_rule_names_the_dictionary(
    lake: Lakehouse,
    shop: Path,  # noqa: F811
) -> None:
    shop.write_text(DICTIONARY.replace("lots.bbl", "zoned_lots.bbl"))
    with pytest.raises(ContractError) as error:
        lake.build("shop")
    assert (
        f"it is recorded as failed and cannot be published: fix the transform or the data, or "
        f"the rule in {shop} if the rule is wrong, and build again (see "
    ) in str(error.value)


def test_lake_check_prints_the_unchecked_rule_and_the_advice(
    lake: Lakehouse,
    shop: Path,  # noqa: F811
    project_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    build = lake.build("shop")
    monkeypatch.chdir(project_dir)
    shop.write_text(DICTIONARY.replace("lots.bbl", "sold.bbl"))
    done = CliRunner().invoke(app, ["check", "shop"], terminal_width=400)
    assert done.exit_code == 0, done.output
    assert "not checked: sales.bbl: references (values in sold.bbl) not checked: sold is an " \
        "intermediate model" in done.output  # fmt: skip
    shop.write_text(DICTIONARY.replace("lots.bbl", "zoned_lots.bbl"))
    done = CliRunner().invoke(app, ["check", "shop"], terminal_width=400)
    assert done.exit_code == 1
    assert (
        f"build {build.build_id} fails: fix the transform or the data, or the rule in "
        "contracts/shop/dictionary.yml if the rule is wrong." in done.output
    )
