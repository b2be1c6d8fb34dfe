"""``shard_of`` and ``Sharding``: stable across processes, even, minimal movement when the
number of shards grows, pinned organizations first, and role sets taking their shard's
organizations in one line (under ``pulumi.runtime.set_mocks``)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pulumi_karmo_roles import OrganizationRoleSet, Sharding, shard_of
from pulumi_karmo_roles.errors import InputError, KarmoError, UsageError
from tests.support.mocks import run

ORGS = [f"org_{i:05d}" for i in range(10_000)]
organization_ids = st.text(st.characters(codec="utf-8"), min_size=1, max_size=40)


def test_pinned_values_never_change() -> None:
    # Changing the hash would move every organization to another stack: these figures are
    # the contract with every stack already deployed.
    assert [shard_of(o, 8) for o in ("org_acme", "org_globex", "org_initech", "org_umbrella")] == [
        1,
        4,
        6,
        3,
    ]
    assert [shard_of("org_acme", k) for k in range(1, 11)] == [0, 1, 1, 1, 1, 1, 1, 1, 1, 1]


@pytest.mark.parametrize("seed", ["0", "1", "random"])
def test_the_same_in_another_process_whatever_its_hash_seed(seed: str) -> None:
    code = (
        "import json; from pulumi_karmo_roles import shard_of; "
        f"print(json.dumps([shard_of(o, 8) for o in {ORGS[:500]!r}]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONHASHSEED": seed, "PATH": ""},
    )
    assert json.loads(done.stdout) == [shard_of(o, 8) for o in ORGS[:500]]


def test_ten_thousand_organizations_spread_within_ten_percent_over_eight_shards() -> None:
    counts = Counter(shard_of(o, 8) for o in ORGS)
    assert sorted(counts) == list(range(8))
    assert all(abs(count - 1250) <= 125 for count in counts.values()), counts
    assert sorted(counts.values()) == [1202, 1218, 1244, 1249, 1268, 1269, 1269, 1281]


@pytest.mark.parametrize("k", range(1, 16))
def test_from_k_to_k_plus_one_shards_only_about_one_in_k_plus_one_moves_and_only_to_the_new(
    k: int,
) -> None:
    moved = [o for o in ORGS if shard_of(o, k) != shard_of(o, k + 1)]
    assert {shard_of(o, k + 1) for o in moved} <= {k}  # nothing moves between old shards
    expected = len(ORGS) / (k + 1)
    assert abs(len(moved) - expected) <= 0.1 * expected, (k, len(moved))


def test_eight_to_nine_moves_exactly_the_measured_figure() -> None:
    assert sum(shard_of(o, 8) != shard_of(o, 9) for o in ORGS) == 1082
    # what `% k` would have moved, for scale: 8 in 9
    assert sum(int(o[4:]) % 8 != int(o[4:]) % 9 for o in ORGS) == 8888


@given(organization_ids, st.integers(1, 64))
def test_always_in_range_and_deterministic(organization_id: str, shards: int) -> None:
    shard = shard_of(organization_id, shards)
    assert 0 <= shard < shards
    assert shard == shard_of(organization_id, shards) == Sharding(shards).shard_of(organization_id)


@given(organization_ids, st.integers(1, 64))
def test_growing_by_one_shard_keeps_it_or_moves_it_to_the_new_shard(
    organization_id: str, shards: int
) -> None:
    assert shard_of(organization_id, shards + 1) in (shard_of(organization_id, shards), shards)


@given(organization_ids, st.integers(1, 64), st.data())
def test_a_pinned_organization_goes_to_its_shard(
    organization_id: str, shards: int, data: st.DataObject
) -> None:
    pinned = data.draw(st.integers(0, shards - 1))
    assert shard_of(organization_id, shards, assignments={organization_id: pinned}) == pinned
    assert Sharding(shards, {organization_id: pinned}).shard_of(organization_id) == pinned
    # others keep their hash
    other = organization_id + "x"
    assert shard_of(other, shards, assignments={organization_id: pinned}) == shard_of(other, shards)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: shard_of("org_a", 0), InputError, "shards must be 1 to 10000, got 0"),
        (lambda: shard_of("org_a", -3), InputError, "shards must be 1 to 10000, got -3"),
        (lambda: shard_of("org_a", 10_001), InputError, "shards must be 1 to 10000"),
        (lambda: shard_of("org_a", True), UsageError, "shards must be an int, got bool"),
        (
            lambda: shard_of("org_a", 2.0),  # type: ignore[arg-type]
            UsageError,
            "shards must be an int, got float",
        ),
        (lambda: shard_of("", 2), InputError, "must not be empty"),
        (
            lambda: shard_of(None, 2),  # type: ignore[arg-type]
            UsageError,
            "must be a str, got NoneType",
        ),
        (
            lambda: shard_of("org_a", 8, assignments={"org_a": 8}),
            InputError,
            "assignments['org_a']: shard 8 is out of range: there are 8 shards, 0 to 7",
        ),
        (
            lambda: Sharding(4, {"org_a": "2"}),  # type: ignore[dict-item]
            InputError,
            "assignments['org_a']: a shard must be an integer, got '2'",
        ),
        (
            lambda: Sharding(4, ["org_a"]),  # type: ignore[arg-type]
            UsageError,
            "assignments must be a mapping",
        ),
        (
            lambda: Sharding(4).select(["org_a"], 4),
            InputError,
            "shard 4 is out of range: there are 4 shards, 0 to 3",
        ),
        (lambda: Sharding(4).select("org_a", 1), UsageError, "got str"),
    ],
)
def test_bad_input_is_a_clear_error_of_the_package(call, error, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(error) as raised:
        call()
    assert isinstance(raised.value, KarmoError)
    assert message in str(raised.value)


def test_select_keeps_the_form_and_the_order() -> None:
    sharding = Sharding(4, {"org_00000": 3})
    orgs = ORGS[:200]
    parts = [sharding.select(orgs, shard) for shard in range(4)]
    assert sorted(o for part in parts for o in part) == orgs  # each exactly once
    assert all(part == sorted(part) for part in parts)
    assert "org_00000" in parts[3]
    keyed = {o.replace("org_", "c"): o for o in orgs}
    assert sharding.select(keyed, 3) == {k: v for k, v in keyed.items() if v in parts[3]}


def test_the_assignment_file_json_and_yaml(tmp_path: Path) -> None:
    (tmp_path / "shards.json").write_text('{"org_00001": 2, "org_00002": 0}')
    (tmp_path / "shards.yaml").write_text("org_00001: 2\norg_00002: 0\n")
    (tmp_path / "empty.yaml").write_text("")
    for name in ("shards.json", "shards.yaml"):
        sharding = Sharding.from_file(tmp_path / name, shards=3)
        assert sharding.assignments == {"org_00001": 2, "org_00002": 0}
        assert sharding.shard_of("org_00001") == 2
    assert Sharding.from_file(tmp_path / "empty.yaml", 3).assignments == {}


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("a.json", '{"org_a": 1, "org_a": 2}', "a.json: key 'org_a' appears twice"),
        ("a.yaml", "org_a: 1\norg_a: 2\n", "key 'org_a' appears twice"),
        ("a.yaml", "- org_a\n", "a.yaml: must hold one mapping {organization_id: shard}, got list"),
        ("a.json", '{"org_a": 5}', "a.json: assignments['org_a']: shard 5 is out of range"),
        ("a.json", "{", "a.json: not valid JSON"),
        ("a.txt", "", "must be a .json, .yaml or .yml file, got '.txt'"),
        ("a.yaml", "a: &x 1\nb: *x\n", "anchors and aliases are not allowed in a shard assignment"),
    ],
)
def test_a_bad_assignment_file_names_the_file_and_the_problem(
    tmp_path: Path, name: str, text: str, message: str
) -> None:
    (tmp_path / name).write_text(text)
    with pytest.raises(InputError) as raised:
        Sharding.from_file(tmp_path / name, shards=3)
    assert message in str(raised.value)


def test_a_missing_assignment_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read the shard assignment file"):
        Sharding.from_file(tmp_path / "nope.json", 3)


def test_a_role_set_takes_its_shards_organizations_in_one_line() -> None:
    orgs = ORGS[:40]
    catalog = {"org-admin": {"name": "Admin"}}
    declared: set[str] = set()
    for shard in range(4):

        def program(shard: int = shard) -> None:
            OrganizationRoleSet(
                "tenants",
                organization_ids=[o for o in orgs if shard_of(o, 4) == shard],
                catalog=catalog,
            )

        ids = {role["organization_id"] for role in run(program).roles().values()}
        assert ids
        assert all(shard_of(o, 4) == shard for o in ids)
        assert not ids & declared
        declared |= ids
    assert declared == set(orgs)
