"""Real NYC files from ../shared/realdata for the fakes to serve (None, or a skip with a
reason, when the folder is absent)."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from tests.fakes.arcgis import ArcGISLayer, ArcGISServer
from tests.fakes.samples import features_for_fields
from tests.fakes.socrata import SocrataDataset, SocrataServer

REALDATA = Path(__file__).parents[3] / "shared" / "realdata"

DCA_CSV = "dca_operatingbusinesses.csv"
DCA_METADATA = "dca_operatingbusinesses_metadata.json"
ARCFS_SERVICE = "arcfs_metadata.json"
ARCFS_LAYER = "arcfs_layer_metadata.json"


def realdata_missing(*names: str) -> str | None:
    """None when every named file exists in REALDATA, else a skip reason naming what is absent."""
    missing = [name for name in names if not (REALDATA / name).is_file()]
    if not REALDATA.is_dir():
        return f"real data directory {REALDATA} is absent (CI provides ../shared/realdata)"
    if missing:
        return f"real data file(s) {', '.join(missing)} absent from {REALDATA}"
    return None


def require_realdata(*names: str) -> Path:
    """REALDATA, or pytest.skip() with a clear reason when a named file is absent."""
    reason = realdata_missing(*names)
    if reason is not None:
        import pytest  # only the caller's test needs pytest; this module stays stdlib-only

        pytest.skip(reason)
    return REALDATA


def load_json(name: str) -> Any:
    """A JSON file from REALDATA, or None when absent."""
    path = REALDATA / name
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def load_dca_dataset(server: SocrataServer, dataset_id: str | None = None) -> SocrataDataset | None:
    """Register the real DCWP rows + view metadata (id w7w3-xahh); None when absent."""
    if realdata_missing(DCA_CSV, DCA_METADATA) is not None:
        return None
    metadata: dict[str, Any] = load_json(DCA_METADATA)
    with (REALDATA / DCA_CSV).open(newline="", encoding="utf-8") as handle:
        header, *rows = list(csv.reader(handle))
    types = {"Longitude": "number", "Latitude": "number"}
    return server.add_dataset(
        dataset_id or str(metadata["id"]),
        header,
        [[value or None for value in row] for row in rows],
        int(metadata["rowsUpdatedAt"]),
        name=str(metadata["name"]),
        field_types=types,
        view_last_modified=int(metadata.get("viewLastModified") or metadata["rowsUpdatedAt"]),
        metadata=metadata,
    )


def load_arcgis_metadata() -> tuple[dict[str, Any], dict[str, Any]] | None:
    """(service metadata, layer metadata) of the real FeatureServer, or None when absent."""
    if realdata_missing(ARCFS_SERVICE, ARCFS_LAYER) is not None:
        return None
    return load_json(ARCFS_SERVICE), load_json(ARCFS_LAYER)


def add_realdata_layer(
    server: ArcGISServer,
    n: int = 25,
    seed: int = 0,
    service: str = "National_Register_Building_Listings",
) -> ArcGISLayer | None:
    """A layer with the real service/layer metadata (id 13, fields, maxRecordCount 2000,
    editingInfo) and `n` synthetic polygons matching its fields; None when absent."""
    loaded = load_arcgis_metadata()
    if loaded is None:
        return None
    service_doc, layer_doc = loaded
    fields = layer_doc["fields"]
    return server.add_layer(
        service,
        int(layer_doc["id"]),
        features_for_fields(fields, n, seed),
        fields,
        max_record_count=int(layer_doc["maxRecordCount"]),
        data_last_edit_date=int(layer_doc["editingInfo"]["dataLastEditDate"]),
        schema_last_edit_date=int(layer_doc["editingInfo"]["schemaLastEditDate"]),
        name=str(layer_doc["name"]),
        geometry_type=str(layer_doc["geometryType"]),
        object_id_field=str(layer_doc["objectIdField"]),
        layer_metadata=layer_doc,
        service_metadata=service_doc,
    )
