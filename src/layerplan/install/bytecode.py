"""Compile a staging tree's ``.py`` files to ``.pyc`` with the *target's* Python version.

A pyc is only useful to the interpreter minor version that wrote it, so compiling
needs an interpreter of the image's ``3.X`` on the host: the running one if it
matches, else ``python3.X`` on ``PATH``, a uv-managed or a pyenv one. A pyc does not
depend on the CPU, so one host compiles for every platform. It may depend on the patch
release (3.11.2 and 3.11.7 compile click's ``utils.py`` differently), so the one of the
image's own ``3.X.Y`` is preferred when the host has it, and the layer's cache key names
the version that compiled it. Without any ``3.X``, nothing is compiled and that is
reported once. The pycs are reproducible:
unchecked-hash headers (no mtimes), the image path as the recorded source file,
a fixed hash seed, sorted walk.
"""

from __future__ import annotations

import contextlib
import functools
import glob
import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from layerplan.cache.records import Records
from layerplan.install.errors import InstallError
from layerplan.install.layout import TargetVenv

__all__ = [
    "INVALIDATION", "CompileResult", "Compiler", "compile_tree", "find_compiler", "find_interpreter", "interpreter_version",
    "pyc_paths", "start_compiler",
]

INVALIDATION = "unchecked-hash"
"""How every pyc is checked against its source: never (PEP 552); the image's files do not change."""

log = logging.getLogger(__name__)
_DRIVER = Path(__file__).with_name("_compile_driver.py")
_reported: set[str] = set()


@dataclass(frozen=True, kw_only=True, slots=True)
class CompileResult:
    """What ``compile_tree`` did."""

    python_version: str
    interpreter: Path | None
    """The interpreter that compiled; ``None`` when nothing was compiled."""
    compiled: int = 0
    failed: tuple[PurePosixPath, ...] = ()
    """Image paths of sources that are not valid Python for the target (left as they are,
    as pip does)."""
    reason: str | None = None
    """Why nothing was compiled."""


_PROBE = "import sys; v = sys.version_info; print(sys.implementation.cache_tag, v.releaselevel, '%d.%d.%d' % v[:3])"


