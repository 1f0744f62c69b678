"""The pieces of the builder-container path that need no engine: which image it runs,
how the pins for the target are read, which file an index lookup may fall back to, and
which line of a failed build's log is shown."""

from __future__ import annotations

from layerplan.containerize.layers import _sdist_as_last_resort
from layerplan.containerize.source_builder import _engine_name, _failure_reason
from layerplan.fetch.model import WantedFile, tag_rank
from layerplan.install.build_requirements import TargetPin, _hashed_pins
from layerplan.target.model import Libc, Target

TARGET = Target(python_version=(3, 11), os="linux", arch="amd64", libc=Libc("glibc", 2, 36))


def test_the_engine_runs_a_registry_or_engine_base_not_files() -> None:
    assert _engine_name("python:3.12-bookworm") == "python:3.12-bookworm"
    assert _engine_name("127.0.0.1:5000/python:3.11-bookworm@sha256:" + "a" * 64).endswith("a" * 64)
    assert _engine_name("docker://my-base:1") == "my-base:1"  # a registry, as in skopeo
    assert _engine_name("docker-daemon:my-base:1") == "my-base:1"
    assert _engine_name("oci:/tmp") is None
    assert _engine_name("oci-archive:/etc/hostname") is None


def test_hashed_pins_of_uv_pip_compile() -> None:
    text = (
        "cython==3.1.8 \\\n    --hash=sha256:aa \\\n    --hash=sha256:bb\n"
        "Setuptools==80.0 ; python_version >= '3.9' \\\n    --hash=sha256:cc\n# a comment\n"
    )
    assert _hashed_pins(text) == (
        TargetPin("cython", "3.1.8", ("sha256:aa", "sha256:bb")),
        TargetPin("setuptools", "80.0", ("sha256:cc",)),
    )


def test_a_lookup_by_hashes_takes_the_sdist_only_when_no_wheel_fits() -> None:
    rank = tag_rank(TARGET.wheel_tags())
    looked_up = _sdist_as_last_resort(WantedFile.from_index("netifaces", "0.11.0", ["sha256:aa"], rank=rank))
    assert looked_up.rank is not None
    wheel = looked_up.rank("netifaces-0.11.0-cp311-cp311-manylinux_2_17_x86_64.whl")
    sdist = looked_up.rank("netifaces-0.11.0.tar.gz")
    assert wheel is not None and sdist is not None and wheel < sdist
    assert looked_up.rank("netifaces-0.11.0-cp39-cp39-win32.whl") is None
    named = WantedFile.from_index("six", "1.0", ["sha256:aa"], filename="six-1.0-py3-none-any.whl", rank=rank)
    assert _sdist_as_last_resort(named) is named  # the lock chose the file: no fallback


def test_the_backend_error_line_is_shown() -> None:
    log = [
        "running build_ext",
        "building 'netifaces' extension",
        "error: command 'x86_64-linux-gnu-gcc' failed: No such file or directory",
        "Traceback (most recent call last):",
        "subprocess.CalledProcessError: Command '[...]' returned non-zero exit status 1.",
    ]
    assert _failure_reason(log) == "error: command 'x86_64-linux-gnu-gcc' failed: No such file or directory"
    assert _failure_reason(["only line"]) == "only line"
    assert _failure_reason([]) == ""
