"""Real applications: build, run and rebuild a corpus of public projects with layerplan.

Run (needs the test engine: `bash scripts/test-engine.sh start`):

    .venv/bin/python bench/corpus.py [--only NAME] [--sources DIR] [--from-mirror] [--json-out FILE]

The projects are listed in bench/corpus/projects.toml, each pinned by commit. Their sources are
never part of this repository: each is read from a cache directory,
`~/.cache/layerplan-corpus/OWNER+NAME/COMMIT/` by default (`--sources DIR` for another root),
which holds a `git archive` of the repository at the pinned commit (only the project's
subdirectory, when it has one). `--from-mirror` fills missing entries from local bare
repositories (`--mirror DIR`, default /work/.mirror/OWNER+NAME/repo) with `git archive`; this
script never downloads a repository. A missing source is a row that says how to get it.

For each project, on a scratch copy of its sources:

1. `layerplan plan`                       (the layers, or the error)
2. `layerplan build --json` to the registry (cold: an empty layerplan cache, a new repository)
3. run the image                           (`docker run --rm --network none`, the project's run
                                            command; its output must contain the expected text)
4. code change                             (one comment line appended to one of the app's
                                            source files, rebuild + push: time and bytes
                                            uploaded, from the --json report)
5. `layerplan dockerfile --offline`, `docker build --network none`, run the image as in 3.

It prints a table (one row per project; a failing cell says why in one line: layerplan's
`error:` line, else the last line it printed) and exits 1 when any row fails.
Method and latest results: docs/benchmarks.md, "Real applications".
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
PROJECTS = Path(__file__).resolve().parent / "corpus" / "projects.toml"
DEFAULT_SOURCES = Path.home() / ".cache" / "layerplan-corpus"
DEFAULT_MIRROR = Path("/work/.mirror")
EDIT_MARKER = "# layerplan corpus: code-change rebuild"
STEP_TIMEOUT = 1800  # seconds, for any one command

console = Console(highlight=False, width=None if sys.stdout.isatty() else 200)


def log(message: str) -> None:
    console.print(f"[dim]{time.strftime('%H:%M:%S')}[/dim] {message}")


# ---------------------------------------------------------------------------------------------
# The corpus


@dataclass(frozen=True)
class Project:
    name: str
    repository: str
    commit: str
    subdirectory: str
    lock: str
    package: str
    run: tuple[str, ...]
    expect: str
    edit: str
    env: dict[str, str]
    why: str
    run_env: dict[str, str] = field(default_factory=dict)
    git: bool = False

    @property
    def cache_name(self) -> str:
        return self.repository.replace("/", "+")

    @property
    def lock_kind(self) -> str:
        name = Path(self.lock).name
        if name == "uv.lock":
            return "uv.lock (workspace)" if self.package else "uv.lock"
        if name.startswith("pylock.") and name.endswith(".toml"):
            return "pylock.toml"
        if name in ("poetry.lock", "pdm.lock", "Pipfile.lock"):
            return name
        return "requirements.txt"


def load_projects(path: Path = PROJECTS) -> list[Project]:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    projects = []
    for entry in data["project"]:
        commit = entry["commit"]
        if not re.fullmatch(r"[0-9a-f]{40}", commit):
            raise SystemExit(f"{path}: {entry['name']}: commit must be 40 hex digits, got {commit!r}")
        projects.append(
            Project(
                name=entry["name"],
                repository=entry["repository"],
                commit=commit,
                subdirectory=entry.get("subdirectory", ""),
                lock=entry["lock"],
                package=entry.get("package", ""),
                run=tuple(entry["run"]),
                expect=entry["expect"],
                edit=entry["edit"],
                env={str(k): str(v) for k, v in entry.get("env", {}).items()},
                why=entry["why"],
                run_env={str(k): str(v) for k, v in entry.get("run-env", {}).items()},
                git=bool(entry.get("git", False)),
            )
        )
    names = [p.name for p in projects]
    if len(set(names)) != len(names):
        raise SystemExit(f"{path}: project names must be unique")
    return projects


# ---------------------------------------------------------------------------------------------
# Sources


def source_dir(sources: Path, project: Project) -> Path:
    return sources / project.cache_name / project.commit


def mirror_git_dir(mirror: Path, project: Project) -> Path | None:
    base = mirror / project.cache_name
    for candidate in (base / "repo" / ".git", base / "repo", base):
        if (candidate / "HEAD").is_file() and (candidate / "objects").is_dir():
            return candidate
    return None


def fill_from_mirror(sources: Path, mirror: Path, project: Project) -> str | None:
    """`git archive` the pinned commit into the source cache; None when done, else why not."""
    dest = source_dir(sources, project)
    if dest.is_dir():
        return None
    git_dir = mirror_git_dir(mirror, project)
    if git_dir is None:
        return f"no mirror of {project.repository} under {mirror}"
    has = subprocess.run(
        ["git", "--git-dir", str(git_dir), "cat-file", "-e", f"{project.commit}^{{commit}}"],
        capture_output=True,
    )
    if has.returncode != 0:
        return f"the mirror of {project.repository} lacks commit {project.commit}"
    dest.parent.mkdir(parents=True, exist_ok=True)
    paths = [project.subdirectory] if project.subdirectory else ["."]
    # A mirror may lack the content of some files (large ones, LFS): leave those out and say so.
    missing = missing_blobs(git_dir, project.commit, paths)
    partial = Path(tempfile.mkdtemp(prefix=f".{project.commit}.", dir=dest.parent))
    archive = subprocess.Popen(
        ["git", "--git-dir", str(git_dir), "archive", "--format=tar", project.commit, "--", *paths,
         *(f":(exclude,literal){path}" for path in missing)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )
    untar = subprocess.run(["tar", "-x", "-C", str(partial)], stdin=archive.stdout, capture_output=True)
    archive.stdout.close()  # type: ignore[union-attr]
    if archive.wait() != 0 or untar.returncode != 0:
        shutil.rmtree(partial, ignore_errors=True)
        return f"git archive of {project.repository}@{project.commit[:12]} failed: {untar.stderr.decode().strip()}"
    if missing:
        (partial / ".layerplan-corpus-missing").write_text("".join(f"{path}\n" for path in missing))
        log(f"{project.name}: the mirror lacks {len(missing)} file(s), left out: {', '.join(missing[:3])}"
            + (" ..." if len(missing) > 3 else ""))
    partial.rename(dest)
    return None


def missing_blobs(git_dir: Path, commit: str, paths: list[str]) -> list[str]:
    """Paths of files at `commit` whose content the git directory does not hold."""
    listing = subprocess.run(
        ["git", "--git-dir", str(git_dir), "ls-tree", "-r", "-z", commit, "--", *paths],
        capture_output=True, check=True,
    ).stdout.decode()
    blobs: list[tuple[str, str]] = []
    for entry in listing.split("\0"):
        if not entry:
            continue
        meta, path = entry.split("\t", 1)
        _mode, kind, sha = meta.split()
        if kind == "blob":
            blobs.append((sha, path))
    if not blobs:
        return []
    check = subprocess.run(
        ["git", "--git-dir", str(git_dir), "cat-file", "--batch-check=%(objectname) %(objecttype)"],
        input="".join(f"{sha}\n" for sha, _ in blobs).encode(), capture_output=True, check=True,
    ).stdout.decode().splitlines()
    return [path for (sha, path), line in zip(blobs, check) if line.endswith("missing")]


def missing_source_hint(sources: Path, project: Project) -> str:
    sub = f" {project.subdirectory}" if project.subdirectory else ""
    return (
        f"source missing: {source_dir(sources, project)} must hold `git archive {project.commit[:12]}{sub}` "
        f"of {project.repository} (or run with --from-mirror)"
    )


# ---------------------------------------------------------------------------------------------
# Running commands


@dataclass
class Step:
    ok: bool | None = None  # None: not run
    skipped: bool = False  # not run on purpose (--no-dockerfile): not a failure
    seconds: float | None = None
    why: str = ""  # one line when it failed (or was skipped)
    command: str = ""
    detail: dict[str, Any] = field(default_factory=dict)
    output_tail: str = ""


@dataclass
class Result:
    name: str
    repository: str
    commit: str
    lock_kind: str
    source: str = "present"
    plan: Step = field(default_factory=Step)
    build: Step = field(default_factory=Step)
    run: Step = field(default_factory=Step)
    code_change: Step = field(default_factory=Step)
    dockerfile: Step = field(default_factory=Step)

    @property
    def failed(self) -> bool:
        if self.source != "present":
            return True
        return any(
            step.ok is False or (step.ok is None and not step.skipped)
            for step in (self.plan, self.build, self.run, self.code_change, self.dockerfile)
        )


@dataclass
class Completed:
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    timed_out: bool = False


def run_command(argv: list[str], *, env: dict[str, str] | None = None, cwd: Path | None = None,
                timeout: int = STEP_TIMEOUT) -> Completed:
    started = time.perf_counter()
    try:
        proc = subprocess.run(
            argv, capture_output=True, text=True, errors="replace", env=env, cwd=cwd, timeout=timeout,
        )
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode(errors="replace") if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        err = exc.stderr.decode(errors="replace") if isinstance(exc.stderr, bytes) else (exc.stderr or "")
        return Completed(-1, out, err, time.perf_counter() - started, timed_out=True)
    return Completed(proc.returncode, proc.stdout, proc.stderr, time.perf_counter() - started)


def error_line(done: Completed) -> str:
    """The one line that says why a command failed: layerplan's `error:` line, else the last line."""
    if done.timed_out:
        return f"timed out after {done.seconds:.0f} s"
    lines = [line.strip() for line in (done.stderr + "\n" + done.stdout).splitlines() if line.strip()]
    for line in reversed(lines):
        if line.startswith("error:") or line.startswith("error "):
            return line
    traceback = "Traceback (most recent call last)" in done.stderr
    stderr_lines = [line.strip() for line in done.stderr.splitlines() if line.strip()]
    if stderr_lines:
        last = stderr_lines[-1]
        return f"traceback: {last}" if traceback else last
    if lines:
        return lines[-1]
    return f"exit code {done.returncode}, no output"


