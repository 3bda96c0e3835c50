"""Fakes of the services the lakehouse talks to, one module per service, each a real server on
127.0.0.1 (an OS-assigned port, a daemon thread) that records the requests it received and can
inject faults per path. Standard library only, except S3, which is moto's server.

    with FileServer() as files:
        url = files.add("/data/x.csv", b"a,b\\n1,2\\n", content_type="text/csv")
        files.set_fault("/data/x.csv", status500(times=2))   # two 500s, then the body

- files: FileServer, registered payloads (GET/HEAD, ETag, Last-Modified, Range, redirects).
- socrata: SocrataServer, SODA 2 (`/api/views/{id}.json`, `/resource/{id}.json|csv`, `rows.csv`).
- arcgis: ArcGISServer, ArcGIS REST FeatureServer (metadata, `/query` paging, f=geojson).
- s3: moto's S3 server and buckets.
- faults: what a server can do wrong (see `Fault` and its constructors): fire on GET and POST by
  default, on one path (or "*" for every path), optionally only `times` times after `after`.
- samples, realdata: payloads for them (generated, or real NYC files from ../shared/realdata).
"""

from tests.fakes.arcgis import DEFAULT_EDIT_MS, ArcGISServer
from tests.fakes.faults import (
    arcgis_error,
    disconnect,
    hang,
    http_error,
    slow_body,
    status500,
    truncate,
    wrong_content_type,
)
from tests.fakes.files import FileServer
from tests.fakes.realdata import (
    ARCFS_LAYER,
    ARCFS_SERVICE,
    DCA_CSV,
    DCA_METADATA,
    REALDATA,
    add_realdata_layer,
    load_arcgis_metadata,
    load_dca_dataset,
    realdata_missing,
    require_realdata,
)
from tests.fakes.samples import sample_features, sample_socrata_rows
from tests.fakes.socrata import DEFAULT_ROWS_UPDATED_AT, SODA_DEFAULT_LIMIT, SocrataServer

__all__ = [
    "ARCFS_LAYER",
    "ARCFS_SERVICE",
    "DCA_CSV",
    "DCA_METADATA",
    "DEFAULT_EDIT_MS",
    "DEFAULT_ROWS_UPDATED_AT",
    "REALDATA",
    "SODA_DEFAULT_LIMIT",
    "ArcGISServer",
    "FileServer",
    "SocrataServer",
    "add_realdata_layer",
    "arcgis_error",
    "disconnect",
    "hang",
    "http_error",
    "load_arcgis_metadata",
    "load_dca_dataset",
    "realdata_missing",
    "require_realdata",
    "sample_features",
    "sample_socrata_rows",
    "slow_body",
    "status500",
    "truncate",
    "wrong_content_type",
]
