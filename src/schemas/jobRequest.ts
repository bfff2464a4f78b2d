import { z } from 'zod';
import { MAX_LISTED_PROBLEMS, ValidationError, type FieldProblem } from '../shared/errors.js';
import { storableText } from './dbText.js';
import { MetadataObjectSchema } from './metadata.js';
import { storedJobMetadata, storedMetadataProblem } from './jobMetadata.js';
import { type JobConfig, JobConfigSchema } from './jobConfig.js';
import { unknownFieldMessage, unknownFieldProblems } from './unknownFields.js';

/**
 * Job creation bodies come in the shapes public clients send:
 *   {policy_optimization: {...}}                      the seed's form
 *   {prompt_learning: {...}}                          the legacy wrapper
 *   {algorithm: "mipro", config_body: {...}}          the older jobs API (config_body in either wrapper)
 *   {config_body | config: {...}, overrides, ...}     online sessions
 * This module unwraps them, applies dotted `overrides`, and validates with JobConfigSchema, reporting
 * every problem with its path in the body as the client sent it.
 */

const WRAPPERS = ['policy_optimization', 'prompt_learning'] as const;

/**
 * The body around the config. Closed like every wire object (see unknownFields.ts): a key that is
 * not listed here is a 422 with the nearest name. The containers are read by locateConfig.
 */
const JobName = z.string({ error: 'must be a string' }).trim().min(1, 'must not be empty').max(200, 'must be at most 200 characters');

export const JobEnvelopeSchema = z.object({
  policy_optimization: z.unknown().optional(),
  prompt_learning: z.unknown().optional(),
  config_body: z.unknown().optional(),
  config: z.unknown().optional(),
  /**
   * The older jobs API puts `algorithm` beside `config_body`. Checked wherever it is sent, as the
   * config's own: with a wrapped config, or a bare one naming its own algorithm, it used to be read by
   * nothing, so `"algorithm": "gepa"` created a MIPRO job (SPEC.md: never silently accepted).
   */
  algorithm: z.literal('mipro', { error: 'must be "mipro" (the only supported algorithm)' }).optional(),
  /**
   * Capped as a reward's is (job lists return it for up to 1,000 jobs at a time), but on what is
   * stored, which the server changes first: parseJobRequest checks it.
   */
  metadata: MetadataObjectSchema.optional(),
  // Stored as text in its own column (not JSON): a lone surrogate came back as three U+FFFD from
  // SQLite and one from PostgreSQL, so it is refused as in every stored text (dbText.ts).
  correlation_id: storableText(z.string().max(200)).optional(),
  overrides: z.record(z.string(), z.unknown()).optional(),
  /** A label for people (CLI tables, dashboard); `system.name` is the public SDK's spelling. */
  name: JobName.optional(),
  // Sent by public clients, accepted and not used (docs/API.md lists them): jobs always start and
  // the kind is implied by the route.
  auto_start: z.boolean({ error: 'must be true or false' }).optional(),
  /** The session id is the system id, the proxy URL's credential: the server makes it (128 random bits). */
  session_id: z.undefined({ error: 'cannot be chosen by the client: miprox makes session ids (a session id is also the proxy URL\'s credential); omit it and read session_id from the response' }).optional(),
  agent_id: z.string().max(200).optional(),
  kind: z.string().max(100).optional(),
  technique: z.string().max(100).optional(),
  system: z.object({ name: JobName.optional() }).optional(),
  /** Client-side file references: the client must send the file's contents (see parseJobRequest). */
  config_name: z.string().optional(),
  config_path: z.string().optional(),
});

/** What the job's stored metadata is made of (storedJobMetadata). */
const StoredPartsSchema = JobEnvelopeSchema.pick({ metadata: true, name: true, system: true });
/**
 * Read apart from the rest of the envelope too: applied only when the whole envelope was valid, a
 * wrong `correlation_id` beside them left the config checked without its overrides, so a field an
 * override supplies was reported missing and the overrides' own problems went unlisted.
 */
const OverridesPartSchema = JobEnvelopeSchema.pick({ overrides: true });

