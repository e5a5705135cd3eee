// Every Kubernetes overlay in infra/k8s renders offline (`kubectl kustomize`, as an agency would
// before `kubectl apply -k`) and every object it yields is valid against the Kubernetes API's
// schemas (kubernetes-models). CloudNativePG's Cluster is not a core type: it is checked against
// the fields of its CRD that Lotse relies on (see cnpgClusterProblems).
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { ConfigMap, Namespace, Service } from 'kubernetes-models/v1';
import { Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { demoDeployments } from '../src/deployments.js';
import { repoRoot } from '../src/paths.js';

const overlaysDir = join(repoRoot, 'infra/k8s/overlays');
type K8sObject = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string }; [key: string]: any };

const models: Record<string, new (o: any) => { validate(): void }> = {
  'v1/Namespace': Namespace,
  'v1/ConfigMap': ConfigMap,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'apps/v1/StatefulSet': StatefulSet,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
};

function render(overlay: string): K8sObject[] {
  const result = spawnSync('kubectl', ['kustomize', join(overlaysDir, overlay)], { encoding: 'utf8' });
  if (result.error) throw new Error(`kubectl is needed to render the overlays (Debian: apt-get install kubernetes-client): ${result.error.message}`);
  if (result.status !== 0) throw new Error(`kubectl kustomize ${overlay}: ${result.stderr}`);
  return parseAllDocuments(result.stdout).map((d) => d.toJS() as K8sObject).filter(Boolean);
}

const quantity = /^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|k|M|G|T)?$/;

/**
 * postgresql.cnpg.io/v1 Cluster, as its CRD (CloudNativePG 1.2x) types the fields used here:
 * instances an integer ≥ 1, storage.size a quantity, bootstrap.initdb database and owner names,
 * and nothing the overlays would need that the CRD does not know.
 */
function cnpgClusterProblems(o: K8sObject): string[] {
  const problems: string[] = [];
  const spec = o.spec ?? {};
  const known = new Set(['instances', 'imageName', 'primaryUpdateStrategy', 'bootstrap', 'storage', 'resources', 'backup', 'postgresql', 'affinity', 'monitoring']);
  for (const key of Object.keys(spec)) if (!known.has(key)) problems.push(`spec.${key} is not a field Lotse's Cluster should set`);
  if (!Number.isInteger(spec.instances) || spec.instances < 1) problems.push('spec.instances must be an integer ≥ 1');
  if (typeof spec.storage?.size !== 'string' || !quantity.test(spec.storage.size)) problems.push('spec.storage.size must be a quantity');
  const initdb = spec.bootstrap?.initdb;
  if (typeof initdb?.database !== 'string' || typeof initdb?.owner !== 'string') problems.push('spec.bootstrap.initdb needs database and owner');
  if (!['unsupervised', 'supervised', undefined].includes(spec.primaryUpdateStrategy)) problems.push('spec.primaryUpdateStrategy is unsupervised or supervised');
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(o.metadata?.name ?? '')) problems.push('metadata.name must be a DNS label');
  return problems;
}

const overlays = readdirSync(overlaysDir).sort();

describe('the Kubernetes manifests', () => {
  it('have an overlay for every deployment of the demo network', () => {
    expect(overlays).toEqual(demoDeployments(50050).map((d) => d.id).sort());
  });

  it.each(overlays)('overlay %s renders and every object validates', (overlay) => {
    const objects = render(overlay);
    expect(objects.length).toBeGreaterThan(5);
    const namespace = objects.find((o) => o.kind === 'Namespace')!;
    expect(namespace, 'the overlay makes its namespace').toBeDefined();
    for (const o of objects) {
      const name = `${o.kind}/${o.metadata?.name}`;
      if (o.apiVersion === 'postgresql.cnpg.io/v1' && o.kind === 'Cluster') {
        expect(cnpgClusterProblems(o), name).toEqual([]);
      } else {
        const Model = models[`${o.apiVersion}/${o.kind}`];
        expect(Model, `${name}: ${o.apiVersion} ${o.kind} is a type this test validates`).toBeDefined();
        expect(() => new Model!(o).validate(), name).not.toThrow();
      }
      // Everything lands in the agency's own namespace: an overlay touches nothing of another.
      if (o.kind !== 'Namespace') expect(o.metadata.namespace, name).toBe(namespace.metadata.name);
    }
    // Every ConfigMap a pod refers to is one the overlay generates (kustomize's hashed names).
    const configMaps = new Set(objects.filter((o) => o.kind === 'ConfigMap').map((o) => o.metadata.name));
    for (const workload of objects.filter((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet')) {
      const pod = workload.spec.template.spec;
      const refs = [
        ...pod.volumes.filter((v: any) => v.configMap).map((v: any) => v.configMap.name),
        ...pod.containers.flatMap((c: any) => (c.envFrom ?? []).filter((e: any) => e.configMapRef).map((e: any) => e.configMapRef.name)),
      ];
      for (const ref of refs) expect(configMaps.has(ref), `${workload.metadata.name} refers to ConfigMap ${ref}`).toBe(true);
      // Probes, resources and a non-root user on every container.
      for (const c of pod.containers) {
        expect(c.readinessProbe, `${workload.metadata.name}/${c.name} readiness`).toBeDefined();
        expect(c.livenessProbe, `${workload.metadata.name}/${c.name} liveness`).toBeDefined();
        expect(c.resources?.requests, `${workload.metadata.name}/${c.name} requests`).toBeDefined();
      }
      expect(pod.securityContext?.runAsNonRoot, `${workload.metadata.name} runs as non-root`).toBe(true);
      // A PodDisruptionBudget for every workload with more than one replica.
      if ((workload.spec.replicas ?? 1) > 1) {
        const labels = workload.spec.selector.matchLabels;
        expect(objects.some((o) => o.kind === 'PodDisruptionBudget' && Object.entries(o.spec.selector.matchLabels).every(([k, v]) => labels[k] === v)), `${workload.metadata.name} has a PDB`).toBe(true);
      }
    }
    // The namespace is closed by default.
    expect(objects.some((o) => o.kind === 'NetworkPolicy' && Object.keys(o.spec.podSelector).length === 0 && o.spec.policyTypes.includes('Egress') && !o.spec.egress && !o.spec.ingress)).toBe(true);
    // An agency's service probes with grpc.health.v1 over mTLS (infra/network/src/health-probe.ts).
    const service = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'agency')!;
    expect(service.spec.template.spec.containers[0].readinessProbe.exec.command.join(' ')).toContain('infra/network/src/health-probe.ts');
  });

  it('the hub overlay runs the NATS cluster as a three-node StatefulSet with one node away at most', () => {
    const objects = render('lotsenhaus');
    const nats = objects.find((o) => o.kind === 'StatefulSet' && o.metadata.name === 'nats')!;
    expect(nats.spec.replicas).toBe(3);
    expect(nats.spec.volumeClaimTemplates[0].metadata.name).toBe('data');
    const pdb = objects.find((o) => o.kind === 'PodDisruptionBudget' && o.metadata.name === 'nats')!;
    expect(pdb.spec.maxUnavailable).toBe(1);
    // No leaf in the hub's namespace: the hub is a client of its cluster.
    expect(objects.some((o) => o.metadata.name === 'nats-leaf' && o.kind === 'Deployment')).toBe(false);
  });
});
