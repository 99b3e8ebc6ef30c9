// The data plane's Prometheus series, in their own Registry. Per-revision names and labels are Knative's
// (queue-proxy, activator, autoscaler), so one PromQL query works here and on a cluster; `sluice_*` series
// describe the router and the supervisor themselves.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Knative's latency buckets (queue-proxy and activator), milliseconds. */
export const KNATIVE_LATENCY_BUCKETS_MS = [
  5, 10, 20, 40, 60, 80, 100, 150, 200, 250, 300, 350, 400, 450, 500, 600, 700, 800, 900, 1000, 2000, 5000, 10000,
  20000, 50000, 100000,
];

export interface RevisionLabels {
  namespace_name: string;
  service_name: string;
  configuration_name: string;
  revision_name: string;
}

const REV = ['namespace_name', 'service_name', 'configuration_name', 'revision_name'] as const;
const RESP = [...REV, 'response_code', 'response_code_class'] as const;
type RespLabel = (typeof RESP)[number];
type RevLabel = (typeof REV)[number];

/** OpenTelemetry's default histogram boundaries, seconds (otelhttp's http.server.request.duration in queue-proxy). */
export const OTEL_DURATION_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

/**
 * Which generation of Knative's request metrics the router exports: queue-proxy's OpenCensus series (Knative ≤ 1.18,
 * the default) or the OpenTelemetry series of Knative ≥ 1.19 as Prometheus stores them with promoted resource
 * attributes (`request-metrics-protocol: http/protobuf` and Knative's promstack values).
 */
export type ExportedMetricsFamily = 'knative-opencensus' | 'knative-otel';

const OTEL = [
  'http_request_method',
  'http_response_status_code',
  'network_protocol_name',
  'network_protocol_version',
  'url_scheme',
  'k8s_namespace_name',
  'kn_service_name',
  'kn_configuration_name',
  'kn_revision_name',
  'k8s_container_name',
  'otel_scope_name',
] as const;
type OtelLabel = (typeof OTEL)[number];
/** The instrumentation scope otelhttp reports. */
const OTEL_SCOPE = 'go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp';
/** A representative code per class, for the zero series a revision starts with. */
const CLASS_CODES = [100, 200, 300, 400, 500];

export type RouterOutcome =
  'proxied' | 'unknown_host' | 'no_traffic' | 'upstream_error' | 'timeout' | 'unavailable' | 'client_abort' | 'metrics';

/** What a live revision reports at scrape time: requests in flight plus queued, and queued alone. */
export interface RevisionLoad {
  labels: RevisionLabels;
  concurrency(): number;
  queued(): number;
}

export class RuntimeMetrics {
  readonly registry: Registry;
  readonly requestCount: Counter<RespLabel>;
  readonly requestLatencies: Histogram<RespLabel>;
  readonly appRequestCount: Counter<RespLabel>;
  readonly appRequestLatencies: Histogram<RespLabel>;
  readonly queueDepth: Gauge<RevLabel>;
  readonly activatorConcurrency: Gauge<RevLabel>;
  readonly desiredPods: Gauge<RevLabel>;
  readonly actualPods: Gauge<RevLabel>;
  readonly readyPods: Gauge<RevLabel>;
  readonly panicMode: Gauge<RevLabel>;
  readonly stableConcurrency: Gauge<RevLabel>;
  readonly panicConcurrency: Gauge<RevLabel>;
  readonly targetConcurrency: Gauge<RevLabel>;
  readonly stableRps: Gauge<RevLabel>;
  readonly panicRps: Gauge<RevLabel>;
  readonly targetRps: Gauge<RevLabel>;
  readonly restarts: Counter<RevLabel>;
  readonly routerRequests: Counter<'outcome'>;
  readonly routerInFlight: Gauge<string>;
  readonly routerHosts: Gauge<string>;
  /** Revisions whose load gauges are read at scrape time (they change twice per request: not worth a set each). */
  readonly #loads = new Map<string, RevisionLoad>();
  /** Requests the router handles now, read at scrape time for the same reason. */
  #routerInFlight: () => number = () => 0;
  /** Only with family knative-otel. */
  readonly httpServerDuration: Histogram<OtelLabel> | undefined;
  readonly family: ExportedMetricsFamily;
  /** Revisions served at least once (their zero series exist). */
  readonly #served = new Set<string>();

