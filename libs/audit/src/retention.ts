import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { integer, optionalString, type Env } from '@lotse/config';
import { common } from '@lotse/contracts';
import type { Logger } from '@lotse/logger';

// Retention: how long each agency keeps which categories, from one reviewed file
// (policy/retention.json), and a job that deletes what has expired. What counts as expired for a
// record is the service's rule (its own tables); the period and its basis come from the file.

/** The reviewed policy file in the repository. */
export const defaultRetentionPolicyFile = fileURLToPath(new URL('../../../policy/retention.json', import.meta.url));

export interface RetentionPeriod {
  years: number;
  months: number;
  days: number;
  /** As written, e.g. "P2Y". */
  iso: string;
}

export interface RetentionRule {
  id: string;
  agencyType: string;
  /** The kind of record it applies to ("newcomer_register", "received_data", "routing_facts"). */
  record: string;
  categories: common.DataCategory[];
  items: string[];
  period: RetentionPeriod;
  /** The event the period counts from, as a code ("case_closed", "fetched"). */
  from: string;
  basis: string;
}

export class RetentionPolicyError extends Error {
  override name = 'RetentionPolicyError';
}

const periodPattern = /^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)D)?$/;

export function parsePeriod(iso: string): RetentionPeriod {
  const match = periodPattern.exec(iso);
  if (!match || iso === 'P') throw new RetentionPolicyError(`"${iso}" is not a period like P2Y, P6M or P90D`);
  return { years: Number(match[1] ?? 0), months: Number(match[2] ?? 0), days: Number(match[3] ?? 0), iso };
}

/** `date` moved by the period (sign 1 forward, -1 back), in UTC calendar terms. */
export function shiftByPeriod(date: Date, period: RetentionPeriod, sign: 1 | -1): Date {
  const d = new Date(date.getTime());
  d.setUTCFullYear(d.getUTCFullYear() + sign * period.years, d.getUTCMonth() + sign * period.months, d.getUTCDate() + sign * period.days);
  return d;
}

/** The newest start that has expired by `now`: records that started before it are due. */
export const expiryCutoff = (now: Date, period: RetentionPeriod) => shiftByPeriod(now, period, -1);
/** When a record that started at `since` expires. */
export const expiresAt = (since: Date, period: RetentionPeriod) => shiftByPeriod(since, period, 1);

/** Reads and checks the policy file; a broken file stops start-up naming the rule. */
export function loadRetentionPolicy(file = defaultRetentionPolicyFile): RetentionRule[] {
  let raw: any;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new RetentionPolicyError(`retention policy ${file}: ${(error as Error).message}`);
  }
  if (!Array.isArray(raw?.rules)) throw new RetentionPolicyError(`retention policy ${file}: "rules" must be a list`);
  const seen = new Set<string>();
  return raw.rules.map((r: any, i: number): RetentionRule => {
    const where = `retention policy ${file}: rule ${i}${typeof r?.id === 'string' ? ` (${r.id})` : ''}`;
    const text = (name: string) => {
      if (typeof r?.[name] !== 'string' || !r[name].trim()) throw new RetentionPolicyError(`${where}: "${name}" must be a non-empty string`);
      return r[name].trim() as string;
    };
    const id = text('id');
    if (seen.has(id)) throw new RetentionPolicyError(`${where}: the id is used twice`);
    seen.add(id);
    const categories = (Array.isArray(r.categories) ? r.categories : [null]).map((name: unknown) => {
      const value = typeof name === 'string' ? (common.DataCategory as Record<string, unknown>)[`DATA_CATEGORY_${name}`] : undefined;
      if (typeof value !== 'number' || value === 0) throw new RetentionPolicyError(`${where}: unknown data category ${JSON.stringify(name)}`);
      return value as common.DataCategory;
    });
    let period: RetentionPeriod;
    try {
      period = parsePeriod(text('period'));
    } catch (error) {
      throw new RetentionPolicyError(`${where}: ${(error as Error).message}`);
    }
    return {
      id,
      agencyType: text('agencyType'),
      record: text('record'),
      categories,
      items: Array.isArray(r.items) ? r.items.map(String) : [],
      period,
      from: text('from'),
      basis: text('basis'),
    };
  });
}

/** The rule for one kind of record at one agency type; start-up fails when the file has none. */
export function retentionRule(rules: readonly RetentionRule[], agencyType: string, record: string): RetentionRule {
  const rule = rules.find((r) => r.agencyType === agencyType && r.record === record);
  if (!rule) throw new RetentionPolicyError(`the retention policy has no rule for ${record} at ${agencyType}`);
  return rule;
}

/** The legal basis an audit entry of a retention deletion names. */
export const retentionBasis = (rule: RetentionRule) => `retention: ${rule.id}`;

export interface RetentionConfig {
  /** 0 = never on a schedule (only RunRetention). */
  intervalMs: number;
  policyFile: string;
}

export function retentionConfig(env: Env): RetentionConfig {
  return {
    intervalMs: integer(env, 'RETENTION_INTERVAL_MS', 3_600_000, { min: 0 }),
    policyFile: optionalString(env, 'RETENTION_POLICY_FILE', defaultRetentionPolicyFile)!,
  };
}

export interface RetentionResult {
  rule: string;
  deleted: number;
}

export interface RetentionJob {
  /** Runs now (after a run already under way); resolves with what it deleted. */
  runOnce(): Promise<RetentionResult[]>;
  stop(): Promise<void>;
}

/**
 * Runs `run` every intervalMs (the first time after at most a minute, so a deployment that
 * restarts often still gets there) and on demand; never two runs at once. A failed run is logged
 * and tried again at the next interval.
 */
export function startRetentionJob(options: { intervalMs: number; logger: Logger; run: () => Promise<RetentionResult[]> }): RetentionJob {
  let chain: Promise<unknown> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  const runOnce = () => {
    const next = chain.then(async () => {
      const results = await options.run();
      const deleted = results.reduce((n, r) => n + r.deleted, 0);
      if (deleted > 0) options.logger.info({ retention: results }, 'retention: expired personal data deleted');
      return results;
    });
    chain = next.catch(() => undefined);
    return next;
  };

  const schedule = (delay: number) => {
    if (stopped || options.intervalMs <= 0) return;
    timer = setTimeout(() => {
      runOnce()
        .catch((error) => options.logger.error({ err: error }, 'retention run failed'))
        .finally(() => schedule(options.intervalMs));
    }, delay);
    timer.unref();
  };
  schedule(Math.min(options.intervalMs, 60_000));

  return {
    runOnce,
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await chain;
    },
  };
}
