"""The review of previews, fact by fact: on the previews the real CLI wrote
(tests/fixtures/previews/, captured by scripts/capture_review_fixtures.py) and on
documents built to the same shape for what a fixture does not hold."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pulumi_karmo_roles.review import (
    Review,
    RoleChange,
    load_event_log,
    load_preview,
    review,
)
from tests.support.previews import (
    SECRET,
    SET_TYPE,
    UNKNOWN,
    event,
    other,
    preview,
    role_props,
    step,
    urn,
)

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "previews"


def fixture(name: str) -> dict[str, Any]:
    return load_preview((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


def roles(result: Review) -> dict[tuple[str, str | None], dict[str, Any]]:
    """The JSON's roles by (change, slug)."""
    found = {}
    for stack in result.to_json()["stacks"]:
        for role in stack["roles"]:
            found[(role["change"], role["slug"])] = role
    return found


def rules(result: Review) -> list[tuple[str, str | None, str | None, bool]]:
    return [(f.rule, f.slug, f.permission, f.blocking) for f in result.findings]


# --- what the real CLI wrote -------------------------------------------------------------


def test_a_new_stack_lists_each_role_with_the_permissions_it_grants() -> None:
    result = review([fixture("create")])
    (stack,) = result.to_json()["stacks"]
    assert (stack["project"], stack["stack"]) == ("acme-roles", "dev")
    found = roles(result)
    assert len(found) == 6
    assert {change for change, _ in found} == {"create"}
    admin = found[("create", "org-admin")]
    assert admin["organization_id"] == "org_acme"
    assert admin["name_before"] is None
    assert admin["name_after"] == "Organization Admin"
    assert admin["granted"] == ["members:read", "members:write", "roles:*"]
    assert admin["revoked"] == []
    support = found[("create", "org-support")]
    assert support["permissions_managed_after"] is False
    assert support["granted"] == []
    assert "org-support <code>Support</code>" not in result.to_markdown()
    assert "permissions not managed" in result.to_text()
    assert rules(result) == [("wildcard", "org-admin", "roles:*", False)]


def test_a_rename_is_an_update_with_the_name_before_and_after() -> None:
    (role,) = roles(review([fixture("rename")])).values()
    assert role["change"] == "update"
    assert role["slug"] == "org-admin"
    assert (role["name_before"], role["name_after"]) == ("Organization Admin", "Administrators")
    assert (role["granted"], role["revoked"]) == ([], [])


def test_permissions_granted_and_revoked_are_two_lists() -> None:
    result = review([fixture("permissions")])
    (role,) = roles(result).values()
    assert role["granted"] == ["billing:write", "invoices:read"]
    assert role["revoked"] == ["billing:read"]
    assert result.findings == []
    assert "grants billing:write, invoices:read; revokes billing:read" in result.to_text()


def test_a_takeover_replaces_the_whole_set_and_says_so() -> None:
    result = review([fixture("takeover")], fail_on=["takeover"])
    (role,) = roles(result).values()
    assert role["takeover"] is True
    assert role["permissions_managed_before"] is False
    assert role["granted"] == ["tickets:read", "tickets:write"]
    assert role["revoked"] is None  # what Karmo holds beside them is not in the preview
    assert rules(result) == [("takeover", "org-support", None, True)]
    assert result.blocking
    assert "the whole set Karmo holds is replaced by tickets:read, tickets:write" in (
        result.to_text()
    )


def test_a_slug_change_is_a_replacement_and_the_old_role_stays() -> None:
    result = review([fixture("replace")])
    (role,) = roles(result).values()
    assert role["change"] == "replace"
    assert (role["slug_before"], role["slug"]) == ("org-viewer", "org-readonly")
    assert role["organization_id"] == role["organization_id_before"] == "org_globex"
    assert role["granted"] == ["reports:read"]
    assert role["revoked"] == []
    assert rules(result) == [("delete", "org-readonly", None, False)]
    text = result.to_text()
    assert "the old one is not deleted: the role stays in Karmo" in text
    assert "declare it with permissions=[] and run pulumi up" in text


