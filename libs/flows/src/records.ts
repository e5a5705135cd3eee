import { fileURLToPath } from 'node:url';
import { flowTable, legalBasisText, type Flow, type FlowRelation, type FlowTable } from './flow-table.js';

/** Where `pnpm records` writes one document per agency type. */
export const recordsDir = fileURLToPath(new URL('../../../docs/records-of-processing/', import.meta.url));

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\s+/g, ' ').trim();
const code = (text: string) => `\`${text}\``;

function channelText(c: string): string {
  if (c.startsWith('event:')) return `event ${code(c.slice(6))}`;
  return `gRPC ${code(c.slice(5).split('/').pop()!)}`;
}

function categoriesText(table: FlowTable, flow: Flow): string {
  return flow.categories.length ? flow.categories.map((c) => table.categories[c]!.title).join('; ') : 'none – pseudonymous (case reference, codes, dates)';
}

function flowRow(table: FlowTable, flow: Flow, other: string[]): string {
  return `| ${code(flow.id)} | ${cell(other.map((t) => table.agencyTypes[t]!.name).join(', '))} | ${cell(flow.channels.map(channelText).join(', '))} | ${cell(table.purposes[flow.purpose]!.title)} | ${cell(categoriesText(table, flow))} | ${cell(legalBasisText(flow.legalBasis))} |`;
}

function flowTableSection(table: FlowTable, title: string, intro: string, flows: Flow[], other: (f: Flow) => string[], otherHeading: string): string[] {
  const out = [`## ${title}`, '', intro, ''];
  if (flows.length === 0) return [...out, '_None._', ''];
  out.push(`| flow | ${otherHeading} | channel | purpose | categories of personal data | legal basis |`, '|---|---|---|---|---|---|');
  for (const f of flows) out.push(flowRow(table, f, other(f)));
  return [...out, ''];
}

/**
 * The records of processing activities (Art. 30 GDPR) of one agency type, as Markdown: every
 * flow of the table it sends, receives or runs inside, with purpose, categories and legal basis.
 */
export function recordOfProcessing(agencyType: string, table: FlowTable = flowTable()): string {
  const agency = table.agencyTypes[agencyType];
  if (!agency) throw new Error(`agency type "${agencyType}" is not in the flow table`);
  const involved = table.flows.filter((f) => f.senders.includes(agencyType) || f.recipients.includes(agencyType));
  const internal = involved.filter((f) => f.senders.includes(agencyType) && f.recipients.includes(agencyType));
  const sent = involved.filter((f) => f.senders.includes(agencyType) && f.recipients.some((r) => r !== agencyType));
  const received = involved.filter((f) => f.recipients.includes(agencyType) && f.senders.some((s) => s !== agencyType));

  const purposes = new Map<string, { categories: Set<string>; bases: Set<string>; flows: string[] }>();
  for (const f of involved) {
    const p = purposes.get(f.purpose) ?? { categories: new Set(), bases: new Set(), flows: [] };
    f.categories.forEach((c) => p.categories.add(table.categories[c]!.title));
    p.bases.add(legalBasisText(f.legalBasis));
    p.flows.push(f.id);
    purposes.set(f.purpose, p);
  }

  const lines = [
    `# Records of processing activities: ${agency.name}`,
    '',
    `_Verzeichnis von Verarbeitungstätigkeiten (Art. 30 DSGVO / GDPR)._ Generated from \`policy/flows.yaml\` (version ${table.version}) by \`pnpm records\`; do not edit by hand — change the flow table and run \`pnpm records\`.`,
    '',
    '| | |',
    '|---|---|',
    `| Controller | Each deployment of this agency type is the controller of its own data: ${cell(agency.deployments.join('; ') || '—')} |`,
    '| Data subjects | Newcomers (migrants, refugees) whose case the Lotse network coordinates |',
    `| Categories of personal data | ${cell([...new Set(involved.flatMap((f) => f.categories))].map((c) => table.categories[c]!.title).join('; ') || 'none – pseudonymous only')} |`,
    '| Transfers to third countries | None: every agency runs in Germany; data moves only between the agencies listed here |',
    '| Erasure | When a consent is withdrawn (Art. 7(3) GDPR), the owner revokes the pending referrals under it, and every recipient erases what it received under it and confirms; the hub tracks each confirmation (Art. 17, 19 GDPR). What a statute obliges a recipient to keep is recorded with the statute. |',
    '',
    '## Purposes and legal bases',
    '',
    '| purpose | categories of personal data | legal basis | flows |',
    '|---|---|---|---|',
    ...[...purposes].map(
      ([key, p]) =>
        `| ${cell(table.purposes[key]!.title)} | ${cell([...p.categories].join('; ') || 'none – pseudonymous')} | ${cell([...p.bases].join('; '))} | ${p.flows.map(code).join(', ')} |`,
    ),
    '',
    ...flowTableSection(table, 'Disclosed to other agencies', 'Personal data this agency sends; it checks the flow table (and, for consent, the consent in force) before the data leaves.', sent, (f) => f.recipients.filter((r) => r !== agencyType), 'recipient'),
    ...flowTableSection(table, 'Received from other agencies', 'What this agency receives; it keeps it under the same purpose and basis, and erases it when the basis goes.', received, (f) => f.senders.filter((s) => s !== agencyType), 'sender'),
    ...flowTableSection(table, 'Processing inside this agency', "Its own caseworkers' work with the data (only this deployment's certificate may call).", internal, () => [agencyType], 'by'),
    '## The flows in detail',
    '',
  ];
  for (const f of involved) {
    lines.push(
      `### ${code(f.id)}`,
      '',
      f.description,
      '',
      `- **From → to:** ${f.senders.map((s) => table.agencyTypes[s]!.name).join(', ')} → ${f.recipients.map((r) => table.agencyTypes[r]!.name).join(', ')}`,
      `- **Channel:** ${f.channels.map((c) => code(c)).join(', ')}`,
      `- **Purpose:** ${table.purposes[f.purpose]!.title}`,
      `- **Categories:** ${categoriesText(table, f)}`,
      `- **Legal basis:** ${legalBasisText(f.legalBasis)}`,
      ...(f.requires ? [`- **Requires:** ${relationText[f.requires]}`] : []),
      '',
    );
  }
  lines.push(
    '## Technical and organisational measures (Art. 32 GDPR)',
    '',
    '- Each agency deployment has its own database; no agency reads another\'s tables. Data crosses only over gRPC or events.',
    '- Mutual TLS between all agencies with one certificate per deployment from the network\'s CA; authorisation uses the agency in the certificate, never a claim in the request.',
    '- Events are thin: pseudonymous case references, codes and dates; only the two routing facts (municipality, age group) travel with a referral.',
    '- The owner checks the flow table and the consent, in the same transaction as it logs the disclosure; a withdrawal and a disclosure are serialised on the consent row, so no data leaves after a withdrawal has committed.',
    '- Every disclosure and refusal is logged by the data owner; personal data never goes into traces or logs.',
    '',
  );
  return lines.join('\n');
}

const relationText: Record<FlowRelation, string> = {
  'referral-with-caller': 'a referral of the case for this purpose is with the recipient deployment, accepted or in progress, as the sender knows from the hub — checked before anything leaves; after a close, decline, withdrawal or re-routing the old recipient is refused',
};

/** One document per agency type of the table, keyed by file name. */
export function recordsOfProcessing(table: FlowTable = flowTable()): Map<string, string> {
  return new Map(Object.keys(table.agencyTypes).map((t) => [`${t}.md`, recordOfProcessing(t, table)]));
}
