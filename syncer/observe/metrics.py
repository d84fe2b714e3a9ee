"""Prometheus metrics of one run, in a registry of its own (tests and `--processes` children
never share one): pushed to a Pushgateway (`push`) or served on a port (`serve`).

    syncer_sessions_total{outcome}            ids settled, by outcome (read from the RunSummary)
    syncer_retries_total                      fetch attempts retried after a transient error
    syncer_requests_total{status}             gateway requests by HTTP status (or timeout, connection...)
    syncer_request_duration_seconds           histogram of one gateway request
    syncer_rate_limited_total                 429s and envelope 2004s (the gateway asked to slow down)
    syncer_queue_due                          queue ids due now (queue runs)
    syncer_queue_oldest_due_age_seconds       how long the oldest due id has been waiting
    syncer_run_duration_seconds               seconds since the run started
    syncer_run_status{status}                 1 for the run's status (running until it ends)
    syncer_last_success_timestamp_seconds     Unix time of the last run that ended ok

Imported only by the pipeline and the gateway client (prometheus_client is not loaded by
`syncer --help`).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import fields

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, push_to_gateway
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

from syncer.outcomes import Outcome, RunStatus, RunSummary

RATE_LIMITED_STATUSES = frozenset({"429"})
REQUEST_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
SESSION_OUTCOMES = tuple(o.value for o in Outcome)


class _SummaryCollector(Collector):
    """Session outcomes and retries read from the run's summary when collected, so the metrics
    equal the `run.finished` line and the `sync_runs` row by construction."""

    def __init__(self, summary: RunSummary) -> None:
        self.summary = summary

    def collect(self) -> Iterator[Metric]:
        sessions = CounterMetricFamily(
            "syncer_sessions", "Session ids settled, by outcome", labels=["outcome"]
        )
        counts = {f.name: getattr(self.summary, f.name) for f in fields(self.summary)}
        for outcome in SESSION_OUTCOMES:
            sessions.add_metric([outcome], counts[outcome])
        yield sessions
        yield CounterMetricFamily(
            "syncer_retries", "Fetch attempts retried after a transient error", value=self.summary.retries
        )


class Metrics:
    """One run's metrics. `request(status, seconds)` is called by the gateway client."""

    def __init__(self, summary: RunSummary | None = None) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        reg = self.registry
        self.summary: RunSummary | None = None
        if summary is not None:
            self.bind(summary)
        self.requests = Counter(
            "syncer_requests", "Gateway requests, by HTTP status or error", ["status"], registry=reg
        )
        self.request_duration = Histogram(
            "syncer_request_duration_seconds",
            "Duration of one gateway request",
            buckets=REQUEST_BUCKETS,
            registry=reg,
        )
        self.rate_limited = Counter(
            "syncer_rate_limited", "Answers asking to slow down (429, envelope 2004)", registry=reg
        )
        self.queue_due = Gauge("syncer_queue_due", "Queue ids due now", registry=reg)
        self.queue_oldest_due_age = Gauge(
            "syncer_queue_oldest_due_age_seconds", "Age of the oldest due queue id", registry=reg
        )
        self.run_duration = Gauge(
            "syncer_run_duration_seconds", "Seconds since the run started", registry=reg
        )
        self.run_status = Gauge("syncer_run_status", "1 for the run's status", ["status"], registry=reg)
        self.last_success = Gauge(
            "syncer_last_success_timestamp_seconds",
            "Unix time of the last run that ended ok",
            registry=reg,
        )
        self._started = time.monotonic()
        self.set_status(RunStatus.RUNNING)

    def bind(self, summary: RunSummary) -> None:
        """Report this run's session outcomes and retries (once: the client is made first)."""
        if self.summary is None:
            self.summary = summary
            self.registry.register(_SummaryCollector(summary))

    def request(self, status: str, seconds: float) -> None:
        self.requests.labels(status=status).inc()
        self.request_duration.observe(seconds)
        if status in RATE_LIMITED_STATUSES:
            self.rate_limited.inc()

    def rate_limited_in_body(self) -> None:
        """An envelope 2004 inside an HTTP 200."""
        self.rate_limited.inc()

    def queue_lag(self, due: int, oldest_due_age_s: float | None) -> None:
        self.queue_due.set(due)
        self.queue_oldest_due_age.set(oldest_due_age_s or 0.0)

    def set_status(self, status: str) -> None:
        for known in RunStatus:
            self.run_status.labels(status=known.value).set(1 if known == status else 0)

    def tick(self) -> None:
        self.run_duration.set(time.monotonic() - self._started)

    def push(self, url: str, *, job: str, instance: str, timeout: float = 10.0) -> None:
        """PUT every metric to a Pushgateway, grouped by job and instance (blocking: call it in
        a worker thread)."""
        self.tick()
        push_to_gateway(
            url, job=job, registry=self.registry, grouping_key={"instance": instance}, timeout=timeout
        )

    def serve(self, port: int) -> object:
        """Serve /metrics on `port` in a daemon thread; returns the server (`.shutdown()` it)."""
        from prometheus_client import start_http_server

        server, _thread = start_http_server(port, registry=self.registry)
        return server
