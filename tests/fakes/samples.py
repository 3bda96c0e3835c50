"""Sample payloads for the fakes (no external files): Socrata rows and ArcGIS features shaped
like NYC's."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import Any, Literal

# (display name, API field name, Socrata type), modelled on DCWP "Legally Operating Businesses"
SAMPLE_SOCRATA_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("DCA License Number", "license_nbr", "text"),
    ("License Type", "license_type", "text"),
    ("License Expiration Date", "lic_expir_dd", "calendar_date"),
    ("License Status", "license_status", "text"),
    ("Industry", "industry", "text"),
    ("Business Name", "business_name", "text"),
    ("Business Name 2", "business_name_2", "text"),
    ("Address Building", "address_building", "text"),
    ("Address Street Name", "address_street_name", "text"),
    ("Address City", "address_city", "text"),
    ("Address ZIP", "address_zip", "text"),
    ("Address Borough", "address_borough", "text"),
    ("Community Board", "community_board", "number"),
    ("Longitude", "longitude", "number"),
    ("Latitude", "latitude", "number"),
    ("Location", "location", "point"),
)
NYC_BOROUGHS = (
    ("Manhattan", "NEW YORK", "100", "1"),
    ("Brooklyn", "BROOKLYN", "112", "3"),
    ("Queens", "JAMAICA", "114", "4"),
    ("Bronx", "BRONX", "104", "2"),
    ("Staten Island", "STATEN ISLAND", "103", "5"),
)
NYC_BOUNDS = (-74.25, 40.50, -73.70, 40.91)  # lon/lat box
_INDUSTRIES = (
    "Home Improvement Contractor",
    "Sightseeing Guide",
    "Tobacco Retail Dealer",
    "Electronics Store",
    "Laundries",
    "Secondhand Dealer - General",
    "Garage",
    "Sidewalk Cafe",
)
_NAME_PARTS = (
    "JOE'S",
    "BEST",
    "GOLDEN",
    "EMPIRE",
    "CAFÉ",
    "BROOKLYN",
    "ACME",
    "SUNRISE",
    "DELI",
    "HARDWARE",
    "LAUNDROMAT",
    "GROCERY",
    "MOTORS",
    "BAGELS",
    "NEWSSTAND",
)
_STREETS = ("BROADWAY", "ATLANTIC AVE", "MAIN ST", "GRAND CONCOURSE", "HYLAN BLVD", "5TH AVE")


def _business_name(rng: random.Random) -> str:
    name = " ".join(rng.sample(_NAME_PARTS, rng.randint(1, 3)))
    suffix = rng.choice(("", " INC.", " LLC", ", INC.", ' "THE SHOP"', " CORP"))
    return f"{name}{suffix}"


def _random_date(rng: random.Random, start_year: int, end_year: int) -> str:
    return f"{rng.randint(start_year, end_year)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"


def sample_socrata_row(rng: random.Random, number: int) -> list[Any]:
    """One synthetic license row in SAMPLE_SOCRATA_COLUMNS order (None = null)."""
    individual = rng.random() < 0.3
    outside = rng.random() < 0.08
    borough, city, zip_prefix, board_prefix = rng.choice(NYC_BOROUGHS)
    lon = round(rng.uniform(NYC_BOUNDS[0], NYC_BOUNDS[2]), 6)
    lat = round(rng.uniform(NYC_BOUNDS[1], NYC_BOUNDS[3]), 6)
    return [
        f"{1000000 + number:07d}-DCA",
        "Individual" if individual else "Business",
        f"{_random_date(rng, 2017, 2027)}T00:00:00.000",
        rng.choice(("Active", "Active", "Inactive", "Expired")),
        rng.choice(_INDUSTRIES),
        _business_name(rng),
        _business_name(rng) if rng.random() < 0.4 else None,
        None if individual else str(rng.randint(1, 3999)),
        None if individual else rng.choice(_STREETS),
        "MANALAPAN" if outside else city,
        "07726" if outside else f"{zip_prefix}{rng.randint(1, 99):02d}",
        "Outside NYC" if outside else borough,
        None if outside or individual else f"{board_prefix}{rng.randint(1, 12):02d}",
        None if outside or individual else str(lon),
        None if outside or individual else str(lat),
        None if outside or individual else {"type": "Point", "coordinates": [lon, lat]},
    ]


def sample_socrata_rows(n: int, seed: int = 0) -> list[list[Any]]:
    """`n` synthetic NYC business-license rows (commas, quotes, accents, nulls, leading zeros)."""
    rng = random.Random(seed)
    return [sample_socrata_row(rng, number) for number in range(n)]


def _square(lon: float, lat: float, half: float) -> dict[str, Any]:
    ring = [
        [round(lon - half, 7), round(lat - half, 7)],
        [round(lon + half, 7), round(lat - half, 7)],
        [round(lon + half, 7), round(lat + half, 7)],
        [round(lon - half, 7), round(lat + half, 7)],
    ]
    return {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}  # counter-clockwise, closed


def _sample_geometry(rng: random.Random, kind: str) -> dict[str, Any]:
    lon = round(rng.uniform(NYC_BOUNDS[0], NYC_BOUNDS[2]), 6)
    lat = round(rng.uniform(NYC_BOUNDS[1], NYC_BOUNDS[3]), 6)
    if kind == "mixed":
        kind = rng.choice(("point", "polygon"))
    if kind == "polygon":
        return _square(lon, lat, rng.uniform(0.0001, 0.001))
    return {"type": "Point", "coordinates": [lon, lat]}


def sample_features(
    n: int, seed: int = 0, geometry: Literal["point", "polygon", "mixed"] = "point"
) -> list[dict[str, Any]]:
    """`n` GeoJSON features in NYC lon/lat with int, float, str, epoch-ms and null properties.

    No OBJECTID: ArcGISServer.add_layer numbers them 1..n.
    """
    rng = random.Random(seed)
    features = []
    for number in range(n):
        borough = rng.choice(NYC_BOROUGHS)
        properties = {
            "name": _business_name(rng),
            "borough": borough[0],
            "boro_code": int(borough[3]),
            "bin": rng.randint(1000000, 5999999),
            "lot_area": round(rng.uniform(500, 50000), 2),
            "num_floors": rng.choice((None, rng.randint(1, 60))),
            "landmark": rng.choice((None, None, f"Landmark #{number}")),
            "listed_date": rng.choice((None, rng.randint(-631152000, 1700000000) * 1000)),
        }
        features.append(
            {
                "type": "Feature",
                "geometry": _sample_geometry(rng, geometry),
                "properties": properties,
            }
        )
    return features


def features_for_fields(
    fields: Sequence[Mapping[str, Any]],
    n: int,
    seed: int = 0,
    geometry: Literal["point", "polygon", "mixed"] = "polygon",
) -> list[dict[str, Any]]:
    """`n` features whose properties match Esri `fields` (e.g. the real layer's); OIDs 1..n."""
    rng = random.Random(seed)
    features = []
    for number in range(1, n + 1):
        properties = {str(f["name"]): _value_for_field(f, rng, number) for f in fields}
        features.append(
            {
                "type": "Feature",
                "geometry": _sample_geometry(rng, geometry),
                "properties": properties,
            }
        )
    return features


def _value_for_field(esri_field: Mapping[str, Any], rng: random.Random, number: int) -> Any:
    kind = esri_field.get("type")
    if kind == "esriFieldTypeOID":
        return number
    if esri_field.get("nullable", True) and rng.random() < 0.1:
        return None
    if kind == "esriFieldTypeDate":
        return rng.randint(-631152000, 1700000000) * 1000
    if kind in ("esriFieldTypeDouble", "esriFieldTypeSingle"):
        return round(rng.uniform(10, 100000), 3)
    if kind in ("esriFieldTypeInteger", "esriFieldTypeSmallInteger", "esriFieldTypeBigInteger"):
        return rng.randint(0, 30000)
    text = f"{esri_field.get('alias') or esri_field['name']} {number}"
    return text[: int(esri_field.get("length") or 256)]
