"""Hostile and odd input: property-based tests of check/diff/create/read, unicode names,
and path injection."""

from __future__ import annotations

import contextlib
import json
import string
import unicodedata
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pulumi.dynamic import ConfigureRequest
from pulumi.dynamic.config import Config
from pulumi.output import UNKNOWN

from pulumi_karmo_roles._http.karmo import KarmoClient
from pulumi_karmo_roles._properties import INPUT_PROPERTIES
from pulumi_karmo_roles._rules import BIDI_CONTROLS
from pulumi_karmo_roles.errors import UnprocessableEntityError
from pulumi_karmo_roles.provider import OrganizationRoleProvider
from pulumi_karmo_roles.sandbox import SandboxServer
from tests.support.secrets import TOKEN

# What the engine can deliver: JSON-like values, and unknowns during preview.
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=300)
    # Longer than any rule allows and than a failure message may be (400), yet small
    # enough for hypothesis's health checks; the 300,000-character case is an @example.
    | st.builds(lambda ch, n: ch * n, st.characters(), st.integers(256, 2_000))
    | st.just(UNKNOWN),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=20,
)
any_props = st.dictionaries(
    st.sampled_from([*INPUT_PROPERTIES, "role_id", "other", ""]), json_values, max_size=6
)

org_ids = st.text(string.ascii_letters + string.digits + "_-:.", min_size=1, max_size=60).filter(
    lambda s: ".." not in s
)
slugs = st.from_regex(r"org-[a-z0-9_-]{1,40}", fullmatch=True)

# Letters and symbols that render as nothing, though their category says otherwise.
BLANK_LOOKING = "\u115f\u1160\u3164\uffa0\u2800"


def has_visible_character(text: str) -> bool:
    """At least one letter, number, punctuation mark or symbol that draws something."""
    return any(unicodedata.category(ch)[0] in "LNPS" and ch not in BLANK_LOOKING for ch in text)


names = st.text(
    st.characters(exclude_categories=("Cc", "Cs"), exclude_characters=BIDI_CONTROLS),
    min_size=1,
    max_size=255,
).filter(has_visible_character)
# Text that shows nothing: whitespace, zero-width and other format characters (U+200B,
# U+FEFF, U+2060, U+00AD, ...), combining marks with nothing to combine with.
# Default_Ignorable_Code_Point (Unicode's DerivedCoreProperties.txt), assigned or not.
DEFAULT_IGNORABLE = [
    (0x00AD, 0x00AD), (0x034F, 0x034F), (0x061C, 0x061C), (0x115F, 0x1160), (0x17B4, 0x17B5),
    (0x180B, 0x180F), (0x200B, 0x200F), (0x202A, 0x202E), (0x2060, 0x206F), (0x3164, 0x3164),
    (0xFE00, 0xFE0F), (0xFEFF, 0xFEFF), (0xFFA0, 0xFFA0), (0xFFF0, 0xFFF8),
    (0x1BCA0, 0x1BCA3), (0x1D173, 0x1D17A), (0xE0000, 0xE0FFF),
]  # fmt: skip
default_ignorable = (
    st.sampled_from(DEFAULT_IGNORABLE)
    .flatmap(lambda r: st.integers(r[0], r[1]).map(chr))
    .filter(lambda ch: ch not in BIDI_CONTROLS)
)

invisible_text = st.text(
    st.characters(categories=("Zs", "Zl", "Zp", "Cf", "Mn"), exclude_characters=BIDI_CONTROLS)
    | st.sampled_from(" \t\n\r\x0b\x0c" + BLANK_LOOKING)
    | default_ignorable,
    min_size=1,
    max_size=255,
)
bidi_controls = st.sampled_from(sorted(BIDI_CONTROLS))
# Karmo's own rules (karmo:accessProvider generic), and WorkOS's limits on top (workos):
# at most 48 characters, words of letters and digits joined by single separators.
workos_slugs = st.from_regex(r"org-[a-z0-9]{1,8}([-_][a-z0-9]{1,8}){0,4}", fullmatch=True)
VALID_INPUTS = {
    "generic": st.fixed_dictionaries({"organization_id": org_ids, "slug": slugs, "name": names}),
    "workos": st.fixed_dictionaries(
        {
            "organization_id": org_ids,
            "slug": workos_slugs,
            "name": names.filter(lambda name: len(name) <= 48),
        }
    ),
}
ACCESS_PROVIDERS = sorted(VALID_INPUTS)


