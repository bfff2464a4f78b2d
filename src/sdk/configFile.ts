import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { findProblem } from './body.js';
import { ConfigFileError } from './errors.js';

export type JsonObject = Record<string, unknown>;

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Reads a job config from disk: `.toml` as TOML, `.json` as JSON, anything else tried as JSON then
 * TOML. The file holds what `config_body` holds, e.g. a `[policy_optimization]` (or
 * `[prompt_learning]`) table; the server validates it and names every bad field.
 */
export async function loadConfigFile(path: string): Promise<JsonObject> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new ConfigFileError(`cannot read config file ${path}: ${reason}`, { code: 'config_file_unreadable', cause: err });
  }
  return parseConfigText(text, path);
}

/**
 * TOML with its line breaks read as `\n`. A file saved with Windows line endings kept `\r\n` inside
 * its multi-line strings (the templates), so the app's calls, whose texts say `\n`, matched no
 * module and passed through unoptimized. TOML lets a parser normalize the newlines of multi-line
 * strings; a `\r` the file writes as an escape is kept. (JSON strings cannot hold a raw line break.)
 */
const parseTomlText = (text: string): unknown => parseToml(text.replace(/\r\n/g, '\n'));

/**
 * `line 5, column 13: ` for a syntax error, from smol-toml's line and column or JSON.parse's
 * "at position N". The first line of either message names no place (smol-toml's code frame follows
 * on later lines), so a long file of templates said "invalid value" with nowhere to look.
 */
function whereText(err: unknown, text: string): string {
  if (!(err instanceof Error)) return '';
  const { line, column } = err as { line?: unknown; column?: unknown };
  if (typeof line === 'number' && typeof column === 'number') return `line ${line}, column ${column}: `;
  const at = / at position (\d+)/.exec(err.message);
  if (!at) return '';
  const before = text.slice(0, Number(at[1])).split('\n');
  return `line ${before.length}, column ${before.at(-1)!.length + 1}: `;
}

export function parseConfigText(text: string, path: string): JsonObject {
  const ext = extname(path).toLowerCase();
  const parsers: Array<[string, (t: string) => unknown]> =
    ext === '.toml' ? [['TOML', parseTomlText]] : ext === '.json' ? [['JSON', JSON.parse]] : [['JSON', JSON.parse], ['TOML', parseTomlText]];
  const failures: string[] = [];
  for (const [name, parse] of parsers) {
    try {
      const value = parse(text);
      if (!isObject(value)) throw new Error('the top level must be a table/object');
      // TOML has nan and inf; the JSON round trip below would make them null, which the server may
      // take as "not set" (a policy temperature of null is "the provider's default"): a silent change.
      const unsendable = findProblem(value);
      if (unsendable) throw new ConfigFileError(`cannot use config file ${path}`, { code: 'config_file_invalid', details: [unsendable] });
      // TOML dates become Date objects; a JSON round trip makes the body plain data like a JSON file's.
      return JSON.parse(JSON.stringify(value)) as JsonObject;
    } catch (err) {
      if (err instanceof ConfigFileError) throw err;
      failures.push(`${name}: ${whereText(err, text)}${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
    }
  }
  throw new ConfigFileError(`cannot parse config file ${path} (${failures.join('; ')})`, { code: 'config_file_invalid' });
}
