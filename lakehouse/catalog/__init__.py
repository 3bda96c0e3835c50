"""What the store holds, and whether it is intact: the catalog, the documentation site, verify."""

from lakehouse.catalog.catalog import DatasetEntry, ProductEntry, catalog
from lakehouse.catalog.docs import (
    DocsSite,
    ProductBuilds,
    SiteContent,
    write_docs,
    write_project_docs,
)
from lakehouse.catalog.verify import VerifyReport, verify_archive

__all__ = [
    "DatasetEntry",
    "DocsSite",
    "ProductBuilds",
    "ProductEntry",
    "SiteContent",
    "VerifyReport",
    "catalog",
    "verify_archive",
    "write_docs",
    "write_project_docs",
]
