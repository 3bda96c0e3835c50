"""Quality assurance: profiles of a table, drift between source versions, diffs between builds."""
