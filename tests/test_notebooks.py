"""The notebooks in notebooks/ run end to end on a real project (Jupyter kernel, nbclient)."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from lakehouse.project import Lakehouse
from tests.projects import change_lots, make_project

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Lakehouse, Path]:
    """Two versions of each source's dof_pts and two published versions of PLUTO-lite."""
    folder = tmp_path_factory.mktemp("notebooks") / "p"
    lake = make_project(folder, lots=400)
    lake.build("pluto_lite")
    lake.diff_report("pluto_lite")
    lake.publish("pluto_lite", "25v1")
    change_lots(folder / "data" / "pluto_lite" / "dof_pts.csv")
    lake.ingest("dof_pts")
    lake.build("pluto_lite", latest=True)
    lake.diff_report("pluto_lite")
    lake.publish("pluto_lite", "25v2")
    return lake, folder


def run(notebook: str, folder: Path) -> list[dict]:
    book = nbformat.read(NOTEBOOKS / notebook, as_version=4)
    NotebookClient(
        book, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(folder)}}
    ).execute()
    return [output for cell in book.cells if cell.cell_type == "code" for output in cell.outputs]


@pytest.fixture(autouse=True)
def inline_charts(monkeypatch: pytest.MonkeyPatch) -> None:
    """The kernel draws charts inline, as in Jupyter: importing streamlit (the QA app's tests,
    earlier in the same run) sets MPLBACKEND=Agg for the process and its children."""
    monkeypatch.delenv("MPLBACKEND", raising=False)


def texts(outputs: list[dict]) -> str:
    found = []
    for output in outputs:
        found.append(output.get("text", ""))
        found.append(output.get("data", {}).get("text/plain", ""))
    return "\n".join(found)


def images(outputs: list[dict]) -> int:
    return sum("image/png" in output.get("data", {}) for output in outputs)


def test_the_source_versions_notebook(project: tuple[Lakehouse, Path]) -> None:
    lake, folder = project
    outputs = run("source_versions.ipynb", folder)
    first, second = (m.version for m in lake.versions("dof_pts"))
    shown = texts(outputs)
    assert f"dof_pts: {second} against {first}" in shown
    assert "keys removed" in shown  # the drift's flags
    assert images(outputs) == 1  # the null-rate chart


def test_the_compare_published_notebook(project: tuple[Lakehouse, Path]) -> None:
    _, folder = project
    outputs = run("compare_published.ipynb", folder)
    shown = texts(outputs)
    assert "pluto_lite: published 25v2" in shown and "against published 25v1" in shown
    assert "assessland" in shown  # the changed rows, side by side
    assert images(outputs) == 1  # the per-borough chart
