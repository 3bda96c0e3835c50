"""One project for every test of the QA app (the app only reads it)."""

from __future__ import annotations

import pytest

from tests.app.project import AppProject, make_app_project


@pytest.fixture(scope="session")
def app_project(tmp_path_factory: pytest.TempPathFactory) -> AppProject:
    return make_app_project(tmp_path_factory.mktemp("app") / "project")