def test_a_deletion_says_what_stays_and_what_clear_permissions_on_delete_clears() -> None:
    result = review([fixture("delete")], fail_on=["delete"])
    found = roles(result)
    auditor, legacy = found[("delete", "org-auditor")], found[("delete", "org-legacy")]
    assert auditor["clear_permissions_on_delete"] is True
    assert auditor["revoked"] == ["audit:read"]
    assert legacy["revoked"] == []
    assert legacy["name_before"] == "Legacy"
    assert [r[:2] for r in rules(result)] == [("delete", "org-auditor"), ("delete", "org-legacy")]
    assert all(f.blocking for f in result.findings)
    # A clear run after the stack that adopted a moved organization's role undoes what
    # that stack set: the review says which stack goes first (and only where it clears).
    first = "If its organization moved to another stack, apply this one first"
    (auditor_line,) = [
        line for line in result.to_text().splitlines() if "org-auditor Auditor" in line
    ]
    (legacy_line,) = [line for line in result.to_text().splitlines() if "org-legacy Legacy" in line]
    assert first in auditor_line
    assert first not in legacy_line
    (cleared,) = [f for f in result.findings if f.slug == "org-auditor"]
    assert "moved to another stack, apply this one first" in cleared.message


def test_a_role_set_catalog_change_is_written_once_for_its_50_organizations() -> None:
    result = review([fixture("role-set")])
    (stack,) = result.stacks
    assert (stack.project, stack.stack, len(stack.roles)) == ("acme-tenants", "prod", 50)
    assert {r.granted for r in stack.roles} == {("billing:write",)}
    assert all(SET_TYPE in r.urn for r in stack.roles)
    for text in (result.to_text(), result.to_markdown()):
        assert text.count("billing") == 1 + text.count("org-billing")  # one sentence
        assert "50 organizations (" in text
        assert "and 45 more)" in text


def test_a_secret_name_is_shown_as_secret_and_never_decoded() -> None:
    result = review([fixture("secret")])
    (role,) = roles(result).values()
    assert role["name_after"] is None
    assert role["secret"] == ["name"]
    assert "renamed Administrators → (secret)" in result.to_text()
    raw = (FIXTURES / "secret.json").read_text()
    assert SECRET in raw
    assert SECRET not in json.dumps(result.to_json())


def test_a_preview_without_changes_names_its_stack_and_says_so() -> None:
    result = review([fixture("no-changes")])
    assert [(s.project, s.stack, s.roles) for s in result.stacks] == [("acme-roles", "dev", [])]
    markdown = result.to_markdown()
    assert markdown.startswith("<!-- karmo-roles-review project=acme-roles stack=dev -->\n")
    assert "No role changes." in markdown
    assert not result.blocking


def test_drift_from_preview_refresh_is_the_difference_of_the_two_old_states() -> None:
    result = review([fixture("drift-preview-refresh")], fail_on=["drift"])
    found = roles(result)
    support, billing = found[("drift", "org-support")], found[("drift", "org-billing")]
    assert (support["name_before"], support["name_after"]) == ("Support", "Helpdesk (renamed)")
    assert (billing["granted"], billing["revoked"]) == (["billing:refund"], ["billing:write"])
    assert found[("drift", "org-readonly")]["gone"] is True
    # and the undoing, as what the next `pulumi up` does
    assert found[("update", "org-billing")]["granted"] == ["billing:write"]
    assert found[("update", "org-billing")]["revoked"] == ["billing:refund"]
    assert found[("update", "org-support")]["name_after"] == "Support"
    assert found[("create", "org-readonly")]["granted"] == ["reports:read"]
    assert sorted(r[:2] for r in rules(result)) == [
        ("drift", "org-billing"), ("drift", "org-readonly"), ("drift", "org-support")
    ]  # fmt: skip
    assert result.blocking


def test_drift_from_the_event_log_of_refresh_preview_only() -> None:
    events = load_event_log((FIXTURES / "drift-refresh-preview-only.events.jsonl").read_text())
    result = review(event_logs=[events])
    found = roles(result)
    assert set(found) == {("drift", "org-support"), ("drift", "org-billing"),
                          ("drift", "org-readonly")}  # fmt: skip
    assert found[("drift", "org-billing")]["granted"] == ["billing:refund"]
    assert found[("drift", "org-readonly")]["gone"] is True
    assert result.notes == []


def test_the_json_of_refresh_preview_only_alone_says_where_its_drift_is() -> None:
    result = review([fixture("drift-refresh-preview-only")])
    assert [(c, s) for c, s in roles(result)] == [("drift", "org-readonly")]  # its delete step
    assert "pulumi/pulumi#16278" in result.notes[0]
    assert "pulumi/pulumi#16278" in result.to_markdown()
    with_log = review(
        [fixture("drift-refresh-preview-only")],
        event_logs=[
            load_event_log((FIXTURES / "drift-refresh-preview-only.events.jsonl").read_text())
        ],
    )
    assert with_log.notes == []
    assert len(roles(with_log)) == 3


