"""Temporal client construction shared by the API, the worker and the CLI."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from core.settings import Settings


def metrics_runtime(bind_address: str) -> Runtime:
    """A Temporal runtime exporting SDK metrics in Prometheus format on `bind_address`."""
    return Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=bind_address)))


async def connect(settings: Settings, *, runtime: Runtime | None = None) -> Client:
    """Connect with the pydantic converter every workflow and activity relies on."""
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=pydantic_data_converter,
        runtime=runtime,
    )
