import { sql, type Kysely } from 'kysely';

// Timeline steps as facts (a kind and structured fields), rendered to text when read: a
// withdrawal then erases the routing facts in hub_referral alone, and no stored text repeats
// them. Desk steps keep their text in `summary`. The hub's requests recorded before carry the
// municipality and age group in their text: they become facts (from their referral), and the
// text goes. Every other step recorded before stays readable as stored.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('timeline_entry')
    .addColumn('kind', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('facts', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .execute();
  await sql`alter table timeline_entry alter column summary set default ''`.execute(db);
  await sql`
    update timeline_entry set kind = 'closed-on-arrival', summary = ''
    where kind = '' and event_type = 'ReferralRequested' and summary = 'Referral requested under a consent already withdrawn; not routed'`.execute(db);
  await sql`
    update timeline_entry t
    set kind = 'requested', summary = '',
        facts = jsonb_build_object('referralType', r.type, 'purpose', r.purpose, 'by', case when r.sender_type = 'foreign-office' then '' else r.referrer_agency_id end)
    from hub_referral r
    where r.referral_id = t.referral_id and t.kind = '' and t.event_type = 'ReferralRequested' and t.agency_id = r.referrer_agency_id
      and t.summary ~ '^(Referral|Transfer) to .* requested'`.execute(db);
}
