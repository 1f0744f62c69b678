"""Large synthetic lockfiles shaped like real ones, for scale tests and benchmarks.

``make_uv_lock(n, path)`` and ``make_pylock(n, path)`` write a lock of ``n`` registry
packages (plus, for uv, the project's own virtual root entry). The output depends only
on ``n``: every package has a version, an sdist and 3-6 wheels (url, sha256, size)
across the usual platforms; about a fifth of the edges carry markers, some request
extras; the graph is acyclic (a package only depends on later ones).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

__all__ = [
    "make_pdm_lock",
    "make_pipfile_lock",
    "make_poetry_lock",
    "make_pylock",
    "make_requirements",
    "make_uv_lock",
    "package_name",
]

INDEX = "https://pypi.org/simple"
_HOST = "https://files.pythonhosted.org/packages"
_WHEEL_TAGS = (
    "cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64",
    "cp311-cp311-manylinux_2_17_aarch64.manylinux2014_aarch64",
    "cp311-cp311-musllinux_1_2_x86_64",
    "cp311-cp311-macosx_11_0_arm64",
    "cp311-cp311-win_amd64",
    "cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64",
)
_MARKERS = (
    "sys_platform == 'win32'",
    "python_full_version < '3.12'",
    "platform_machine == 'x86_64' and sys_platform == 'linux'",
    "implementation_name == 'cpython'",
)


def package_name(i: int) -> str:
    """The normalised name of the ``i``-th synthetic package."""
    return f"pkg-{i:04d}"


def _version(i: int) -> str:
    return f"{1 + i % 7}.{i % 13}.{i % 5}"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _files(i: int) -> tuple[tuple[str, str, int], list[tuple[str, str, int]]]:
    """(sdist, wheels) as (url, sha256 hex, size) for package ``i``."""
    stem = f"{package_name(i).replace('-', '_')}-{_version(i)}"
    prefix = _digest(stem)
    folder = f"{_HOST}/{prefix[:2]}/{prefix[2:4]}/{prefix[4:60]}"
    sdist = (f"{folder}/{stem}.tar.gz", _digest(stem + ".tar.gz"), 40_000 + i * 37)
    if i % 4 == 0:  # pure-Python packages: one universal wheel among the platform ones
        tags = ("py3-none-any",) + _WHEEL_TAGS[: 2 + i % 3]
    else:
        tags = _WHEEL_TAGS[: 3 + i % 4]
    wheels = [
        (f"{folder}/{stem}-{tag}.whl", _digest(f"{stem}-{tag}"), 90_000 + i * 101 + n * 7_919)
        for n, tag in enumerate(tags)
    ]
    return sdist, wheels


def _edges(i: int, n: int) -> list[tuple[int, str | None, str | None]]:
    """Dependencies of package ``i`` as (target, marker, extra): 0-3 later packages."""
    edges = []
    for k in range(i % 4):
        target = i + 1 + (i * 7 + k * 13) % 29
        if target >= n:
            continue
        marker = _MARKERS[(i + k) % len(_MARKERS)] if (i + k) % 5 == 0 else None
        extra = "speedups" if target % 11 == 0 else None  # those have that extra
        edges.append((target, marker, extra))
    return edges


def make_uv_lock(n: int, path: Path) -> Path:
    """Write a ``uv.lock`` (version 1, revision 3) with ``n`` packages and a virtual root
    project ``synthetic-app`` that depends on every tenth package; return ``path``."""
    out = ['version = 1', 'revision = 3', 'requires-python = ">=3.11"', ""]
    root_deps = ", ".join(f'{{ name = "{package_name(i)}" }}' for i in range(0, n, 10))
    out += ["[[package]]", 'name = "synthetic-app"', 'version = "0.1.0"', 'source = { virtual = "." }']
    out += [f"dependencies = [{root_deps}]", ""]
    for i in range(n):
        name = package_name(i)
        out += ["[[package]]", f'name = "{name}"', f'version = "{_version(i)}"', f'source = {{ registry = "{INDEX}" }}']
        edges = _edges(i, n)
        if edges:
            out.append("dependencies = [")
            for target, marker, extra in edges:
                fields = [f'name = "{package_name(target)}"']
                if extra:
                    fields.append(f'extra = ["{extra}"]')
                if marker:
                    fields.append(f'marker = "{marker}"')
                out.append(f"    {{ {', '.join(fields)} }},")
            out.append("]")
        sdist, wheels = _files(i)
        out.append(f'sdist = {{ url = "{sdist[0]}", hash = "sha256:{sdist[1]}", size = {sdist[2]}, upload-time = "2025-01-01T00:00:00Z" }}')
        out.append("wheels = [")
        out += [
            f'    {{ url = "{url}", hash = "sha256:{digest}", size = {size}, upload-time = "2025-01-01T00:00:00Z" }},'
            for url, digest, size in wheels
        ]
        out.append("]")
        if i % 11 == 0 and i + 1 < n:
            out += ["", "[package.optional-dependencies]", f'speedups = [{{ name = "{package_name(i + 1)}" }}]']
        out.append("")
    path.write_text("\n".join(out), encoding="utf-8")
    return path


def make_pylock(n: int, path: Path) -> Path:
    """Write a PEP 751 ``pylock.toml`` with ``n`` packages, some for ``dev`` only; return ``path``."""
    out = [
        'lock-version = "1.0"',
        'created-by = "layerplan-synthetic"',
        'requires-python = ">=3.11"',
        'environments = ["sys_platform == \'linux\'", "sys_platform == \'darwin\'", "sys_platform == \'win32\'"]',
        'dependency-groups = ["dev"]',
        "default-groups = []",
        "",
    ]
    for i in range(n):
        out += ["[[packages]]", f'name = "{package_name(i)}"', f'version = "{_version(i)}"']
        if i % 20 == 0:
            out.append("marker = \"'dev' in dependency_groups\"")
        elif i % 5 == 0:
            out.append(f'marker = "{_MARKERS[i % len(_MARKERS)]}"')
        out.append(f'index = "{INDEX}"')
        edges = _edges(i, n)
        if edges:
            deps = ", ".join(f'{{ name = "{package_name(t)}", version = "{_version(t)}" }}' for t, _, _ in edges)
            out.append(f"dependencies = [{deps}]")
        sdist, wheels = _files(i)
        out.append(f'sdist = {{ url = "{sdist[0]}", size = {sdist[2]}, hashes = {{ sha256 = "{sdist[1]}" }} }}')
        out.append("wheels = [")
        out += [
            f'    {{ url = "{url}", upload-time = 2025-01-01T00:00:00Z, size = {size}, hashes = {{ sha256 = "{digest}" }} }},'
            for url, digest, size in wheels
        ]
        out += ["]", ""]
    path.write_text("\n".join(out), encoding="utf-8")
    return path


def _file_entries(i: int) -> list[tuple[str, str]]:
    """(file name, sha256 hex) of package ``i``'s files (poetry, pdm and hash-only locks)."""
    sdist, wheels = _files(i)
    return [(url.rsplit("/", 1)[-1], sha) for url, sha, _ in [*wheels, sdist]]