def tail(done: Completed, n: int = 40) -> str:
    text = (done.stdout.rstrip() + "\n--- stderr ---\n" + done.stderr.rstrip()).splitlines()
    return "\n".join(text[-n:])


def human_bytes(n: int | None) -> str:
    if n is None:
        return "-"
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000  # type: ignore[assignment]
    return f"{n} B"


# ---------------------------------------------------------------------------------------------
# One project


@dataclass
class Settings:
    layerplan: list[str]
    base: str
    registry: str
    run_id: str
    sources: Path
    workdir: Path
    cache_dir: Path | None
    dockerfile: bool
    keep_images: bool


def target_args(project: Project, settings: Settings) -> list[str]:
    args = ["--base", settings.base, "--lock", project.lock]
    if project.package:
        args += ["--package", project.package]
    return args


def docker_run_argv(image: str, project: Project, *, override: bool = False) -> list[str]:
    """`docker run` of the image with the project's arguments: with the image's own entrypoint,
    or (override) with `--entrypoint run[0]`."""
    env = {"HOME": "/tmp", **project.run_env}
    entrypoint = ["--entrypoint", project.run[0]] if override else []
    return ["docker", "run", "--rm", "--network", "none",
            *(arg for key, value in env.items() for arg in ("-e", f"{key}={value}")),
            *entrypoint, image, *project.run[1:]]


