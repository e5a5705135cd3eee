export { streamName, agencySubjects, subjectsAddressedTo, eventSubject, kebabCase, subjectMatches, InvalidSubjectTokenError } from './naming.js';
export { ensureAgencyStream, duplicateWindowMs } from './agency-stream.js';
export { connectNats, isJetStreamElecting, retryWhileElecting, wantsTls, type NatsConfig, type NatsClients } from './connection.js';
export { outboxMigrations, consumerMigrations } from './migrations.js';
export type { MessagingTables, OutboxTable, OutboxReceiptTable, OutboxStreamTable, AppliedEventTable, ParkedMessageTable } from './tables.js';
export { receivedEventIds, dueReceipts, recordReceipts, openReceipts, type DueReceipt, type DueReceipts, type OpenReceipts } from './receipts.js';
export {
  enqueueEvent,
  enqueue,
  republishSince,
  republishEvents,
  rewriteOutboxPayloads,
  outboxBacklog,
  outboxStatus,
  outboxWriteCount,
  envelopeSchemaVersion,
  type NewEvent,
  type MessageCodec,
} from './outbox.js';
export { OutboxRelay, type OutboxRelayOptions } from './outbox-relay.js';
export { StreamReconciler, type StreamCheck, type StreamReconcileStatus } from './stream-reconciler.js';
export {
  decodeEnvelope,
  MalformedEventError,
  type ApplyOutcome,
  type ConsumedEvent,
  type Envelope,
  type EventHandler,
} from './apply-once.js';
export { startConsumer, type ConsumerOptions, type ConsumerHandle, type EventConsumer } from './consumer.js';
export { durableNameFor } from './durables.js';
export { StalledDurables, StallDetector, type DurableLook, type StalledDurablesOptions } from './stalled-durables.js';
export {
  listParked,
  listParkedRecords,
  getParked,
  replayParked,
  recordReplayFailure,
  discardParked,
  ParkedMessageNotFoundError,
  type ParkedMessage,
  type ParkedRecord,
  type ReplayOptions,
} from './parked-messages.js';
export { registerMessagingGauges, CachedSample, METER_NAME, type ConsumeOutcome, type MessagingGaugeOptions } from './metrics.js';
export { ATTR_CASE_REF, ATTR_EVENT_ID, ATTR_EVENT_TYPE, eventAttributes } from './span-attributes.js';
export { captureTraceContext, type TraceCarrier } from './trace-headers.js';
export { startNatsServer, checkNatsConfig, natsServerBinary, NatsServerMissingError, type NatsServerProcess } from './nats-server.js';
export {
  brokerConfig,
  authorizationBlock,
  tlsBlock,
  permissionsFor,
  observerPermissions,
  durablesFor,
  certificateSubject,
  inboxPrefixFor,
  type BrokerNetwork,
  type BrokerDeployment,
  type BrokerTlsFiles,
  type EventFlow,
  type UserPermissions,
} from './broker-config.js';
export { EventSigner, EventVerifier, SignatureError, signedBytes, SIGNATURE_HEADER, SIGNER_HEADER, type EventSignature, type EventVerifierOptions } from './signing.js';
