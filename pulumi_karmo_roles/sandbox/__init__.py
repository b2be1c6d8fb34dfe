"""A local stand-in for Karmo, for tests, demos and trying the provider without
credentials: ``python -m pulumi_karmo_roles.sandbox --port 8787 --token dev-token``.
With ``--workos-api-key`` it also serves WorkOS's view of the same roles (see
:mod:`._workos`)."""

from ._faults import Faults
from ._server import SandboxServer

__all__ = ["Faults", "SandboxServer"]