  constructor(registry: Registry = new Registry(), family: ExportedMetricsFamily = 'knative-opencensus') {
    this.registry = registry;
    this.family = family;
    const registers = [registry];
    this.httpServerDuration =
      family === 'knative-otel'
        ? new Histogram({
            name: 'http_server_request_duration_seconds',
            help: 'Duration of HTTP server requests.',
            labelNames: OTEL,
            buckets: OTEL_DURATION_BUCKETS_S,
            registers,
          })
        : undefined;
    this.requestCount = new Counter({
      name: 'revision_request_count',
      help: 'The number of requests that are routed to queue-proxy',
      labelNames: RESP,
      registers,
    });
    this.requestLatencies = new Histogram({
      name: 'revision_request_latencies',
      help: 'The response time in millisecond',
      labelNames: RESP,
      buckets: KNATIVE_LATENCY_BUCKETS_MS,
      registers,
    });
    this.appRequestCount = new Counter({
      name: 'revision_app_request_count',
      help: 'The number of requests that are routed to user-container',
      labelNames: RESP,
      registers,
    });
    this.appRequestLatencies = new Histogram({
      name: 'revision_app_request_latencies',
      help: 'The response time in millisecond',
      labelNames: RESP,
      buckets: KNATIVE_LATENCY_BUCKETS_MS,
      registers,
    });
    this.queueDepth = new Gauge({
      name: 'revision_queue_depth',
      help: 'The current number of items in the serving and waiting queue, or not reported if unlimited concurrency',
      labelNames: REV,
      registers,
      collect: () => {
        for (const l of this.#loads.values()) this.queueDepth.set(l.labels, l.queued());
      },
    });
    this.activatorConcurrency = new Gauge({
      name: 'activator_request_concurrency',
      help: 'Concurrent requests that are routed to Activator',
      labelNames: REV,
      registers,
      collect: () => {
        for (const l of this.#loads.values()) this.activatorConcurrency.set(l.labels, l.concurrency());
      },
    });
    this.desiredPods = new Gauge({
      name: 'autoscaler_desired_pods',
      help: 'Number of pods autoscaler wants to allocate',
      labelNames: REV,
      registers,
    });
    this.actualPods = new Gauge({
      name: 'autoscaler_actual_pods',
      help: 'Number of pods that are allocated currently',
      labelNames: REV,
      registers,
    });
    this.readyPods = new Gauge({
      name: 'autoscaler_ready_pods',
      help: 'Number of pods that are ready currently',
      labelNames: REV,
      registers,
    });
    this.panicMode = new Gauge({
      name: 'autoscaler_panic_mode',
      help: '1 if autoscaler is in panic mode, 0 otherwise',
      labelNames: REV,
      registers,
    });
    this.stableConcurrency = new Gauge({
      name: 'autoscaler_stable_request_concurrency',
      help: 'Average of requests count per observed pod over the stable window',
      labelNames: REV,
      registers,
    });
    this.panicConcurrency = new Gauge({
      name: 'autoscaler_panic_request_concurrency',
      help: 'Average of requests count per observed pod over the panic window',
      labelNames: REV,
      registers,
    });
    this.targetConcurrency = new Gauge({
      name: 'autoscaler_target_concurrency_per_pod',
      help: 'The desired number of concurrent requests for each pod',
      labelNames: REV,
      registers,
    });
    this.stableRps = new Gauge({
      name: 'autoscaler_stable_requests_per_second',
      help: 'Average requests-per-second per observed pod over the stable window',
      labelNames: REV,
      registers,
    });
    this.panicRps = new Gauge({
      name: 'autoscaler_panic_requests_per_second',
      help: 'Average requests-per-second per observed pod over the panic window',
      labelNames: REV,
      registers,
    });
    this.targetRps = new Gauge({
      name: 'autoscaler_target_requests_per_second',
      help: 'The desired requests-per-second for each pod',
      labelNames: REV,
      registers,
    });
    this.restarts = new Counter({
      name: 'sluice_revision_process_restarts_total',
      help: 'Restarts of revision processes after they exited',
      labelNames: REV,
      registers,
    });
    this.routerRequests = new Counter({
      name: 'sluice_router_requests_total',
      help: 'Requests the router answered, by outcome',
      labelNames: ['outcome'],
      registers,
    });
    this.routerInFlight = new Gauge({
      name: 'sluice_router_in_flight_requests',
      help: 'Requests and upgraded connections the router is handling now',
      registers,
      collect: () => this.routerInFlight.set(this.#routerInFlight()),
    });
    this.routerHosts = new Gauge({ name: 'sluice_router_hosts', help: 'Hostnames in the routing table', registers });
  }

  /** Report a revision's load (activator_request_concurrency, revision_queue_depth); returns the undo. */
  trackRevision(load: RevisionLoad): () => void {
    const key = `${load.labels.namespace_name}/${load.labels.revision_name}`;
    this.#loads.set(key, load);
    return () => {
      // A revision created again under the same name has replaced this entry already: leave it.
      if (this.#loads.get(key) === load) this.#loads.delete(key);
    };
  }

  /** Where sluice_router_in_flight_requests is read from. */
  trackRouterInFlight(read: () => number): void {
    this.#routerInFlight = read;
  }

  /**
   * One answered request of a revision, in the exported family. With OpenCensus names, the first request of a
   * revision also creates its counter for every response-code class at 0 (Prometheus' "avoid missing metrics"), so
   * `sum(rate(non-5xx)) / sum(rate(all))` is 0 for a revision answering only 5xx, not empty. The OTel series are
   * exported as Knative ≥ 1.19 does, created on first use, so a policy tried here meets what a cluster has.
   */
  recordRequest(l: RevisionLabels, status: number, ms: number, method = 'GET', httpVersion = '1.1'): void {
    if (this.httpServerDuration) {
      this.httpServerDuration.observe(
        {
          http_request_method: method,
          http_response_status_code: String(status),
          network_protocol_name: 'http',
          network_protocol_version: httpVersion,
          url_scheme: 'http',
          k8s_namespace_name: l.namespace_name,
          kn_service_name: l.service_name,
          kn_configuration_name: l.configuration_name,
          kn_revision_name: l.revision_name,
          k8s_container_name: 'queue-proxy',
          otel_scope_name: OTEL_SCOPE,
        },
        ms / 1000,
      );
      return;
    }
    const key = `${l.namespace_name}/${l.revision_name}`;
    if (!this.#served.has(key)) {
      this.#served.add(key);
      for (const code of CLASS_CODES) this.requestCount.inc(responseLabels(l, code), 0);
    }
    const labels = responseLabels(l, status);
    this.requestCount.inc(labels);
    this.requestLatencies.observe(labels, ms);
  }

  /** Drop a removed revision's gauges so a scrape does not report processes that no longer exist. */
  forgetRevision(l: RevisionLabels): void {
    for (const g of [
      this.queueDepth,
      this.activatorConcurrency,
      this.desiredPods,
      this.actualPods,
      this.readyPods,
      this.panicMode,
      this.stableConcurrency,
      this.panicConcurrency,
      this.targetConcurrency,
      this.stableRps,
      this.panicRps,
      this.targetRps,
    ]) {
      g.remove(l);
    }
  }
}

export function responseLabels(l: RevisionLabels, status: number): Record<RespLabel, string> {
  return { ...l, response_code: String(status), response_code_class: `${Math.floor(status / 100)}xx` };
}
