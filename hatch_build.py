"""Build hook: keep ``.gitignore`` out of the sdist.

Hatchling always adds the project's ``.gitignore`` to an sdist (so that a wheel built
from it excludes the same files); this sdist lists its contents explicitly
(``only-include`` in pyproject.toml), so the file is only clutter there.
"""

from __future__ import annotations

from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class CustomBuildHook(BuildHookInterface):  # type: ignore[type-arg]
    """Drops ``.gitignore`` from the sdist's forced files."""

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        """Remove the forced ``.gitignore`` entry before the sdist is written."""
        forced = build_data["force_include"]
        build_data["force_include"] = {
            source: target for source, target in forced.items() if target != ".gitignore"
        }
