"""Open a local page in Debian's headless Chromium: its rendered DOM, a screenshot, and every
request the page itself made (from Chromium's net log). Host names resolve to nothing, so no
request can leave the machine even if a page tried; the net log still shows the attempt.

Chromium is installed by `make test` (the `browser` target); without it these tests skip,
unless LAKEHOUSE_REQUIRE_BROWSER is set (as `make test` does), where they fail.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--host-resolver-rules=MAP * ~NOTFOUND",
]
BROWSER_INITIATED = "not an origin"  # Chromium's own services, not the page


@dataclass
class Rendered:
    dom: str
    screenshot: Path
    page_requests: list[str]  # URLs the page asked for over the network


def chromium() -> str:
    found = shutil.which("chromium")
    if found is None:
        if os.environ.get("LAKEHOUSE_REQUIRE_BROWSER"):
            pytest.fail("chromium is not installed; `make test` installs it (target browser).")
        pytest.skip("chromium is not installed (`make test` installs it)")
    return found


def render(page: Path, work: Path, width: int = 1280, height: int = 2400) -> Rendered:
    """Load `page` twice: once for the DOM and the net log, once for a screenshot."""
    binary = chromium()
    work.mkdir(parents=True, exist_ok=True)
    net_log = work / "net-log.json"
    url = page.resolve().as_uri()
    dom = subprocess.run(
        [binary, *FLAGS, f"--user-data-dir={work / 'profile-dom'}",
         f"--log-net-log={net_log}", "--dump-dom", url],
        capture_output=True, text=True, timeout=120, check=True,
    ).stdout  # fmt: skip
    screenshot = work / "screenshot.png"
    subprocess.run(
        [binary, *FLAGS, f"--user-data-dir={work / 'profile-shot'}",
         f"--window-size={width},{height}", f"--screenshot={screenshot}", url],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    assert screenshot.is_file(), "chromium wrote no screenshot"
    return Rendered(dom, screenshot, page_requests(net_log))


def page_requests(net_log: Path) -> list[str]:
    log = json.loads(net_log.read_text())
    names = {number: name for name, number in log["constants"]["logEventTypes"].items()}
    requests = []
    for event in log["events"]:
        params = event.get("params", {})
        started = names[event["type"]] == "URL_REQUEST_START_JOB" and "url" in params
        if started and params.get("initiator") != BROWSER_INITIATED:
            requests.append(params["url"])
    return requests


def pixels_of(screenshot: Path, colour: tuple[int, int, int]) -> int:
    """How many pixels of the screenshot have exactly this colour."""
    from PIL import Image

    with Image.open(screenshot) as image:
        return sum(count for count, rgb in image.convert("RGB").getcolors(1 << 24) if rgb == colour)
