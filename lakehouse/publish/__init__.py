"""Publishing: immutable published versions, promotion between environments, diffs of builds
and published versions, handoff packages."""

from lakehouse.publish.diffs import compare, report_diff, write_diff_report
from lakehouse.publish.package import Packaged, package_published
from lakehouse.publish.publish import (
    find_published,
    list_published,
    promote,
    promote_to_env,
    publish_build,
)
from lakehouse.publish.records import PublishRecord

__all__ = [
    "Packaged",
    "PublishRecord",
    "compare",
    "find_published",
    "list_published",
    "package_published",
    "promote",
    "promote_to_env",
    "publish_build",
    "report_diff",
    "write_diff_report",
]