def make_poetry_lock(n: int, path: Path) -> Path:
    """Write a ``poetry.lock`` (2.0) with ``n`` packages (files by name and hash, the
    dependency edges as constraints); return ``path``."""
    out = ["# This file is automatically @generated by Poetry 2.1.3 and should not be changed by hand.\n"]
    for i in range(n):
        files = ",\n".join(f'    {{file = "{name}", hash = "sha256:{sha}"}}' for name, sha in _file_entries(i))
        out.append(
            f'[[package]]\nname = "{package_name(i)}"\nversion = "{_version(i)}"\ndescription = "synthetic"\n'
            f'optional = false\npython-versions = ">=3.9"\ngroups = ["main"]\nfiles = [\n{files},\n]\n'
        )
        edges = _edges(i, n)
        if edges:
            deps = "\n".join(f'{package_name(t)} = ">={_version(t)}"' for t, _, _ in edges)
            out.append(f"\n[package.dependencies]\n{deps}\n")
        out.append("\n")
    out.append('[metadata]\nlock-version = "2.1"\npython-versions = ">=3.11"\ncontent-hash = "' + _digest(str(n)) + '"\n')
    path.write_text("".join(out), encoding="utf-8")
    return path


def make_pdm_lock(n: int, path: Path) -> Path:
    """Write a ``pdm.lock`` (4.5) with ``n`` packages in the default group; return ``path``."""
    out = [
        '[metadata]\ngroups = ["default"]\nstrategy = ["inherit_metadata"]\nlock_version = "4.5.0"\n'
        f'content_hash = "sha256:{_digest(str(n))}"\n\n[[metadata.targets]]\nrequires_python = ">=3.11"\n\n'
    ]
    for i in range(n):
        files = ",\n".join(f'    {{file = "{name}", hash = "sha256:{sha}"}}' for name, sha in _file_entries(i))
        deps = "".join(f'    "{package_name(t)}>={_version(t)}",\n' for t, _, _ in _edges(i, n))
        out.append(
            f'[[package]]\nname = "{package_name(i)}"\nversion = "{_version(i)}"\nrequires_python = ">=3.9"\n'
            f'summary = "synthetic"\ngroups = ["default"]\n'
            + (f"dependencies = [\n{deps}]\n" if deps else "")
            + f"files = [\n{files},\n]\n\n"
        )
    path.write_text("".join(out), encoding="utf-8")
    return path


def make_requirements(n: int, path: Path) -> Path:
    """Write a hashed ``requirements.txt`` (``uv pip compile --generate-hashes`` style)."""
    out = []
    for i in range(n):
        hashes = " \\\n".join(f"    --hash=sha256:{sha}" for _, sha in _file_entries(i))
        out.append(f"{package_name(i)}=={_version(i)} \\\n{hashes}\n")
    path.write_text("".join(out), encoding="utf-8")
    return path


def make_pipfile_lock(n: int, path: Path) -> Path:
    """Write a ``Pipfile.lock`` (spec 6) with ``n`` default packages."""
    import json

    default = {
        package_name(i): {"hashes": [f"sha256:{sha}" for _, sha in _file_entries(i)], "index": "pypi", "version": f"=={_version(i)}"}
        for i in range(n)
    }
    meta = {
        "hash": {"sha256": _digest(str(n))}, "pipfile-spec": 6, "requires": {"python_version": "3.11"},
        "sources": [{"name": "pypi", "url": INDEX, "verify_ssl": True}],
    }  # fmt: skip
    path.write_text(json.dumps({"_meta": meta, "default": default, "develop": {}}, indent=4), encoding="utf-8")
    return path
