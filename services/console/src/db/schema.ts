import type { Generated } from 'kysely';

// Times are microseconds since the epoch (bigint): OTLP gives nanoseconds, which do not fit a JS
// number; microseconds do until the year 2255 and are finer than any span here needs.

export interface SpanTable {
  trace_id: string;
  span_id: string;
  parent_span_id: string | null;
  service: string;
  name: string;
  /** OTLP SpanKind: 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  kind: number;
  start_us: number;
  end_us: number;
  duration_us: number;
  /** OTLP status code: 0 unset, 1 ok, 2 error. */
  status_code: number;
  status_message: string | null;
  error: boolean;
  case_ref: string | null;
  event_type: string | null;
  /** NATS subject of a publish or consume span. */
  subject: string | null;
  /** Producing deployment, from the subject `lotse.<producer>.…`. */
  producer: string | null;
  /** For a server span: the calling deployment (from its certificate). */
  caller: string | null;
  attributes: unknown;
  events: unknown;
  links: unknown;
}

export interface LogTable {
  id: Generated<number>;
  time_us: number;
  service: string;
  severity_number: number;
  severity_text: string | null;
  body: string;
  trace_id: string | null;
  span_id: string | null;
  attributes: unknown;
}

export interface MetricPointTable {
  id: Generated<number>;
  time_us: number;
  service: string;
  name: string;
  /** gauge, sum or histogram. */
  kind: string;
  unit: string | null;
  /** For a histogram: the mean (sum / count). */
  value: number;
  count: number | null;
  attributes: unknown;
}

export interface StreamSampleTable {
  time_us: number;
  stream: string;
  consumer: string;
  /** Messages not yet delivered to the consumer. */
  pending: number;
  /** Delivered, not yet acknowledged. */
  ack_pending: number;
  redelivered: number;
}

export interface DeploymentSampleTable {
  time_us: number;
  deployment_id: string;
  /** SERVING, NOT_SERVING, UNKNOWN or UNREACHABLE. */
  health: string;
  latency_ms: number | null;
  outbox_backlog: number | null;
  parked: number | null;
}

export interface OperatorActionTable {
  id: Generated<number>;
  at: Generated<Date>;
  deployment_id: string;
  parked_id: string;
  /** replay or discard. */
  action: string;
  operator_name: string;
  /** The signed-in person's verified staff id; null with the operator token. */
  operator_sub: string | null;
  operator_roles: string[] | null;
  reason: string | null;
  /** ok, or the gRPC status the deployment answered. */
  outcome: string;
  detail: string | null;
}

export interface ConsoleDb {
  span: SpanTable;
  log_record: LogTable;
  metric_point: MetricPointTable;
  stream_sample: StreamSampleTable;
  deployment_sample: DeploymentSampleTable;
  operator_action: OperatorActionTable;
}
