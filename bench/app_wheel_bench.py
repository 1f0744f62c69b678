"""The app wheel on a code-change rebuild: one PEP 517 ``build_wheel`` call, four ways.

    .venv/bin/python bench/app_wheel_bench.py [--runs N]

On a copy of example-project (hatchling), with layerplan's kept build environment for it
(made once here), each variant runs in a fresh Python process (as each ``layerplan build``
is one) that first imports what a build has imported by the time it builds the wheel,
then times the call alone: wall and CPU (user+sys of the process and its children).

- ``build, env not compiled``: ``build.ProjectBuilder`` + ``pyproject_hooks``' subprocess
  in an environment without pycs (what layerplan did before: uv installs none, and
  ``PYTHONDONTWRITEBYTECODE`` keeps Python from caching them);
- ``build, env compiled``: the same in the compiled environment;
- ``driver, bytecode cached``: layerplan's ``install/_hook_driver.py`` (what a build does
  now), its bytecode cached in the environment's ``pycache/`` prefix;
- ``in-process, env compiled``: hatchling imported from the environment's site-packages
  into this process and called there, for reference only (see docs/build.md: layerplan's
  ``packaging`` is the one the backend gets, and the cwd is the whole process's).

Variants alternate; the table gives min and median of each, and the wheel's sha256
(every variant must build the same bytes). Compile layerplan's sources first
(``python -m compileall -q src``) where ``PYTHONDONTWRITEBYTECODE`` is set.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "example-project"
EPOCH = "1700000000"

CHILD = """
import json, os, resource, sys, time
from pathlib import Path
import layerplan.cli.main, layerplan.containerize.pipeline, layerplan.install.pep517  # imported by then
variant, python, project, out = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4])
os.environ["SOURCE_DATE_EPOCH"] = %(epoch)r
def cpu():
    a, b = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return a.ru_utime + a.ru_stime + b.ru_utime + b.ru_stime
c0, t0 = cpu(), time.perf_counter()
if variant.startswith("build"):
    import build
    from layerplan.install.pep517 import backend_runner
    runner = backend_runner(int(%(epoch)r), environ={"PATH": os.pathsep.join([str(python.parent), os.environ["PATH"]])})
    wheel = Path(build.ProjectBuilder(project, python_executable=str(python), runner=runner).build("wheel", out))
elif variant.startswith("driver"):
    from layerplan.install.kept_env import build_in_kept_env
    wheel = build_in_kept_env(project, out, env_cache=python.parent.parent.parent, source_date_epoch=int(%(epoch)r))
else:
    (site,) = python.parent.parent.glob("lib/python*/site-packages")
    sys.path.insert(0, str(site))
    here = os.getcwd()
    os.chdir(project)
    try:
        import hatchling.build
        wheel = out / hatchling.build.build_wheel(str(out))
    finally:
        os.chdir(here)
wall, used = time.perf_counter() - t0, cpu() - c0
import hashlib
print(json.dumps({"wall": wall, "cpu": used, "sha256": hashlib.sha256(wheel.read_bytes()).hexdigest()}))
""" % {"epoch": EPOCH}

VARIANTS = ("build, env not compiled", "build, env compiled", "driver, bytecode cached", "in-process, env compiled")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "SOURCE_DATE_EPOCH": EPOCH}
    with tempfile.TemporaryDirectory(prefix="app-wheel-bench-") as scratch:
        work = Path(scratch)
        project = work / "example"
        shutil.copytree(EXAMPLE, project)
        sys.path.insert(0, str(ROOT / "src"))
        from layerplan.install.kept_env import kept_build_env

        # Its hooks cache their bytecode in its pycache/ prefix (the driver's variant, warmed
        # by the get_requires_for_build_wheel call here); the other variants run without the
        # prefix, so they get the environment compiled in place, as layerplan once did it
        compiled = kept_build_env(work / "envs", project)
        sites = [str(site) for site in compiled.parent.parent.glob("lib/python*/site-packages")]
        subprocess.run([str(compiled), "-m", "compileall", "-qq", *sites], check=False)
        # the same environment without its pycs, in a key directory of its own
        bare_env = work / "bare-envs" / compiled.parent.parent.name
        shutil.copytree(compiled.parent.parent, bare_env, symlinks=True)
        for cache in bare_env.glob("lib/python*/site-packages/**/__pycache__"):
            shutil.rmtree(cache)
        pythons = {v: compiled for v in VARIANTS} | {VARIANTS[0]: bare_env / "bin" / "python"}
        results: dict[str, list[dict[str, float | str]]] = {v: [] for v in VARIANTS}
        for run in range(args.runs):
            for variant in VARIANTS:
                out = work / f"out-{run}-{VARIANTS.index(variant)}"
                done = subprocess.run(
                    [sys.executable, "-c", CHILD, variant, str(pythons[variant]), str(project), str(out)],
                    capture_output=True, text=True, env=env, check=True,
                )  # fmt: skip
                results[variant].append(json.loads(done.stdout.splitlines()[-1]))
    print(f"app wheel of example-project (hatchling), {args.runs} runs each, load {os.getloadavg()[0]:.2f}")
    print(f"| {'variant':<26} | wall min | wall median | CPU min | CPU median | wheel sha256 |")
    print(f"|{'-' * 28}|---------:|------------:|--------:|-----------:|---|")
    for variant, rows in results.items():
        walls, cpus = [float(r["wall"]) for r in rows], [float(r["cpu"]) for r in rows]
        digests = sorted({str(r["sha256"])[:12] for r in rows})
        print(
            f"| {variant:<26} | {min(walls):.3f} s | {statistics.median(walls):.3f} s | {min(cpus):.3f} s "
            f"| {statistics.median(cpus):.3f} s | {', '.join(digests)} |"
        )
    same = len({str(r["sha256"]) for rows in results.values() for r in rows}) == 1
    print("every variant built the same bytes" if same else "VARIANTS BUILT DIFFERENT BYTES")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
