"""A fake OpenLineage endpoint (Marquez's `POST /api/v1/lineage`) on 127.0.0.1 that keeps the
events posted to it; faults (a hang, an error status) come from tests.fakes."""

from __future__ import annotations

import json
from typing import Any

from tests.fakes.server import LocalServer, RecordedRequest, Response, json_response, text_response

LINEAGE_PATH = "/api/v1/lineage"


class LineageReceiver(LocalServer):
    """Answers 201 to each event POSTed to /api/v1/lineage, as Marquez does."""

    def route(self, request: RecordedRequest) -> Response:
        if request.method == "POST" and request.path == LINEAGE_PATH:
            json.loads(request.body)  # a body that is not JSON is the test server's error
            return json_response({}, status=201)
        return text_response(404, "not found\n")

    @property
    def events(self) -> list[dict[str, Any]]:
        """The events received whole (not those a fault answered), in arrival order."""
        return [
            json.loads(request.body)
            for request in self.requests_to(LINEAGE_PATH, "POST")
            if request.fault is None
        ]
