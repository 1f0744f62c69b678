"""``_toml.bulk``: the collector is paused in the block and back as it was after it; what
the block built is moved to the oldest generation without leaking garbage cycles or
touching a host's frozen objects."""

from __future__ import annotations

import gc
import weakref

from layerplan._toml import bulk


class _Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only the collector frees it


def test_collector_paused_and_restored() -> None:
    assert gc.isenabled()
    with bulk():
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with bulk():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_young_garbage_cycles_still_freed() -> None:
    node = _Node()
    ref = weakref.ref(node)
    del node
    with bulk():
        kept = [[i] for i in range(1000)]
    assert gc.get_freeze_count() == 0
    gc.collect()
    assert ref() is None
    assert len(kept) == 1000


def test_a_hosts_frozen_objects_stay_frozen() -> None:
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with bulk():
            pass
        # Unfreezing would empty the permanent generation; a frozen object that dies
        # meanwhile (the rest of the suite's) only lowers the count by one.
        assert gc.get_freeze_count() > frozen - 100 > 0
    finally:
        gc.unfreeze()
