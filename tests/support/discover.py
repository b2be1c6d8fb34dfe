"""``karmo-roles discover`` run in-process, as its tests drive it."""

from __future__ import annotations

import pytest

from pulumi_karmo_roles._discover import main
from tests.support.secrets import WORKOS_KEY


def discover(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Exit status, standard output and standard error of ``karmo-roles discover ARGS``;
    whatever it printed holds no WorkOS key and no traceback."""
    code = main(["discover", *args])
    out, err = capsys.readouterr()
    assert WORKOS_KEY not in out + err
    assert "Traceback" not in err
    return code, out, err
