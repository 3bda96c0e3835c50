"""docs/new-product.md, run as a newcomer would follow it: every file block written (a `diff`
block applied), every `$ lake ...` line run in order, in an empty folder. A line marked
`# exits 1` must fail; every other must succeed. Then what each step is there to show is
checked in its output: the plan before the first build, the rule test that catches a wrong
shared helper, the plan naming that helper, the stale seed."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lakehouse.cli import app

DOC = Path(__file__).resolve().parents[2] / "docs" / "new-product.md"
BLOCK = re.compile(r"^```(?P<kind>\w+)(?: file=(?P<file>\S+))?\n(?P<body>.*?)^```$", re.M | re.S)


@dataclass
class Step:
    command: str
    exit_code: int
    output: str


def apply_diff(path: Path, body: str) -> None:
    """A diff block: the `-` lines, together, are replaced by the `+` lines."""
    lines = body.splitlines()
    old = "\n".join(line[1:] for line in lines if line.startswith("-"))
    new = "\n".join(line[1:] for line in lines if line.startswith("+"))
    text = path.read_text()
    assert text.count(old) == 1, f"{path}: the diff's old lines are not in the file once"
    path.write_text(text.replace(old, new))


def run_console(
    body: str, cwd: list[Path], steps: list[Step], monkeypatch: pytest.MonkeyPatch
) -> None:
    for line in body.splitlines():
        if not line.startswith("$ "):
            continue
        command = line[2:]
        words = shlex.split(command, comments=True)
        if words[0] == "cd":
            cwd[0] = cwd[0] / words[1]
            continue
        assert words[0] == "lake", f"the walk-through runs only lake and cd: {line!r}"
        monkeypatch.chdir(cwd[0])
        said = CliRunner().invoke(app, words[1:], env={"COLUMNS": "200"})
        steps.append(Step(command, said.exit_code, said.output))
        wanted = 1 if "# exits 1" in command else 0
        assert said.exit_code == wanted, f"{command}: exit {said.exit_code}\n{said.output}"


def test_the_new_product_walk_through_runs_as_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cwd = [tmp_path]
    steps: list[Step] = []
    blocks = list(BLOCK.finditer(DOC.read_text()))
    assert len(blocks) > 20
    for block in blocks:
        kind, file, body = block["kind"], block["file"], block["body"]
        if kind == "console":
            run_console(body, cwd, steps, monkeypatch)
        elif file is not None and kind == "diff":
            apply_diff(cwd[0] / file, body)
        elif file is not None:
            path = cwd[0] / file
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(body)

    def output_of(command: str, nth: int = 0) -> str:
        return [step.output for step in steps if step.command.startswith(command)][nth]

    assert "never built" in output_of("lake plan facilities")
    failed = output_of("lake test facilities", 1)
    assert "zip_codes_lose_their_suffix_and_na_is_null" in failed and "10023" in failed
    assert "both_kinds_in_one_table_with_clean_text" in failed  # this one still passes
    changed = output_of("lake plan facilities", 1)
    assert "a shared helper changed (common.places.clean_zip)" in changed
    assert re.search(r"facilities +rebuild +inputs changed \(stg_libraries", changed)
    stale = output_of("lake plan facilities", 2)
    assert re.search(r"boroughs +seeds/boroughs\.csv +\w{12} +latest \w{12} +STALE", stale)
    assert "but the file in the repo now is" in stale
    assert re.search(r"facilities +built", output_of("lake build facilities", 1))
    assert "seeds/boroughs.csv" in output_of("lake lock facilities")
    lineage = output_of("lake lineage facilities")
    assert "facilities.zip <- libraries.zip, senior_centers.zip" in lineage
    assert "join key in stg_senior_centers: boroughs.boro_code, senior_centers.boro_code" in lineage
