"""The worker's per-host pacing of media reads (a fake clock: nothing waits long)."""

from __future__ import annotations

import asyncio

from labelyard.worker.media import HostPacer


def test_reads_to_one_host_are_spaced_and_other_hosts_are_not_held_up() -> None:
    async def run() -> dict[str, float]:
        pacer = HostPacer(1000.0, clock=lambda: 50.0)  # 1 ms apart, the clock stands still
        for _ in range(3):
            await pacer.wait("a.example")
        await pacer.wait("b.example")
        return pacer._next

    slots = asyncio.run(run())
    assert round(slots["a.example"], 6) == 50.003  # the next read may go 3 ms on
    assert round(slots["b.example"], 6) == 50.001


def test_a_rate_of_zero_does_not_pace() -> None:
    async def run() -> dict[str, float]:
        pacer = HostPacer(0.0, clock=lambda: 0.0)
        await pacer.wait("a.example")
        return pacer._next

    assert asyncio.run(run()) == {}
