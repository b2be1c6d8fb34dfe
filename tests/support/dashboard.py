"""A person in the WorkOS dashboard: changes roles behind Pulumi's back, through the
sandbox's WorkOS face (the same store the Karmo face writes)."""

from __future__ import annotations

from urllib.parse import quote

import httpx

from pulumi_karmo_roles.sandbox import SandboxServer
from tests.support.secrets import WORKOS_KEY


class Dashboard:
    """``Dashboard(sandbox).rename("org_1", "org-admin", "Admins")`` and so on."""

    def __init__(self, sandbox: SandboxServer) -> None:
        self.sandbox = sandbox

    def _call(self, method: str, organization_id: str, slug: str = "", **body: object) -> None:
        path = f"/authorization/organizations/{quote(organization_id, safe='')}/roles"
        if slug:
            path += "/" + quote(slug, safe="")
        if "permissions" in body:
            path += "/permissions"
        answer = httpx.request(
            method,
            self.sandbox.workos_url + path,
            json=body or None,
            headers={"Authorization": f"Bearer {WORKOS_KEY}"},
            trust_env=False,
        )
        assert answer.is_success, answer.text

    def rename(self, organization_id: str, slug: str, name: str) -> None:
        """PATCH the role's name."""
        self._call("PATCH", organization_id, slug, name=name)

    def delete(self, organization_id: str, slug: str) -> None:
        """DELETE the role."""
        self._call("DELETE", organization_id, slug)

    def set_permissions(self, organization_id: str, slug: str, permissions: list[str]) -> None:
        """PUT the role's permissions."""
        self._call("PUT", organization_id, slug, permissions=permissions)

    def create(
        self, organization_id: str, slug: str, name: str, permissions: list[str] | None = None
    ) -> None:
        """POST a new organization role (and its permissions)."""
        answer = httpx.post(
            f"{self.sandbox.workos_url}/authorization/organizations/{organization_id}/roles",
            json={"slug": slug, "name": name},
            headers={"Authorization": f"Bearer {WORKOS_KEY}"},
            trust_env=False,
        )
        assert answer.is_success, answer.text
        if permissions:
            self.set_permissions(organization_id, slug, permissions)
