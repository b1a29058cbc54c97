/**
 * The `tracing:` section: OpenTelemetry traces, off by default. When on, the
 * gateway exports its spans over OTLP/HTTP to `otlp.url`, samples new traces
 * at `sampleRatio` (a caller's sampled trace context is honoured: ParentBased)
 * and takes W3C trace context from agents and hands it to HTTP upstreams.
 */
import { z } from 'zod';
import { hasUserInfo, USER_INFO_REFUSED } from './primitives.ts';

// RFC 9110 §5.1 field names; values of printable ASCII and tabs only, so a `${VAR}` cannot add a header line.
const headerName = z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, 'a header name');
const headerValue = z.string().regex(/^[\t\x20-\x7e]*$/, 'printable ASCII (no line breaks)');

export const tracingSchema = z
  .strictObject({
    enabled: z.boolean().default(false),
    otlp: z
      .strictObject({
        /** The collector's OTLP/HTTP traces endpoint, path included. */
        url: z
          .string()
          .url()
          .refine((u) => /^https?:\/\//.test(u), 'an http:// or https:// URL')
          .refine((u) => !hasUserInfo(u), USER_INFO_REFUSED)
          .default('http://127.0.0.1:4318/v1/traces'),
        /** Sent with every export (a collector's API key: `${OTLP_TOKEN}`). */
        headers: z.record(headerName, headerValue).default({}),
        /** How long one export may take before it is given up. */
        timeoutMs: z.number().int().min(100).max(120_000).default(10_000),
      })
      .prefault({}),
    /** The share of new traces recorded, 0 to 1; a caller's sampled trace is recorded whatever it is. */
    sampleRatio: z.number().min(0).max(1).default(1),
    /** service.name of the spans. */
    serviceName: z.string().min(1).max(200).default('countersign'),
  })
  .prefault({});

export type TracingConfig = z.output<typeof tracingSchema>;