def test_a_pull_request_with_every_kind_of_change() -> None:
    result = review([fixture("pull-request")], deny=["tickets:*"])
    kinds = sorted(roles(result))
    assert kinds == [
        ("delete", "org-auditor"), ("delete", "org-legacy"), ("replace", "org-readonly"),
        ("update", "org-admin"), ("update", "org-billing"), ("update", "org-support"),
    ]  # fmt: skip
    assert ("deny", "org-support", "tickets:read", True) in rules(result)
    assert result.blocking


# --- built to the same shape -------------------------------------------------------------


def test_a_refresh_step_that_shows_what_was_read_back_is_drift() -> None:
    # Today's CLI writes the recorded state twice in a refresh step (pulumi/pulumi#16278);
    # one that writes what was read back shows the drift in the step itself.
    recorded = role_props(slug="org-billing", name="Billing", permissions=["billing:read"])
    held = role_props(slug="org-billing", name="Billing", permissions=["billing:refund"])
    found = roles(review([preview(step("refresh", urn("billing"), old=recorded, new=held))]))
    assert list(found) == [("drift", "org-billing")]
    drift = found[("drift", "org-billing")]
    assert (drift["granted"], drift["revoked"]) == (["billing:refund"], ["billing:read"])
    same = review([preview(step("refresh", urn("billing"), old=recorded, new=recorded))])
    assert roles(same) == {}


def test_text_a_policy_pack_prints_before_the_json_is_skipped() -> None:
    text = json.dumps(preview(step("create", urn("a"), new=role_props())))
    document = load_preview("Loading policy packs...\n  {not json}\n" + text)
    assert document == json.loads(text)


def test_clear_permissions_on_delete_clears_nothing_it_does_not_manage() -> None:
    doc = preview(step("delete", urn("a"), old=role_props(clear=True)))
    (role,) = review([doc]).stacks[0].roles
    assert role.revoked == ()
    assert "and so do its permissions" in review([doc]).to_text()


def test_a_sentence_of_a_hundred_long_permissions_lists_fewer() -> None:
    granted = [f"perm-{i:03}:" + "x" * 80 for i in range(100)]
    text = review([preview(step("create", urn("a"), new=role_props(permissions=granted)))])
    line = next(line for line in text.to_text().splitlines() if "grants" in line)
    assert line.endswith(" and 95 more")
    assert len(line) < 1_000


def test_a_secret_in_a_permission_list_is_secret_never_a_permission() -> None:
    doc = preview(step("create", urn("a"), new=role_props(permissions=["a:read", SECRET])))
    (role,) = review([doc]).stacks[0].roles
    assert role.secret == ("permissions",)
    assert role.granted is None
    assert SECRET not in review([doc]).to_text()


def test_a_permission_is_shown_as_it_is_though_it_looks_like_a_credential() -> None:
    doc = preview(step("create", urn("a"), new=role_props(permissions=["api_key:read"])))
    result = review([doc])
    assert "grants api_key:read" in result.to_text()
    assert "grants <code>api&#95;key&#58;read</code>" in result.to_markdown()


def test_a_name_secret_before_or_after_is_named_secret() -> None:
    doc = preview(step("update", urn("a"), old=role_props(name=SECRET), new=role_props()))
    (role,) = review([doc]).stacks[0].roles
    assert role.secret == ("name",)


def test_steps_without_a_usable_urn_are_counted_in_the_summary() -> None:
    doc = preview(step("create", urn("a"), new=role_props()), {"op": "create", "urn": "x"})
    assert "1 steps without a usable URN left out" in review([doc]).to_text()


def test_a_credential_in_a_urn_is_redacted_in_the_json() -> None:
    doc = preview(step("delete", urn("api_key=sk_live_0123456789"), old=role_props()))
    data = json.dumps(review([doc], fail_on=["delete"]).to_json())
    assert "sk_live_0123456789" not in data
    assert "urn:pulumi:dev::acme-roles::" in data


def test_drift_to_permissions_that_cannot_be_read_says_they_differ() -> None:
    recorded = role_props(permissions=["a:read"])
    events = [event("update", urn("a"), recorded, role_props(permissions=SECRET))]
    result = review(event_logs=[events])
    (role,) = result.stacks[0].roles
    assert (role.change, role.granted, role.revoked) == ("drift", None, None)
    assert "permissions differ (secret or unknown)" in result.to_text()