def image_entrypoint(image: str) -> tuple[list[str] | None, list[str] | None]:
    done = run_command(["docker", "image", "inspect", "-f", "{{json .Config.Entrypoint}} {{json .Config.Cmd}}", image],
                       timeout=60)
    if done.returncode != 0:
        return None, None
    entrypoint, cmd = done.stdout.strip().split(" ", 1)
    return json.loads(entrypoint), json.loads(cmd)


def run_image(image: str, project: Project, step: Step) -> None:
    """Run the image as a user would (its own entrypoint, the project's arguments) and check
    that the entrypoint is the project's script and the output holds the expected text."""
    entrypoint, cmd = image_entrypoint(image)
    step.detail.update(entrypoint=entrypoint, cmd=cmd)
    argv = docker_run_argv(image, project)
    step.command = shlex.join(argv)
    done = run_command(argv, timeout=300)
    step.seconds = done.seconds
    check_run(done, project, step)
    script = project.run[0]
    if entrypoint and Path(entrypoint[-1]).name == script:
        return
    # Not the script the corpus expects: say what the image has, and whether the app itself runs.
    forced = Step()
    check_run(run_command(docker_run_argv(image, project, override=True), timeout=300), project, forced)
    step.ok = False
    step.why = (f"image entrypoint is {json.dumps(entrypoint)} (cmd {json.dumps(cmd)}), not the {script} script; "
                f"with --entrypoint {script}: {'ok' if forced.ok else forced.why}")


