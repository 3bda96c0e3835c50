"""The Socrata destination's settings: which dataset on which portal, the environment variables
holding its credentials, the custom metadata fields for owner and cadence, and the limits on
time and retries."""

from __future__ import annotations

import re
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator

from lakehouse.distribute.spec import DestinationSpec

FOUR_BY_FOUR = re.compile(r"^[a-z0-9]{4}-[a-z0-9]{4}$")
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


class SocrataSpec(DestinationSpec):
    """A dataset on a Socrata portal that each version replaces."""

    type: Literal["socrata"]
    format: Literal["csv", "xlsx", "geojson"] = "csv"
    domain: str
    dataset_id: str
    username_env: str = "SOCRATA_USERNAME"
    password_env: str = "SOCRATA_PASSWORD"
    token_env: str | None = None
    cadence_field: str | None = None  # "Section/Field" of the domain's custom metadata
    owner_field: str | None = None
    timeout_seconds: float = Field(default=120.0, gt=0)
    retries: int = Field(default=3, ge=0, le=10)
    backoff_seconds: float = Field(default=2.0, ge=0)
    poll_seconds: float = Field(default=5.0, gt=0)
    deadline_seconds: float = Field(default=3600.0, gt=0)

    @field_validator("domain")
    @classmethod
    def _portal_url(cls, value: str) -> str:
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be the portal's address, like https://data.cityofnewyork.us")
        if parts.username or parts.password or parts.query or parts.path.strip("/"):
            raise ValueError(
                "must be the portal's address alone (no path, query or user:password), "
                "like https://data.cityofnewyork.us; credentials come from username_env"
            )
        if parts.scheme == "http" and parts.hostname not in LOOPBACK:
            raise ValueError("must start with https:// (credentials are never sent in clear)")
        return f"{parts.scheme}://{parts.netloc}"

    @field_validator("dataset_id")
    @classmethod
    def _four_by_four(cls, value: str) -> str:
        if not FOUR_BY_FOUR.match(value):
            raise ValueError(
                "must be a dataset's four-by-four id, like abcd-1234 (the end of its address)"
            )
        return value

    @field_validator("username_env", "password_env", "token_env")
    @classmethod
    def _variable_name(cls, value: str | None) -> str | None:
        if value is not None and not ENV_NAME.match(value):
            raise ValueError("must be the name of an environment variable, like SOCRATA_USERNAME")
        return value

    @field_validator("cadence_field", "owner_field")
    @classmethod
    def _section_and_field(cls, value: str | None) -> str | None:
        if value is not None and len([p for p in value.split("/") if p.strip()]) != 2:
            raise ValueError("must be a custom metadata section and field, like 'Update/Frequency'")
        return value

    def where(self) -> str:
        return f"socrata {self.dataset_url}"

    @property
    def dataset_url(self) -> str:
        return f"{self.domain}/d/{self.dataset_id}"

    def revision_url(self, seq: int) -> str:
        return f"{self.dataset_url}/revisions/{seq}"

    def credential_names(self) -> str:
        names = [self.username_env, self.password_env] + (
            [self.token_env] if self.token_env else []
        )
        return ", ".join(names[:-1]) + f" and {names[-1]}"
