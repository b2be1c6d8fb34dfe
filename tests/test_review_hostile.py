"""Hostile input to the review: whatever a preview file holds, the review either refuses
it in one line (exit 2) or writes a summary where every value is inert and bounded, and
never a secret. Generated documents (hypothesis, derandomized) and the cases by name."""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pulumi_karmo_roles._cli import main
from pulumi_karmo_roles.review import ReviewInputError, load_event_log, load_preview, review
from tests.support.previews import ROLE_TYPE, SET_TYPE, UNKNOWN, preview, role_props, step, urn

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "previews"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZG1pbiJ9.c2lnbmF0dXJlLXNlY3JldA"
PLAINTEXT = "hunter2-plaintext-of-a-secret"
TOKENS = (JWT, "Bearer abcd1234efgh5678", "api_key=sk_live_0123456789")
# A credential is recognised by its shape where it starts a word (as redaction does for
# server text): hostile text puts one between spaces.
SPACED = tuple(f" {token} " for token in TOKENS)
HOSTILE = [
    "</details>", "<details><summary>x", "<!--", "-->", "`", "```", "@octocat", "@org/team",
    "|", "||", "#1", "[x](https://evil.example)", "![i](https://evil.example/i.png)",
    "<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "https://evil.example",
    "www.evil.example", ":+1:", "*", "_", "~~", "\\", "&amp;", "&#64;", "\n", "\r\n",
    "\x1b[31m", "\x00", "\u202e", "\u2066", "\u200b", "\u2028", "\ufeff", "\x85", "#",
    "> quote", "- item", "1. item", "---", "===", "$", "$$x$$", "{{x}}", *SPACED,
]  # fmt: skip
OUR_LITERALS = {
    "--deny", "permissions=[]", "pulumi up", "clear_permissions_on_delete",
    "karmo-roles review --format json", "--format text",
}  # fmt: skip
_CODE = re.compile(r"<code>(.*?)</code>", re.S)
_INERT = re.compile(r"(?:[A-Za-z0-9 /-]|&#[0-9]+;|[^\x00-\x7f])*")
_SHOWN = {"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"}


def hostile_text() -> st.SearchStrategy[str]:
    pieces = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=8))
    return st.lists(pieces, max_size=6).map("".join)


def json_values() -> st.SearchStrategy[Any]:
    scalars = st.one_of(
        st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), hostile_text(),
        st.just(UNKNOWN), st.just("[secret]"),
        st.just({"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270",
                 "plaintext": json.dumps(PLAINTEXT), "ciphertext": PLAINTEXT}),
    )  # fmt: skip
    return st.recursive(
        scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4), st.dictionaries(hostile_text(), inner, max_size=4)
        ),
        max_leaves=10,
    )


def props() -> st.SearchStrategy[dict[str, Any]]:
    text_or_any = st.one_of(hostile_text(), json_values())
    return st.fixed_dictionaries(
        {
            "organization_id": text_or_any,
            "slug": text_or_any,
            "name": text_or_any,
            "permissions": st.one_of(
                st.none(), st.lists(st.one_of(hostile_text(), json_values()), max_size=5),
                json_values(),
            ),
            "clear_permissions_on_delete": json_values(),
        }
    )  # fmt: skip


OPS = ["create", "update", "delete", "replace", "create-replacement", "delete-replaced",
       "refresh", "same", "read", "import", "discard", "nonsense"]  # fmt: skip


@st.composite
def steps(draw: st.DrawFn) -> Any:
    if draw(st.integers(0, 9)) == 0:
        return draw(json_values())  # a step that is no step at all
    name = draw(hostile_text())
    parent = draw(st.sampled_from([None, SET_TYPE, draw(hostile_text())]))
    stack = draw(st.sampled_from(["dev", "prod", draw(hostile_text()) or "x"]))
    project = draw(st.sampled_from(["acme-roles", draw(hostile_text()) or "y"]))
    found: dict[str, Any] = {
        "op": draw(st.one_of(st.sampled_from(OPS), json_values())),
        "urn": draw(st.one_of(st.just(urn(name, stack, project, parent)), json_values())),
    }
    for key in ("oldState", "newState"):
        if draw(st.booleans()):
            type_ = draw(st.sampled_from([ROLE_TYPE, f"{SET_TYPE}${ROLE_TYPE}", "x:y:Z"]))
            state = {"type": type_, "inputs": draw(props()), "outputs": draw(props())}
            found[key] = draw(st.one_of(st.just(state), json_values()))
    return found


