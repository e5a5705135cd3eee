import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('span')
    .addColumn('trace_id', 'text', (c) => c.notNull())
    .addColumn('span_id', 'text', (c) => c.notNull())
    .addColumn('parent_span_id', 'text')
    .addColumn('service', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('kind', 'smallint', (c) => c.notNull())
    .addColumn('start_us', 'bigint', (c) => c.notNull())
    .addColumn('end_us', 'bigint', (c) => c.notNull())
    .addColumn('duration_us', 'bigint', (c) => c.notNull())
    .addColumn('status_code', 'smallint', (c) => c.notNull())
    .addColumn('status_message', 'text')
    .addColumn('error', 'boolean', (c) => c.notNull())
    .addColumn('case_ref', 'text')
    .addColumn('event_type', 'text')
    .addColumn('subject', 'text')
    .addColumn('producer', 'text')
    .addColumn('caller', 'text')
    .addColumn('attributes', 'jsonb', (c) => c.notNull())
    .addColumn('events', 'jsonb', (c) => c.notNull())
    .addColumn('links', 'jsonb', (c) => c.notNull())
    // Also the index for "all spans of a trace".
    .addPrimaryKeyConstraint('span_pk', ['trace_id', 'span_id'])
    .execute();
  // Each index below serves one query of the console; services/console/src/bench measures them.
  await sql`create index span_start_idx on span (start_us desc)`.execute(db);
  await sql`create index span_service_start_idx on span (service, start_us desc)`.execute(db);
  await sql`create index span_service_name_start_idx on span (service, name, start_us desc)`.execute(db);
  await sql`create index span_duration_idx on span (duration_us desc, start_us desc)`.execute(db);
  await sql`create index span_error_start_idx on span (start_us desc) where error`.execute(db);
  await sql`create index span_case_idx on span (case_ref, start_us desc) where case_ref is not null`.execute(db);
  await sql`create index span_event_type_idx on span (event_type, start_us desc) where event_type is not null`.execute(db);
  // The service map: consume spans (producer → consumer) and server spans (caller → callee).
  await sql`create index span_flow_idx on span (start_us desc) include (service, producer, caller, kind, error) where producer is not null or caller is not null`.execute(db);

  await db.schema
    .createTable('log_record')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('time_us', 'bigint', (c) => c.notNull())
    .addColumn('service', 'text', (c) => c.notNull())
    .addColumn('severity_number', 'smallint', (c) => c.notNull())
    .addColumn('severity_text', 'text')
    .addColumn('body', 'text', (c) => c.notNull())
    .addColumn('trace_id', 'text')
    .addColumn('span_id', 'text')
    .addColumn('attributes', 'jsonb', (c) => c.notNull())
    .execute();
  await sql`create index log_trace_idx on log_record (trace_id, time_us) where trace_id is not null`.execute(db);
  await sql`create index log_time_idx on log_record (time_us desc)`.execute(db);

  await db.schema
    .createTable('metric_point')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('time_us', 'bigint', (c) => c.notNull())
    .addColumn('service', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('unit', 'text')
    .addColumn('value', 'double precision', (c) => c.notNull())
    .addColumn('count', 'bigint')
    .addColumn('attributes', 'jsonb', (c) => c.notNull())
    .execute();
  await sql`create index metric_name_time_idx on metric_point (name, time_us desc)`.execute(db);

  await db.schema
    .createTable('stream_sample')
    .addColumn('time_us', 'bigint', (c) => c.notNull())
    .addColumn('stream', 'text', (c) => c.notNull())
    .addColumn('consumer', 'text', (c) => c.notNull())
    .addColumn('pending', 'bigint', (c) => c.notNull())
    .addColumn('ack_pending', 'bigint', (c) => c.notNull())
    .addColumn('redelivered', 'bigint', (c) => c.notNull())
    .execute();
  await sql`create index stream_sample_time_idx on stream_sample (time_us desc)`.execute(db);

  await db.schema
    .createTable('deployment_sample')
    .addColumn('time_us', 'bigint', (c) => c.notNull())
    .addColumn('deployment_id', 'text', (c) => c.notNull())
    .addColumn('health', 'text', (c) => c.notNull())
    .addColumn('latency_ms', 'double precision')
    .addColumn('outbox_backlog', 'integer')
    .addColumn('parked', 'integer')
    .execute();
  await sql`create index deployment_sample_idx on deployment_sample (deployment_id, time_us desc)`.execute(db);
  await sql`create index deployment_sample_time_idx on deployment_sample (time_us desc)`.execute(db);

  await db.schema
    .createTable('operator_action')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('deployment_id', 'text', (c) => c.notNull())
    .addColumn('parked_id', 'text', (c) => c.notNull())
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('operator_name', 'text', (c) => c.notNull())
    .addColumn('reason', 'text')
    .addColumn('outcome', 'text', (c) => c.notNull())
    .addColumn('detail', 'text')
    .execute();
}
