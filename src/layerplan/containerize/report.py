"""The result of a build: per layer (size, digest, built or cached) and per output."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

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


_Segments = tuple[tuple[str, str], ...]
"""Text with a style per part (``Text.assemble``): printed as it is, never read as markup."""
_Table = tuple[tuple[tuple[str, str], ...], tuple[tuple[tuple[str, str], ...], ...]]
"""Columns (header, justify) and rows of (text, style) cells."""
_Item = tuple[Literal["markup"], str] | tuple[Literal["text"], _Segments] | tuple[Literal["table"], _Table]
"""One thing the report prints: a line of rich markup, a styled line, or a table."""

_STYLES = {"built": "yellow", "cached": "green", "reused": "blue", "base": "dim", "pushed": "yellow", "present": "green", "mounted": "cyan"}


def print_report(report: BuildReport, console: Console | None = None) -> None:
    """The summary table: layers with size, digest, built/cached and push status.

    Without a ``console``, on stdout: off a terminal, written without loading rich when
    what rich would print is the text itself (``console.plain_text``), else through rich.
    """
    items = _report_items(report)
    if console is None:
        import sys

        from layerplan.console import is_plain, results

        if is_plain(sys.stdout) and (lines := _plain_lines(items)) is not None:
            sys.stdout.write("".join(line + "\n" for line in lines))
            sys.stdout.flush()
            return
        console = results()
    _print_rich(items, console)


def _report_items(report: BuildReport) -> list[_Item]:
    items: list[_Item] = []
    for platform in report.platforms:
        items.append(("text", ((f"{platform.target.split()[1]} ", "bold"), (platform.image_digest, ""))))
        items.append(("table", _layer_table(platform, report.outputs, shared=report.shared_layers)))
    if not report.platforms:
        items.append(("table", _layer_table(report, report.outputs)))
    from layerplan.console import escape_controls

    # Literal text: a spec, a tag or a registry's name is never read as markup or an emoji code
    items.extend(("text", ((escape_controls(line), ""),)) for line in _output_lines(report))
    kind = "index " if report.platforms else "image "
    items.append(("text", ((kind, "bold"), (report.image_digest, ""), (f"  ({report.target}, base {report.base})", ""))))
    return items


def _plain_lines(items: list[_Item]) -> list[str] | None:
    """The report's lines as rich prints them off a terminal; ``None`` when one is not plain."""
    from layerplan.console import plain_table, plain_text

    lines: list[str] = []
    for item in items:
        if item[0] == "table":
            columns, rows = item[1]
            table = plain_table(columns, [[text for text, _ in row] for row in rows])
            if table is None:
                return None
            lines.extend(table)
            continue
        line = plain_text(item[1]) if item[0] == "markup" else plain_text("".join(text for text, _ in item[1]), markup=False)
        if line is None:
            return None
        lines.append(line)
    return lines


def _print_rich(items: list[_Item], console: Console) -> None:
    from rich.table import Table
    from rich.text import Text

    from layerplan.console import print_table

    for item in items:
        if item[0] == "markup":
            console.print(item[1])
        elif item[0] == "text":
            console.print(Text.assemble(*item[1]))
        else:
            columns, rows = item[1]
            table = Table(box=None, header_style="bold", pad_edge=False, show_edge=False)
            for column, justify in columns:
                table.add_column(column, justify=justify, no_wrap=True)  # type: ignore[arg-type]
            for row in rows:
                # a styled cell is a Text (never read as markup), a plain one a string (as before)
                table.add_row(*(Text(text, style=style) if style else text for text, style in row))
            print_table(console, table)


def _layer_table(report: BuildReport, outputs: tuple[OutputResult, ...], *, shared: tuple[str, ...] = ()) -> _Table:
    pushes = [o for o in outputs if o.blobs]
    status_of = {b.digest: b.status for o in pushes for b in o.blobs}
    columns = [("layer", "left"), ("kind", "left"), ("size", "right"), ("digest", "left"), ("build", "left")]
    if pushes:
        columns.append(("push", "left"))
    rows: list[tuple[tuple[str, str], ...]] = []
    base_layers = [l for l in report.layers if l.status == "base"]
    if base_layers:
        row = [(f"base ({len(base_layers)} layers)", ""), ("base", ""), (format_size(sum(l.size for l in base_layers)), ""), ("", ""), ("base", "dim")]
        if pushes:
            statuses = sorted({status_of.get(l.digest, "-") for l in base_layers})
            row.append((",".join(statuses), _STYLES.get(statuses[0], "")))
        rows.append(tuple(row))
    for layer in report.layers:
        if layer.status == "base":
            continue
        kind = f"{layer.kind} (shared)" if layer.name in shared else layer.kind
        row = [(layer.name, ""), (kind, ""), (format_size(layer.size), ""), (layer.digest.split(":")[-1][:12], ""), (layer.status, _STYLES[layer.status])]
        if pushes:
            status = status_of.get(layer.digest, "-")
            row.append((status, _STYLES.get(status, "")))
        rows.append(tuple(row))
    return tuple(columns), tuple(rows)


def _output_lines(report: BuildReport) -> list[str]:
    lines = []
    sources: dict[str, int] = {}
    for layer in (*report.layers, *(l for p in report.platforms for l in p.layers)):
        if layer.reused_from is not None:
            sources[layer.reused_from] = sources.get(layer.reused_from, 0) + 1
    for source, count in sources.items():
        lines.append(f"{count} layer(s) reused from {source}")
    for output in report.outputs:
        if output.unchanged:
            lines.append(f"{output.spec}: up to date (it already holds this image: nothing sent or written)")
        elif output.blobs:
            lines.append(
                f"{output.spec}: {output.count('pushed')} blob(s) pushed ({format_size(output.bytes_uploaded)}), "
                f"{output.count('present')} already there, "
                f"{output.count('mounted')} mounted ({format_size(output.bytes_mounted)})"
            )
            if len(output.tags) > 1:
                lines.append(f"{output.spec}: tagged {', '.join(output.tags)}")
        elif output.kind == "docker":
            lines.append(f"{output.spec}: loaded into the Docker engine as {output.location}")
        else:
            lines.append(f"{output.spec}: written")
    for output in report.outputs:
        if output.attached_via:
            what = [f"{len(output.sboms)} SBOM(s)"] if output.sboms else []
            what += ["provenance"] if output.provenance else []
            if what:  # the base's platform record alone is a cache, not news
                lines.append(f"{output.spec}: {' and '.join(what)} attached ({output.attached_via})")
    for built in report.built_from_source:
        requirements = ", ".join(built.build_requirements) or "nothing"
        lines.append(
            f"{built.name} {built.version or ''}: wheel {_source_status(built)} from {built.sdist} "
            f"(build requirements: {requirements})".replace("  ", " ")
        )
    return lines
