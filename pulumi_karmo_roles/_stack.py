"""What a program checks of its stack's ``karmo:*`` config before it declares a role.

The engine records the stack's ``karmo:*`` config as inputs of the default
``pulumi:providers:pulumi-python`` provider in the state: a secret value encrypted, a
plain one verbatim. So a credential set without ``--secret`` would land in the state in
clear text; the program, which knows which keys are secret, refuses it first.
"""

from __future__ import annotations

import pulumi
import pulumi.runtime

from .errors import ConfigurationError

CREDENTIAL_KEYS = ("karmo:token", "karmo:workosApiKey")
"""The stack config keys that hold credentials: each must be set with ``--secret``."""


class PlainTextCredentialError(ConfigurationError, pulumi.RunError):
    """A credential is in the stack config in plain text. A ``RunError`` too, so that
    ``pulumi preview`` shows its one line, not a traceback."""


def require_secret_credentials() -> None:
    """Refuse credentials stored in plain text in the stack config.

    :raises PlainTextCredentialError: naming the key and the command that fixes it.
    """
    for key in CREDENTIAL_KEYS:
        value = pulumi.runtime.get_config(key)
        if value and str(value).strip() and not pulumi.runtime.is_config_secret(key):
            raise PlainTextCredentialError(
                f"{key} is stored in plain text in the stack config, so it would be written "
                f"to the state unencrypted: set it again as a secret with `pulumi config set "
                f"--secret {key} <value>`."
            )
