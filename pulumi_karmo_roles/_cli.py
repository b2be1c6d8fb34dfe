"""``karmo-roles``: one command, several subcommands. ``review`` is the review of
previews (:mod:`._review.command`); everything else goes to ``discover``'s parser
(:mod:`._discover`) as it is."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from . import _discover

USAGE = """usage: karmo-roles {discover,review} ...

Tools for pulumi-karmo-roles.

commands:
  discover  write the organization roles WorkOS holds as a role catalog or a program
  review    summarize the role changes of previews for a pull request

karmo-roles COMMAND --help describes each.
"""


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``karmo-roles`` with ``argv`` (default: the command line); the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["review"]:
        from ._review.command import main as review

        return review(args)
    if args[:1] in (["-h"], ["--help"]):
        sys.stdout.write(USAGE)
        return 0
    return _discover.main(args)


if __name__ == "__main__":
    sys.exit(main())