documents = st.builds(
    lambda found, summary: {"steps": found, "changeSummary": summary},
    st.lists(steps(), max_size=8),
    st.one_of(st.dictionaries(st.text(max_size=5), st.integers()), json_values()),
)


def as_event(found: Any) -> Any:
    """A generated step as the ``resOutputsEvent`` of an event log."""
    if not isinstance(found, dict):
        return found
    metadata = {**found, "old": found.get("oldState"), "new": found.get("newState")}
    return {"resOutputsEvent": {"metadata": {**metadata, "type": ROLE_TYPE}}}


def check_inert(output: str, max_chars: int | None = None) -> None:
    """What any review shows: bounded, no control or bidi character, no secret."""
    if max_chars is not None:
        assert len(output) <= max_chars
    for ch in output:
        assert ch == "\n" or unicodedata.category(ch) not in _SHOWN, repr(ch)
    assert PLAINTEXT not in output
    assert "1b47061264138c4ac30d75fd1eb44270" not in output
    for token in TOKENS:
        assert token not in output
    assert "sk_live_0123456789" not in output


def check_markdown(markdown: str, max_chars: int) -> None:
    check_inert(markdown, max_chars)
    first, _, rest = markdown.partition("\n")
    assert re.fullmatch(r"<!-- karmo-roles-review project=[\w.,/-]+ stack=[\w.,/+-]+ -->", first)
    for content in _CODE.findall(rest):
        assert _INERT.fullmatch(content), content
    outside = _CODE.sub("", rest)
    for tag in re.findall(r"<[^>]*>?", outside):
        assert tag in ("<i>", "</i>"), tag
    for special in ("@", "|", "&"):
        assert special not in outside
    assert "-->" not in outside
    for literal in re.findall(r"`([^`]*)`", outside):
        assert literal in OUR_LITERALS, literal
    assert outside.count("`") % 2 == 0


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(document=documents, deny=st.lists(hostile_text(), max_size=2))
def test_any_document_gives_an_inert_bounded_review(document: Any, deny: list[str]) -> None:
    deny = [pattern for pattern in deny if pattern]
    result = review([document], deny=deny, fail_on=["delete", "drift"])
    check_markdown(result.to_markdown(), 60_000)
    check_markdown(result.to_markdown(max_chars=4_000), 4_000)
    check_inert(result.to_text())
    data = json.dumps(result.to_json(), ensure_ascii=True)
    check_inert(data)
    assert all(len(s) <= 1_000 for s in _strings(result.to_json()))


