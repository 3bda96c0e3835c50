"""What may be recorded of a URL: masked by default. Manifests, docs pages, `lake show`,
errors and run details record URLs; a query value is kept only for parameters known to carry
no secret (paging, filters, formats), a path segment that looks like a key is masked, and
user:password and the fragment are dropped."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MASK = "REDACTED"
# query parameters whose values are recorded: Socrata SoQL and export, ArcGIS REST, common paging
RECORDED_PARAMETERS = frozenset(
    {
        "$limit",
        "$offset",
        "$where",
        "$select",
        "$order",
        "$group",
        "$having",
        "$q",
        "$query",
        "accesstype",
        "bom",
        "f",
        "format",
        "where",
        "outfields",
        "resultoffset",
        "resultrecordcount",
        "returngeometry",
        "outsr",
        "orderbyfields",
        "returncountonly",
        "returnidsonly",
        "page",
        "per_page",
        "limit",
        "offset",
        "date",
        "year",
        "month",
        "layer",
        "sheet",
        "type",
        "version",
        "v",
        "lang",
        "encoding",
        "delimiter",
        "download",
        "dl",
        "raw",
        "alt",
        "output",
        "outputformat",
        "service",
        "request",
        "typename",
        "srsname",
    }
)
# a path segment of 20+ characters mixing letters and digits, the shape of keys and tokens
KEY_LIKE = re.compile(r"^(?=[A-Za-z0-9_\-.~]{20,}$)(?=.*[0-9])(?=.*[A-Za-z]).*$")


def redact_url(url: str) -> str:
    """The URL as it may be recorded: without user:password and fragment, with each query
    value masked unless its parameter is in RECORDED_PARAMETERS, and key-like path segments
    masked."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    path = "/".join(
        MASK if KEY_LIKE.match(segment) else segment for segment in parts.path.split("/")
    )
    query = urlencode(
        [
            (name, value if name.lower() in RECORDED_PARAMETERS else MASK)
            for name, value in parse_qsl(parts.query, keep_blank_values=True)
        ],
        safe="$:/",
    )
    return urlunsplit((parts.scheme, host, path, query, ""))
