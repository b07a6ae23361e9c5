import { Layer } from "effect"
import { FetchHttpClient } from "effect/http"
import { OtlpSerialization, OtlpTracer } from "effect/observability"
import type { AppConfig } from "./config/AppConfig.ts"

/** OpenTelemetry traces over OTLP/HTTP when `OTEL_EXPORTER_OTLP_ENDPOINT` is set: every `Effect.fn` is a span. */
export const tracingLayer = (config: Pick<AppConfig, "otlpEndpoint" | "serviceName" | "appEnv">) =>
  config.otlpEndpoint === undefined
    ? Layer.empty
    : OtlpTracer.layer({
        url: `${config.otlpEndpoint}/v1/traces`,
        resource: {
          serviceName: config.serviceName,
          serviceVersion: "0.1.0",
          attributes: { "deployment.environment": config.appEnv }
        }
      }).pipe(Layer.provide(OtlpSerialization.layerJson), Layer.provide(FetchHttpClient.layer))
