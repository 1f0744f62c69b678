"""Transport names as skopeo spells them (issue 12): every spelling parses to the kind it
names in skopeo, the old spellings still work with one deprecation line each, and
``docker://`` as a base is a registry whose "not found" says where an engine image goes."""

from __future__ import annotations

from pathlib import Path

import pytest
from lp_image_helpers import files, memory_layer, synthetic_image
from memregistry import MemRegistry, memregistry  # noqa: F401

from layerplan.image import Image
from layerplan.registry import RegistryNotFoundError
from layerplan.transports import (
    OLD_SPELLINGS,
    ClientPool,
    DockerArchive,
    DockerEngine,
    OciArchive,
    OciLayout,
    Registry,
    TransportContext,
    kinds,
    parse_output,
    parse_source,
    write_docker_archive,
    write_oci_archive,
    write_oci_layout,
)

ENGINE_HINT = "docker:// names a registry (as in skopeo); for an image in the local Docker engine use docker-daemon:NAME"


@pytest.fixture(autouse=True)
def fresh_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test is a run of its own: no spec has been warned about yet."""
    monkeypatch.setattr(kinds, "_warned", set())


@pytest.fixture
def image(tmp_path: Path) -> Image:
    return synthetic_image([memory_layer(files(tmp_path, {"usr/bin/python3.11": b"py"}))])


@pytest.fixture
def local(tmp_path: Path, image: Image) -> Path:
    """A layout, an OCI archive and a docker-archive of ``image`` under ``tmp_path``."""
    write_oci_layout(image, tmp_path / "layout", ref_name="v1")
    write_oci_archive(image, tmp_path / "img.oci.tar")
    write_docker_archive(image, tmp_path / "img.docker.tar", tags=["app:1"])
    return tmp_path


def deprecations(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "old spelling" in line]


def test_every_current_base_spelling_names_its_kind(local: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for spec, kind, target in (
        ("ghcr.io/org/app:1", Registry, "ghcr.io/org/app:1"),
        ("docker://ghcr.io/org/app:1", Registry, "ghcr.io/org/app:1"),
        ("docker-daemon:app:dev", DockerEngine, "app:dev"),
        (f"oci:{local}/layout", OciLayout, f"{local}/layout"),
        (f"oci:{local}/layout:v1", OciLayout, f"{local}/layout"),
        (f"oci-archive:{local}/img.oci.tar", OciArchive, f"{local}/img.oci.tar"),
        (f"docker-archive:{local}/img.docker.tar", DockerArchive, f"{local}/img.docker.tar"),
    ):
        source = parse_source(spec)
        assert type(source) is kind, spec
        if isinstance(source, Registry):
            assert str(source.reference) == target
        else:
            assert source.target == target, spec
    assert capsys.readouterr().err == ""  # the current spellings warn about nothing


def test_a_layout_base_selects_the_image_by_its_ref_name_as_in_skopeo(local: Path, image: Image, tmp_path: Path) -> None:
    source = parse_source(f"oci:{local}/layout:v1")
    assert isinstance(source, OciLayout) and source.ref_name == "v1"
    with source.open(None, TransportContext()) as back:
        assert back.digest == image.digest
    with pytest.raises(Exception, match="no image named 'v2'"), parse_source(f"oci:{local}/layout:v2").open(
        None, TransportContext()
    ):
        pass


def test_every_current_output_spelling_names_its_kind(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for spec, kind, where in (
        ("docker://ghcr.io/org/app:1", Registry, "ghcr.io/org/app:1"),
        ("docker-daemon:app:dev", DockerEngine, "app:dev"),
        (f"oci:{tmp_path}/layout", OciLayout, f"{tmp_path}/layout"),
        (f"oci-archive:{tmp_path}/x.tar", OciArchive, f"{tmp_path}/x.tar"),
        (f"docker-archive:{tmp_path}/x.tar", DockerArchive, f"{tmp_path}/x.tar"),
    ):
        sink = parse_output(spec)
        assert type(sink) is kind and str(sink) == spec, spec
        assert (str(sink.reference) if isinstance(sink, Registry) else sink.target) == where
    assert capsys.readouterr().err == ""


def test_docker_slash_slash_as_a_base_is_the_registry_image_a_bare_reference_names() -> None:
    prefixed, bare = parse_source("docker://127.0.0.1:5000/team/app:1"), parse_source("127.0.0.1:5000/team/app:1")
    assert isinstance(prefixed, Registry) and isinstance(bare, Registry)
    assert prefixed.reference == bare.reference and prefixed.remote and not prefixed.pinned
    # both are annotated and reported under the same name: the same build, the same image
    assert str(prefixed) == str(bare) == "127.0.0.1:5000/team/app:1"


@pytest.mark.parametrize(
    ("old", "new", "kind", "parse"),
    [
        ("oci-layout:{dir}/layout", "oci:{dir}/layout", OciLayout, parse_source),
        ("oci-layout:{dir}/layout:v1", "oci:{dir}/layout:v1", OciLayout, parse_source),
        ("registry:ghcr.io/org/app:1", "docker://ghcr.io/org/app:1", Registry, parse_output),
        ("docker:app:dev", "docker-daemon:app:dev", DockerEngine, parse_output),
    ],
)
def test_an_old_spelling_works_and_says_the_new_one_once(
    local: Path, capsys: pytest.CaptureFixture[str], old: str, new: str, kind: type, parse: object
) -> None:
    old, new = old.format(dir=local), new.format(dir=local)
    assert callable(parse)
    parsed = parse(old)
    assert type(parsed) is kind
    assert str(parsed) == str(parse(new)) == new  # read as the new spelling, reported so
    (line,) = deprecations(capsys.readouterr().err)  # the new spelling said nothing
    prefix = old.split(":")[0] + ":"
    assert line == f"warning: {old!r} uses the old spelling {prefix!r}; write {new!r} (as skopeo spells it)"
    parse(old)  # a front end and the build both parse it: said once per run
    assert capsys.readouterr().err == ""


def test_each_old_spec_is_warned_about_and_the_table_lists_only_unchanged_meanings(
    capsys: pytest.CaptureFixture[str],
) -> None:
    parse_output("registry:ghcr.io/org/a:1")
    parse_output("registry:ghcr.io/org/b:1")
    assert len(deprecations(capsys.readouterr().err)) == 2
    # docker:// changed meaning (engine -> registry, as skopeo): no alias, no warning
    assert dict(OLD_SPELLINGS) == {"oci-layout:": "oci:", "registry:": "docker://", "docker:": "docker-daemon:"}


def test_the_old_docker_output_spelling_does_not_take_docker_slash_slash(capsys: pytest.CaptureFixture[str]) -> None:
    assert isinstance(parse_output("docker://localhost:5000/app:1"), Registry)
    assert isinstance(parse_output("docker:localhost:5000/app:1"), DockerEngine)
    # as a base, `docker:`/`registry:` were never transports: Docker Hub's images of those names
    assert str(parse_source("registry:2").reference) == "docker.io/library/registry:2"  # type: ignore[attr-defined]
    assert deprecations(capsys.readouterr().err) == [
        "warning: 'docker:localhost:5000/app:1' uses the old spelling 'docker:'; "
        "write 'docker-daemon:localhost:5000/app:1' (as skopeo spells it)"
    ]


def test_a_docker_slash_slash_base_missing_from_the_registry_says_where_engine_images_go(
    memregistry: MemRegistry,  # noqa: F811
) -> None:
    context = TransportContext(clients=ClientPool())
    with pytest.raises(RegistryNotFoundError) as caught, parse_source(
        f"docker://{memregistry.address}/team/local-only:dev"
    ).open(None, context):
        pass
    assert caught.value.hint is not None and caught.value.hint.startswith(ENGINE_HINT)
    assert "\n" not in str(caught.value)
    # a bare reference never named the engine: its error has no such hint
    with pytest.raises(RegistryNotFoundError) as bare, parse_source(f"{memregistry.address}/team/local-only:dev").open(
        None, context
    ):
        pass
    assert "docker-daemon" not in str(bare.value)


def test_the_table_of_kinds_says_what_each_class_says() -> None:
    """kinds finds a spec's kind without importing every kind, by a table of their
    spellings: the same as each class's own."""
    assert [k.__name__ for k in kinds.KINDS] == ["OciLayout", "OciArchive", "DockerArchive", "Registry", "DockerEngine"]
    for (_, name, sources, sink, usage), kind in zip(kinds._TABLE, kinds.KINDS, strict=True):
        assert (name, sources, sink, usage) == (kind.__name__, kind.source_prefixes, kind.sink_prefix, kind.usage)
