// The hub's NATS cluster and the agencies' leaf nodes, written once: the launcher
// (LOTSE_NATS_CLUSTER=3), the tests, docker-compose.yml (`pnpm nats-layout`) and Kubernetes
// (infra/k8s) all render their nats-server configurations with these functions, so the layout,
// the TLS and the permissions cannot drift apart between them.
// Where each server listens, on one host or in containers: nats-layout-placement.ts.
//
// The layout (issue 15, DESIGN.md "Security"):
// - three cluster nodes with JetStream (file storage); the agencies' streams have 3 replicas, so
//   one node can be lost, restarted or upgraded at a time without losing an acknowledged event;
// - routes between the nodes with TLS, and only the broker's own certificate may form a route
//   (`cluster { authorization { user: <broker subject> } tls { verify_and_map } }`): an agency's
//   certificate from the same CA is refused as a route;
// - the hub deployment and the console connect to the cluster as clients; every other agency
//   runs a leaf node beside its services and its services connect only to that;
// - a leaf node has no JetStream of its own: `$JS.API.*` requests cross the leaf connection and
//   the cluster's JetStream answers them, so streams and durable consumers live on the cluster;
// - the leaf connects with the agency's own certificate, the cluster maps it to the agency's user
//   (`leafnodes { tls { verify_and_map } }`) and applies that user's generated permissions to the
//   whole leaf connection: what the leaf may publish into the cluster and what it may receive from
//   it are exactly what the agency's own connection may do (@lotse/messaging permissionsFor);
// - the leaf authenticates its local clients the same way and knows only the agency's user.
import { permissionsFor, tlsBlock, authorizationBlock, type BrokerDeployment, type BrokerNetwork, type BrokerTlsFiles, type UserPermissions } from '@lotse/messaging';

export interface HostPort {
  host: string;
  port: number;
}

export interface ClusterNode {
  /** server_name; unique in the cluster (JetStream's Raft groups know the nodes by it). */
  name: string;
  /** Where clients (the hub, the console) connect. */
  client: HostPort;
  /** Where the other nodes' routes connect. */
  cluster: HostPort;
  /** Where the agencies' leaf nodes connect. */
  leaf: HostPort;
  /** Monitoring (/healthz, /jsz); 0 or absent: none. */
  httpPort?: number;
  storeDir: string;
}

export interface ClusterLayout {
  /** The cluster's name (routes of another name are refused). */
  name: string;
  nodes: readonly ClusterNode[];
  /** The route URLs every node solicits (a route to itself is ignored), e.g. nats-route://nats-1:6222. */
  routes: readonly string[];
  /** The broker's certificate: it serves clients, routes and leaf connections, and forms the routes. */
  tls: BrokerTlsFiles;
  /** The subject of the broker's certificate: the only one a route may present. */
  brokerSubject: string;
  network: BrokerNetwork;
  /** JetStream's file store limit per node, e.g. "2GB". */
  maxFileStore?: string;
}

export interface LeafNode {
  name: string;
  /** The agency whose services connect here, and whose identity the leaf connection carries. */
  agency: BrokerDeployment;
  /** Where the agency's services connect. */
  client: HostPort;
  httpPort?: number;
  /** The cluster nodes' leaf ports, e.g. tls://nats-1:7422; the leaf reconnects to any of them. */
  hubUrls: readonly string[];
  /**
   * The agency's certificate: it serves the agency's services and authenticates the leaf
   * connection to the cluster (its subject is the agency's user there).
   */
  tls: BrokerTlsFiles;
  network: BrokerNetwork;
}

/**
 * Lets `$JS.API.>` cross the leaf connections of the global account. Without it, nats-server
 * (2.9 and later) denies the JetStream API on a leaf connection unless the system account is
 * shared or a JetStream domain is used; sharing the system account would hand every agency the
 * servers' control plane, and a domain would make every client name it. Set on both ends, since
 * each end adds the deny for itself. What crosses is still bounded by the agency's permissions.
 */
const jsOverLeaf = [
  '# The JetStream API may cross leaf connections (no shared system account, no domain); the',
  "# agency's permissions still bound it. See infra/network/src/nats-layout.ts.",
  'default_js_domain: { "$G": "" }',
].join('\n');

/**
 * How soon a server gives up on a peer that went silent: a cut cable or a partition sends no FIN
 * and no RST, so only unanswered pings reveal it. With nats-server's default (a ping every 2
 * minutes, 2 unanswered) an agency's leaf node stayed attached for minutes to a cluster node that
 * was cut off from every host, and every publish through it timed out although the other two
 * nodes had quorum (the netns test's 2 | 1 partition); the routes of a healed partition likewise
 * waited out TCP's retransmission back-off. With 5 s and 3, a silent peer is dropped within about
 * 20 s: the leaf attaches to another node of its list, a route is dialled again (connect_retries).
 * Every connection of the server gets these pings, clients too; they cost a few bytes each.
 */
const deadPeerDetection = ['# A silent peer (cut cable, partition) is dropped within ~20 s; see nats-layout.ts.', 'ping_interval: "5s"', 'ping_max: 3'].join('\n');

