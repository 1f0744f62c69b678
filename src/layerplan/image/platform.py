"""What a base image runs, found from its config and layer tarballs, without a container.

* os / architecture / variant: the config;
* Python: ``python3`` (or ``python``, or the highest ``python3.X``) on the config's
  ``PATH``, symlinks followed inside the image; the minor version from the names
  ``python3.X`` along the link chain or the ``lib/python3.X/`` stdlib beside it; the
  patch version from ``ENV PYTHON_VERSION`` (official images), the dpkg or apk database;
* libc: glibc from the ``GNU C Library ... version 2.36`` string in ``libc.so.6`` (or a
  ``libc-2.X.so`` name, or dpkg's libc6); musl from ``ld-musl-<arch>.so.1``, its version
  from apk's database or the version string in the loader.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from layerplan.image.errors import NoPythonError
from layerplan.image.fs import ImageFS
from layerplan.image.model import Image

__all__ = ["BaseScan", "DetectedPlatform", "detect_platform", "scan_base"]

_DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_PY_NAME = re.compile(r"^python(3)\.(\d+)$")
_GLIBC_NAME = re.compile(r"^libc-(2\.\d+)\.so$")
_GLIBC_TEXT = re.compile(rb"GNU C Library [^\n\x00]*?version (\d+\.\d+(?:\.\d+)?)")
_MUSL_NAME = re.compile(r"^ld-musl-[\w-]+\.so\.1$")
_MUSL_TEXT = re.compile(rb"\x00(1\.\d+\.\d+)\x00")
_DPKG_STATUS = "/var/lib/dpkg/status"
_DPKG_STATUS_D = "/var/lib/dpkg/status.d/"
_APK_DB = "/lib/apk/db/installed"


@dataclass(frozen=True, kw_only=True, slots=True)
class DetectedPlatform:
    """The target a base image gives, as far as its files tell."""

    os: str
    arch: str
    """Go/OCI architecture name: ``amd64``, ``arm64``..."""
    variant: str | None
    python_version: str
    """``3.11.2`` when the patch version is knowable, else ``3.11``."""
    python_path: str
    """The interpreter's real path in the image, e.g. ``/usr/bin/python3.11``."""
    libc_family: str | None
    """``glibc``, ``musl``, or ``None`` when neither was found (a static interpreter)."""
    libc_version: str | None
    """``2.36`` / ``1.2.4``, or ``None`` when not knowable."""

    @property
    def python_minor(self) -> tuple[int, int]:
        major, minor = self.python_version.split(".")[:2]
        return int(major), int(minor)


def _capture(path: str) -> bool:
    name = posixpath.basename(path)
    return (
        name == "libc.so.6"
        or bool(_GLIBC_NAME.match(name) or _MUSL_NAME.match(name))
        or path in (_DPKG_STATUS, _APK_DB)
        or path.startswith(_DPKG_STATUS_D)
    )


