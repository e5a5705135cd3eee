import { agencySubjects, eventSubject, streamName, subjectsAddressedTo } from './naming.js';
import { durableNameFor } from './durables.js';

/**
 * The nats-server configuration of a Lotse network: who may connect and what each may do,
 * generated from the deployments and the flow table's event rows, never written by hand.
 *
 * Identity: `tls { verify_and_map }` maps each client to the user named by its certificate's
 * subject DN (`CN=<id>,OU=<agency type>,O=…`). The network's CA already issues one certificate per
 * deployment for gRPC, so there is nothing new to hand out, rotate or revoke separately; a client
 * without a certificate from the CA fails the TLS handshake, and one with a certificate that maps to
 * no user is refused (no `no_auth_user`, so nothing is anonymous).
 */

export interface BrokerDeployment {
  id: string;
  agencyType: string;
}

/** One `event:<Name>` row of the flow table, per sender and recipient agency type. */
export interface EventFlow {
  senderType: string;
  recipientType: string;
  event: string;
}

export interface BrokerNetwork {
  deployments: readonly BrokerDeployment[];
  /** The hub: it receives everything the other deployments publish and routes it on. */
  hubId: string;
  eventFlows: readonly EventFlow[];
  /** Processes that only watch JetStream (the operator console): stream and consumer info, no messages. */
  observers?: readonly BrokerDeployment[];
  /** The subject DN's organisation of every certificate (libs/pki). */
  organisation: string;
  /**
   * Revoked deployments (libs/pki revoked.json): they get no user, so their certificates no longer
   * map to anyone and a reload of the server (SIGHUP) closes their connections.
   */
  revoked?: readonly string[];
}

export interface UserPermissions {
  /** The subject DN the certificate maps to, as nats-server prints it (RFC 2253). */
  user: string;
  publish: string[];
  subscribe: string[];
}

/** `CN=<id>,OU=<type>,O=<organisation>`: how nats-server 2.9+ renders the dev PKI's leaf subjects. */
export function certificateSubject(d: BrokerDeployment, organisation: string): string {
  return `CN=${d.id},OU=${d.agencyType},O=${organisation}`;
}

/** The inbox prefix a deployment's connection uses, so its replies reach only it. */
export function inboxPrefixFor(id: string): string {
  return `_INBOX_${id}`;
}

/**
 * The durable consumers `recipient` may own on `producer`'s stream, with the filter each must have.
 * The hub follows every other deployment's whole stream; everyone else (the hub for its own desk
 * included) reads only what the hub addresses to it — all of it, or one event type the flow table
 * lets it receive.
 */
export function durablesFor(recipient: BrokerDeployment, producer: BrokerDeployment, network: BrokerNetwork): { name: string; filter: string }[] {
  const events = network.eventFlows.filter((f) => f.senderType === producer.agencyType && f.recipientType === recipient.agencyType).map((f) => f.event);
  if (events.length === 0) return [];
  const filters: string[] = [];
  // The hub follows whole streams, its own as well (where it is a provider in its own directory).
  if (recipient.id === network.hubId) filters.push(agencySubjects(producer.id));
  if (producer.id === network.hubId) filters.push(subjectsAddressedTo(producer.id, recipient.id), ...[...new Set(events)].sort().map((e) => eventSubject(producer.id, e, recipient.id)));
  // Events between spokes go through the hub, never directly: nothing else.
  return filters.map((filter) => ({ name: durableNameFor(recipient.id, filter), filter }));
}

const api = '$JS.API';