def check_run(done: Completed, project: Project, step: Step) -> None:
    output = done.stdout + done.stderr
    step.output_tail = tail(done, 15)
    if done.returncode == 0 and project.expect in output:
        step.ok = True
        return
    step.ok = False
    if project.expect not in output:
        last = error_line(done)
        step.why = f"exit {done.returncode}, output lacks {project.expect!r}: {last}"
    else:
        step.why = f"exit {done.returncode}: {error_line(done)}"


def build_once(project: Project, settings: Settings, project_dir: Path, cache: Path, ref: str,
               env: dict[str, str]) -> tuple[Completed, dict[str, Any] | None]:
    argv = [*settings.layerplan, "build", str(project_dir), *target_args(project, settings),
            "--output", f"docker://{ref}", "--cache-dir", str(cache), "--json"]
    done = run_command(argv, env=env, cwd=project_dir)
    report = None
    if done.returncode == 0:
        try:
            report = json.loads(done.stdout)
        except json.JSONDecodeError:
            report = None
    return done, report


def bytes_uploaded(report: dict[str, Any]) -> int:
    return sum(int(out.get("bytes_uploaded") or 0) for out in report.get("outputs", []))


def pushed_layers(report: dict[str, Any]) -> list[str]:
    """Names of the layers a registry output pushed (not present, not mounted)."""
    by_digest = {layer["digest"]: layer.get("name") or layer.get("kind") for layer in report.get("layers", [])}
    names = []
    for out in report.get("outputs", []):
        for blob in out.get("blobs", []):
            if blob.get("status") == "pushed":
                names.append(by_digest.get(blob["digest"], "config"))
    return names


