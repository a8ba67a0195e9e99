"""Request figures for Prometheus: one registry per app, timed by ``http.edge.Edge``."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Gauge, Histogram

from labelyard.services import ops

if TYPE_CHECKING:  # the app's database, passed in
    from labelyard.store.engine import Database

SHARED_FIGURES_SECONDS = 15.0


class Metrics:
    """This process's Prometheus registry (one per app, no global state)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._shared: tuple[float, ops.WorkFigures] | None = None
        self.registry = CollectorRegistry()
        self.request_seconds = Histogram(
            "labelyard_http_request_duration_seconds",
            "HTTP request latency by route template and status",
            ["method", "route", "status"],
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.queue_jobs = Gauge(
            "labelyard_queue_jobs",
            "Jobs waiting in or being worked at a step kind, all projects",
            ["step"],
            registry=self.registry,
        )
        self.outbox_lag = Gauge(
            "labelyard_outbox_lag_events",
            "Events not yet fanned out to webhook deliveries",
            registry=self.registry,
        )
        self.webhook_deliveries = Gauge(
            "labelyard_webhook_deliveries",
            "Webhook deliveries by status (failed: given up)",
            ["status"],
            registry=self.registry,
        )

    async def shared(self, db: Database) -> ops.WorkFigures:
        """The figures shared by all processes, read at most every ``SHARED_FIGURES_SECONDS``
        (they are aggregates over jobs and deliveries: scrapes must not repeat them at will)."""
        now = self.clock()
        if self._shared is None or now - self._shared[0] >= SHARED_FIGURES_SECONDS:
            self._shared = (now, await ops.work_figures(db))
        return self._shared[1]