def test_an_organization_id_unknown_at_preview_is_null() -> None:
    doc = preview(step("create", urn("viewer"), new=role_props(organization_id=UNKNOWN)))
    (role,) = review([doc]).stacks[0].roles
    assert role.organization_id is None
    assert role.unknown == ("organization_id",)
    assert "in organization (known after apply)" in review([doc]).to_text()


def test_permissions_unknown_at_preview_are_null_and_fail_a_deny() -> None:
    doc = preview(step("create", urn("a"), new=role_props(permissions=UNKNOWN)),
                  step("update", urn("b"), old=role_props(slug="org-b", permissions=["x"]),
                       new=role_props(slug="org-b", permissions=["x", UNKNOWN])))  # fmt: skip
    result = review([doc])
    assert [(r.granted, r.revoked) for r in result.stacks[0].roles] == [(None, ()), (None, None)]
    assert result.findings == []
    denied = review([doc], deny=["admin:*"])
    assert [(f.rule, f.permission, f.blocking) for f in denied.findings] == [
        ("deny", None, True), ("deny", None, True)
    ]  # fmt: skip


def test_deny_patterns_are_shell_style_and_always_block() -> None:
    doc = preview(step("create", urn("a"), new=role_props(permissions=["users:delete", "x:read"])))
    result = review([doc], deny=["*:delete", "nothing"])
    assert [(f.rule, f.permission, f.pattern, f.blocking) for f in result.findings] == [
        ("deny", "users:delete", "*:delete", True)
    ]
    assert review([doc], deny=["USERS:*"]).findings == []  # case-sensitive


def test_fail_on_names_rules_only() -> None:
    with pytest.raises(ValueError, match="no such rule: deletes"):
        review([], fail_on=["deletes"])
    with pytest.raises(ValueError, match="empty"):
        review([], deny=[""])


def test_permissions_no_longer_managed_stay_as_they_are() -> None:
    doc = preview(step("update", urn("a"), old=role_props(permissions=["x"]), new=role_props()))
    result = review([doc])
    (role,) = result.stacks[0].roles
    assert (role.granted, role.revoked, role.permissions_managed_after) == ((), (), False)
    assert "no longer managed by Pulumi: they stay as they are" in result.to_text()


def test_an_organization_change_is_a_replacement_from_one_organization_to_the_other() -> None:
    doc = preview(step("replace", urn("a"), old=role_props(organization_id="org_old"),
                       new=role_props(organization_id="org_new")))  # fmt: skip
    result = review([doc])
    (role,) = result.stacks[0].roles
    assert (role.organization_id_before, role.organization_id) == ("org_old", "org_new")
    assert "in organization org_old → org_new" in result.to_text()


def test_replacement_steps_shown_one_by_one_are_one_replacement() -> None:
    u = urn("a")
    old, new = role_props(slug="org-a"), role_props(slug="org-b")
    doc = preview(step("create-replacement", u, old, new), step("replace", u, old, new),
                  step("delete-replaced", u, old))  # fmt: skip
    assert [r.change for r in review([doc]).stacks[0].roles] == ["replace"]


def test_other_resources_are_counted_and_stacks_kept_apart() -> None:
    dev = preview(
        step("create", urn("a"), new=role_props()),
        other("create", "pet"),
        other("same", "cat"),
        other("update", "dog"),
    )
    prod = preview(step("create", urn("a", stack="prod"), new=role_props()))
    result = review([dev, prod, dev])  # the same stack twice: each change once
    assert [(s.stack, len(s.roles), s.other_resources) for s in result.stacks] == [
        ("dev", 1, 2), ("prod", 1, 0)
    ]  # fmt: skip
    assert "stack=dev,prod -->" in result.to_markdown().splitlines()[0]


def test_identical_changes_across_organizations_are_grouped_by_everything_else() -> None:
    steps = [step("create", urn(f"r{i}"), new=role_props(organization_id=f"org_{i}",
                                                           permissions=["a:read"]))
             for i in range(7)]  # fmt: skip
    steps.append(step("create", urn("odd"), new=role_props(organization_id="org_x",
                                                            permissions=["a:write"])))  # fmt: skip
    text = review([preview(*steps)]).to_text()
    assert "7 organizations (org_0, org_1, org_2, org_3, org_4 and 2 more): grants a:read" in text
    assert "organization org_x: grants a:write" in text


