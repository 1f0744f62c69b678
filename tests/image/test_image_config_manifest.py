"""Image config, manifest and assembly: canonical, deterministic, extending the base."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from lp_image_helpers import files, memory_layer, synthetic_image

from layerplan.image import (
    BaseImageError,
    Image,
    LayerHistory,
    NewLayer,
    RuntimeConfig,
    assemble_image,
    build_manifest,
    extend_config,
    image_annotations,
)
from layerplan.oci import Descriptor, Digest, canonical_json
from layerplan.oci.descriptor import MediaType

D1, D2, D3 = (Digest.of_bytes(bytes([i])) for i in range(3))

BASE = {
    "architecture": "arm64",
    "variant": "v8",
    "os": "linux",
    "container": "abc",
    "container_config": {"Cmd": ["/bin/sh"]},
    "docker_version": "20.10",
    "config": {
        "Env": ["PATH=/usr/local/bin:/usr/bin", "LANG=C.UTF-8"],
        "Cmd": ["python3"],
        "Labels": {"from.base": "yes"},
    },
    "rootfs": {"type": "layers", "diff_ids": [str(D1)]},
    "history": [{"created_by": "ADD rootfs"}, {"created_by": "CMD", "empty_layer": True}],
}


def test_extend_config() -> None:
    runtime = RuntimeConfig(
        env=(("PATH", "/app/.venv/bin:$PATH"), ("VIRTUAL_ENV", "/app/.venv"), ("PRICE", "\\$5 ${LANG}")),
        entrypoint=("/app/.venv/bin/app",),
        user="1000:1000",
        working_dir="/app",
        labels=(("org.opencontainers.image.version", "1.2"),),
    )
    data = extend_config(
        BASE,
        layers=[LayerHistory(diff_id=D2, created_by="layerplan: deps"), LayerHistory(diff_id=D3, created_by="app")],
        runtime=runtime,
        epoch=0,
    )
    config = json.loads(data)
    assert data == canonical_json(config)
    assert (config["architecture"], config["variant"], config["os"]) == ("arm64", "v8", "linux")
    assert config["created"] == "1970-01-01T00:00:00Z"
    assert config["rootfs"] == {"type": "layers", "diff_ids": [str(D1), str(D2), str(D3)]}
    for legacy in ("container", "container_config", "docker_version"):
        assert legacy not in config
    run = config["config"]
    assert run["Env"] == [
        "PATH=/app/.venv/bin:/usr/local/bin:/usr/bin",
        "LANG=C.UTF-8",
        "VIRTUAL_ENV=/app/.venv",
        "PRICE=$5 C.UTF-8",
    ]
    assert run["Entrypoint"] == ["/app/.venv/bin/app"]
    assert "Cmd" not in run  # a new entrypoint resets the base's CMD, as in a Dockerfile
    assert (run["User"], run["WorkingDir"]) == ("1000:1000", "/app")
    assert run["Labels"] == {"from.base": "yes", "org.opencontainers.image.version": "1.2"}
    history = config["history"]
    assert [h["created_by"] for h in history[:4]] == ["ADD rootfs", "CMD", "layerplan: deps", "app"]
    assert history[-1]["empty_layer"] is True and "ENTRYPOINT" in history[-1]["created_by"]
    assert sum(1 for h in history if not h.get("empty_layer")) == len(config["rootfs"]["diff_ids"])


def test_config_is_deterministic_whatever_the_key_order() -> None:
    reordered = json.loads(json.dumps(dict(reversed(list(BASE.items())))))
    layers = [LayerHistory(diff_id=D2, created_by="x")]
    runtime = RuntimeConfig(cmd=("serve",))
    one = extend_config(BASE, layers=layers, runtime=runtime, epoch=315532800)
    two = extend_config(reordered, layers=layers, runtime=runtime, epoch=315532800)
    assert one == two
    assert json.loads(one)["config"]["Cmd"] == ["serve"]
    assert BASE["config"]["Cmd"] == ["python3"]  # the base is not modified


def test_history_padded_when_the_base_has_none() -> None:
    base = {**BASE, "history": []}
    config = json.loads(extend_config(base, layers=[LayerHistory(diff_id=D2, created_by="ours")], epoch=0))
    assert [h["created_by"] for h in config["history"]] == ["(base layer without history)", "ours"]


def test_manifest_is_canonical_oci() -> None:
    config = b'{"a":1}'
    layers = [
        Descriptor(media_type=MediaType.DOCKER_LAYER_GZIP, digest=D1, size=10),
        Descriptor(media_type=MediaType.OCI_LAYER_GZIP, digest=D2, size=20),
    ]
    annotations = image_annotations(epoch=0, base_name="python:3.11", base_digest=D3, extra={"title": "app"})
    data = build_manifest(config=config, layers=layers, annotations=annotations)
    manifest = json.loads(data)
    assert data == canonical_json(manifest)
    assert manifest["mediaType"] == MediaType.OCI_MANIFEST and manifest["schemaVersion"] == 2
    assert manifest["config"] == {"mediaType": MediaType.OCI_CONFIG, "digest": str(Digest.of_bytes(config)), "size": 7}
    assert [layer["mediaType"] for layer in manifest["layers"]] == [MediaType.OCI_LAYER_GZIP] * 2
    assert manifest["annotations"] == {
        "org.opencontainers.image.created": "1970-01-01T00:00:00Z",
        "org.opencontainers.image.base.name": "python:3.11",
        "org.opencontainers.image.base.digest": str(D3),
        "org.opencontainers.image.title": "app",
    }


def test_assemble_image_is_deterministic(tmp_path: Path) -> None:
    base = synthetic_image([memory_layer(files(tmp_path, {"usr/bin/python3.11": b"elf"}))])
    ours = memory_layer(files(tmp_path, {"app/main.py": b"print('hi')\n"}))

    def assemble() -> Image:
        return assemble_image(
            base,
            [NewLayer(layer=ours, created_by="layerplan: app")],
            runtime=RuntimeConfig(entrypoint=("/usr/bin/python3.11", "/app/main.py")),
            epoch=315532800,
            annotations=image_annotations(epoch=315532800),
        )

    one, two = assemble(), assemble()
    assert one.digest == two.digest and one.manifest == two.manifest
    assert [layer.digest for layer in one.layers] == [base.layers[0].digest, ours.digest]
    assert one.config_descriptor.digest == Digest.of_bytes(one.config)
    assert one.platform.architecture == "amd64"


def test_image_checks_its_parts(tmp_path: Path) -> None:
    layer = memory_layer(files(tmp_path, {"a": b"a"}))
    good = synthetic_image([layer])
    with pytest.raises(BaseImageError, match="number of layers"):
        Image(manifest=good.manifest, config=good.config, layers=())
    with pytest.raises(BaseImageError, match="config digest"):
        Image(manifest=good.manifest, config=good.config + b" ", layers=good.layers)
