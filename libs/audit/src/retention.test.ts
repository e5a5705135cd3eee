import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { common } from '@lotse/contracts';
import { afterAll, describe, expect, it } from 'vitest';
import { expiresAt, expiryCutoff, loadRetentionPolicy, parsePeriod, retentionConfig, retentionRule } from './retention.js';

const { DataCategory } = common;

// One folder for the suite's policy files, removed afterwards (a folder per file was left behind in /tmp).
const dir = mkdtempSync(join(tmpdir(), 'lotse-retention-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

function policyFile(body: unknown): string {
  const file = join(dir, `retention-${++files}.json`);
  writeFileSync(file, JSON.stringify(body));
  return file;
}

const rule = { id: 'x', agencyType: 'foreign-office', record: 'newcomer_register', categories: ['IDENTITY'], period: 'P2Y', from: 'case_closed', basis: 'Art. 5(1)(e) GDPR' };

describe('retention policy', () => {
  it('the reviewed file has a rule for every agency type that holds personal data', () => {
    const rules = loadRetentionPolicy();
    expect(retentionRule(rules, 'foreign-office', 'newcomer_register').categories).toContain(DataCategory.DATA_CATEGORY_IDENTITY);
    expect(retentionRule(rules, 'migration-services', 'received_data').period.iso).toMatch(/^P/);
    expect(retentionRule(rules, 'lotsenhaus', 'routing_facts').categories).toContain(DataCategory.DATA_CATEGORY_AGE_GROUP);
  });

  it('counts periods in calendar terms', () => {
    const now = new Date('2026-11-21T12:00:00Z');
    expect(expiryCutoff(now, parsePeriod('P2Y')).toISOString()).toBe('2024-11-21T12:00:00.000Z');
    expect(expiryCutoff(now, parsePeriod('P1Y6M10D')).toISOString()).toBe('2025-05-11T12:00:00.000Z');
    expect(expiresAt(new Date('2024-02-29T00:00:00Z'), parsePeriod('P1Y')).toISOString()).toBe('2025-03-01T00:00:00.000Z');
  });

  it('refuses a broken file, naming the rule', () => {
    expect(() => parsePeriod('P')).toThrow();
    expect(() => parsePeriod('2 years')).toThrow(/not a period/);
    expect(() => loadRetentionPolicy(policyFile({ rules: [{ ...rule, period: 'two years' }] }))).toThrow(/rule 0 \(x\).*not a period/);
    expect(() => loadRetentionPolicy(policyFile({ rules: [{ ...rule, categories: ['SHOE_SIZE'] }] }))).toThrow(/unknown data category "SHOE_SIZE"/);
    expect(() => loadRetentionPolicy(policyFile({ rules: [rule, rule] }))).toThrow(/used twice/);
    expect(() => loadRetentionPolicy(policyFile({ rules: [{ ...rule, basis: '' }] }))).toThrow(/"basis"/);
    expect(() => retentionRule(loadRetentionPolicy(policyFile({ rules: [rule] })), 'lotsenhaus', 'routing_facts')).toThrow(/no rule for routing_facts/);
  });

  it('reads its interval from RETENTION_INTERVAL_MS (hourly by default, 0 = on demand only)', () => {
    expect(retentionConfig({}).intervalMs).toBe(3_600_000);
    expect(retentionConfig({ RETENTION_INTERVAL_MS: '0' }).intervalMs).toBe(0);
    expect(() => retentionConfig({ RETENTION_INTERVAL_MS: 'soon' })).toThrow(/RETENTION_INTERVAL_MS/);
  });
});