@dataclass(frozen=True, kw_only=True, slots=True)
class BaseScan:
    """A base image's config and merged file tree (metadata plus a few captured files)."""

    config: Mapping[str, Any]
    fs: ImageFS

    @property
    def symlinks(self) -> Mapping[str, str]:
        """Paths that are symlinks in the base (``/bin`` -> ``usr/bin``...): layers must not write them."""
        return self.fs.symlinks

    @property
    def env(self) -> dict[str, str]:
        env: dict[str, str] = {}
        for item in (self.config.get("config") or {}).get("Env") or []:
            name, _, value = str(item).partition("=")
            env[name] = value
        return env

    def platform(self) -> DetectedPlatform:
        """Detect the target; raise ``NoPythonError`` when the image has no Python."""
        python_path, minor = self._python()
        family, libc_version = self._libc()
        return DetectedPlatform(
            os=str(self.config.get("os") or "linux"),
            arch=str(self.config.get("architecture") or ""),
            variant=str(self.config["variant"]) if self.config.get("variant") else None,
            python_version=self._patch(minor) or minor,
            python_path=python_path,
            libc_family=family,
            libc_version=libc_version,
        )

    # ---- python ------------------------------------------------------------------------

    def _python(self) -> tuple[str, str]:
        path_dirs = [d for d in self.env.get("PATH", _DEFAULT_PATH).split(":") if d.startswith("/")]
        candidates = [f"{d}/{name}" for name in ("python3", "python") for d in path_dirs]
        for d in path_dirs:
            versioned = [n for n in self.fs.listdir(d) if _PY_NAME.match(n)]
            versioned.sort(key=lambda n: int(n.rsplit(".", 1)[1]), reverse=True)
            candidates.extend(f"{d}/{n}" for n in versioned)
        for candidate in candidates:
            chain = self.fs.resolve_chain(candidate)
            if not chain or not self.fs.is_file(chain[-1]):
                continue
            minor = self._minor_from_names(chain) or self._minor_from_stdlib(chain[-1])
            if minor:
                return chain[-1], minor
        raise NoPythonError(
            f"the base image has no Python interpreter on its PATH (looked for python3, python and"
            f" python3.X in {':'.join(path_dirs) or '(empty PATH)'})",
            hint="choose a Python base image (e.g. python:3.12-slim), or set the target Python"
            " version and interpreter path explicitly",
        )

    @staticmethod
    def _minor_from_names(chain: list[str]) -> str | None:
        for path in reversed(chain):
            match = _PY_NAME.match(posixpath.basename(path))
            if match:
                return f"{match.group(1)}.{match.group(2)}"
        return None

    def _minor_from_stdlib(self, interpreter: str) -> str | None:
        prefix = posixpath.dirname(posixpath.dirname(interpreter))
        found = [
            n for n in self.fs.listdir(f"{prefix}/lib") if _PY_NAME.match(n) and self.fs.is_file(f"{prefix}/lib/{n}/os.py")
        ]
        found.sort(key=lambda n: int(n.rsplit(".", 1)[1]))
        return found[-1][len("python"):] if found else None

    def _patch(self, minor: str) -> str | None:
        env_version = self.env.get("PYTHON_VERSION", "")
        if re.fullmatch(rf"{re.escape(minor)}\.\d+", env_version):
            return env_version
        for package in (f"python{minor}-minimal", f"libpython{minor}-minimal", f"python{minor}"):
            match = re.match(rf"{re.escape(minor)}\.\d+", _dpkg_version(self.fs, package) or "")
            if match:
                return match.group(0)
        version = _apk_version(self.fs, "python3")
        match = re.match(rf"({re.escape(minor)}\.\d+)", version or "")
        return match.group(1) if match else None

    # ---- libc --------------------------------------------------------------------------

    def _libc(self) -> tuple[str | None, str | None]:
        captured = self.fs.captured()
        glibc: list[tuple[int, ...]] = []
        for path, data in captured.items():
            name = posixpath.basename(path)
            match = _GLIBC_TEXT.search(data) if name == "libc.so.6" or _GLIBC_NAME.match(name) else None
            if match:
                glibc.append(_version_tuple(match.group(1).decode()))
            elif (named := _GLIBC_NAME.match(name)) is not None:
                glibc.append(_version_tuple(named.group(1)))
        if glibc:
            return "glibc", ".".join(map(str, max(glibc)))
        musl = sorted(p for p in captured if _MUSL_NAME.match(posixpath.basename(p)))
        if musl:
            version = _apk_version(self.fs, "musl")
            if version:
                return "musl", version.split("-")[0]
            match = _MUSL_TEXT.search(captured[musl[0]])
            return "musl", match.group(1).decode() if match else None
        libc6 = _dpkg_version(self.fs, "libc6")
        if libc6:
            return "glibc", ".".join(libc6.split("-")[0].split(".")[:2])
        return None, None


def _version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split("."))


def _dpkg_version(fs: ImageFS, package: str) -> str | None:
    """``Version:`` of ``package`` in dpkg's status file (or distroless ``status.d``)."""
    texts = [fs.read(_DPKG_STATUS) or b""]
    texts += [data for path, data in fs.captured().items() if path.startswith(_DPKG_STATUS_D)]
    for text in texts:
        for stanza in text.decode("utf-8", "replace").split("\n\n"):
            fields = dict(
                line.split(": ", 1) for line in stanza.splitlines() if ": " in line and not line.startswith(" ")
            )
            if fields.get("Package") == package and "installed" in fields.get("Status", "installed"):
                version = fields.get("Version", "")
                return version.split(":", 1)[-1] or None
    return None


def _apk_version(fs: ImageFS, package: str) -> str | None:
    """``V:`` of ``package`` in apk's installed database (Alpine)."""
    text = (fs.read(_APK_DB) or b"").decode("utf-8", "replace")
    for stanza in text.split("\n\n"):
        fields = dict(line.split(":", 1) for line in stanza.splitlines() if ":" in line)
        if fields.get("P") == package:
            return fields.get("V")
    return None


def scan_base(image: Image) -> BaseScan:
    """Read ``image``'s layers once (in order, whiteouts applied) into a :class:`BaseScan`."""
    return BaseScan(config=image.config_json, fs=ImageFS.from_layers(image.layers, _capture))


def detect_platform(image: Image) -> tuple[DetectedPlatform, Mapping[str, str]]:
    """The target of ``image`` and its symlinks (path -> target), from one read of its layers.

    Raise ``NoPythonError`` when the image has no Python interpreter.
    """
    scan = scan_base(image)
    return scan.platform(), scan.symlinks
