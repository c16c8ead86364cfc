"""Temporal client construction shared by the API, the worker and the CLI."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from core.codec import data_converter
from core.settings import Settings


def metrics_runtime(bind_address: str) -> Runtime:
    """A Temporal runtime exporting SDK metrics in Prometheus format on `bind_address`."""
    return Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=bind_address)))


async def connect(settings: Settings, *, runtime: Runtime | None = None) -> Client:
    """Connect with the pydantic converter and the payload encryption codec."""
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=data_converter(settings),
        runtime=runtime,
    )