const quote = (s: string) => JSON.stringify(s);
/** `$POD_NAME` stays a variable reference (one file for every pod of a StatefulSet). */
const nameValue = (name: string) => (/^\$[A-Z_]+$/.test(name) ? name : quote(name));

function indent(block: string, spaces: number): string {
  const pad = ' '.repeat(spaces);
  return block
    .trimEnd()
    .split('\n')
    .map((line) => (line ? pad + line : line))
    .join('\n');
}

function tlsLines(tls: BrokerTlsFiles, extra: string[]): string {
  return ['tls {', `  cert_file: ${quote(tls.certFile)}`, `  key_file: ${quote(tls.keyFile)}`, `  ca_file: ${quote(tls.caFile)}`, ...extra.map((l) => `  ${l}`), '}'].join('\n');
}

/** One cluster node's whole configuration. */
export function clusterNodeConfig(layout: ClusterLayout, node: ClusterNode): string {
  if (!layout.nodes.includes(node)) throw new Error(`nats layout: ${node.name} is not a node of cluster ${layout.name}`);
  return [
    '# Generated by infra/network/src/nats-layout.ts (clusterNodeConfig); do not edit.',
    `server_name: ${nameValue(node.name)}`,
    `host: ${quote(node.client.host)}`,
    `port: ${node.client.port}`,
    ...(node.httpPort ? [`http_port: ${node.httpPort}`] : []),
    'max_payload: 1MB',
    deadPeerDetection,
    jsOverLeaf,
    '',
    'jetstream {',
    `  store_dir: ${quote(node.storeDir)}`,
    `  max_file_store: ${layout.maxFileStore ?? '2GB'}`,
    '  max_memory_store: 256MB',
    // 2.9.10 rejects sync_interval; docs/operations.md says what production on >= 2.12 adds.
    '}',
    '',
    // Clients: the hub deployment and the console, by their certificates.
    tlsBlock(layout.tls).trimEnd(),
    '',
    authorizationBlock(layout.network).trimEnd(),
    '',
    'cluster {',
    `  name: ${quote(layout.name)}`,
    `  host: ${quote(node.cluster.host)}`,
    `  port: ${node.cluster.port}`,
    '  # Only the broker certificate forms routes; an agency certificate from the same CA does not.',
    `  authorization { user: ${quote(layout.brokerSubject)}, timeout: 5 }`,
    indent(tlsLines(layout.tls, ['verify_and_map: true', 'timeout: 5']), 2),
    '  routes: [',
    ...layout.routes.map((r) => `    ${quote(r)}`),
    '  ]',
    // Without it a node that lost its routes keeps retrying only a few times.
    '  connect_retries: 120',
    '}',
    '',
    'leafnodes {',
    `  host: ${quote(node.leaf.host)}`,
    `  port: ${node.leaf.port}`,
    '  # The leaf connection presents the agency certificate; its subject is the agency user above,',
    '  # whose permissions then bound everything that crosses the leaf connection.',
    indent(tlsLines(layout.tls, ['verify_and_map: true', 'timeout: 5']), 2),
    '}',
    '',
  ].join('\n');
}

/** The users block of a leaf node: the agency alone, with its generated permissions. */
function leafUsers(users: readonly UserPermissions[]): string {
  const lines = ['authorization {', '  users: ['];
  for (const u of users) {
    lines.push('    {', `      user: ${quote(u.user)}`, '      permissions: {');
    lines.push('        publish: { allow: [', ...u.publish.map((s) => `          ${quote(s)}`), '        ] }');
    lines.push('        subscribe: { allow: [', ...u.subscribe.map((s) => `          ${quote(s)}`), '        ] }');
    lines.push('      }', '    }');
  }
  lines.push('  ]', '}');
  return lines.join('\n');
}

/** One agency's leaf node: its services connect here, and it connects to the cluster. */
export function leafNodeConfig(leaf: LeafNode): string {
  const { agency, network } = leaf;
  if (!network.deployments.some((d) => d.id === agency.id)) throw new Error(`nats layout: ${agency.id} is not a deployment of the network`);
  return [
    '# Generated by infra/network/src/nats-layout.ts (leafNodeConfig); do not edit.',
    `server_name: ${quote(leaf.name)}`,
    `host: ${quote(leaf.client.host)}`,
    `port: ${leaf.client.port}`,
    ...(leaf.httpPort ? [`http_port: ${leaf.httpPort}`] : []),
    'max_payload: 1MB',
    deadPeerDetection,
    jsOverLeaf,
    '# No JetStream here: the cluster holds the streams and the durable consumers, and answers',
    "# the agency's $JS.API requests across the leaf connection.",
    '',
    tlsBlock(leaf.tls).trimEnd(),
    '',
    leafUsers([permissionsFor(agency, network)]),
    '',
    'leafnodes {',
    '  remotes: [',
    '    {',
    '      urls: [',
    ...leaf.hubUrls.map((u) => `        ${quote(u)}`),
    '      ]',
    indent(tlsLines(leaf.tls, ['timeout: 5']), 6),
    '    }',
    '  ]',
    // Reconnect quickly after a link outage (default 1 s); said out loud because the recovery
    // time after a partition depends on it.
    '  reconnect: 1',
    '}',
    '',
  ].join('\n');
}