def provider_for(access_provider: str) -> OrganizationRoleProvider:
    """A provider configured with the access provider alone, as a preview would be."""
    provider = OrganizationRoleProvider()
    config = Config({"karmo:accessProvider": access_provider}, "hostile")
    provider.configure(ConfigureRequest(config))
    return provider


HUGE = "x" * 300_000


@example(news={key: HUGE for key in INPUT_PROPERTIES}, olds={})
@example(news={"permissions": [HUGE, HUGE], "name": [HUGE]}, olds={"name": HUGE})
@given(news=any_props, olds=any_props)
def test_check_never_raises(news: dict[str, Any], olds: dict[str, Any]) -> None:
    result = OrganizationRoleProvider().check(olds, news)
    assert {f.property for f in result.failures} <= set(INPUT_PROPERTIES)
    for failure in result.failures:
        assert len(failure.reason) < 400  # bounded, whatever the value's size
    assert set(result.inputs) <= set(INPUT_PROPERTIES)


@given(news=any_props, old_permissions=json_values)
def test_diff_never_raises(news: dict[str, Any], old_permissions: Any) -> None:
    olds = {"role_id": "r", "permissions": old_permissions}
    OrganizationRoleProvider().diff("org_1/org-a", olds, news)
    OrganizationRoleProvider().diff("org_1/org-a", olds, {**news, "permissions": [{"a": 1}]})


ROLE = {"organization_id": "org_1", "slug": "org-a", "name": "Admin"}


@pytest.mark.parametrize("access_provider", ACCESS_PROVIDERS)
@given(data=st.data())
def test_valid_inputs_pass_check_and_diff_against_themselves_is_empty(
    access_provider: str, data: st.DataObject
) -> None:
    inputs = data.draw(VALID_INPUTS[access_provider])
    provider = provider_for(access_provider)
    assert provider.check({}, inputs).failures == []
    result = provider.diff(f"{inputs['organization_id']}/{inputs['slug']}", inputs, dict(inputs))
    assert result.changes is False
    assert result.replaces == []


@pytest.fixture(scope="module", params=ACCESS_PROVIDERS)
def roundtrip(
    request: pytest.FixtureRequest,
) -> Iterator[tuple[OrganizationRoleProvider, SandboxServer]]:
    """The provider and the sandbox, both under one access provider's rules."""
    access_provider = str(request.param)
    with SandboxServer(token=TOKEN, access_provider=access_provider) as server:
        provider = OrganizationRoleProvider()
        config = {
            "karmo:apiUrl": server.url,
            "karmo:token": TOKEN,
            "karmo:maxRetries": "0",
            "karmo:accessProvider": access_provider,
        }
        provider.configure(ConfigureRequest(Config(config, "hostile")))
        yield provider, server
        provider.close()


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_valid_inputs_round_trip_through_create_and_read(
    roundtrip: tuple[OrganizationRoleProvider, SandboxServer], data: st.DataObject
) -> None:
    provider, server = roundtrip
    inputs = data.draw(VALID_INPUTS[server.access_provider])
    created = provider.create(dict(inputs))
    assert created.outs is not None
    assert {k: created.outs[k] for k in inputs} == inputs
    assert created.outs["permissions"] is None  # not given: not managed
    read = provider.read(created.id, dict(created.outs))
    assert read.id == created.id
    assert read.outs == created.outs
    # Karmo received the name exactly as declared.
    key = (inputs["organization_id"], inputs["slug"])
    assert server.roles()[key] == (created.outs["role_id"], inputs["name"])


# Unicode, quotes and control characters ----------------------------------------------