export function permissionsFor(d: BrokerDeployment, network: BrokerNetwork): UserPermissions {
  const own = streamName(d.id);
  const publish = [
    // Its own events, nobody else's.
    agencySubjects(d.id),
    `${api}.INFO`,
    // Its own stream: the relay makes it when missing and watches its state and its durables' ack
    // floors; one that went back (StreamReconciler) it deletes and makes again. Only its own: at
    // worst the consumers of its own events re-read what it publishes again.
    `${api}.STREAM.CREATE.${own}`,
    `${api}.STREAM.UPDATE.${own}`,
    `${api}.STREAM.DELETE.${own}`,
    `${api}.STREAM.INFO.${own}`,
    `${api}.CONSUMER.LIST.${own}`,
    `${api}.CONSUMER.NAMES.${own}`,
  ];
  for (const producer of network.deployments) {
    const stream = streamName(producer.id);
    const durables = durablesFor(d, producer, network);
    // The hub reads whole streams: their counters tell it a stalled durable (StalledDurables). A
    // spoke reads only what the hub addresses to it, and the counts per subject of the hub's stream
    // would tell it how many events go to every other agency: it judges by its durable's info alone.
    if (durables.length > 0 && producer.id !== d.id && d.id === network.hubId) publish.push(`${api}.STREAM.INFO.${stream}`);
    for (const { name, filter } of durables) {
      // Only the create form that names the filter in the subject: the server checks that the
      // body's filter equals it, so no durable of this deployment can read more than it may.
      publish.push(
        `${api}.CONSUMER.CREATE.${stream}.${name}.${filter}`,
        `${api}.CONSUMER.INFO.${stream}.${name}`,
        `${api}.CONSUMER.MSG.NEXT.${stream}.${name}`,
        // A stalled durable of its own gets another leader (StalledDurables): its own, no other.
        `${api}.CONSUMER.LEADER.STEPDOWN.${stream}.${name}`,
        `$JS.ACK.${stream}.${name}.>`,
      );
    }
  }
  return { user: certificateSubject(d, network.organisation), publish, subscribe: [`${inboxPrefixFor(d.id)}.>`] };
}

export function observerPermissions(d: BrokerDeployment, network: BrokerNetwork): UserPermissions {
  return {
    user: certificateSubject(d, network.organisation),
    // Configuration and counters only: no message of any stream, no change to any.
    publish: [`${api}.INFO`, `${api}.STREAM.LIST`, `${api}.STREAM.NAMES`, `${api}.STREAM.INFO.*`, `${api}.CONSUMER.LIST.*`, `${api}.CONSUMER.NAMES.*`, `${api}.CONSUMER.INFO.*.*`],
    subscribe: [`${inboxPrefixFor(d.id)}.>`],
  };
}

const quote = (s: string) => JSON.stringify(s);

/** The `authorization { users: […] }` block: one user per certificate, with its permissions. */
export function authorizationBlock(network: BrokerNetwork): string {
  const ids = new Set<string>();
  for (const d of [...network.deployments, ...(network.observers ?? [])]) {
    if (ids.has(d.id)) throw new Error(`broker config: deployment "${d.id}" is listed twice`);
    ids.add(d.id);
  }
  if (!network.deployments.some((d) => d.id === network.hubId)) throw new Error(`broker config: the hub "${network.hubId}" is not a deployment`);
  const revoked = new Set(network.revoked ?? []);
  const users = [
    ...network.deployments.filter((d) => !revoked.has(d.id)).map((d) => permissionsFor(d, network)),
    ...(network.observers ?? []).filter((d) => !revoked.has(d.id)).map((d) => observerPermissions(d, network)),
  ];
  const lines = ['authorization {', '  users: ['];
  for (const u of users) {
    lines.push('    {', `      user: ${quote(u.user)}`, '      permissions: {');
    lines.push('        publish: { allow: [', ...u.publish.map((s) => `          ${quote(s)}`), '        ] }');
    lines.push('        subscribe: { allow: [', ...u.subscribe.map((s) => `          ${quote(s)}`), '        ] }');
    lines.push('      }', '    }');
  }
  lines.push('  ]', '}');
  return lines.join('\n') + '\n';
}

export interface BrokerTlsFiles {
  certFile: string;
  keyFile: string;
  caFile: string;
}

/**
 * A complete configuration for one nats-server with JetStream (the launcher's, a test's): TLS with
 * the network's CA, users from certificates, the generated permissions. Listen address and store
 * come from the command line (startNatsServer).
 */
export function brokerConfig(network: BrokerNetwork, tls: BrokerTlsFiles): string {
  return [
    '# Generated by @lotse/messaging brokerConfig(); do not edit.',
    'jetstream: enabled',
    tlsBlock(tls),
    authorizationBlock(network),
  ].join('\n');
}

export function tlsBlock(tls: BrokerTlsFiles): string {
  return [
    'tls {',
    `  cert_file: ${quote(tls.certFile)}`,
    `  key_file: ${quote(tls.keyFile)}`,
    `  ca_file: ${quote(tls.caFile)}`,
    '  # A client certificate from the CA is required, and its subject names the user.',
    '  verify_and_map: true',
    '  timeout: 5',
    '}',
    '',
  ].join('\n');
}
