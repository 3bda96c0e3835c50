"""What the destinations that speak HTTP (Socrata, ArcGIS) share: how long a server asks to be
left alone before a retry."""

from __future__ import annotations

import time
from email.utils import parsedate_to_datetime

import httpx


def retry_after(response: httpx.Response, cap: float) -> float | None:
    """The wait a 429 or 503 asks for in its Retry-After (seconds or an HTTP date), at most
    `cap` seconds; None when it asks for none."""
    value = response.headers.get("retry-after", "").strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError):
            return None
    return min(max(seconds, 0.0), cap)
