"""``python -m pulumi_karmo_roles``: the same as ``karmo-roles``."""

import sys

from ._cli import main

sys.exit(main())