ODD_NAMES = [
    "Admin 🚀🛡️",
    "مدير المنظمة",  # right-to-left
    "שלום",
    "Åd\u0301min e\u0300\u0301\u0302",  # combining marks
    'He said "admin" \\ it\'s fine',
    "ZWJ 👩\u200d💻 and VS16 ✔\ufe0f",  # format characters that are not bidi controls
    "零号管理员",
]


@pytest.mark.parametrize("name", ODD_NAMES)
def test_odd_names_are_sent_byte_exact(sandbox: SandboxServer, name: str) -> None:
    inputs = {"organization_id": "org_1", "slug": "org-odd", "name": name}
    assert OrganizationRoleProvider().check({}, inputs).failures == []
    with KarmoClient(sandbox.url, TOKEN) as client:
        client.upsert_role("org_1", "org-odd", name)
    body = sandbox.requests()[-1]["body"]
    assert json.loads(body) == {"name": name}
    assert sandbox.roles()[("org_1", "org-odd")][1] == name


@pytest.mark.parametrize("char", ["\x00", "\n", "\r", "\t", "\x1b", "\x7f", "\x85"])
def test_control_characters_are_rejected_in_check(char: str) -> None:
    result = OrganizationRoleProvider().check(
        {}, {"organization_id": "org_1", "slug": "org-a", "name": f"Ad{char}min"}
    )
    assert [f.property for f in result.failures] == ["name"]
    assert f"control character U+{ord(char):04X}" in result.failures[0].reason


# Invisible and bidirectional text --------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    # Default-ignorable code points Unicode has not assigned yet, then the ends of ranges.
    ["\u2065", "\ufff0", "\U000e0080", "\U000e01f0", "\U000e0fff", "\U0001bca3", " \u2065 "],
)
def test_unassigned_default_ignorable_code_points_are_invisible(name: str) -> None:
    (failure,) = OrganizationRoleProvider().check({}, {**ROLE, "name": name}).failures
    assert failure.reason.startswith("name must not be blank (it needs a visible character)")


@given(name=invisible_text)
def test_a_name_with_nothing_visible_is_blank(name: str) -> None:
    (failure,) = OrganizationRoleProvider().check({}, {**ROLE, "name": name}).failures
    assert failure.property == "name"
    assert failure.reason.startswith("name must not be blank (it needs a visible character)")


@given(
    prop=st.sampled_from(["organization_id", "slug", "name"]),
    before=st.text(string.ascii_lowercase + string.digits + "".join(BIDI_CONTROLS), max_size=20),
    control=bidi_controls,
    after=st.text(string.ascii_lowercase + string.digits, max_size=20),
)
def test_bidi_controls_are_refused_in_every_string_input(
    prop: str, before: str, control: str, after: str
) -> None:
    value = ("org-" if prop == "slug" else "") + before + control + after
    first = next(ch for ch in value if ch in BIDI_CONTROLS)
    failures = OrganizationRoleProvider().check({}, {**ROLE, prop: value}).failures
    assert [(f.property, f.reason.split(", got ")[0]) for f in failures] == [
        (prop, f"{prop} must not contain the bidirectional control U+{ord(first):04X}")
    ]


@given(before=st.lists(st.sampled_from(["a", "b:c"]), max_size=3), control=bidi_controls)
def test_bidi_controls_are_refused_in_permissions(before: list[str], control: str) -> None:
    permissions = [*before, f"x{control}y"]
    (failure,) = OrganizationRoleProvider().check({}, {**ROLE, "permissions": permissions}).failures
    assert failure.reason == (
        f"permissions[{len(before)}] must not contain the bidirectional control "
        f"U+{ord(control):04X}"
    )


# The sandbox is at least as strict as check -------------------------------------------


