"""The result of a build: per layer (size, digest, built or cached) and per output."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from layerplan._units import format_size

if TYPE_CHECKING:  # loaded by the build, not by every command that imports this report
    from rich.console import Console

    from layerplan.install.sdist_wheel import SdistWheel
    from layerplan.transports.protocol import OutputResult  # what each sink returns


__all__ = ["BuildReport", "LayerResult", "print_report"]


@dataclass(frozen=True, kw_only=True, slots=True)
class LayerResult:
    """One layer of the image (the base's ones included, with status ``base``)."""

    name: str
    kind: str
    digest: str
    size: int
    status: str
    """``base``, ``built``, ``cached`` (the local cache had it) or ``reused`` (a cache
    image had it: see ``reused_from``)."""
    created_by: str = ""
    key: str | None = None
    """The plan's key of the layer (``layerplan plan --json`` shows the same); ``None`` for base layers."""
    reused_from: str | None = None
    """The cache image (``registry/repository:tag``) a ``reused`` layer is taken from."""


def _source_build_json(build: SdistWheel) -> dict[str, Any]:
    return {
        "name": build.name,
        "version": build.version,
        "sdist": {"file": build.sdist, "sha256": build.sdist_sha256, "url": build.sdist_url},
        "backend": build.backend,
        "build_requirements": list(build.build_requirements),
        "indexes": list(build.indexes),
        "wheel": {"file": build.wheel.name, "sha256": build.wheel_sha256},
        "status": _source_status(build),
    }


def _source_status(build: SdistWheel) -> str:
    """``built`` by this build, or ``cached``: made by an earlier one, taken from the store."""
    return "cached" if build.cached else "built"


@dataclass(frozen=True, kw_only=True, slots=True)
class BuildReport:
    """Everything a build did; ``to_json()`` is the ``layerplan build --json`` document."""

    image_digest: str
    config_digest: str
    base: str
    base_digest: str | None
    target: str
    layers: tuple[LayerResult, ...]
    outputs: tuple[OutputResult, ...]
    built_from_source: tuple[SdistWheel, ...] = ()
    """The packages whose wheels came from their sdists, for the layers this build made."""
    sboms: tuple[tuple[str, str], ...] = ()
    """The SBOMs attached to the image: (artifact type, artifact manifest digest)."""
    provenance: tuple[str, str] | None = None
    """The provenance attached to the image: (artifact type, artifact manifest digest)."""
    digest_file: str | None = None
    """Where the pushed images' ``REF@DIGEST`` lines were written (``--digest-file``)."""
    warnings: tuple[str, ...] = ()
    platforms: tuple[BuildReport, ...] = ()
    """A multi-platform build: each platform's image (its ``outputs`` empty: the index went
    out); ``image_digest`` is then the index's and ``layers`` is empty."""
    shared_layers: tuple[str, ...] = ()
    """A multi-platform build: the layers every platform's image has (one digest each)."""
    app_wheel: str | None = None
    """How the project's wheel was had: ``built`` (its backend ran), ``cached`` (found by
    the fingerprint of its inputs: no backend ran), ``given`` (by a front end); ``None``
    for a project without one."""
    app_fingerprint: str | None = None
    """The fingerprint of the wheel's inputs (``install.fingerprint``); ``None``: it has none."""
    base_platform_from: str | None = None
    """Where what the base runs came from: ``scanned``, ``local cache`` or ``cache image REF``
    (``resolution.base.BasePlatform.source``)."""

    def to_json(self) -> dict[str, Any]:
        """The documented JSON report (see docs/build.md, docs/multi-platform.md)."""
        document = self._json()
        if self.platforms:
            document["media_type"] = "application/vnd.oci.image.index.v1+json"
            document["platforms"] = [
                {key: value for key, value in platform._json().items() if key not in ("schema", "outputs", "warnings", "digest_file")}
                for platform in self.platforms
            ]
            document["shared_layers"] = list(self.shared_layers)
        return document

    def _json(self) -> dict[str, Any]:
        return {
            "schema": "layerplan.containerize/1",
            "digest": self.image_digest,
            "config_digest": self.config_digest,
            "base": {"name": self.base, "digest": self.base_digest, "platform_from": self.base_platform_from},
            "target": self.target,
            "layers": [
                {
                    "name": l.name, "kind": l.kind, "key": l.key, "digest": l.digest, "size": l.size,
                    "status": l.status, "from": l.reused_from, "created_by": l.created_by,
                }
                for l in self.layers
            ],
            "outputs": [
                {
                    "spec": o.spec,
                    "kind": o.kind,
                    "status": o.status,
                    "location": o.location,
                    "tags": list(o.tags),
                    "bytes_uploaded": o.bytes_uploaded,
                    "bytes_mounted": o.bytes_mounted,
                    "sboms": list(o.sboms),
                    "sbom_via": o.sbom_via,
                    "provenance": o.provenance,
                    "platform_record": o.platform_record,
                    "attached": [{"artifact_type": kind, "location": where} for kind, where in o.attached],
                    "attached_via": o.attached_via,
                    "blobs": [
                        {
                            "digest": b.digest, "size": b.size, "status": b.status, "bytes_uploaded": b.bytes_uploaded,
                            "mounted_from": b.mounted_from,
                        }
                        for b in o.blobs
                    ],
                }
                for o in self.outputs
            ],
            "app_wheel": {"status": self.app_wheel, "fingerprint": self.app_fingerprint} if self.app_wheel else None,
            "built_from_source": [_source_build_json(build) for build in self.built_from_source],
            "sbom": [{"artifact_type": kind, "digest": digest} for kind, digest in self.sboms],
            "provenance": (
                {"artifact_type": self.provenance[0], "digest": self.provenance[1]} if self.provenance is not None else None
            ),
            "digest_file": self.digest_file,
            "warnings": list(self.warnings),
        }


def print_report(report: BuildReport, console: Console | None = None) -> None:
    """The summary table: layers with size, digest, built/cached and push status."""
    from rich.table import Table  # loaded only to print (`--json`/`--quiet` skip it)
    from rich.text import Text

    from layerplan.console import print_table, results

    console = console or results()
    for platform in report.platforms:
        console.print(Text.assemble((f"{platform.target.split()[1]} ", "bold"), platform.image_digest))
        _print_layers(platform, console, report.outputs, shared=report.shared_layers)
    if not report.platforms:
        _print_layers(report, console, report.outputs)
    _print_outputs(report, console)


def _print_layers(report: BuildReport, console: Console, outputs: tuple[OutputResult, ...], *, shared: tuple[str, ...] = ()) -> None:
    from rich.table import Table
    from rich.text import Text

    from layerplan.console import print_table

    pushes = [o for o in outputs if o.blobs]
    status_of = {b.digest: b.status for o in pushes for b in o.blobs}
    table = Table(box=None, header_style="bold", pad_edge=False, show_edge=False)
    for column, justify in (("layer", "left"), ("kind", "left"), ("size", "right"), ("digest", "left"), ("build", "left")):
        table.add_column(column, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    if pushes:
        table.add_column("push", no_wrap=True)
    styles = {"built": "yellow", "cached": "green", "reused": "blue", "base": "dim", "pushed": "yellow", "present": "green", "mounted": "cyan"}
    base_layers = [l for l in report.layers if l.status == "base"]
    if base_layers:
        row: list[str | Text] = [f"base ({len(base_layers)} layers)", "base", format_size(sum(l.size for l in base_layers)), "", Text("base", style="dim")]
        if pushes:
            statuses = sorted({status_of.get(l.digest, "-") for l in base_layers})
            row.append(Text(",".join(statuses), style=styles.get(statuses[0], "")))
        table.add_row(*row)
    for layer in report.layers:
        if layer.status == "base":
            continue
        row = [layer.name, f"{layer.kind} (shared)" if layer.name in shared else layer.kind, format_size(layer.size), layer.digest.split(":")[-1][:12], Text(layer.status, style=styles[layer.status])]
        if pushes:
            status = status_of.get(layer.digest, "-")
            row.append(Text(status, style=styles.get(status, "")))
        table.add_row(*row)
    print_table(console, table)


def _print_outputs(report: BuildReport, console: Console) -> None:
    from rich.text import Text

    sources: dict[str, int] = {}
    for layer in (*report.layers, *(l for p in report.platforms for l in p.layers)):
        if layer.reused_from is not None:
            sources[layer.reused_from] = sources.get(layer.reused_from, 0) + 1
    for source, count in sources.items():
        console.print(f"{count} layer(s) reused from {source}")
    for output in report.outputs:
        if output.unchanged:
            console.print(f"{output.spec}: up to date (it already holds this image: nothing sent or written)")
        elif output.blobs:
            console.print(
                f"{output.spec}: {output.count('pushed')} blob(s) pushed ({format_size(output.bytes_uploaded)}), "
                f"{output.count('present')} already there, "
                f"{output.count('mounted')} mounted ({format_size(output.bytes_mounted)})"
            )
            if len(output.tags) > 1:
                console.print(f"{output.spec}: tagged {', '.join(output.tags)}")
        elif output.kind == "docker":
            console.print(f"{output.spec}: loaded into the Docker engine as {output.location}")
        else:
            console.print(f"{output.spec}: written")
    for output in report.outputs:
        if output.attached_via:
            what = [f"{len(output.sboms)} SBOM(s)"] if output.sboms else []
            what += ["provenance"] if output.provenance else []
            if what:  # the base's platform record alone is a cache, not news
                console.print(f"{output.spec}: {' and '.join(what)} attached ({output.attached_via})")
    for built in report.built_from_source:
        requirements = ", ".join(built.build_requirements) or "nothing"
        console.print(
            f"{built.name} {built.version or ''}: wheel {_source_status(built)} from {built.sdist} "
            f"(build requirements: {requirements})".replace("  ", " ")
        )
    kind = "index " if report.platforms else "image "
    console.print(Text.assemble((kind, "bold"), report.image_digest, f"  ({report.target}, base {report.base})"))
