"""MapPLUTO-lite: PLUTO-lite's lots with their shapes and zoning computed by spatial overlay
(docs/MAPPLUTO_LITE.md section 2).

staging.py cleans the lot polygons and zoning districts (reprojected to EPSG:2263),
intermediate.py merges each lot's parts and overlays the districts, product.py joins them to
PLUTO-lite's build.
"""