export interface ParsedJobRequest {
  config: JobConfig;
  /** The metadata to store: the client's without its `mipro_` keys, with the name (storedJobMetadata). */
  metadata: Record<string, unknown>;
  correlationId: string | null;
  /** `name`, else `system.name`; null without either. */
  name: string | null;
  /** Where a config path (`policy.model`) sits in the body as the client sent it. */
  pathInBody(configPath: string): string;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Finds the config object and the path prefix under which it sits in the body. */
function locateConfig(body: Record<string, unknown>, problems: FieldProblem[]): { config: unknown; prefix: string } {
  // Two wrappers side by side would leave one of them silently ignored.
  const refuseBoth = (node: Record<string, unknown>, at: string): void => {
    if (WRAPPERS.every((w) => node[w] !== undefined)) {
      problems.push({ path: at ? `${at}.prompt_learning` : 'prompt_learning', message: 'send either policy_optimization or prompt_learning, not both' });
    }
  };
  for (const container of ['config_body', 'config'] as const) {
    const inner = body[container];
    if (inner === undefined) continue;
    if (!isObject(inner)) return { config: inner, prefix: container };
    refuseBoth(inner, container);
    const wrapper = WRAPPERS.find((w) => inner[w] !== undefined);
    if (wrapper !== undefined) {
      // Keys beside the wrapper would be silently ignored.
      for (const key of Object.keys(inner)) {
        if (!(WRAPPERS as readonly string[]).includes(key)) problems.push({ path: `${container}.${key}`, message: unknownFieldMessage(key, WRAPPERS) });
      }
      return { config: inner[wrapper], prefix: `${container}.${wrapper}` };
    }
    // A bare config in config_body: the top-level `algorithm` stands for the config's when it has
    // none (its value is checked at `algorithm`, where it was sent, by JobEnvelopeSchema).
    const algorithm = inner.algorithm === undefined && body.algorithm !== undefined ? { algorithm: 'mipro' } : {};
    return { config: { ...algorithm, ...inner }, prefix: container };
  }
  refuseBoth(body, '');
  for (const w of WRAPPERS) if (body[w] !== undefined) return { config: body[w], prefix: w };
  return { config: undefined, prefix: 'policy_optimization' };
}

/**
 * A check beyond the schema on the config as sent (overrides applied, not yet validated): it reports
 * problems with config-relative paths (`policy.inference_url`), listed with the schema's own.
 */
export type ConfigCheck = (config: Record<string, unknown>) => FieldProblem[];

/**
 * Sets `a.b.c` on a deep copy; a leading wrapper name (`prompt_learning.policy.model`) is dropped.
 * `overridden` maps each config path set to the override key that set it, so a problem with the
 * value is reported under `overrides.<key>`, where the client wrote it.
 */
function applyOverrides(
  config: Record<string, unknown>,
  overrides: Record<string, unknown>,
  problems: FieldProblem[],
  overridden: Map<string, string>,
): Record<string, unknown> {
  const out = structuredClone(config);
  for (const [dotted, value] of Object.entries(overrides)) {
    const parts = dotted.split('.').filter((p) => p.length > 0);
    if (parts[0] && (WRAPPERS as readonly string[]).includes(parts[0])) parts.shift();
    if (parts.length === 0 || parts.some((p) => p === '__proto__' || p === 'constructor' || p === 'prototype')) {
      problems.push({ path: `overrides.${dotted}`, message: 'is not a valid config path' });
      continue;
    }
    let node: Record<string, unknown> = out;
    let settable = true;
    // Objects made on the way, removed again if the path turns out unusable: a refused override leaves
    // no trace for the schema to report as a problem of the config body.
    const made: Array<[Record<string, unknown>, string]> = [];
    for (const [i, key] of parts.slice(0, -1).entries()) {
      // Own keys only: `policy.toString.x` found Object.prototype's toString and was refused as "not
      // an object" although the config has no such field; made here, the schema names it unknown.
      const next = Object.hasOwn(node, key) ? node[key] : undefined;
      const index = parts[i + 1]!;
      if (next === undefined) {
        // An index into nothing would make an object where the config wants a list.
        if (/^\d+$/.test(index)) {
          problems.push({ path: `overrides.${dotted}`, message: `cannot set element ${index} of ${key}, which is not in the config: set ${key} whole` });
          settable = false;
          break;
        }
        node[key] = {};
        made.push([node, key]);
      } else if (Array.isArray(next)) {
        // A list is entered by the index of an element it has (`modules.0.template`).
        if (!/^(0|[1-9]\d*)$/.test(index) || Number(index) >= next.length) {
          const range = next.length === 0 ? 'it is empty: set it whole' : `use an index from 0 to ${next.length - 1}`;
          problems.push({ path: `overrides.${dotted}`, message: `cannot set ${index} inside ${key}, a list of ${next.length}: ${range}` });
          settable = false;
          break;
        }
      } else if (!isObject(next)) {
        problems.push({ path: `overrides.${dotted}`, message: `cannot set a field inside ${key}, which is not an object` });
        settable = false;
        break;
      }
      node = node[key] as Record<string, unknown>;
    }
    if (!settable) {
      for (const [parent, key] of made.reverse()) delete parent[key];
      continue;
    }
    node[parts[parts.length - 1]!] = value;
    overridden.set(parts.join('.'), dotted);
  }
  return out;
}

/**
 * A zod type name as this API's messages say it: `int` (zod's `.int()`) is "an integer", not "an int";
 * `record` (zod's map of keys to values: metadata, overrides, feedback_by_module, wildcards) and
 * `tuple` are JSON's object and array, the words a client reading the 422 knows.
 */
function typeName(type: string): string {
  if (type === 'int') return 'an integer';
  if (type === 'boolean') return 'true or false';
  if (type === 'record') return 'an object';
  if (type === 'tuple') return 'an array';
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

/**
 * zod's default size and value messages in this API's words, for a check written without a message
 * of its own (`z.string().min(1)` said "Too small: expected string to have >=1 characters"). A
 * schema's own message is kept: only zod's defaults, which start so, are replaced.
 */
function defaultMessage(issue: z.core.$ZodIssue): string | undefined {
  if ((issue.code === 'too_small' || issue.code === 'too_big') && /^Too (small|big):/.test(issue.message)) {
    const small = issue.code === 'too_small';
    const bound = Number(small ? issue.minimum : issue.maximum);
    const strict = issue.inclusive === false;
    if (issue.origin === 'string' || issue.origin === 'array') {
      if (small && bound === 1 && !strict) return 'must not be empty';
      const unit = issue.origin === 'string' ? 'characters' : 'items';
      const limit = strict ? (small ? bound + 1 : bound - 1) : bound;
      return `must have at ${small ? 'least' : 'most'} ${limit} ${unit}`;
    }
    if (issue.origin === 'number' || issue.origin === 'int' || issue.origin === 'bigint') {
      return `must be ${small ? (strict ? '>' : '>=') : (strict ? '<' : '<=')} ${bound}`;
    }
  }
  if (issue.code === 'invalid_value' && /^Invalid (option|input): expected/.test(issue.message)) {
    const values = issue.values.map((v) => (typeof v === 'bigint' ? String(v) : JSON.stringify(v)));
    return values.length === 1 ? `must be ${values[0]}` : `must be one of: ${values.join(', ')}`;
  }
  return undefined;
}

/** The first `limit` issues as problems (mapping a million issues is a cost of its own). */
export function zodProblems(error: z.ZodError, prefix: string, limit = MAX_LISTED_PROBLEMS): FieldProblem[] {
  // Paths whose value has the wrong type. zod still runs the checks meant for the right type on it
  // (a string's min(1) on an array `[]` says "must not be empty"): one problem per such field, its type.
  const wrongTyped = new Set<string>();
  return error.issues.slice(0, limit).flatMap((issue) => {
    const pathOf = (...more: string[]) => [prefix, ...issue.path.map(String), ...more].filter((p) => p.length > 0).join('.');
    const at = issue.path.map(String).join('\u0000');
    if (wrongTyped.has(at)) return [];
    if (issue.code === 'invalid_type') wrongTyped.add(at);
    // A closed object's unknown keys, in zod's own words: one problem per key, at the key (a schema's
    // own message, such as mipro's hint, is kept as it is).
    if (issue.code === 'unrecognized_keys' && issue.message.startsWith('Unrecognized key')) {
      return issue.keys.map((key) => ({ path: pathOf(key), message: 'unknown field' }));
    }
    const missing = issue.code === 'invalid_type' && /received undefined/.test(issue.message);
    // A record's bad key: zod says only "Invalid key in record"; the key schema's own message says why.
    const keyReason = issue.code === 'invalid_key' ? issue.issues[0]?.message : undefined;
    // zod's default type message ("Invalid input: expected number, received string") in this API's words.
    const received = /received (\w+)/.exec(issue.message)?.[1] ?? 'another type';
    const wrongType = issue.code === 'invalid_type' && issue.message.startsWith('Invalid input: expected')
      ? `must be ${typeName(issue.expected)}${issue.expected === 'int' && received === 'number' ? '' : `, got ${received}`}`
      : undefined;
    return [{ path: pathOf(), message: missing ? 'is required' : keyReason ?? wrongType ?? defaultMessage(issue) ?? issue.message }];
  });
}

/**
 * No config in the body. Public clients may send only `config_name` or `config_path` (a file on the
 * client's disk, resolved by the client); the server cannot read either, so say what to send instead.
 */
function missingConfigProblem(body: Record<string, unknown>): FieldProblem {
  for (const ref of ['config_path', 'config_name'] as const) {
    if (body[ref] !== undefined) {
      return {
        path: ref,
        message: `names a file on the client's side, which miprox cannot read: send its contents as config_body ({"policy_optimization": {...}}); the SDK's configPath option does this`,
      };
    }
  }
  return { path: 'policy_optimization', message: 'is required (the job configuration; prompt_learning and config_body are also accepted)' };
}

export function parseJobRequest(body: unknown, checkConfig?: ConfigCheck): ParsedJobRequest {
  if (!isObject(body)) throw new ValidationError('request body must be a JSON object', [{ path: '', message: 'must be a JSON object' }]);
  let problems: FieldProblem[] = [];
  // Issues beyond the listed ones, still counted in the error's message.
  let unlisted = 0;
  const envelope = JobEnvelopeSchema.safeParse(body);
  problems.push(...unknownFieldProblems(JobEnvelopeSchema, body));
  if (!envelope.success) {
    problems = problems.concat(zodProblems(envelope.error, ''));
    unlisted += envelope.error.issues.length - problems.length;
  }
  // Read apart from the rest of the envelope, so an oversized metadata is listed beside its other problems.
  const stored = StoredPartsSchema.safeParse(body);
  const name = stored.success ? stored.data.name ?? stored.data.system?.name ?? null : null;
  const metadata = stored.success ? storedJobMetadata(stored.data.metadata ?? {}, name) : {};
  const oversized = stored.success ? storedMetadataProblem(metadata) : null;
  if (oversized) problems.push(oversized);
  const { config: rawConfig, prefix } = locateConfig(body, problems);
  if (rawConfig === undefined) {
    problems.push(missingConfigProblem(body));
    throw new ValidationError('invalid job configuration', problems, problems.length + unlisted);
  }
  if (!isObject(rawConfig)) {
    problems.push({ path: prefix, message: 'must be an object' });
    throw new ValidationError('invalid job configuration', problems, problems.length + unlisted);
  }
  const overridesPart = OverridesPartSchema.safeParse(body);
  const overrides = overridesPart.success ? overridesPart.data.overrides : undefined;
  const overridden = new Map<string, string>();
  const withOverrides = overrides ? applyOverrides(rawConfig, overrides, problems, overridden) : rawConfig;
  const parsed = JobConfigSchema.safeParse(withOverrides);
  const configProblems = [...unknownFieldProblems(JobConfigSchema, withOverrides), ...(parsed.success ? [] : zodProblems(parsed.error, ''))];
  if (!parsed.success) unlisted += Math.max(0, parsed.error.issues.length - configProblems.length);
  // One problem per field: a value the schema already refuses needs no second opinion.
  const extra = (checkConfig?.(withOverrides) ?? []).filter((p) => !configProblems.some((c) => c.path === p.path));
  const bodyPath = (configPath: string): string => {
    for (const [path, dotted] of overridden) {
      // Where in the value the client wrote: `overrides.<key>` and the rest of the path inside it.
      if (configPath === path || configPath.startsWith(`${path}.`)) return `overrides.${dotted}${configPath.slice(path.length)}`;
      // A problem of what holds the overridden value (val_seeds overlapping the pool after val_seeds.0 was set).
      if (path.startsWith(`${configPath}.`)) return `overrides.${dotted}`;
    }
    return prefix ? `${prefix}.${configPath}` : configPath;
  };
  // concat, not push(...): spreading a huge list as arguments overflows the stack (RangeError).
  problems = problems.concat(configProblems.concat(extra).map((p) => ({ ...p, path: bodyPath(p.path) })));
  if (problems.length > 0 || !parsed.success || !envelope.success) {
    throw new ValidationError('invalid job configuration', problems, problems.length + unlisted);
  }
  return { config: parsed.data, metadata, correlationId: envelope.data.correlation_id ?? null, name, pathInBody: bodyPath };
}