def run_project(project: Project, settings: Settings) -> Result:
    result = Result(project.name, project.repository, project.commit, project.lock_kind)
    src = source_dir(settings.sources, project)
    if not src.is_dir():
        result.source = missing_source_hint(settings.sources, project)
        for step in (result.plan, result.build, result.run, result.code_change, result.dockerfile):
            step.why = "source missing"
        return result

    scratch = settings.workdir / project.name
    if scratch.exists():
        shutil.rmtree(scratch)
    log(f"[bold]{project.name}[/bold]: copying {src}")
    shutil.copytree(src, scratch / "src", symlinks=True)
    project_dir = scratch / "src" / project.subdirectory if project.subdirectory else scratch / "src"
    cache = settings.cache_dir or (scratch / "layerplan-cache")
    if project.git:
        make_checkout(scratch / "src")
    env = {**os.environ, **project.env}
    repo = f"{settings.registry}/corpus-{settings.run_id}/{project.name}"

    # 1. plan
    argv = [*settings.layerplan, "plan", str(project_dir), *target_args(project, settings),
            "--cache-dir", str(cache), "--json"]
    result.plan.command = shlex.join(argv)
    log(f"{project.name}: plan")
    done = run_command(argv, env=env, cwd=project_dir)
    result.plan.seconds = done.seconds
    if done.returncode == 0:
        result.plan.ok = True
        try:
            plan = json.loads(done.stdout)
            layers = plan.get("layers", [])
            result.plan.detail = {"layers": len(layers), "names": [layer.get("name") for layer in layers]}
        except json.JSONDecodeError:
            result.plan.detail = {}
    else:
        result.plan.ok = False
        result.plan.why = error_line(done)
        result.plan.output_tail = tail(done)

    # 2. cold build + push
    ref = f"{repo}:cold"
    log(f"{project.name}: build (cold) -> {ref}")
    done, report = build_once(project, settings, project_dir, cache, ref, env)
    result.build.command = shlex.join([*settings.layerplan, "build", str(project_dir),
                                       *target_args(project, settings), "--output", f"docker://{ref}",
                                       "--cache-dir", str(cache), "--json"])
    result.build.seconds = done.seconds
    if report is not None:
        result.build.ok = True
        result.build.detail = {
            "digest": report.get("digest"),
            "bytes_uploaded": bytes_uploaded(report),
            "layers": len([layer for layer in report.get("layers", []) if layer.get("status") != "base"]),
            "warnings": report.get("warnings", []),
        }
    else:
        result.build.ok = False
        result.build.why = error_line(done)
        result.build.output_tail = tail(done)

    # 3. run the image
    if result.build.ok:
        log(f"{project.name}: run {shlex.join(project.run)}")
        pull = run_command(["docker", "pull", "-q", ref], timeout=600)
        if pull.returncode != 0:
            result.run.ok = False
            result.run.why = f"docker pull: {error_line(pull)}"
        else:
            run_image(ref, project, result.run)
            if not settings.keep_images:
                run_command(["docker", "rmi", "-f", ref], timeout=300)
    else:
        result.run.why = "no image"

    # 4. code change: one line of the app's source, rebuild + push
    if result.build.ok:
        edited = project_dir / project.edit
        if not edited.is_file():
            result.code_change.ok = False
            result.code_change.why = f"corpus: {project.edit} is not a file of the project"
        else:
            with edited.open("a", encoding="utf-8") as fh:
                fh.write(f"\n{EDIT_MARKER} {settings.run_id}\n")
            ref2 = f"{repo}:code-change"
            log(f"{project.name}: code change -> {ref2}")
            done, report = build_once(project, settings, project_dir, cache, ref2, env)
            result.code_change.seconds = done.seconds
            result.code_change.command = f"(append a comment line to {project.edit}) " + result.build.command.replace(":cold", ":code-change")
            if report is not None:
                result.code_change.ok = True
                result.code_change.detail = {
                    "digest": report.get("digest"),
                    "bytes_uploaded": bytes_uploaded(report),
                    "pushed": pushed_layers(report),
                }
            else:
                result.code_change.ok = False
                result.code_change.why = error_line(done)
                result.code_change.output_tail = tail(done)
    else:
        result.code_change.why = "no image"

    # 5. the Dockerfile route
    if settings.dockerfile:
        run_dockerfile(project, settings, project_dir, cache, env, result.dockerfile)
    else:
        result.dockerfile.why, result.dockerfile.skipped = "skipped (--no-dockerfile)", True

    # Errors name the scratch copy: say <src> instead, so rows compare between runs.
    for step in (result.plan, result.build, result.run, result.code_change, result.dockerfile):
        step.why = step.why.replace(str(scratch / "src"), "<src>")
        step.output_tail = step.output_tail.replace(str(scratch / "src"), "<src>")
    if settings.cache_dir is None:
        shutil.rmtree(cache, ignore_errors=True)
    shutil.rmtree(scratch, ignore_errors=True)
    return result


