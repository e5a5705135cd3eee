import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { directory as dir } from '@lotse/contracts';
import type { PromiseClient } from '@lotse/grpc';
import { hsdsTables, HSDS_VERSION, type HsdsContext } from './hsds.js';

/** Writes the HSDS export into outDir, one JSON file per object type; returns the files written. */
export async function writeHsdsExport(orgs: dir.DirectoryOrganization[], ctx: HsdsContext, outDir: string): Promise<{ file: string; items: number }[]> {
  await mkdir(outDir, { recursive: true });
  const tables = hsdsTables(orgs, ctx);
  const written: { file: string; items: number }[] = [];
  for (const [name, rows] of Object.entries(tables)) {
    const file = join(outDir, `${name}.json`);
    await writeFile(file, `${JSON.stringify(rows, null, 2)}\n`, 'utf8');
    written.push({ file, items: rows.length });
  }
  const index = join(outDir, 'datapackage.json');
  await writeFile(
    index,
    `${JSON.stringify({ name: 'lotse-partner-directory', profile: 'https://docs.openreferral.org/en/v3.0/', hsds_version: HSDS_VERSION, region: ctx.region, resources: written.map((w) => ({ path: w.file.slice(outDir.length + 1), items: w.items })) }, null, 2)}\n`,
    'utf8',
  );
  return [...written, { file: index, items: written.length }];
}

export interface ImportResult {
  /** "organization <name>", "offer <name>" … */
  entry: string;
  error?: string;
}

/**
 * Stores imported organisations through DirectoryService, as the calling agency (it becomes
 * their owner; an id another partner owns is refused by the hub). Each upsert's request id is
 * made from the entry's content, so importing the same file again writes nothing new, and a
 * changed entry is a new request. Locations go first (offers name them), contacts last.
 */
export async function importHsds(client: PromiseClient<dir.DirectoryServiceClient>, orgs: dir.DirectoryOrganization[]): Promise<ImportResult[]> {
  const requestId = (kind: string, value: unknown) => `hsds-import:${kind}:${createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 40)}`;
  const results: ImportResult[] = [];
  const attempt = async (entry: string, run: () => Promise<unknown>) => {
    try {
      await run();
      results.push({ entry });
      return true;
    } catch (error) {
      results.push({ entry, error: (error as { details?: string }).details ?? (error as Error).message });
      return false;
    }
  };
  for (const org of orgs) {
    const { offers, locations, contacts, procedures, ...fields } = org;
    const organization = dir.DirectoryOrganization.fromPartial(fields);
    if (!(await attempt(`organization ${org.name}`, () => client.upsertOrganization({ requestId: requestId('organization', organization), organization })))) continue;
    const stored = new Set<string>();
    for (const location of locations) if (await attempt(`location ${location.name}`, () => client.upsertLocation({ requestId: requestId('location', location), location }))) stored.add(location.id);
    for (const o of offers) {
      const offer = { ...o, locationIds: o.locationIds.filter((id) => stored.has(id)) };
      await attempt(`offer ${offer.name}`, () => client.upsertOffer({ requestId: requestId('offer', offer), offer }));
    }
    for (const contact of contacts) await attempt(`contact ${contact.role}`, () => client.upsertContact({ requestId: requestId('contact', contact), contact }));
    for (const procedure of procedures) await attempt(`procedure ${procedure.title}`, () => client.upsertProcedure({ requestId: requestId('procedure', procedure), procedure }));
  }
  return results;
}
