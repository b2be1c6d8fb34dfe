"""The Pulumi dynamic provider behind :class:`~pulumi_karmo_roles.OrganizationRole`.

The engine pickles one instance into every resource's state and rebuilds it in the
provider process, where it serves every resource on up to four threads: so the pickle
holds no settings (they come from ``configure()`` or the environment), the HTTP session
is built once, lazily, and no operation keeps state on ``self``. State refers to the
class as ``pulumi_karmo_roles.provider.OrganizationRoleProvider``: never move it."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable
from typing import Any

from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    ConfigureRequest,
    CreateResult,
    DiffResult,
    ReadResult,
    ResourceProvider,
    UpdateResult,
)
from pulumi.output import Unknown

from ._announce import announce
from ._config import (
    CONFIG_KEYS,
    Settings,
    check_settings,
    resolve_access_provider,
    resolve_settings,
)
from ._http.credentials import Credential, ServiceToken, sigv4_signer
from ._http.karmo import KarmoClient
from ._http.session import Session
from ._properties import (
    CLEAR,
    INPUT_PROPERTIES,
    PROBLEMS,
    Role,
    Rules,
    is_unknown,
    outputs,
    role_inputs,
)
from ._read_back import ReadBack
from .errors import KarmoError, NotFoundError, PermissionsNotAppliedError

__all__ = ["OrganizationRoleProvider"]

_REPLACE_PROPERTIES = ("organization_id", "slug")


def build_session(settings: Settings) -> Session:
    """The one HTTP session for ``settings``, shared by the Karmo client and the WorkOS
    reader: the timeout, the retry policy and deadline, retries announced to the user."""
    return Session(
        timeout=settings.timeout,
        retry_policy=settings.retry_policy(),
        on_retry=announce,
    )


class _Runtime:
    """What the provider holds in a provider process; never pickled."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.stack_config: dict[str, str | None] = {}
        self.session: Session | None = None
        self.access_provider: str | None = None  # None: not configured; see _rules()
        self.client: KarmoClient | None = None
        self.read_back = ReadBack(self.lock)
        self.session_factory: Callable[[Settings], Session] = build_session


