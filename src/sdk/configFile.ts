import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { parse as parseToml } from 'smol-toml';
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

export function parseConfigText(text: string, path: string): JsonObject {
  const ext = extname(path).toLowerCase();
  const parsers: Array<[string, (t: string) => unknown]> =
    ext === '.toml' ? [['TOML', parseTomlText]] : ext === '.json' ? [['JSON', JSON.parse]] : [['JSON', JSON.parse], ['TOML', parseTomlText]];
  const failures: string[] = [];
  for (const [name, parse] of parsers) {
    try {
      const value = parse(text);
      if (!isObject(value)) throw new Error('the top level must be a table/object');
      // TOML dates become Date objects; a JSON round trip makes the body plain data like a JSON file's.
      return JSON.parse(JSON.stringify(value)) as JsonObject;
    } catch (err) {
      failures.push(`${name}: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
    }
  }
  throw new ConfigFileError(`cannot parse config file ${path} (${failures.join('; ')})`, { code: 'config_file_invalid' });
}
