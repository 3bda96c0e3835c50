"""An ArcGIS hosted feature layer as a destination: its features replaced by the version's.

    - name: gis_layer
      type: arcgis
      layer_url: https://services.arcgis.com/ORG/arcgis/rest/services/Lots/FeatureServer/0
      token_env: ARCGIS_TOKEN     # the default; sent as the `token` form field, never in a URL
      batch_size: 1000            # features per applyEdits request
      missing_fields: add         # or `refuse`
      timeout_seconds: 120        # per request; retries: 3, backoff_seconds: 1 (doubling)

Geometry products only. Each delivered column must have a field on the layer (names matched
case-insensitively, Esri field types compatible with the dictionary's type). A missing field is
added through the layer's admin `addToDefinition` (alias = the dictionary's display name, and
its description), because adding an empty, nullable field changes nothing a reader already
uses (fields added stay when the replace then fails: they are empty and harmless); the admin
URL is the layer's with `/rest/services/` read as `/rest/admin/services/`, as on ArcGIS
Online. `missing_fields: refuse` lists them instead. A field of an incompatible type is always
refused: changing it would mean dropping the field and its values.

How the replace stays recoverable. Deleting everything and then adding in batches leaves, at
any failure, a layer holding part of the new version, which looks complete to its readers. So:

1. every check (geometry types, field types, the CRS) is made before anything is written;
2. the object ids the layer holds are noted; the new features are added in batches, each one
   `applyEdits` with `rollbackOnFailure=true` (a batch goes in whole or not at all);
3. when a batch fails, every feature that appeared since step 2 is deleted again: the layer
   holds its old features, unchanged, and the error names the batch, its failed count and the
   server's first error descriptions;
4. only when every batch went in are all other features deleted (everything but the ids the
   batches returned), in batches, and the layer is checked to hold just the new features.

Deleting by "all but what was added" rather than by the noted old ids also removes features a
retried batch left behind when the server applied it but its answer was lost (a 5xx after the
commit, a timeout), so retrying an edit never duplicates features. While a replace runs,
readers see the old features plus the new ones coming in (never a smaller layer that passes
for the whole); features someone else adds during the run are replaced too. If a clean-up
itself fails, the error says what the layer holds and gives the command that finishes the job
(running it again always converges on exactly the version's features).

Requests are POSTs with the token in the form body; 5xx and 429 answers and lost connections
are retried (Retry-After honoured, bounded), an ArcGIS token error (498/499, HTTP 401/403) is
not: the message names the environment variable to check. No URL printed or recorded has a
token, and server text is scrubbed of it.

Geometry: read from WKB with shapely, reprojected with pyproj to the layer's spatial reference
when the delivery's CRS differs, written as Esri JSON (polygon outer rings clockwise). Dates
and datetimes go as epoch milliseconds (a DateOnly field gets YYYY-MM-DD), booleans as 0/1.
"""

from __future__ import annotations

from lakehouse.distribute import DestinationType
from lakehouse.distribute.arcgis.destination import preview, send
from lakehouse.distribute.arcgis.spec import ArcGISSpec

DESTINATION = DestinationType(
    name="arcgis", spec=ArcGISSpec, preview=preview, send=send, geometry_only=True
)

__all__ = ["DESTINATION", "ArcGISSpec", "preview", "send"]
