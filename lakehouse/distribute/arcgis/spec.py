"""The `arcgis` destination's settings: the layer, where its token comes from, batching and
retries."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator

from lakehouse.distribute.spec import DestinationSpec
from lakehouse.redact import redact_url

LAYER_URL = re.compile(r"^https?://[^/?#@\s]+/[^?#\s]*/FeatureServer/\d+$")


class ArcGISSpec(DestinationSpec):
    """A hosted feature layer whose features are replaced by the version's."""

    type: Literal["arcgis"]
    layer_url: str
    token_env: str = "ARCGIS_TOKEN"
    batch_size: int = Field(default=1000, ge=1, le=10_000)
    timeout_seconds: float = Field(default=120.0, gt=0)
    missing_fields: Literal["add", "refuse"] = "add"
    retries: int = Field(default=3, ge=0, le=10)
    backoff_seconds: float = Field(default=1.0, ge=0)

    @field_validator("layer_url")
    @classmethod
    def _a_layer(cls, url: str) -> str:
        url = url.rstrip("/")
        if not LAYER_URL.match(url):
            raise ValueError(
                "must be a feature layer URL ending in /FeatureServer/<layer number>, with no "
                "query string (the token comes from token_env)"
            )
        return url

    def where(self) -> str:
        return redact_url(self.layer_url)
