"""The portal's HTTP API for one send or preview: credentials (HTTP Basic, an optional app
token), retries of what is worth retrying (5xx, 429 after its Retry-After, a lost connection),
one deadline over every call and poll, and server messages with any echoed credential
masked."""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from lakehouse.distribute.http import retry_after
from lakehouse.distribute.socrata.spec import SocrataSpec
from lakehouse.distribute.spec import secret
from lakehouse.errors import DistributeError

log = logging.getLogger(__name__)

API = "/api/publishing/v1"
USER_AGENT = "lakehouse-distribute/0.1"
MAX_RETRY_AFTER_SECONDS = 120.0
MAX_SERVER_MESSAGE = 300
CONTENT_TYPES = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "geojson": "application/vnd.geo+json",
}


class _Retryable(Exception):
    """A failure worth another try: what went wrong, and how long the server asked to wait."""

    def __init__(self, problem: str, wait: float | None = None) -> None:
        super().__init__(problem)
        self.problem, self.wait = problem, wait


class Portal:
    """The portal's API for one send or preview: credentials, timeouts, retries of what is worth
    retrying (5xx, 429 after its Retry-After, a connection lost), all within one deadline."""

    def __init__(self, spec: SocrataSpec, *, need_credentials: bool = True) -> None:
        self.spec = spec
        self.applying: int | None = None  # the revision once applied: the live data may change
        self._end = time.monotonic() + spec.deadline_seconds
        credentials = _credentials(spec, need_credentials)
        token = secret(spec.token_env, spec.name, "Socrata app token") if spec.token_env else None
        self._secrets = [s for s in (*(credentials or ()), token) if s]
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if token:
            headers["X-App-Token"] = token
        self._http = httpx.Client(
            base_url=spec.domain,
            auth=credentials,
            headers=headers,
            timeout=httpx.Timeout(spec.timeout_seconds, connect=min(spec.timeout_seconds, 30.0)),
            follow_redirects=False,  # a redirect would carry the credentials elsewhere
        )

    def __enter__(self) -> Portal:
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.close()

    def remaining(self) -> float:
        return self._end - time.monotonic()

    def resource(self, method: str, path: str, what: str, **options: Any) -> dict[str, Any]:
        """The `resource` of a publishing API answer (see `json`)."""
        answer = self.json(method, path, what, **options)
        inner = answer.get("resource", answer) if isinstance(answer, dict) else None
        if not isinstance(inner, dict):
            raise DistributeError(
                f"Socrata answered {what} with something unexpected; check that "
                f"{self.spec.domain} is a Socrata portal."
            )
        return inner

    def json(
        self,
        method: str,
        path: str,
        what: str,
        *,
        body: Any = None,
        upload: Path | None = None,
        params: dict[str, str] | None = None,
        retry: bool = True,
    ) -> Any:
        """The JSON answer to one request; `what` names it for a person ("the upload of x")."""
        attempts = (self.spec.retries if retry else 0) + 1
        for attempt in range(1, attempts + 1):
            try:
                return self._answer(method, path, what, body, upload, params)
            except _Retryable as failed:
                if attempt == attempts:
                    tried = f" (tried {attempts} times)" if attempts > 1 else ""
                    raise DistributeError(
                        f"Socrata at {self.spec.domain} {failed.problem} to {what}{tried}; "
                        f"try again later ({self.live_note()})."
                    ) from None
                self._wait_before_retry(failed, attempt, what)
        raise AssertionError("unreachable")

    def _wait_before_retry(self, failed: _Retryable, attempt: int, what: str) -> None:
        """Sleep as long as the server asked, else a doubling backoff; within the deadline."""
        wait = failed.wait
        if wait is None:
            wait = self.spec.backoff_seconds * 2 ** (attempt - 1)
        if self.remaining() <= wait:
            raise self.out_of_time(f"{failed.problem} to {what}") from None
        log.info("Socrata %s to %s; trying again in %.3g s", failed.problem, what, wait)
        time.sleep(wait)

    def _answer(
        self,
        method: str,
        path: str,
        what: str,
        body: Any,
        upload: Path | None,
        params: dict[str, str] | None,
    ) -> Any:
        timeout = max(min(self.spec.timeout_seconds, self.remaining()), 0.001)
        try:
            with _request_body(body, upload, self.spec.format) as (content, headers):
                response = self._http.request(
                    method, path, content=content, headers=headers, params=params, timeout=timeout
                )
        except httpx.TimeoutException:
            raise _Retryable(f"did not answer within {timeout:g} s") from None
        except httpx.TransportError as exc:
            raise _Retryable(f"could not be reached ({exc.__class__.__name__})") from None
        status = response.status_code
        if status == 429 or status >= 500:
            raise _Retryable(
                f"answered HTTP {status}", retry_after(response, MAX_RETRY_AFTER_SECONDS)
            )
        if status >= 400:
            raise self._refusal(status, what, response)
        return _json(response, what)

    def _refusal(self, status: int, what: str, response: httpx.Response) -> DistributeError:
        spec = self.spec
        if status == 401:
            return DistributeError(
                f"Socrata at {spec.domain} refused the credentials (HTTP 401) to {what}; check "
                f"or renew the values of {spec.credential_names()} ({self.live_note()})."
            )
        if status == 403:
            return DistributeError(
                f"Socrata at {spec.domain} does not let the account in {spec.username_env} "
                f"change dataset {spec.dataset_id} (HTTP 403 to {what}); ask the dataset's owner "
                "to make it a collaborator, or check the dataset id."
            )
        if status == 404:
            return DistributeError(
                f"Socrata at {spec.domain} has no dataset {spec.dataset_id} (HTTP 404 to "
                f"{what}); check dataset_id and domain in the destination."
            )
        return DistributeError(
            f"Socrata at {spec.domain} refused {what} (HTTP {status}: "
            f"{self.scrub(_server_message(response))}); check the destination's settings."
        )

    def out_of_time(self, doing: str) -> DistributeError:
        return DistributeError(
            f"Sending to Socrata dataset {self.spec.dataset_id} did not finish within its "
            f"deadline of {self.spec.deadline_seconds:g} s ({doing}); raise deadline_seconds in "
            "the destination if the portal is really this slow, or try again later "
            f"({self.live_note()})."
        )

    def live_note(self) -> str:
        """What a failure now means for what readers see."""
        if self.applying is None:
            return "the live dataset was not changed"
        return (
            f"revision {self.applying} may still apply: see {self.spec.revision_url(self.applying)}"
        )

    def scrub(self, text: str) -> str:
        """A server's text with any credential it echoed masked."""
        for value in self._secrets:
            text = text.replace(value, "***")
        return text[:MAX_SERVER_MESSAGE]


