// Where the servers of the NATS layout (nats-layout.ts) listen and find their certificates: all on
// one host (the launcher, the tests) or each in its container (docker-compose.yml, Kubernetes).
import { certificateSubject, type BrokerDeployment, type BrokerNetwork, type BrokerTlsFiles } from '@lotse/messaging';
import type { ClusterLayout, ClusterNode, LeafNode } from './nats-layout.js';

/** The subject DN of the broker's certificate (libs/pki issues it as id `nats`, type `broker`). */
export function brokerSubjectOf(broker: BrokerDeployment, network: BrokerNetwork): string {
  return certificateSubject(broker, network.organisation);
}

/** The certificate files of a deployment in a PKI directory: <id>.crt/.key and ca.crt. */
const certificatesIn =
  (dir: string) =>
  (id: string): BrokerTlsFiles => ({ certFile: `${dir}/${id}.crt`, keyFile: `${dir}/${id}.key`, caFile: `${dir}/ca.crt` });

/** Which deployments connect through a leaf node: all but the hub (and the console, an observer). */
export function leafAgencies(network: BrokerNetwork): BrokerDeployment[] {
  return network.deployments.filter((d) => d.id !== network.hubId);
}

/**
 * A whole layout on one host (the launcher, the tests): three nodes and a leaf per agency on
 * consecutive loopback ports from `basePort`. Ports: node i (0..2) client base+i, cluster
 * base+10+i, leaf base+20+i, monitoring base+30+i; leaf j client base+40+j.
 */
export function loopbackLayout(options: {
  basePort: number;
  storeRoot: string;
  pkiDir: string;
  network: BrokerNetwork;
  broker: BrokerDeployment;
  host?: string;
  /** Which deployments get a leaf node (default leafAgencies: all but the hub). */
  viaLeaf?: (d: BrokerDeployment) => boolean;
}): { cluster: ClusterLayout; leaves: LeafNode[]; clientUrls: string[]; leafUrlOf(id: string): string } {
  if (options.basePort + 99 > 65535) throw new Error(`nats layout: base port ${options.basePort} leaves no room for the layout's ports`);
  const host = options.host ?? '127.0.0.1';
  const b = options.basePort;
  const nodes: ClusterNode[] = [0, 1, 2].map((i) => ({
    name: `nats-${i + 1}`,
    client: { host, port: b + i },
    cluster: { host, port: b + 10 + i },
    leaf: { host, port: b + 20 + i },
    httpPort: b + 30 + i,
    storeDir: `${options.storeRoot}/nats-${i + 1}`,
  }));
  const cert = certificatesIn(options.pkiDir);
  const cluster: ClusterLayout = {
    name: 'lotse',
    nodes,
    routes: nodes.map((n) => `nats-route://${host}:${n.cluster.port}`),
    tls: cert(options.broker.id),
    brokerSubject: brokerSubjectOf(options.broker, options.network),
    network: options.network,
  };
  const agencies = options.viaLeaf ? options.network.deployments.filter(options.viaLeaf) : leafAgencies(options.network);
  if (agencies.length > 50) throw new Error('nats layout: more than 50 leaf nodes do not fit the port plan');
  const leaves: LeafNode[] = agencies.map((agency, j) => ({
    name: `leaf-${agency.id}`,
    agency,
    client: { host, port: b + 40 + j },
    hubUrls: nodes.map((n) => `tls://${host}:${n.leaf.port}`),
    tls: cert(agency.id),
    network: options.network,
  }));
  const leafUrls = new Map(leaves.map((l) => [l.agency.id, `tls://${host}:${l.client.port}`]));
  const clientUrls = nodes.map((n) => `tls://${host}:${n.client.port}`);
  return {
    cluster,
    leaves,
    clientUrls,
    // The hub and the console talk to the cluster (NATS_URL takes one URL; the client learns the
    // other nodes from the server and fails over to them); every other agency to its own leaf.
    leafUrlOf: (id) => leafUrls.get(id) ?? clientUrls[0]!,
  };
}

/**
 * The layout in containers (docker-compose.yml, Kubernetes): every server listens on all
 * interfaces on the standard ports (clients 4222, routes 6222, leaf nodes 7422, monitoring 8222),
 * certificates under `pki` as <id>.crt/.key and ca.crt.
 */
export function containerLayout(options: {
  network: BrokerNetwork;
  broker: BrokerDeployment;
  /** The three nodes' server names (or one `$VARIABLE` for a StatefulSet) and route hosts. */
  nodeNames: readonly string[];
  routeHosts: readonly string[];
  /** Where the leaf nodes reach the cluster's leaf port, e.g. nats-1 … or one service name. */
  leafHubHosts: readonly string[];
  pki: string;
  storeDir: string;
}): { cluster: ClusterLayout; leaves: LeafNode[] } {
  const any = '0.0.0.0';
  const nodes: ClusterNode[] = options.nodeNames.map((name) => ({
    name,
    client: { host: any, port: 4222 },
    cluster: { host: any, port: 6222 },
    leaf: { host: any, port: 7422 },
    httpPort: 8222,
    storeDir: options.storeDir,
  }));
  const cert = certificatesIn(options.pki);
  const cluster: ClusterLayout = {
    name: 'lotse',
    nodes,
    routes: options.routeHosts.map((h) => `nats-route://${h}:6222`),
    tls: cert(options.broker.id),
    brokerSubject: brokerSubjectOf(options.broker, options.network),
    network: options.network,
  };
  const leaves = leafAgencies(options.network).map((agency) => ({
    name: `leaf-${agency.id}`,
    agency,
    client: { host: any, port: 4222 },
    httpPort: 8222,
    hubUrls: options.leafHubHosts.map((h) => `tls://${h}:7422`),
    tls: cert(agency.id),
    network: options.network,
  }));
  return { cluster, leaves };
}
