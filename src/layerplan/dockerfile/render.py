"""Dockerfile text from a plan and a context layout: pure, no disk, no network.

The steps follow the plan, stable first, because a Dockerfile's cache is linear (a
changed step rebuilds every step after it): the environment, each dependency layer, the
local packages, the app, and last the image settings, which make no files.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping, Sequence
from typing import Any

from layerplan.dockerfile.errors import DockerfileError
from layerplan.dockerfile.model import (
    IMAGE_DIR,
    WHEELHOUSE,
    ContextLayout,
    DockerfileOptions,
)
from layerplan.plan.model import PlannedLayer, LayerPlan

__all__ = ["render_dockerfile"]

_CONT = " \\\n    "
_SHOWN_PACKAGES = 6


def render_dockerfile(plan: LayerPlan, layout: ContextLayout, options: DockerfileOptions) -> str:
    """The Dockerfile for ``plan`` whose context files are ``layout``."""
    buildkit = options.flavour == "buildkit"
    pip = f"{layout.venv}/bin/python {IMAGE_DIR}/{_name(layout.pip_wheel)}/pip install --disable-pip-version-check"
    lines: list[str] = []
    if buildkit:
        lines.append("# syntax=docker/dockerfile:1")
    lines += [
        f"# Written by `layerplan dockerfile` for {plan.project_name} {plan.project_version or ''}".rstrip()
        + f" ({plan.target.describe()}) from {plan.lock_path}.",
        "# Regenerate it rather than edit it. The steps follow `layerplan plan`, stable first: a change to",
        "# the app's code rebuilds only the app steps; every dependency step comes from the build cache.",
        f"FROM {options.base}",
        "",
        (
            f"# {layout.environment_number}. environment: venv at {layout.venv} on Python "
            f"{plan.target.python_version_text} ({plan.target_from.get('python', 'default')}); "
            "pip runs from its wheel and stays out of the venv"
        ),
        f"COPY {layout.pip_wheel} {IMAGE_DIR}/",
        f"RUN {layout.python} -m venv --without-pip {layout.venv}"
        + _home(plan.settings),
    ]
    compile_flag = [] if options.compile_bytecode else ["--no-compile"]
    for step in layout.dependencies:
        lines += ["", f"# {step.number}. {step.layer.name}: {_contents(step.layer)}"]
        target = f"{IMAGE_DIR}/{step.requirements}"
        lines.append(f"COPY {step.requirements} {IMAGE_DIR}/{_parent(step.requirements)}/")
        mounts: list[str] = []
        flags = ["--no-deps", *(["--require-hashes"] if step.hashed else []), *compile_flag]
        if options.offline and buildkit:
            mounts.append(f"--mount=type=bind,source={_parent(step.wheels[0]) if step.wheels else 'wheels'},target={WHEELHOUSE}")
        elif options.offline and step.wheels:
            lines.append(f"COPY {' '.join(step.wheels)} {WHEELHOUSE}/")
        if buildkit and not options.offline:
            mounts.append("--mount=type=cache,target=/root/.cache/pip")
        else:
            flags.append("--no-cache-dir")
        lines.append(_run(mounts, pip, flags, ["-r", target]))
    if layout.local is not None:
        step_local = layout.local
        lines += ["", f"# {step_local.number}. local: {_contents(step_local.layer)}; built by layerplan into the context"]
        lines.append(f"COPY {' '.join(step_local.files)} {IMAGE_DIR}/local/")
        flags = ["--no-deps", *([] if step_local.needs_index else ["--no-index"]), *compile_flag, "--no-cache-dir"]
        lines.append(_run([], pip, flags, [f"{IMAGE_DIR}/local/{_name(f)}" for f in step_local.files]))
    if layout.app_wheel is not None:
        lines += [
            "",
            f"# {layout.app_number}. app: {plan.project_name} {plan.project_version or ''}".rstrip()
            + ", installed from its wheel (not a copy of the source tree)",
            f"COPY {layout.app_wheel} {IMAGE_DIR}/dist/",
            _run(
                [],
                pip,
                ["--no-deps", *([] if layout.app_needs_index else ["--no-index"]), *compile_flag, "--no-cache-dir"],
                [f"{IMAGE_DIR}/dist/{_name(layout.app_wheel)}"],
            ),
        ]
    lines += ["", *_config_lines(plan.settings, layout.config_number)]
    return "\n".join(lines) + "\n"


def _home(settings: Mapping[str, Any]) -> str:
    """The user's HOME, made in the environment step and owned by the user (as the direct
    build's environment layer has it); nothing else is theirs."""
    home, user = settings.get("home"), settings.get("user")
    if not home or not user:
        return ""
    return f" \\\n    && mkdir -p {shlex.quote(home)} && chown {shlex.quote(user)} {shlex.quote(home)}"


def _run(mounts: Sequence[str], pip: str, flags: Sequence[str], args: Sequence[str]) -> str:
    head = "RUN " + "".join(f"{m}{_CONT}" for m in mounts) + pip
    return head + _CONT + " ".join(flags) + _CONT + " ".join(args)


def _contents(layer: PlannedLayer) -> str:
    names = [f"{item.name} {item.version}" if item.version else str(item.name) for item in layer.packages]
    if len(names) > _SHOWN_PACKAGES:
        names = [*names[: _SHOWN_PACKAGES - 1], f"... ({len(names)} packages)"]
    return ", ".join(names) or "nothing"


def _config_lines(settings: Mapping[str, Any], number: int | None) -> list[str]:
    lines = [f"# {number or ''}{'. ' if number else ''}config: image settings only, last, so changing them rebuilds no layer"]
    env = settings.get("env") or {}
    if env:
        lines.append("ENV " + _CONT.join(f"{_env_key(k)}={_quote(v)}" for k, v in env.items()))
    if settings.get("workdir"):
        lines.append(f"WORKDIR {_plain(settings['workdir'], 'workdir')}")
    labels = settings.get("labels") or {}
    if labels:
        lines.append("LABEL " + _CONT.join(f"{_quote(k)}={_quote(v)}" for k, v in sorted(labels.items())))
    if settings.get("user"):
        lines.append(f"USER {_plain(settings['user'], 'user')}")
    if settings.get("entrypoint"):
        lines.append(f"ENTRYPOINT {json.dumps(list(settings['entrypoint']))}")
        # The base's CMD would become the entrypoint's arguments: say there are none.
        lines.append("CMD []")
    return lines


def _quote(value: object) -> str:
    """A double-quoted Dockerfile word: ``\\``, ``"`` and ``$`` escaped (no expansion)."""
    text = str(value)
    if "\n" in text or "\r" in text:
        raise DockerfileError(f"{text[:40]!r}: a newline cannot go into an ENV or LABEL value", key="tool.layerplan")
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$") + '"'


def _env_key(key: str) -> str:
    if not key or any(c in key for c in ' =\t\n"$\\'):
        raise DockerfileError(f"{key!r} is not a usable environment variable name", key="tool.layerplan.env")
    return key


def _plain(value: str, what: str) -> str:
    if not value or any(c in value for c in "\n\r"):
        raise DockerfileError(f"{value!r} is not a usable {what}", key=f"tool.layerplan.{what}")
    return value


def _name(path: str) -> str:
    return path.rsplit("/", 1)[-1]


def _parent(path: str) -> str:
    return path.rsplit("/", 1)[0] if "/" in path else "."