def make_checkout(tree: Path) -> None:
    """Make `tree` a git checkout of itself (one commit), for backends that ask git."""
    git = ["git", "-C", str(tree), "-c", "user.name=layerplan corpus", "-c", "user.email=corpus@invalid",
           "-c", "commit.gpgsign=false"]
    for argv in (["init", "-q"], ["add", "-A"], ["commit", "-q", "--no-verify", "-m", "layerplan corpus"]):
        subprocess.run([*git, *argv], check=True, capture_output=True)


def run_dockerfile(project: Project, settings: Settings, project_dir: Path, cache: Path,
                   env: dict[str, str], step: Step) -> None:
    context = project_dir.parent / f".layerplan-corpus-docker-{project.name}"
    argv = [*settings.layerplan, "dockerfile", str(project_dir), "-o", str(context), "--force",
            *target_args(project, settings), "--offline", "--cache-dir", str(cache)]
    argv_text = shlex.join(argv)
    step.command = argv_text
    log(f"{project.name}: dockerfile --offline")
    started = time.perf_counter()
    done = run_command(argv, env=env, cwd=project_dir)
    if done.returncode != 0:
        step.ok = False
        step.why = f"layerplan dockerfile: {error_line(done)}"
        step.output_tail = tail(done)
        step.seconds = time.perf_counter() - started
        return
    tag = f"layerplan-corpus/{project.name}:{settings.run_id}"
    log(f"{project.name}: docker build --network none")
    build_env = {**os.environ, "DOCKER_BUILDKIT": "0"}
    done = run_command(["docker", "build", "--network", "none", "-q", "-t", tag, str(context)], env=build_env)
    step.detail["docker_build_seconds"] = round(done.seconds, 2)
    if done.returncode != 0:
        step.ok = False
        step.why = f"docker build: {error_line(done)}"
        step.output_tail = tail(done)
        step.seconds = time.perf_counter() - started
        shutil.rmtree(context, ignore_errors=True)
        return
    run_image(tag, project, step)
    step.command = f"{argv_text} && docker build --network none -t {tag} {context} && {step.command}"
    if not step.ok:
        step.why = f"docker run: {step.why}"
    step.seconds = time.perf_counter() - started
    if not settings.keep_images:
        run_command(["docker", "rmi", "-f", tag], timeout=300)
    shutil.rmtree(context, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# Report


def cell(step: Step, text: str) -> str:
    if step.ok is True:
        return f"[green]{escape(text)}[/green]"
    if step.ok is False:
        return f"[red]FAIL[/red] {escape(step.why)}"
    return f"[dim]{escape(step.why or '-')}[/dim]"


def seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} s"


