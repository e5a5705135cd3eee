import { JetStreamApiError, StorageType, type JetStreamManager, type StreamInfo } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import { agencySubjects, streamName } from './naming.js';

/** Nats-Msg-Id dedup window: a relay that re-publishes after a crash within it creates no copy. */
export const duplicateWindowMs = 2 * 60_000;

const streamNotFound = 10059;
const streamNameInUse = 10058;

/**
 * Creates the agency's stream unless it exists. Producer and consumers both call this at start-up
 * (whoever comes first creates it), so it must tolerate a concurrent create and an existing stream.
 * `replicas`: 1 on a single broker; 3 on the hub's three-node cluster (NATS_STREAM_REPLICAS), so
 * that losing one node loses no acknowledged event. An existing stream is used as it is.
 */
export async function ensureAgencyStream(jsm: JetStreamManager, agencyId: string, replicas = 1): Promise<StreamInfo> {
  const name = streamName(agencyId);
  try {
    return await jsm.streams.info(name);
  } catch (err) {
    if (!(err instanceof JetStreamApiError) || err.code !== streamNotFound) throw err;
  }
  try {
    // The server answers an identical create with success, so two racing creators both pass.
    return await jsm.streams.add({
      name,
      subjects: [agencySubjects(agencyId)],
      storage: StorageType.File,
      num_replicas: replicas,
      duplicate_window: nanos(duplicateWindowMs),
    });
  } catch (err) {
    // Created meanwhile with another configuration (e.g. by an operator): use what is there.
    if (err instanceof JetStreamApiError && err.code === streamNameInUse) return jsm.streams.info(name);
    throw err;
  }
}