def _probe(executable: str, tag: str, memo: Records | None) -> str | None:
    """The full version (``3.11.2``) of ``executable`` when it is a final CPython of ``tag``.

    Remembered in ``memo`` by the executable's identity (real path, device, inode, size,
    mtime): finding the compiler must not start interpreters on every build (a no-change
    rebuild starts no process), and a replaced executable has another identity."""
    key = None
    if memo is not None:
        with contextlib.suppress(OSError):
            real = os.path.realpath(executable)
            st = os.stat(real)
            identity = f"{real}\0{st.st_dev}\0{st.st_ino}\0{st.st_size}\0{st.st_mtime_ns}\0{_PROBE}"
            key = hashlib.sha256(identity.encode()).hexdigest()
            if (known := memo.get(key)) is not None:
                return _probed(known.decode(errors="replace"), tag)
    try:
        out = subprocess.run([executable, "-S", "-c", _PROBE], capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    if memo is not None and key is not None:
        with contextlib.suppress(OSError):
            memo.put(key, out.stdout.encode(), durable=False)
    return _probed(out.stdout, tag)


def _probed(output: str, tag: str) -> str | None:
    words = output.split()
    return words[2] if len(words) == 3 and words[:2] == [tag, "final"] else None


def _uv_python_dir() -> str:
    """Where uv keeps the Pythons it installs, as uv documents it (``uv python dir``),
    computed rather than asked: starting uv on every build costs a process."""
    if explicit := os.environ.get("UV_PYTHON_INSTALL_DIR"):
        return explicit
    data = os.environ.get("XDG_DATA_HOME") or os.path.expanduser("~/.local/share")
    return os.path.join(data, "uv", "python")


def _candidates(version: str) -> list[str]:
    name = f"python{version}"
    found: list[str] = []
    if which := shutil.which(name):
        found.append(which)
    found += sorted(glob.glob(os.path.join(_uv_python_dir(), f"cpython-{version}.*", "bin", name)))
    pyenv_root = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    found += sorted(glob.glob(os.path.join(pyenv_root, "versions", f"{version}.*", "bin", name)))
    found += [f"/usr/local/bin/{name}", f"/usr/bin/{name}"]
    return found


def find_compiler(version: str, prefer: str | None = None, *, memo: Records | None = None) -> tuple[Path, str] | None:
    """A CPython ``version`` (``3.X``, final release) on this host and its full version,
    the one whose full version is ``prefer`` (the target's ``3.X.Y``) when there is one;
    ``None`` when there is no ``3.X`` at all.

    Looks at the running interpreter, ``python3.X`` on ``PATH``, uv-managed and pyenv
    installs, ``/usr/local/bin`` and ``/usr/bin``; each candidate is run once to check it
    (once per process, and once per executable at all with a ``memo``).
    """
    if (version, prefer) in _found:
        return _found[version, prefer]
    _found[version, prefer] = answer = _find_compiler(version, prefer, memo)
    return answer


_found: dict[tuple[str, str | None], tuple[Path, str] | None] = {}


def _find_compiler(version: str, prefer: str | None, memo: Records | None) -> tuple[Path, str] | None:
    tag = "cpython-" + version.replace(".", "")
    found: list[tuple[Path, str]] = []
    if sys.implementation.cache_tag == tag and sys.version_info.releaselevel == "final":
        found.append((Path(sys.executable), "%d.%d.%d" % sys.version_info[:3]))
        if prefer is None or found[0][1] == prefer:
            return found[0]
    for candidate in dict.fromkeys(_candidates(version)):
        full = _probe(candidate, tag, memo) if os.access(candidate, os.X_OK) else None
        if full is not None:
            found.append((Path(candidate), full))
            if prefer is None or full == prefer:
                return found[-1]
    return found[0] if found else None


def find_interpreter(version: str) -> Path | None:
    """A CPython ``version`` (``3.X``, final release) on this host, or ``None``."""
    found = find_compiler(version)
    return found[0] if found else None


@functools.cache
def interpreter_version(interpreter: Path) -> str:
    """``sys.version`` of ``interpreter`` (which compiled pycs carry no trace of, but whose
    compiler decides their bytes); raise ``InstallError`` when it does not run."""
    try:
        done = subprocess.run(
            [str(interpreter), "-S", "-c", "import sys; print(sys.version)"],
            capture_output=True, text=True, timeout=30, check=True,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError) as error:
        raise InstallError(f"cannot run {interpreter}: {error}", hint="check that this interpreter works") from error
    return done.stdout.strip()


def pyc_paths(source: PurePosixPath, python_version: str, optimize: Sequence[int] = (0,)) -> list[PurePosixPath]:
    """The image paths of the pycs a CPython ``python_version`` (``3.X``) writes for ``source``."""
    tag = "cpython-" + python_version.replace(".", "")
    return [
        source.parent / "__pycache__" / f"{source.stem}.{tag}{f'.opt-{level}' if level else ''}.pyc" for level in optimize
    ]


def compile_tree(
    staging: Path,
    venv: TargetVenv,
    *,
    paths: Sequence[PurePosixPath] | None = None,
    files: Sequence[PurePosixPath] | None = None,
    interpreter: Path | None = None,
    optimize: Sequence[int] = (0,),
    jobs: int | None = None,
    compiler: Compiler | None = None,
) -> CompileResult:
    """Compile the sources under image ``paths`` (default: the venv's site-packages) in
    ``staging`` -- or exactly the sources at the image paths ``files`` -- with
    ``interpreter`` or ``find_interpreter(venv.python_version)``, on ``jobs`` processes
    (default: every core); with ``compiler`` (``start_compiler``), in that process, with
    its interpreter.

    Without a matching interpreter, return a result with ``reason`` set (logged once per
    version). Sources that do not compile are listed in ``failed``, not raised. Raise
    ``InstallError`` when the interpreter itself fails.
    """
    version = venv.python_version
    interpreter = compiler.interpreter if compiler is not None else interpreter or find_interpreter(version)
    if interpreter is None:
        reason = f"no Python {version} interpreter on this host; bytecode not compiled"
        if version not in _reported:
            _reported.add(version)
            log.warning("%s (install python%s, e.g. `uv python install %s`, to compile it)", reason, version, version)
        return CompileResult(python_version=version, interpreter=None, reason=reason)
    dirs = [str(p) for p in (paths if paths is not None else (venv.site_packages,))]
    request = {
        "root": str(Path(staging).resolve()),
        "dirs": dirs,
        "files": [str(path) for path in files] if files is not None else None,
        "optimize": list(optimize),
        "jobs": jobs or os.cpu_count() or 1,
    }
    returncode, stdout, stderr = (compiler or start_compiler(interpreter)).run(json.dumps(request))
    if returncode != 0:
        raise InstallError(
            f"compiling bytecode with {interpreter} failed: {stderr.strip().splitlines()[-1:]}",
            hint="check that this interpreter works, or skip compiling bytecode",
        )
    summary = json.loads(stdout)
    return CompileResult(
        python_version=version,
        interpreter=interpreter,
        compiled=summary["compiled"],
        failed=tuple(PurePosixPath(path) for path in summary["failed"]),
    )


class Compiler:
    """The compile driver running in ``interpreter``, waiting for its one request on stdin:
    started before the sources are installed, so the interpreter's start (~0.02 s) overlaps
    the install instead of following it. ``run`` sends the request (once); ``stop`` ends
    it unused."""

    def __init__(self, interpreter: Path) -> None:
        self.interpreter = interpreter
        # A fixed hash seed keeps set/frozenset constants in a stable order; an empty
        # environment keeps the host's PYTHON* settings out.
        env = {"PYTHONHASHSEED": "0", "PATH": os.environ.get("PATH", ""), "LC_ALL": "C.UTF-8"}
        self._process = subprocess.Popen(
            [str(interpreter), "-s", "-S", str(_DRIVER)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        )  # fmt: skip
        self.pid = self._process.pid
        self._done = False

    def run(self, request: str) -> tuple[int, str, str]:
        """Send ``request`` (JSON), wait: (exit status, stdout, stderr). Interrupted, it kills the process."""
        try:
            stdout, stderr = self._process.communicate(request)
        except BaseException:
            self.stop()
            raise
        self._done = True
        return self._process.returncode, stdout, stderr

    def stop(self) -> None:
        """Kill the process if it still waits (or runs), and reap it; nothing once ``run`` returned."""
        if self._done:
            return
        self._done = True
        if self._process.poll() is None:
            self._process.kill()
        self._process.communicate()


def start_compiler(interpreter: Path) -> Compiler:
    """The compile driver started in ``interpreter``, for one later ``compile_tree`` call."""
    return Compiler(interpreter)