def render(results: list[Result]) -> Table:
    table = Table(title="layerplan on real applications", show_lines=True)
    for column in ("project", "lock", "plan", "build", "run", "dockerfile", "cold", "code change", "uploaded"):
        table.add_column(column, overflow="fold")
    for r in results:
        if r.source != "present":
            table.add_row(r.name, r.lock_kind, f"[red]{escape(r.source)}[/red]", "", "", "", "-", "-", "-")
            continue
        plan_text = f"ok ({r.plan.detail.get('layers', '?')} layers)" if r.plan.ok else ""
        cc = r.code_change
        table.add_row(
            r.name,
            r.lock_kind,
            cell(r.plan, plan_text),
            cell(r.build, "ok"),
            cell(r.run, "ok"),
            cell(r.dockerfile, "ok"),
            seconds(r.build.seconds) if r.build.ok else "-",
            seconds(cc.seconds) if cc.ok else (cell(cc, "") if cc.ok is False else "-"),
            human_bytes(cc.detail.get("bytes_uploaded")) if cc.ok else "-",
        )
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", action="append", metavar="NAME", help="run this project only (repeatable)")
    parser.add_argument("--sources", type=Path, default=DEFAULT_SOURCES,
                        help=f"source cache root (default {DEFAULT_SOURCES})")
    parser.add_argument("--from-mirror", action="store_true",
                        help="fill missing sources from local mirrors with git archive")
    parser.add_argument("--mirror", type=Path, default=DEFAULT_MIRROR,
                        help=f"where --from-mirror finds OWNER+NAME git directories (default {DEFAULT_MIRROR})")
    parser.add_argument("--base", default=os.environ.get("LAYERPLAN_TEST_BASE"),
                        help="base image (default $LAYERPLAN_TEST_BASE)")
    parser.add_argument("--registry", default=os.environ.get("LAYERPLAN_TEST_REGISTRY"),
                        help="registry HOST:PORT to push to (default $LAYERPLAN_TEST_REGISTRY)")
    parser.add_argument("--cache-dir", type=Path, default=None,
                        help="share this layerplan cache between projects and runs (then the first build "
                             "is not cold); default: an empty cache per project")
    parser.add_argument("--workdir", type=Path, default=None, help="scratch directory (default: a new temporary one)")
    parser.add_argument("--no-dockerfile", action="store_true", help="skip the Dockerfile route")
    parser.add_argument("--keep-images", action="store_true", help="leave the images in the Docker engine")
    parser.add_argument("--json-out", type=Path, help="write the results as JSON here")
    parser.add_argument("--list", action="store_true", help="list the projects and exit")
    args = parser.parse_args(argv)

    projects = load_projects()
    if args.list:
        for p in projects:
            print(f"{p.name:18} {p.lock_kind:20} {p.repository}@{p.commit[:12]}  {p.why}")
        return 0
    if args.only:
        unknown = sorted(set(args.only) - {p.name for p in projects})
        if unknown:
            parser.error(f"unknown project(s): {', '.join(unknown)} (see --list)")
        projects = [p for p in projects if p.name in args.only]
    if not args.base or not args.registry:
        parser.error("--base and --registry are needed (or: eval \"$(bash scripts/test-engine.sh env)\")")

    if args.from_mirror:
        for project in projects:
            why = fill_from_mirror(args.sources, args.mirror, project)
            if why:
                log(f"{project.name}: not filled from the mirror: {why}")
            else:
                log(f"{project.name}: source at {source_dir(args.sources, project)}")

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="layerplan-corpus-"))
    workdir.mkdir(parents=True, exist_ok=True)
    settings = Settings(
        layerplan=[sys.executable, "-m", "layerplan"],
        base=args.base,
        registry=args.registry,
        run_id=time.strftime("%Y%m%d-%H%M%S"),
        sources=args.sources,
        workdir=workdir,
        cache_dir=args.cache_dir,
        dockerfile=not args.no_dockerfile,
        keep_images=args.keep_images,
    )
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    log(f"layerplan {commit or '?'} from {ROOT}; base {settings.base}; registry {settings.registry}; "
        f"run {settings.run_id}; {len(projects)} project(s)")

    results: list[Result] = []
    started = time.perf_counter()
    for project in projects:
        t0 = time.perf_counter()
        try:
            result = run_project(project, settings)
        except Exception as exc:  # a bug of this script: keep going, say so in the row
            result = Result(project.name, project.repository, project.commit, project.lock_kind)
            result.source = f"corpus.py crashed: {type(exc).__name__}: {exc}"
        results.append(result)
        log(f"{project.name}: done in {time.perf_counter() - t0:.0f} s ({'FAIL' if result.failed else 'ok'})")
    total = time.perf_counter() - started
    if args.workdir is None:
        shutil.rmtree(workdir, ignore_errors=True)

    console.print(render(results))
    failed = [r.name for r in results if r.failed]
    console.print(f"{len(results) - len(failed)} of {len(results)} projects passed every step; "
                  f"total {total / 60:.1f} min")
    if args.json_out:
        args.json_out.parent.mkdir(parents=True, exist_ok=True)
        args.json_out.write_text(json.dumps({
            "schema": "layerplan.corpus/1",
            "layerplan_commit": commit,
            "base": settings.base,
            "registry": settings.registry,
            "run_id": settings.run_id,
            "total_seconds": round(total, 1),
            "results": [asdict(r) | {"failed": r.failed} for r in results],
        }, indent=2) + "\n", encoding="utf-8")
        log(f"wrote {args.json_out}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
