"""What the README tells a reader to run, for tests that hold the code and the other
files to it."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def section(title: str) -> str:
    """The text under the README's ``## title`` heading, up to the next ``## ``."""
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", README, re.S | re.M)
    assert match is not None, f"the README has no section {title!r}"
    return match.group(1)


def install_targets() -> set[str]:
    """What the Install section's commands give ``pip install``, quotes removed, e.g.
    ``/path/to/pulumi-karmo-roles[aws]``."""
    blocks = re.findall(r"^```sh\n(.*?)^```", section("Install"), re.S | re.M)
    targets = {
        target.strip("'")
        for block in blocks
        for target in re.findall(r"^\.venv/bin/pip install ('[^']+'|\S+)", block, re.M)
    }
    assert targets, "the README's Install section has no pip install command"
    return targets


def advised_install(message: str) -> str:
    """The ``pip install '...'`` target an error message advises (quotes removed)."""
    match = re.search(r"`pip install '([^']+)'`", message)
    assert match is not None, f"no `pip install '...'` advice in {message!r}"
    return match.group(1)
