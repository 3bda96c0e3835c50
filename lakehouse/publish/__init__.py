"""Publishing: immutable published versions, promotion between environments, handoff packages."""
