"""Quality assurance: profiles of a table, drift between source versions, diffs between builds."""

from lakehouse.qa.diff import BuildDiff, Side, diff_builds
from lakehouse.qa.drift import QaSettings, SourceDrift, source_drift
from lakehouse.qa.profile import TableProfile, profile_table

__all__ = [
    "BuildDiff",
    "QaSettings",
    "Side",
    "SourceDrift",
    "TableProfile",
    "diff_builds",
    "profile_table",
    "source_drift",
]
