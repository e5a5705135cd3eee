// The official HSDS 3.0 JSON schemas (Open Referral, CC BY-SA 4.0), read where they are kept —
// shared/hsds-3.0 beside the project, never copied into it — and compiled with ajv's 2020-12
// dialect in strict mode, with the spec's own keywords registered.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

/**
 * HSDS_SCHEMA_DIR if set; else shared/hsds-3.0 beside the project root (a clone with shared/
 * next to it, as CI has it), or /work/shared/hsds-3.0 (the workplace's copy). Throws, naming
 * every place it looked, when none has the schemas: a missing spec fails the test, never skips it.
 */
export function hsdsSchemaDir(): string {
  const candidates = process.env.HSDS_SCHEMA_DIR ? [resolve(process.env.HSDS_SCHEMA_DIR)] : [resolve(repoRoot, '../shared/hsds-3.0'), '/work/shared/hsds-3.0'];
  const found = candidates.find((dir) => existsSync(join(dir, 'schema', 'service.json')));
  if (!found) throw new Error(`The HSDS 3.0 schemas are not there: looked for schema/service.json in ${candidates.join(', ')}. Set HSDS_SCHEMA_DIR to the folder with schema/ and examples/.`);
  return found;
}

// The spec's own annotations beside JSON Schema's: column names and data-package hints for the
// tabular form, uniqueness constraints, examples, and whether a field is in the core profile.
const hsdsKeywords = ['name', 'path', 'datapackage_metadata', 'datapackage_type', 'constraints', 'example', 'core', 'tabular_required', 'order'];

export interface HsdsValidator {
  /** Validates against schema/<name>.json or, with compiled/…, schema/compiled/<name>.json; returns ajv's errors. */
  errors(schema: string, value: unknown): ErrorObject[];
  schemas: string[];
  dir: string;
}

export function hsdsValidator(): HsdsValidator {
  const dir = hsdsSchemaDir();
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  const addFormats = (addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ?? addFormatsModule;
  (addFormats as unknown as (a: Ajv2020) => void)(ajv);
  // HSDS writes "datetime" once (service.last_modified's siblings use date-time): the same check.
  ajv.addFormat('datetime', /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/);
  for (const keyword of hsdsKeywords) ajv.addKeyword({ keyword, schemaType: ['string', 'object', 'array', 'boolean', 'number'] });
  const schemas: string[] = [];
  const add = (folder: string, prefix: string) => {
    for (const file of readdirSync(join(dir, folder)).filter((f) => f.endsWith('.json') && f !== 'openapi.json')) {
      const schema = JSON.parse(readFileSync(join(dir, folder, file), 'utf8'));
      // Relative $refs ("phone.json") resolve against this id, as they do in the spec's folder.
      // compiled/tabular.json refers to the per-object schemas ("funding.json") one folder up:
      // it gets an id there, so its references mean what the spec means.
      const refs = [...JSON.stringify(schema).matchAll(/"\$ref":\s*"([^"#]+)/g)].map((m) => m[1]!);
      const base = refs.some((r) => !existsSync(join(dir, folder, r))) ? 'schema' : folder;
      ajv.addSchema({ ...schema, $id: `https://hsds.invalid/${base}/${prefix.replace('/', '-')}${file}` }, `${prefix}${file.replace(/\.json$/, '')}`);
      schemas.push(`${prefix}${file.replace(/\.json$/, '')}`);
    }
  };
  add('schema', '');
  add('schema/compiled', 'compiled/');
  const compiled = new Map<string, ValidateFunction>();
  return {
    dir,
    schemas,
    errors(schema, value) {
      let validate = compiled.get(schema);
      if (!validate) {
        validate = ajv.getSchema(schema);
        if (!validate) throw new Error(`no HSDS schema ${schema}`);
        compiled.set(schema, validate);
      }
      return validate(value) ? [] : [...(validate.errors ?? [])];
    },
  };
}

/** The HSDS Page wrapper of openapi.json, with its contents checked against `item`. */
export function pageErrors(v: HsdsValidator, item: string, value: any): string[] {
  const out: string[] = [];
  for (const key of ['total_items', 'total_pages', 'page_number', 'size']) if (!Number.isInteger(value?.[key])) out.push(`${key}: must be an integer`);
  for (const key of ['first_page', 'last_page', 'empty']) if (typeof value?.[key] !== 'boolean') out.push(`${key}: must be a boolean`);
  if (!Array.isArray(value?.contents)) out.push('contents: must be an array');
  else value.contents.forEach((c: unknown, i: number) => out.push(...v.errors(item, c).map((e) => `contents[${i}]${e.instancePath} ${e.message}`)));
  return out;
}
