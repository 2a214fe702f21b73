"""OpenTelemetry spans for each GraphQL operation and each upstream call.

The code path uses ``opentelemetry-api`` only. With ``tracing.enabled: false`` (the default) the hub asks the
global tracer provider, which does nothing unless the application embedding the hub installed one. With
``tracing.enabled: true`` the hub builds its own provider from ``opentelemetry-sdk`` and an exporter
(``pip install 'crmhub[tracing]'``)::

    tracing:
      enabled: true
      exporter: otlp                  # OTLP over HTTP/protobuf, or "console" to print spans
      endpoint: http://127.0.0.1:4318/v1/traces
      service_name: crmhub
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any, Literal

from opentelemetry import trace
from pydantic import BaseModel, ConfigDict, Field

from .errors import ConfigError

TRACER_NAME = "crmhub"
#: Global providers that record nothing: the default proxy (until an application installs a provider)
#: and the explicit no-op one.
_SILENT_PROVIDERS = (trace.ProxyTracerProvider, trace.NoOpTracerProvider)


def current_span(tracer: trace.Tracer, name: str, **options: Any) -> AbstractContextManager[trace.Span]:
    """``tracer.start_as_current_span(name, **options)``, or a non-recording span when that span would
    record nothing: a tracer of the global provider while no application has installed one (the default).

    Starting a span that records nothing still costs a context switch and attribute handling on every
    upstream call; asked per call, so a provider installed later is used from then on.
    """
    if isinstance(tracer, trace.NoOpTracer) or (
        isinstance(tracer, trace.ProxyTracer) and isinstance(trace.get_tracer_provider(), _SILENT_PROVIDERS)
    ):
        return nullcontext(trace.INVALID_SPAN)
    return tracer.start_as_current_span(name, **options)


class TracingConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = False
    exporter: Literal["otlp", "console"] = "otlp"
    #: OTLP/HTTP traces endpoint; by default the exporter's own (``OTEL_EXPORTER_OTLP_*`` variables apply).
    endpoint: str | None = None
    service_name: str = Field(default="crmhub", min_length=1)


@dataclass
class Tracing:
    tracer: trace.Tracer
    shutdown: Callable[[], Any] | None = None

    def close(self) -> None:
        if self.shutdown is not None:
            self.shutdown()


def build_tracing(config: TracingConfig) -> Tracing:
    if not config.enabled:
        return Tracing(trace.get_tracer(TRACER_NAME))
    try:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
    except ImportError:
        raise ConfigError(
            "tracing.enabled needs the OpenTelemetry SDK: pip install 'crmhub[tracing]'", field="tracing"
        ) from None
    exporter: SpanExporter
    if config.exporter == "console":
        exporter = ConsoleSpanExporter()
    else:
        try:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        except ImportError:
            raise ConfigError(
                "tracing.exporter 'otlp' needs opentelemetry-exporter-otlp-proto-http: "
                "pip install 'crmhub[tracing]'",
                field="tracing.exporter",
            ) from None
        exporter = OTLPSpanExporter(endpoint=config.endpoint) if config.endpoint else OTLPSpanExporter()
    # The hub's own provider, not the global one: several hubs in one process keep their own exporters.
    provider = TracerProvider(resource=Resource.create({"service.name": config.service_name}))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    return Tracing(provider.get_tracer(TRACER_NAME), provider.shutdown)