class OrganizationRoleProvider(ResourceProvider):
    """Implements check/diff/create/update/read/delete for Karmo organization roles.

    Construct it with no arguments; it reads its settings in the provider process from
    the stack config (``karmo:apiUrl``, ``karmo:token``, ``karmo:timeout``,
    ``karmo:maxRetries``, ``karmo:retryDeadline``, ``karmo:auth``, ``karmo:awsRegion``,
    ``karmo:accessProvider``, ``karmo:workosApiKey``, ``karmo:workosApiUrl``) or the
    environment (see the README's configuration table).
    """

    serialize_as_secret_always = True

    def __init__(self) -> None:
        super().__init__()
        self._runtime = _Runtime()

    def __getstate__(self) -> dict[str, Any]:
        # The pickle lands in state: keep it free of settings, locks and clients.
        # (Non-empty, or unpickling would skip __setstate__.)
        return {"format": 1}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._runtime = _Runtime()
        # Unpickled: in the provider process, fix what `pulumi up` shows of it (errors as
        # their message, one message per line). Imported here: it acts on that process.
        from ._display import install

        install()

    def configure(self, req: ConfigureRequest) -> None:
        """Record the ``karmo:*`` stack config; nothing is sent yet, so a preview needs
        no Karmo credentials. Every setting that is given, and the proxy variables, are
        checked here, so a malformed one fails even a preview: a token unusable in a
        header (shown never), a number out of its range, a proxy URL that cannot be used
        (shown without its credentials), an access provider other than ``workos`` or
        ``generic``.

        :raises ConfigurationError: a setting is malformed.
        """
        runtime = self._runtime
        self.close()
        stack_config = {key: _text(req.config.get(key)) for key in CONFIG_KEYS}
        check_settings(stack_config, os.environ)
        access_provider = resolve_access_provider(stack_config, os.environ)
        with runtime.lock:
            runtime.stack_config = stack_config
            runtime.access_provider = access_provider

    def set_session_factory(self, factory: Callable[[Settings], Session]) -> None:
        """Build the HTTP session (shared by the Karmo client and the WorkOS reader) with
        ``factory(settings)`` instead of :func:`build_session`, e.g. to give it a test
        transport or clock. Called once, lazily, by the first operation that sends a
        request; not part of the pickle."""
        self.close()
        with self._runtime.lock:
            self._runtime.session_factory = factory

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        """Validate the inputs; one failure per bad property. Values still unknown in a
        preview (they come from other resources) are not checked. ``permissions`` is a
        set: a valid list comes back sorted, each entry once. The slug and name also
        follow the access provider's limits (``karmo:accessProvider``, WorkOS's by
        default); that needs no credentials.

        :raises ConfigurationError: not configured, and ``KARMO_ACCESS_PROVIDER`` is
            malformed.
        """
        rules = self._rules()
        inputs = {key: news[key] for key in INPUT_PROPERTIES if key in news}
        failures = []
        for key in INPUT_PROPERTIES:
            value = news.get(key)
            if isinstance(value, Unknown):
                continue
            problem = rules[key](value)
            if problem:
                failures.append(CheckFailure(key, problem))
        permissions = inputs.get("permissions")
        if (
            isinstance(permissions, list | tuple)
            and not any(f.property == "permissions" for f in failures)
            and not any(map(is_unknown, permissions))
        ):
            inputs["permissions"] = sorted(set(permissions))
        return CheckResult(inputs, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """Compare the new inputs with the recorded outputs: a new ``name``, permission
        set or ``clear_permissions_on_delete`` updates in place; a new ``organization_id``
        or ``slug`` is another role, so it replaces. Permissions compare as sets (order and
        duplicates make no change); an absent ``clear_permissions_on_delete`` is false."""
        replaces = [key for key in _REPLACE_PROPERTIES if _changed(olds.get(key), news.get(key))]
        changed = replaces + (["name"] if _changed(olds.get("name"), news.get("name")) else [])
        if _permissions_changed(olds.get("permissions"), news.get("permissions")):
            changed.append("permissions")
        old_flag, new_flag = olds.get(CLEAR), news.get(CLEAR)
        if is_unknown(new_flag) or (old_flag is True) != (new_flag is True):
            changed.append(CLEAR)
        return DiffResult(changes=bool(changed), replaces=replaces, delete_before_replace=False)

    def create(self, props: dict[str, Any]) -> CreateResult:
        """Upsert the role, then set its permissions if they are managed. Both calls are
        idempotent, so a create that failed halfway (or an existing role declared in code)
        converges on the same role when run again."""
        role = role_inputs(props, self._rules())
        client = self._client()
        upserted = client.upsert_role(role.organization_id, role.slug, role.name)
        if not upserted.created:
            announce(
                f"Karmo role {role.slug!r} already existed in organization "
                f"{role.organization_id!r} ({upserted.role_id}): adopted, and its name set "
                f"to {role.name!r}.",
                level="info",
            )
        permissions = self._apply_permissions(client, role, upserted.role_id)
        return CreateResult(
            f"{role.organization_id}/{role.slug}",
            outputs(role, upserted.role_id, permissions),
        )

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        """Send only what changed: the upsert for a new name, the permissions request for
        a new permission set. Dropping ``permissions`` stops managing them, and a new
        ``clear_permissions_on_delete`` only changes what a later delete does: neither
        sends a request."""
        role = role_inputs(news, self._rules())
        client = self._client()
        role_id = olds.get("role_id")
        if role.name != olds.get("name") or not role_id:
            role_id = client.upsert_role(role.organization_id, role.slug, role.name).role_id
        permissions = olds.get("permissions")
        if role.permissions is None:
            permissions = None
        elif permissions is None or set(permissions) != set(role.permissions):
            permissions = self._apply_permissions(client, role, role_id)
        else:
            permissions = role.permissions
        return UpdateResult(outputs(role, role_id, permissions))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """Read the role back from WorkOS, where Karmo's WorkOS mode stores it, when
        ``karmo:workosApiKey`` is set: its ``name``, ``role_id`` and, when the resource
        manages them, ``permissions`` (also as the inputs of later diffs, so a preview
        shows ``name: "<in WorkOS>" => "<declared>"``). A role WorkOS no longer has is
        gone: the refresh drops it from the state. Without a key, the recorded state,
        and one line that says drift is not visible.

        On ``OrganizationRole.get`` (only the id and the program's inputs are known) the
        organization and slug come from the id, ``org_123/org-admin``; with a key the rest
        is WorkOS's, without one ``role_id`` stays unknown.

        :raises InputError: the id is malformed, the slug names a WorkOS environment
            role, or (``get``) WorkOS has no such role.
        """
        runtime = self._runtime
        with runtime.lock:
            stack_config = runtime.stack_config
        reader = runtime.read_back.reader(stack_config, self._session)
        return runtime.read_back.read(reader, id_, props)

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        """Forget the role, and by default send nothing: Karmo has no delete operation, so
        the role and its permissions stay in Karmo, and the user is warned so (with how to
        revoke the permissions).

        With ``clear_permissions_on_delete`` set and permissions managed by Pulumi, they
        are cleared first. That acts on (organization, slug), so it also clears what a
        resource that now declares the same role has just set (a rename without
        ``aliases``, a create-before-delete replace): hence off by default.
        """
        slug, organization_id = props.get("slug"), props.get("organization_id")
        where = f"role {slug!r} in organization {organization_id!r}"
        if props.get(CLEAR) is True and props.get("permissions") is not None:
            with contextlib.suppress(NotFoundError):  # no role: nothing is granted
                self._client().set_role_permissions(str(organization_id), str(slug), [])
            announce(
                f"Karmo has no delete operation: {where} remains in Karmo with no "
                "permissions (Pulumi cleared them: clear_permissions_on_delete is set). "
                "Pulumi no longer manages it; remove it in Karmo or its access provider if "
                "it must go."
            )
            return
        announce(
            f"Karmo has no delete operation: {where} remains in Karmo, and so do its "
            "permissions. Pulumi no longer manages it. To revoke its permissions, declare "
            "it with permissions=[], run `pulumi up`, then remove the resource; to remove "
            "the role itself, use Karmo or its access provider."
        )

    def _apply_permissions(self, client: KarmoClient, role: Role, role_id: str) -> list[str] | None:
        if role.permissions is None:
            return None
        try:
            return client.set_role_permissions(role.organization_id, role.slug, role.permissions)
        except KarmoError as exc:
            raise PermissionsNotAppliedError(
                f"Karmo role {role.slug!r} in organization {role.organization_id!r} "
                f"({role_id}) is written, but its permissions were not set: {exc} The role "
                "keeps its previous permissions; the next `pulumi up` converges (both "
                "requests are idempotent).",
                role_id=role_id,
            ) from exc

    def close(self) -> None:
        """Close the HTTP session, if one was built. The provider process never needs to
        (it ends with the operation); code that embeds the provider can."""
        runtime = self._runtime
        with runtime.lock:
            if runtime.session is not None:
                runtime.session.close()
            runtime.session = runtime.client = None
            runtime.read_back.forget()

    def _session(self, settings: Settings) -> Session:
        runtime = self._runtime
        with runtime.lock:
            if runtime.session is None:
                runtime.session = runtime.session_factory(settings)
            return runtime.session

    def _rules(self) -> Rules:
        """The input rules for the configured access provider; not configured (a
        provider used directly), ``KARMO_ACCESS_PROVIDER`` or the default."""
        access_provider = self._runtime.access_provider
        if access_provider is None:
            access_provider = resolve_access_provider({}, os.environ)
        return PROBLEMS[access_provider]

    def _client(self) -> KarmoClient:
        """The shared Karmo client, built on first use, as a view whose requests share one
        retry deadline: call once per operation."""
        runtime = self._runtime
        client = runtime.client
        if client is None:
            with runtime.lock:
                if runtime.client is None:
                    settings = resolve_settings(runtime.stack_config, os.environ)
                    assert settings.api_url is not None
                    auth: str | Credential
                    if settings.token is not None and settings.auth == "token":
                        auth = settings.token.get_secret_value()
                    else:
                        auth = ServiceToken(settings.api_url, sigv4_signer(settings.aws_region))
                    session = self._session(settings)
                    runtime.client = KarmoClient(settings.api_url, auth, session=session)
                client = runtime.client
        return client.operation()


def _changed(old: Any, new: Any) -> bool:
    return isinstance(new, Unknown) or old != new


def _permissions_changed(old: Any, new: Any) -> bool:
    if is_unknown(new) or (isinstance(new, list) and any(map(is_unknown, new))):
        return True
    if old is None or new is None:
        return (old is None) != (new is None)
    try:
        return set(old) != set(new)
    except TypeError:  # not lists of strings: check refuses those; never raise here
        return bool(old != new)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
