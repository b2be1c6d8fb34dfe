"""Every example program through the real Pulumi CLI, against the sandbox: ``preview``,
``up``, an ``up`` that must change nothing, ``destroy``. Each runs with its own
``Pulumi.<stack>.yaml.example`` as the stack config, so an example that drifts from the
package (a renamed setting, a required key it lacks) fails here.

What the test changes, the same for every example, and nothing else:

* ``karmo:apiUrl``: the example's URL is replaced by the sandbox's, which serves the API
  under the same path (``/auth-api``), and answers 404 outside it as the real service
  does;
* with ``karmo:auth: token`` (the default), the token is set with
  ``pulumi config set --secret karmo:token`` (the examples hold no secret value);
* with ``karmo:auth: aws-sigv4``, the sandbox mints service tokens, and the CLI gets fake
  static AWS credentials (``AWS_ACCESS_KEY_ID``...; nothing leaves 127.0.0.1);
* before ``destroy``, ``pulumi state unprotect --all`` for examples that protect roles.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from pulumi_karmo_roles import Sharding
from pulumi_karmo_roles.sandbox import SandboxServer
from tests.support.cli import ROOT, Project, cli_environment
from tests.support.secrets import TOKEN, aws_env

pytestmark = pytest.mark.cli

EXAMPLES = sorted(path for path in (ROOT / "examples").glob("*/Pulumi.*.yaml.example"))


def test_every_example_program_has_a_stack_config_example() -> None:
    programs = {p.parent.name for p in (ROOT / "examples").glob("*/__main__.py")}
    assert (
        programs
        == {p.parent.name for p in EXAMPLES}
        == {"basic", "multi-tenant", "production", "sharded"}
    )


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.parent.name)
def test_example_lifecycle(
    example: Path, pulumi_bin: Path, pulumi_home: Path, tmp_path: Path
) -> None:
    stack = example.name.removeprefix("Pulumi.").removesuffix(".yaml.example")
    text = example.read_text()
    config: dict[str, Any] = yaml.safe_load(text)["config"]
    example_url = str(config["karmo:apiUrl"])
    prefix = re.sub(r"^https?://[^/]+", "", example_url)
    minted = config.get("karmo:auth") == "aws-sigv4"
    assert not any(isinstance(v, dict) and "secure" in v for v in config.values())

    state = tmp_path / "state"
    state.mkdir()
    env = cli_environment(pulumi_bin, state, pulumi_home)
    env = {k: v for k, v in env.items() if not k.startswith("AWS_")}
    if minted:
        env.update(aws_env(tmp_path))

    with SandboxServer(
        "" if minted else TOKEN, prefix=prefix, token_lifetime=900 if minted else None
    ) as sandbox:
        assert sandbox.url.endswith(prefix)
        project = Project(tmp_path / "project", env, secret=TOKEN)
        shutil.copytree(
            example.parent,
            project.directory,
            dirs_exist_ok=True,
            ignore=shutil.ignore_patterns("*.example", "__pycache__", "venv", "*.sh"),
        )
        (project.directory / f"Pulumi.{stack}.yaml").write_text(
            text.replace(example_url, sandbox.url)
        )
        project.pulumi("stack", "init", stack, "--non-interactive")
        if not minted:
            project.pulumi("config", "set", "--secret", "karmo:token", TOKEN)

        project.preview()
        assert sandbox.stats().get("requests", 0) == 0, "a preview calls nothing"

        project.up()
        roles = project.resources()
        assert roles
        assert len(sandbox.roles()) == len(roles)
        # The organizations the stack config names are the ones that got roles.
        named = set(re.findall(r"\borg_\w+", text))
        if example.parent.name == "sharded":  # the shard's share of customers.json
            shards = int(config["karmo-roles-sharded:shards"])
            customers = json.loads((example.parent / "customers.json").read_text())
            sharding = Sharding.from_file(example.parent / "shards.yaml", shards)
            named = set(
                sharding.select(customers, int(config["karmo-roles-sharded:shard"])).values()
            )
            assert named == {organization for organization, _ in sandbox.roles()}
        assert named
        assert named <= {organization for organization, _ in sandbox.roles()}
        if minted:
            assert sandbox.stats()["minted"] >= 1
            for token in sandbox.minted_tokens():
                assert all(token not in run.output for run in project.runs)

        project.up("--expect-no-changes")

        if any(r.get("protect") for r in roles.values()):
            project.pulumi("state", "unprotect", "--all", "--yes")
        project.pulumi("destroy", "--yes", "--skip-preview", "--non-interactive")
        assert project.resources() == {}
    # Every request the examples made was under the prefix: none was answered 404.
    assert not [r for r in sandbox.requests() if not r["path"].startswith(prefix + "/")]
