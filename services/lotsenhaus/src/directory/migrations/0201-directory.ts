import { sql, type Kysely } from 'kysely';

// The partner directory's own tables (src/directory/), apart from the hub's case tables. Every
// entry has its last-verified date and the time its owner was last reminded to confirm it.
export async function up(db: Kysely<any>): Promise<void> {
  const entry = (name: string) =>
    db.schema
      .createTable(name)
      .addColumn('id', 'uuid', (c) => c.primaryKey())
      .addColumn('last_verified_at', 'timestamptz', (c) => c.notNull())
      .addColumn('reminded_at', 'timestamptz');
  await entry('directory_organization')
    .addColumn('owner_agency_id', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull())
    .addColumn('email', 'text', (c) => c.notNull())
    .addColumn('website', 'text', (c) => c.notNull())
    .execute();
  const owned = (name: string) => entry(name).addColumn('organization_id', 'uuid', (c) => c.notNull().references('directory_organization.id').onDelete('cascade'));
  await owned('directory_location')
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('street', 'text', (c) => c.notNull())
    .addColumn('postal_code', 'text', (c) => c.notNull())
    .addColumn('city', 'text', (c) => c.notNull())
    .addColumn('accessibility', 'text', (c) => c.notNull())
    .addColumn('wheelchair_accessible', 'boolean', (c) => c.notNull())
    .addColumn('opening_hours', 'jsonb', (c) => c.notNull())
    .execute();
  await owned('directory_offer')
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull())
    .addColumn('target_group', 'text', (c) => c.notNull())
    .addColumn('minimum_age', 'integer', (c) => c.notNull())
    .addColumn('maximum_age', 'integer', (c) => c.notNull())
    .addColumn('languages_offered', sql`text[]`, (c) => c.notNull())
    .addColumn('free_of_charge', 'boolean', (c) => c.notNull())
    .addColumn('fees_description', 'text', (c) => c.notNull())
    .addColumn('eligibility', 'text', (c) => c.notNull())
    .addColumn('application_process', 'text', (c) => c.notNull())
    .addColumn('required_documents', sql`text[]`, (c) => c.notNull())
    .addColumn('municipalities_served', sql`text[]`, (c) => c.notNull())
    .addColumn('provider_agency_id', 'text', (c) => c.notNull())
    .addColumn('location_ids', sql`uuid[]`, (c) => c.notNull())
    .addColumn('url', 'text', (c) => c.notNull())
    .addColumn('email', 'text', (c) => c.notNull())
    .execute();
  await owned('directory_contact')
    .addColumn('offer_id', 'uuid', (c) => c.references('directory_offer.id').onDelete('cascade'))
    .addColumn('role', 'text', (c) => c.notNull())
    // A person's name only where that person agreed (person_consented); else null.
    .addColumn('person_name', 'text')
    .addColumn('person_consented', 'boolean', (c) => c.notNull())
    .addColumn('email', 'text', (c) => c.notNull())
    .addColumn('phone', 'text', (c) => c.notNull())
    .execute();
  await owned('directory_procedure')
    .addColumn('offer_id', 'uuid', (c) => c.references('directory_offer.id').onDelete('cascade'))
    .addColumn('title', 'text', (c) => c.notNull())
    .addColumn('steps', sql`text[]`, (c) => c.notNull())
    .execute();
  for (const t of ['directory_location', 'directory_offer', 'directory_contact', 'directory_procedure']) {
    await db.schema.createIndex(`${t}_org_idx`).on(t).column('organization_id').execute();
  }
}
