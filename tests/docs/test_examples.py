"""The docs pages' examples, run as doctests run (issue 12): they cannot drift.

How to write a runnable example in docs/*.md (or README.md):

    ```console
    $ layerplan plan --json | python3 -c "import json, sys; print(json.load(sys.stdin)['project']['name'])"
    layerplan-example
    $ layerplan plan --platform linux/s390x
    error: ...
    $ echo $?
    2
    ```

- Only ``console`` blocks run; a ``$ `` line is a bash command (``\\`` at the end goes
  on to the next line); the lines below it are its stdout and stderr together.
- ``...`` is any text: within a line, or a line of its own for any number of lines.
  Runs of spaces count as one. A command with no lines below it must print nothing.
- Every command must exit 0, unless the next command is ``echo $?`` (then the status
  is compared).
- A block runs in one shell, in a fresh git-committed copy of ``example-project/``, or
  of the directory named by ``<!-- docs-test: project=tests/fixtures/NAME -->`` on the
  line above the fence.
- ``$BASE`` (a Debian 12 + Python 3.11 base image) and ``$REGISTRY`` (a registry over
  plain HTTP) come from the test engine (``LAYERPLAN_TEST_BASE``,
  ``LAYERPLAN_TEST_REGISTRY``): a block using them needs it, as does one using
  ``docker`` or ``docker-daemon:``. Push to repositories under ``$REGISTRY/docs/``: the
  registry is shared with other tests.
- Examples that cannot run here (cosign, ghcr.io, Docker Hub, hatch with a published
  layerplan) stay plain ```` ``` ```` or ```` ```bash ```` blocks.

Every example shares one layerplan cache (``LAYERPLAN_CACHE_DIR``), so only the first
build pays for the downloads; each test id is ``page:line`` of its first command.
"""

from __future__ import annotations

import difflib
import os
import shutil
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.docs.examples import Example, collect, is_status_check, matches, script_for, split_output

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
EXAMPLES = collect(PAGES)
_TIMEOUT = 600
_DISPLAY = {"COLUMNS", "LINES", "NO_COLOR", "FORCE_COLOR", "TERM", "CLICOLOR_FORCE"}


@dataclass(frozen=True)
class Sandbox:
    bin: Path
    cache: Path


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Sandbox:
    """A ``layerplan`` on PATH that runs this checkout, and one cache for every example."""
    root = tmp_path_factory.mktemp("docs-examples")
    bin_dir = root / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "layerplan"
    shim.write_text(f'#!/bin/sh\nexec {sys.executable} -m layerplan "$@"\n')
    shim.chmod(0o755)
    return Sandbox(bin=bin_dir, cache=root / "cache")


_RUN = f"docs-run-{uuid.uuid4().hex[:12]}"


def _engine_env(example: Example) -> dict[str, str]:
    """``BASE``/``REGISTRY`` and the engine, for the examples that use them (else skipped
    with the reason, or failed where the engine is required: see tests/engine.py)."""
    from engine import get_base_image, get_docker_client, get_registry

    env: dict[str, str] = {}
    text = example.text
    if "$BASE" in text or "${BASE}" in text or "$REGISTRY" in text or "${REGISTRY}" in text:
        # A repository prefix of this session's own: the registry outlives test runs, and
        # an image pushed by an earlier run would turn a push into "up to date".
        env["REGISTRY"] = f"{get_registry()}/{_RUN}"
        env["BASE"] = get_base_image()
    if "docker-daemon:" in text or any(c.text.startswith("docker ") or "| docker " in c.text for c in example.commands):
        get_docker_client()
        env["DOCKER_HOST"] = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    return env


def _project_copy(example: Example, tmp_path: Path) -> Path:
    source = ROOT / example.project
    target = tmp_path / source.name
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(".venv", "__pycache__", "dist", "build", "*.egg-info"))
    # a checkout, as users have one: `--diff-against HEAD`, the revision label
    git = ["git", "-c", "user.name=docs", "-c", "user.email=docs@example.org", "-C", str(target)]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "example"], check=True, env={**os.environ, "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z", "GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z"})
    return target


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.test_id for e in EXAMPLES])
def test_docs_example(example: Example, sandbox: Sandbox, tmp_path: Path) -> None:
    extra = _engine_env(example)
    cwd = _project_copy(example, tmp_path)
    # The user's environment (CA bundle, proxies, credentials, DOCKER_HOST), less what
    # changes how output looks; this checkout's `layerplan` first on PATH.
    env = {k: v for k, v in os.environ.items() if k not in _DISPLAY and not k.startswith("LAYERPLAN_")}
    env.update({
        "PATH": f"{sandbox.bin}:{os.environ.get('PATH', '/usr/bin:/bin')}",
        "LAYERPLAN_CACHE_DIR": str(sandbox.cache),
        "TMPDIR": str(tmp_path),
        **extra,
    })
    result = subprocess.run(
        ["bash", "--noprofile", "--norc", "-c", script_for(example)],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=_TIMEOUT,
    )
    outputs = split_output(result.stdout, len(example.commands))
    problems = []
    for index, (command, (output, status)) in enumerate(zip(example.commands, outputs)):
        where = f"{example.page.relative_to(ROOT)}:{command.line}: $ {command.text}"
        if status is None:
            problems.append(f"{where}\n  did not run (the shell stopped before it)\n{output}")
            break
        checked_next = index + 1 < len(example.commands) and is_status_check(example.commands[index + 1])
        if status != 0 and not checked_next:
            problems.append(f"{where}\n  exited {status} (write `$ echo $?` after it if that is expected)\n{output}")
        if not matches(command.expected, output):
            diff = "\n".join(difflib.unified_diff(list(command.expected), output.splitlines(), "docs", "actual", lineterm=""))
            problems.append(f"{where}\n  printed something else:\n{diff}")
    assert not problems, "\n\n".join(problems)


def test_examples_were_found() -> None:
    """The pages the issue names have runnable examples (a broken collector finds none)."""
    pages = {e.page.name for e in EXAMPLES}
    for page in ("cli.md", "build.md", "layers.md", "configuration.md", "dockerfile.md", "lockfiles.md"):
        assert page in pages, f"docs/{page} has no ```console example"
