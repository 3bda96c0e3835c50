"""What may be recorded of a URL (lakehouse.redact), and credentials that never follow a
redirect to another origin (the HTTP client of lakehouse.sources.http)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from lakehouse.redact import redact_url


@pytest.mark.parametrize(
    ("url", "recorded"),
    [
        (
            "https://u:p@data.example.org/api/views/w7w3-xahh/rows.csv?accessType=DOWNLOAD",
            "https://data.example.org/api/views/w7w3-xahh/rows.csv?accessType=DOWNLOAD",
        ),
        (
            "https://x.example.org/d.csv?pwd=hunter2&access_code=1234&sas=sv&session=s1",
            "https://x.example.org/d.csv?pwd=REDACTED&access_code=REDACTED&sas=REDACTED"
            "&session=REDACTED",
        ),
        (  # a token in the path, the fragment
            "https://files.example.org/dl/ab12cd34ef56gh78ij90kl12/lots.csv#key=abc",
            "https://files.example.org/dl/REDACTED/lots.csv",
        ),
        (  # what is known to carry no secret is kept: paging, filters, formats
            "https://s.example.org/resource/abcd-1234.json?$limit=5&$offset=10&$where=x>1",
            "https://s.example.org/resource/abcd-1234.json?$limit=5&$offset=10&$where=x%3E1",
        ),
    ],
)
def test_only_what_is_known_to_be_harmless_is_recorded(url: str, recorded: str) -> None:
    assert redact_url(url) == recorded


def test_a_run_url_with_a_token_is_recorded_masked(monkeypatch: pytest.MonkeyPatch) -> None:
    from lakehouse.provenance import RUN_URL_ENV_VAR, run_details

    monkeypatch.setenv(RUN_URL_ENV_VAR, "https://ci.example.org/runs/7?token=s3cr3t")
    assert run_details()["run_url"] == "https://ci.example.org/runs/7?token=REDACTED"


class _Recorder(BaseHTTPRequestHandler):
    seen: ClassVar[list[dict[str, str]]] = []
    redirect_to = ""

    def do_GET(self) -> None:
        type(self).seen.append({k.lower(): v for k, v in self.headers.items()})
        if self.redirect_to:
            self.send_response(302)
            self.send_header("Location", self.redirect_to)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def two_origins() -> Iterator[tuple[str, type[_Recorder], type[_Recorder]]]:
    first = type("First", (_Recorder,), {"seen": []})
    second = type("Second", (_Recorder,), {"seen": []})
    servers = [ThreadingHTTPServer(("127.0.0.1", 0), handler) for handler in (first, second)]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    first.redirect_to = f"http://127.0.0.1:{servers[1].server_port}/elsewhere"
    yield f"http://127.0.0.1:{servers[0].server_port}/start", first, second
    for server in servers:
        server.shutdown()


def test_a_redirect_to_another_origin_carries_no_app_token(
    two_origins: tuple[str, type[_Recorder], type[_Recorder]],
) -> None:
    from lakehouse.sources.http import HttpSettings, get_json

    url, first, second = two_origins
    get_json(url, params=None, headers={"X-App-Token": "s3cr3t"}, settings=HttpSettings())
    assert first.seen[0]["x-app-token"] == "s3cr3t"  # sent where it was meant to go
    assert "x-app-token" not in second.seen[0]  # not to the other origin