def put_raw(url: str, organization_id: str, slug: str, name: str) -> tuple[int, Any]:
    """PUT a role to the sandbox with these exact values (no client rules in between);
    the status and the JSON answer."""

    def segment(value: str) -> str:
        return quote(value, safe="").replace(".", "%2E")

    request = urllib.request.Request(
        f"{url}/organizations/{segment(organization_id)}/roles/{segment(slug)}",
        data=json.dumps({"name": name}).encode(),
        method="PUT",
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return int(answer.status), json.load(answer)
    except urllib.error.HTTPError as error:
        with error:
            return int(error.code), json.load(error)


any_character = st.characters(exclude_categories=["Cs"])  # JSON cannot carry a lone surrogate
text_inputs = st.text(
    any_character | bidi_controls | st.sampled_from("\u200b/%. "),
    max_size=40,
)


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    organization_id=org_ids | text_inputs.filter(bool),
    slug=slugs | text_inputs.filter(bool),
    name=names | invisible_text | text_inputs,
)
def test_the_sandbox_refuses_what_check_refuses(
    roundtrip: tuple[OrganizationRoleProvider, SandboxServer],
    organization_id: str,
    slug: str,
    name: str,
) -> None:
    provider, server = roundtrip
    inputs = {"organization_id": organization_id, "slug": slug, "name": name}
    refused = provider.check({}, inputs).failures != []
    status, _ = put_raw(server.url, organization_id, slug, name)
    assert status == 422 if refused else status in (200, 201), (inputs, status)


@pytest.mark.parametrize(
    ("organization_id", "slug", "name", "pointer"),
    [
        ("org/1", "org-a", "A", "/organizationId"),  # sent as org%2F1
        ("org 1", "org-a", "A", "/organizationId"),
        ("org\x071", "org-a", "A", "/organizationId"),
        ("org\u202e1", "org-a", "A", "/organizationId"),
        ("o" * 256, "org-a", "A", "/organizationId"),
        ("..", "org-a", "A", "/organizationId"),
        ("org_1", "org-A", "A", "/slug"),
        ("org_1", "org-a", "Ad\x07min", "/name"),
        ("org_1", "org-a", "\u202eAdmin", "/name"),
        ("org_1", "org-a", "\u200b\ufeff", "/name"),
    ],
)
def test_the_sandbox_answers_karmo_422_with_pointers(
    sandbox: SandboxServer, organization_id: str, slug: str, name: str, pointer: str
) -> None:
    status, error = put_raw(sandbox.url, organization_id, slug, name)
    assert status == 422
    assert error["code"] == ("42200001" if pointer == "/name" else "42200003")
    assert [e["pointer"] for e in error["errors"]] == [pointer]
    assert sandbox.roles() == {}


# Path injection ------------------------------------------------------------------------

INJECTIONS = ["a/b", "..", "../x", "a%2Fb", "a?b=1", "a#frag", "a b", " a", "a\tb", "a\\b"]


@pytest.mark.parametrize("value", INJECTIONS)
def test_path_injection_is_rejected_in_check(value: str) -> None:
    provider = OrganizationRoleProvider()
    org = provider.check({}, {"organization_id": value, "slug": "org-a", "name": "A"})
    assert [f.property for f in org.failures] == ["organization_id"]
    slug = provider.check({}, {"organization_id": "org_1", "slug": f"org-{value}", "name": "A"})
    assert [f.property for f in slug.failures] == ["slug"]


@pytest.mark.parametrize("value", [*INJECTIONS, ".", "%", "a/../../admin"])
def test_client_keeps_each_value_in_one_path_segment(sandbox: SandboxServer, value: str) -> None:
    # The client alone, with values check would have refused: defence in depth.
    with KarmoClient(sandbox.url, TOKEN, max_retries=0) as client:
        # The sandbox rejects such a slug; the request's path is the point.
        with contextlib.suppress(UnprocessableEntityError):
            client.upsert_role(value, value, "A")
    path = sandbox.requests()[-1]["path"]
    segments = path.split("/")
    assert segments[:2] == ["", "organizations"]
    assert len(segments) == 5, path
    assert segments[3] == "roles"
    for segment in (segments[2], segments[4]):
        assert not set("/?#") & set(segment)
        assert segment not in (".", "..")
