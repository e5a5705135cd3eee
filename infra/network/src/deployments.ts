/** One agency deployment of the demo network: which service code, under which id, on which port. */
export interface Deployment {
  id: string;
  service: 'foreign-office' | 'lotsenhaus' | 'migration-services' | 'job-centre';
  agencyType: string;
  name: string;
  grpcPort: number;
  /** Variable that carries the deployment id for this service. */
  idVariable: 'AGENCY_ID' | 'PROVIDER_ID' | 'JOB_CENTRE_ID';
}

/**
 * The Koblenz region: the foreign office of the Kreisverwaltung Mayen-Koblenz, the Lotsenhaus hub
 * and three migration counselling providers (the hub's directory holds their agreements).
 */
export function demoDeployments(portBase: number): Deployment[] {
  return [
    { id: 'kv-mayen-koblenz', service: 'foreign-office', agencyType: 'foreign-office', name: 'Kreisverwaltung Mayen-Koblenz – Ausländerbehörde', grpcPort: portBase + 1, idVariable: 'AGENCY_ID' },
    { id: 'lotsenhaus', service: 'lotsenhaus', agencyType: 'lotsenhaus', name: 'Lotsenhaus (hub)', grpcPort: portBase + 2, idVariable: 'AGENCY_ID' },
    { id: 'caritas-koblenz', service: 'migration-services', agencyType: 'migration-services', name: 'Caritasverband Koblenz', grpcPort: portBase + 11, idVariable: 'PROVIDER_ID' },
    { id: 'caritas-rhein-mosel-ahr', service: 'migration-services', agencyType: 'migration-services', name: 'Caritasverband Rhein-Mosel-Ahr', grpcPort: portBase + 12, idVariable: 'PROVIDER_ID' },
    { id: 'awo-rheinland', service: 'migration-services', agencyType: 'migration-services', name: 'AWO Rheinland (JMD/MBE)', grpcPort: portBase + 13, idVariable: 'PROVIDER_ID' },
    { id: 'jobcenter-mayen-koblenz', service: 'job-centre', agencyType: 'job-centre', name: 'Jobcenter Landkreis Mayen-Koblenz', grpcPort: portBase + 21, idVariable: 'JOB_CENTRE_ID' },
    { id: 'jobcenter-koblenz', service: 'job-centre', agencyType: 'job-centre', name: 'Jobcenter Koblenz', grpcPort: portBase + 22, idVariable: 'JOB_CENTRE_ID' },
  ];
}

/** Where a deployment's gRPC server is reached: on this machine by default; by host name across hosts. */
export type AddressOf = (d: Pick<Deployment, 'id' | 'grpcPort'>) => string;
const onThisMachine: AddressOf = (d) => `127.0.0.1:${d.grpcPort}`;

/**
 * Whom a deployment calls, as PEERS="id=host:port,…": recipients fetch from the data owners (the
 * foreign offices); a foreign office asks every other agency for its part of a transparency report.
 */
export function peersFor(deployment: Pick<Deployment, 'id' | 'service'>, deployments: Pick<Deployment, 'id' | 'service' | 'grpcPort'>[], addressOf = onThisMachine): string {
  return deployments
    .filter((d) => d.id !== deployment.id && (deployment.service === 'foreign-office' || d.service === 'foreign-office'))
    .map((d) => `${d.id}=${addressOf(d)}`)
    .join(',');
}

/** The hub's address (HUB_ADDRESS): senders read the cooperation agreements from it. */
export function hubAddressFor(deployments: Pick<Deployment, 'id' | 'service' | 'grpcPort'>[], addressOf = onThisMachine): string {
  const hub = deployments.find((d) => d.service === 'lotsenhaus');
  return hub ? addressOf(hub) : '';
}

/** The operator console: not an agency, but a process of the network with a certificate of its own. */
export interface ConsoleDeployment {
  id: 'console';
  agencyType: 'operator';
  name: string;
  httpPort: number;
}

export function consoleDeployment(portBase: number): ConsoleDeployment {
  return { id: 'console', agencyType: 'operator', name: 'Operator console', httpPort: portBase + 30 };
}

/** What the console watches, as DEPLOYMENTS="id=host:port,…". */
export function watchedDeployments(deployments: Deployment[]): string {
  return deployments.map((d) => `${d.id}=127.0.0.1:${d.grpcPort}`).join(',');
}
