"""The layer's REST operations over HTTP: POSTs with the token in the form body, transient
failures retried, token errors named, the token masked in everything shown."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any, NoReturn

import httpx

from lakehouse.distribute.arcgis.layer import Layer
from lakehouse.distribute.arcgis.spec import ArcGISSpec
from lakehouse.distribute.http import retry_after
from lakehouse.errors import DistributeError
from lakehouse.redact import MASK, redact_url

USER_AGENT = "lakehouse-distribute/0.1"
MAX_RETRY_AFTER_SECONDS = 60.0
TOKEN_ERRORS = frozenset({401, 403, 498, 499})


class ServiceError(DistributeError):
    """A request to the layer failed; `reason` says why in a few words, for the message of
    the step it was part of."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


def why(exc: DistributeError) -> str:
    return exc.reason if isinstance(exc, ServiceError) else str(exc).rstrip(".")


class _Transient(Exception):
    def __init__(self, reason: str, wait: float | None = None) -> None:
        super().__init__(reason)
        self.wait = wait


class FeatureService:
    """The layer's REST operations, every one a POST with the token in its form body."""

    def __init__(self, spec: ArcGISSpec, token: str) -> None:
        self.spec = spec
        self.layer_url = spec.layer_url
        self.shown = redact_url(spec.layer_url)
        self._token = token
        timeout = httpx.Timeout(spec.timeout_seconds, connect=min(spec.timeout_seconds, 30.0))
        # no redirects: a POST carrying the token goes only where the spec says
        self._client = httpx.Client(
            timeout=timeout, follow_redirects=False, headers={"User-Agent": USER_AGENT}
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> FeatureService:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def scrub(self, text: str) -> str:
        """`text` without the token (server messages may echo what they were sent)."""
        return text.replace(self._token, MASK) if self._token else text

    # operations -----------------------------------------------------------------------------

    def layer(self) -> Layer:
        return Layer.from_info(self.call(self.layer_url, "read the layer", {}), self.shown)

    def count(self) -> int:
        found = self.call(
            f"{self.layer_url}/query",
            "count the features",
            {"where": "1=1", "returnCountOnly": "true"},
        )
        return int(found.get("count") or 0)

    def object_ids(self) -> set[int]:
        found = self.call(
            f"{self.layer_url}/query",
            "list the features",
            {"where": "1=1", "returnIdsOnly": "true"},
        )
        return {int(oid) for oid in found.get("objectIds") or []}

    def apply_edits(
        self, what: str, *, adds: Sequence[dict[str, Any]] = (), deletes: Sequence[int] = ()
    ) -> list[dict[str, Any]]:
        """The edit results of one all-or-nothing applyEdits (adds or deletes)."""
        form = {"rollbackOnFailure": "true"}
        if adds:
            form["adds"] = json.dumps(adds, separators=(",", ":"))
        if deletes:
            form["deletes"] = ",".join(str(oid) for oid in deletes)
        answer = self.call(f"{self.layer_url}/applyEdits", what, form)
        results = answer.get("addResults" if adds else "deleteResults")
        if not isinstance(results, list) or len(results) != len(adds or deletes):
            raise ServiceError(
                f"{self.shown} answered applyEdits ({what}) without a result for each edit; "
                "check the layer in ArcGIS and run the distribution again.",
                "its answer lacked a result for each edit",
            )
        return results

    def add_fields(self, fields: list[dict[str, Any]]) -> None:
        answer = self.call(
            _admin_url(self.layer_url, "addToDefinition"),
            "add fields",
            {"addToDefinition": json.dumps({"fields": fields})},
        )
        if answer.get("success") is not True:
            raise DistributeError(
                f"{self.shown} did not confirm adding the fields "
                f"{', '.join(f['name'] for f in fields)}; add them in ArcGIS or set "
                "missing_fields: refuse."
            )

    # requests -------------------------------------------------------------------------------

    def call(self, url: str, what: str, form: dict[str, str]) -> dict[str, Any]:
        """One operation's JSON answer, retrying what is worth retrying."""
        data = {**form, "f": "json", "token": self._token}
        attempts = self.spec.retries + 1
        for attempt in range(1, attempts + 1):
            try:
                return self._post(url, what, data)
            except _Transient as exc:
                if attempt == attempts:
                    reason = f"{exc} (tried {attempts} times)"
                    raise ServiceError(
                        f"Could not {what} at {self.shown}: {reason}; check that ArcGIS is up "
                        "and run the distribution again.",
                        reason,
                    ) from None
                pause = self.spec.backoff_seconds * 2 ** (attempt - 1)
                time.sleep(exc.wait if exc.wait is not None else pause)
        raise AssertionError("unreachable")

    def _post(self, url: str, what: str, data: dict[str, str]) -> dict[str, Any]:
        try:
            response = self._client.post(url, data=data)
        except httpx.TimeoutException:
            raise _Transient(f"no answer within {self.spec.timeout_seconds:g} s") from None
        except httpx.TransportError as exc:
            raise _Transient(f"connection failed ({type(exc).__name__})") from None
        status = response.status_code
        if status == 429 or status >= 500:
            raise _Transient(f"HTTP {status}", retry_after(response, MAX_RETRY_AFTER_SECONDS))
        if status in TOKEN_ERRORS:
            raise self._token_error(what, f"HTTP {status}")
        if status >= 300:
            raise ServiceError(
                f"{self.shown} answered HTTP {status} when asked to {what}; check layer_url "
                "(it must be the layer's own https address).",
                f"HTTP {status}",
            )
        return self._answer(response, what)

    def _answer(self, response: httpx.Response, what: str) -> dict[str, Any]:
        try:
            answer = response.json()
        except ValueError:
            raise ServiceError(
                f"{self.shown} did not answer with JSON when asked to {what}; check layer_url.",
                "the answer was not JSON",
            ) from None
        if not isinstance(answer, dict):
            raise ServiceError(
                f"{self.shown} sent an unexpected answer when asked to {what}.",
                "the answer was not a JSON object",
            )
        error = answer.get("error")
        if isinstance(error, dict):
            self._raise_error(error, what)
        return answer

    def _raise_error(self, error: dict[str, Any], what: str) -> NoReturn:
        """An `{"error": ...}` answer (ArcGIS says HTTP 200 for most failures) raised."""
        code = int(error.get("code") or 0)
        message = self.scrub(_error_text(error))
        if code in TOKEN_ERRORS:
            raise self._token_error(what, f"{message}, code {code}")
        if code == 429 or code >= 500:
            raise _Transient(f"{message} (code {code})")
        raise ServiceError(f"ArcGIS could not {what} at {self.shown}: {message}.", message)

    def _token_error(self, what: str, reason: str) -> ServiceError:
        variable = self.spec.token_env
        rights = "administer" if what == "add fields" else "edit"
        return ServiceError(
            f"ArcGIS refused the token in {variable} when asked to {what} ({reason}); set "
            f"{variable} to a current token of a user who may {rights} {self.shown} (it is read "
            "only from the environment).",
            f"ArcGIS refused the token in {variable} ({reason})",
        )


def _error_text(error: dict[str, Any]) -> str:
    message = str(error.get("message") or "an error").rstrip(".")
    details = [str(d).rstrip(".") for d in error.get("details") or [] if str(d).strip()]
    return f"{message} ({'; '.join(details)})" if details else message


def _admin_url(layer_url: str, operation: str) -> str:
    """The layer's admin operation: `/rest/services/` becomes `/rest/admin/services/`, as for
    hosted feature services."""
    head, found, tail = layer_url.partition("/rest/services/")
    if not found:
        raise DistributeError(
            f"{redact_url(layer_url)} is not under /rest/services/, so its admin endpoint (to "
            "add fields) is unknown; add the missing fields in ArcGIS or set "
            "missing_fields: refuse."
        )
    return f"{head}/rest/admin/services/{tail}/{operation}"