def test_markdown_is_cut_to_max_chars_by_whole_entries_with_a_note() -> None:
    steps = [step("create", urn(f"r{i}"), new=role_props(slug=f"org-r{i}", permissions=["a:b"]))
             for i in range(400)]  # fmt: skip
    steps.insert(0, step("delete", urn("gone"), old=role_props(slug="org-gone")))
    result = review([preview(*steps)], fail_on=["delete"])
    full = result.to_markdown()
    assert len(full) < 60_000
    assert "Cut to fit" not in full
    cut = result.to_markdown(max_chars=5_000)
    assert len(cut) <= 5_000
    assert "Cut to fit 5,000 characters:" in cut
    assert "Created (400)" in cut
    assert "org-gone" in cut  # the findings and deletions come first
    kept = [line for line in cut.splitlines() if line.startswith("- <code>org-r")]
    assert 0 < len(kept) < 400
    assert all(line.endswith("</code>") for line in kept)  # whole entries only
    assert f"{400 - len(kept)} more entries left out" in cut
    with pytest.raises(ValueError, match="at least"):
        result.to_markdown(max_chars=100)


def test_the_json_has_the_issue_s_shape() -> None:
    doc = preview(step("create", urn("a"), new=role_props(permissions=["users:read"])),
                  other("create", "pet"))  # fmt: skip
    data = review([doc], fail_on=["wildcard"]).to_json()
    (stack,) = data["stacks"]
    assert set(stack) == {"stack", "project", "roles", "other_resources"}
    (role,) = stack["roles"]
    for key in ("urn", "organization_id", "slug", "change", "name_before", "name_after",
                "granted", "revoked"):  # fmt: skip
        assert key in role
    assert (role["change"], role["granted"], role["revoked"]) == ("create", ["users:read"], [])
    assert data["findings"] == []
    assert data["blocking"] is False
    json.dumps(data)  # serializable as it is


def test_a_finding_has_the_issue_s_fields() -> None:
    doc = preview(step("create", urn("a"), new=role_props(permissions=["*"])))
    (finding,) = review([doc], fail_on=["wildcard"]).to_json()["findings"]
    assert {
        k: finding[k]
        for k in ("rule", "stack", "organization_id", "slug", "permission", "blocking")
    } == {
        "rule": "wildcard",
        "stack": "dev",
        "organization_id": "org_1",
        "slug": "org-admin",
        "permission": "*",
        "blocking": True,
    }
    assert "wildcard" in finding["message"]


def test_role_changes_are_typed_data() -> None:
    doc = preview(step("create", urn("a"), new=role_props(permissions=["b", "a", "b"])))
    (role,) = review([doc]).stacks[0].roles
    assert isinstance(role, RoleChange)
    assert role.granted == ("a", "b")


def test_drift_in_an_event_log_with_the_engine_s_secret_objects() -> None:
    u = urn("a")
    events = [
        event("same", urn("b"), role_props(), role_props()),
        event(
            "update",
            u,
            role_props(name="A", permissions=["x"]),
            role_props(name="B", permissions=["x", "y"]),
        ),
    ]
    result = review(event_logs=[events])
    (role,) = result.stacks[0].roles
    assert (role.change, role.name_before, role.name_after, role.granted) == (
        "drift", "A", "B", ("y",)
    )  # fmt: skip
    assert "1b47061264138c4ac30d75fd1eb44270" not in json.dumps(result.to_json())


def test_an_organization_id_from_another_resource_is_unknown_in_the_cli_s_preview() -> None:
    found = roles(review([fixture("unknown")]))
    viewer = found[("create", "org-viewer")]
    assert viewer["organization_id"] is None
    assert viewer["unknown"] == ["organization_id"]
    assert found[("create", "org-anchor")]["organization_id"] == "org_acme"


def test_several_stacks_each_have_their_heading_and_the_marker_names_them_in_order() -> None:
    result = review([fixture("role-set"), fixture("create")])
    markdown = result.to_markdown()
    assert markdown.splitlines()[0] == (
        "<!-- karmo-roles-review project=acme-tenants,acme-roles stack=prod,dev -->"
    )
    prod = markdown.index("#### <code>acme-tenants</code> / <code>prod</code>")
    dev = markdown.index("#### <code>acme-roles</code> / <code>dev</code>")
    assert prod < markdown.index("Updated (50)") < dev < markdown.index("Created (6)")
    assert "- **wildcard** in <code>dev</code>:" in markdown
