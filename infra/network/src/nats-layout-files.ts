// The nats-server configurations docker-compose.yml and infra/k8s use, rendered from
// nats-layout.ts for the demo network. `pnpm nats-layout` writes them; a test fails when a
// checked-in file is stale (as with `pnpm nats-config`).
import { BROKER_CERTIFICATE, brokerNetwork } from './broker.js';
import { consoleDeployment, demoDeployments } from './deployments.js';
import { clusterNodeConfig, leafNodeConfig } from './nats-layout.js';
import { containerLayout } from './nats-layout-placement.js';

/** The broker certificate's host names in compose (each node's) and in Kubernetes (the services'). */
export const COMPOSE_BROKER_HOSTNAMES = ['nats-1', 'nats-2', 'nats-3'];

/** Kubernetes: the hub's namespace and the StatefulSet's pods (nats-0 … nats-2 behind the headless service). */
export const HUB_NAMESPACE = 'lotse-hub';
const statefulPods = [0, 1, 2].map((i) => `nats-${i}.nats-headless.${HUB_NAMESPACE}.svc.cluster.local`);
/** Where agencies' leaf nodes reach the hub; outside the hub's cluster, the operator's public name for it. */
export const K8S_LEAF_HUB_HOST = `nats-leaf.${HUB_NAMESPACE}.svc.cluster.local`;

/** Relative path in the repository → file text. */
export function layoutFiles(): Map<string, string> {
  const network = brokerNetwork(demoDeployments(50050), consoleDeployment(50050));
  const files = new Map<string, string>();

  const compose = containerLayout({
    network,
    broker: BROKER_CERTIFICATE,
    nodeNames: COMPOSE_BROKER_HOSTNAMES,
    routeHosts: COMPOSE_BROKER_HOSTNAMES,
    leafHubHosts: COMPOSE_BROKER_HOSTNAMES,
    pki: '/pki',
    storeDir: '/data/jetstream',
  });
  for (const node of compose.cluster.nodes) files.set(`infra/compose/nats/${node.name}.conf`, clusterNodeConfig(compose.cluster, node));
  for (const leaf of compose.leaves) files.set(`infra/compose/nats/${leaf.name}.conf`, leafNodeConfig(leaf));

  // One file for the three pods: server_name comes from the pod's name ($POD_NAME).
  const k8s = containerLayout({
    network,
    broker: BROKER_CERTIFICATE,
    nodeNames: ['$POD_NAME'],
    routeHosts: statefulPods,
    leafHubHosts: [K8S_LEAF_HUB_HOST],
    pki: '/etc/nats/tls',
    storeDir: '/data/jetstream',
  });
  files.set('infra/k8s/base/nats-cluster/nats.conf', clusterNodeConfig(k8s.cluster, k8s.cluster.nodes[0]!));
  for (const leaf of k8s.leaves) files.set(`infra/k8s/overlays/${leaf.agency.id}/leaf.conf`, leafNodeConfig(leaf));
  return files;
}