@settings(max_examples=40, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(events=st.lists(st.one_of(json_values(), steps().map(as_event)), max_size=6))
def test_any_event_log_gives_an_inert_review(events: list[Any]) -> None:
    mappings = [e for e in events if isinstance(e, dict)]
    result = review(event_logs=[mappings])
    check_markdown(result.to_markdown(), 60_000)
    check_inert(result.to_text())


@settings(max_examples=100, deadline=None)
@given(text=st.one_of(st.text(), st.binary().map(lambda b: b.decode("latin-1")),
                      st.builds(json.dumps, json_values())))  # fmt: skip
def test_any_text_is_a_preview_or_refused(text: str) -> None:
    for load in (load_preview, load_event_log):
        try:
            load(text)
        except ReviewInputError as exc:
            message = str(exc)
        else:
            continue
        assert "\n" not in message
        check_inert(message)


@pytest.mark.parametrize("name", sorted(p.name for p in FIXTURES.glob("*.json")))
def test_every_cut_of_a_real_preview_is_refused_in_one_line(name: str) -> None:
    text = (FIXTURES / name).read_text()
    for end in range(1, len(text.rstrip()), max(1, len(text) // 40)):
        with pytest.raises(ReviewInputError, match=r"not JSON \(cut short\)") as caught:
            load_preview(text[:end])
        assert "\n" not in str(caught.value)


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def test_a_name_that_breaks_out_of_the_comment_is_shown_inert() -> None:
    name = "x</details><!-- @octocat `rm` | a | \u202egnp.exe\n# Approved " + JWT
    doc = preview(step("create", urn("a"), new=role_props(name=name, permissions=["a|b`c"])))
    result = review([doc])
    markdown = result.to_markdown()
    check_markdown(markdown, 60_000)
    assert "</details>" not in markdown
    assert "<code>x&#60;/details&#62;&#60;&#33;-- &#64;octocat &#96;rm&#96; &#124; a" in markdown
    assert "\\u202egnp" in result.to_text()  # the bidi override is shown, not obeyed
    assert "***" in result.to_text()


def test_a_project_or_stack_cannot_forge_the_marker() -> None:
    doc = preview(step("create", urn("a", stack="dev --> <!-- x", project="p\n-->"),
                       new=role_props()))  # fmt: skip
    first = review([doc]).to_markdown().splitlines()[0]
    assert first == "<!-- karmo-roles-review project=p_--_ stack=dev_--____--_x -->"
    # `--` inside the comment is harmless: only `-->` ends it, and `>` never gets in


def test_nested_100_000_deep_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    for content in ("[" * 100_000, '{"steps": ' + "[" * 100_000 + "]" * 100_000 + "}"):
        path = tmp_path / "deep.json"
        path.write_text(content)
        assert main(["review", str(path)]) == 2
        assert capsys.readouterr().err.count("\n") == 1


def test_values_nested_as_deep_as_json_allows_are_unknown() -> None:
    deep: Any = "x"
    for _ in range(900):
        deep = [deep]
    doc = preview(step("create", urn("a"), new=role_props(name=deep, permissions=deep)))
    (role,) = review([doc]).stacks[0].roles
    assert (role.name_after, role.granted) == (None, None)


def test_a_100_mb_name_gives_a_bounded_review(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "big.json"
    inputs = {"organization_id": "org_1", "slug": "org-a", "name": "@@NAME@@"}
    new = {"type": ROLE_TYPE, "inputs": inputs}
    head = json.dumps({"steps": [{"op": "create", "urn": urn("a"), "newState": new}]})
    before, after = head.split("@@NAME@@")
    with open(path, "w", encoding="utf-8") as stream:
        stream.write(before)
        chunk = "</details>@octocat`" * 1000
        for _ in range(100 * 1024 * 1024 // len(chunk)):
            stream.write(chunk)
        stream.write(after)
    assert path.stat().st_size > 100_000_000
    for format_ in ("markdown", "text", "json"):
        assert main(["review", str(path), "--format", format_]) == 0
        out = capsys.readouterr().out
        assert len(out) < 10_000
        if format_ == "markdown":
            check_markdown(out, 60_000)
    del before, after


def test_steps_of_any_shape_are_left_out_not_raised_on() -> None:
    u = urn("a")
    odd: list[Any] = [
        {"op": ["create"], "urn": u, "newState": {"type": ROLE_TYPE, "inputs": {}}},
        {"op": {"x": 1}, "urn": u},
        {"op": "create", "urn": ["x"]},
        {"op": "update", "urn": u, "oldState": {"type": ROLE_TYPE, "inputs": {}}},
        {"op": "create", "urn": "urn:pulumi:::::::"},
        None, 7, "step", [],
    ]  # fmt: skip
    result = review([{"steps": odd}, "not a document"], event_logs=[[None, {"x": 1}]])  # type: ignore[list-item]
    assert [len(s.roles) for s in result.stacks] == [0]
    assert result.ignored_steps == 6


def test_long_names_in_many_stacks_still_fit_the_smallest_bound() -> None:
    long = "</details>@x`|" * 150
    doc = preview(
        *(step("create", urn(f"r{i}", stack=f"s{i}{long}", project=f"p{long}"),
               new=role_props(organization_id=long, slug=long, name=long,
                              permissions=[long] * 60))
          for i in range(30))
    )  # fmt: skip
    result = review([doc])
    for max_chars in (4_000, 5_000, 60_000):
        check_markdown(result.to_markdown(max_chars), max_chars)
    assert "Cut to fit 4,000 characters" in result.to_markdown(4_000)
    # The marker names the stacks that fit in 200 characters and counts the others.
    first = result.to_markdown().splitlines()[0]
    assert len(first) < 300
    assert first.endswith(",+29 -->")
