"""A build holds the cache; ``prune`` waits for it and says so, and a build waits for a prune."""

from __future__ import annotations

import threading
from pathlib import Path

from layerplan.cache.lease import exclusive_use
from layerplan.cache.layout import LEASES
from layerplan.cache.store import Store
from layerplan.cache.temps import sibling_prefix


def test_prune_waits_for_running_builds_and_says_how_many(tmp_path: Path) -> None:
    store = Store(tmp_path / "cache")
    digest = store.blobs.put_bytes(b"a layer a running build just found in the cache")
    said: list[str] = []
    waiting = threading.Event()

    def say(line: str) -> None:
        said.append(line)
        waiting.set()

    with store.lease(), store.lease():
        pruner = threading.Thread(target=lambda: store.prune(everything=True, grace_seconds=0, say=say))
        pruner.start()
        assert waiting.wait(30), "prune did not say it waits"
        assert store.blobs.has(digest), "prune removed a blob while builds held the cache"
    pruner.join(30)
    assert not pruner.is_alive()
    assert said == [f"layerplan: waiting for 2 running builds using {store.root} to finish"]
    assert not store.blobs.has(digest)
    assert list(LEASES.under(store.root).iterdir()) == []


def test_a_build_waits_for_a_running_prune(tmp_path: Path) -> None:
    store = Store(tmp_path / "cache")
    store.blobs.put_bytes(b"x")
    said: list[str] = []
    waiting, leased = threading.Event(), threading.Event()

    def build() -> None:
        with store.lease(say=lambda line: (said.append(line), waiting.set())):
            leased.set()

    with exclusive_use(store.root):
        builder = threading.Thread(target=build)
        builder.start()
        assert waiting.wait(30), "the build did not say it waits"
        assert not leased.is_set()
    builder.join(30)
    assert leased.is_set()
    assert said == [f"layerplan: waiting for `layerplan cache prune` to finish with {store.root}"]


def test_a_killed_builds_lease_is_not_waited_for(tmp_path: Path) -> None:
    """A lease nobody locks (its build was killed) holds nothing: prune goes ahead and removes it."""
    store = Store(tmp_path / "cache")
    leases = LEASES.under(store.root)
    leases.mkdir(parents=True)
    dead = leases / f"{sibling_prefix('build')}k1ll3d00"
    dead.write_bytes(b"")
    said: list[str] = []
    store.prune(everything=True, say=said.append)
    assert said == []
    assert not dead.exists()


def test_a_dry_run_does_not_wait(tmp_path: Path) -> None:
    store = Store(tmp_path / "cache")
    store.blobs.put_bytes(b"x")
    said: list[str] = []
    with store.lease():
        result = store.prune(everything=True, dry_run=True, say=said.append)
    assert said == [] and result.of("blobs").count == 1


def test_a_missing_cache_is_not_made_by_a_prune(tmp_path: Path) -> None:
    Store(tmp_path / "none").prune(everything=True)
    assert not (tmp_path / "none").exists()