@contextmanager
def _request_body(body: Any, upload: Path | None, fmt: str) -> Iterator[tuple[Any, dict[str, str]]]:
    """The content and headers of a request: JSON, or a file streamed with its length."""
    if upload is not None:
        with open(upload, "rb") as handle:
            yield handle, {"Content-Type": CONTENT_TYPES[fmt]}
    elif body is not None:
        yield json.dumps(body).encode(), {"Content-Type": "application/json"}
    else:
        yield None, {}


def _json(response: httpx.Response, what: str) -> Any:
    if not response.content:
        return {}
    try:
        return response.json()
    except ValueError:
        kind = response.headers.get("content-type", "none")
        raise DistributeError(
            f"Socrata answered {what} with something other than JSON (content type {kind}); "
            "check that the destination's domain is a Socrata portal."
        ) from None


def _server_message(response: httpx.Response) -> str:
    try:
        document = response.json()
    except ValueError:
        text = response.text.strip()
        return text.splitlines()[0] if text else "no message"
    return details_text(document)


def _credentials(spec: SocrataSpec, required: bool) -> tuple[str, str] | None:
    given = os.environ.get(spec.username_env) and os.environ.get(spec.password_env)
    if not required and not given:
        return None
    return (
        secret(spec.username_env, spec.name, "Socrata user name (or API key id)"),
        secret(spec.password_env, spec.name, "Socrata password (or API key secret)"),
    )


def poll(
    portal: Portal,
    fetch: Callable[[], dict[str, Any]],
    done: Callable[[dict[str, Any]], bool],
    waiting_for: str,
    first: dict[str, Any],
) -> dict[str, Any]:
    """`first`, or what `fetch` finds every poll_seconds, once it is `done`; within the
    deadline."""
    found = first
    while not done(found):
        if portal.remaining() <= portal.spec.poll_seconds:
            raise portal.out_of_time(f"waiting for {waiting_for}")
        time.sleep(portal.spec.poll_seconds)
        found = fetch()
    return found


def details_text(details: Any) -> str:
    """A server's failure details in words: its message, else every field it gave."""
    if isinstance(details, dict):
        for key in ("message", "error", "reason"):
            if details.get(key):
                return str(details[key])
        return ", ".join(f"{k}: {v}" for k, v in details.items()) or "no message"
    return str(details) if details else "no message"
