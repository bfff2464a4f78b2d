import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { describeDatabase, loadConfig } from '../../src/config/config.js';
import { ConfigError } from '../../src/shared/errors.js';

describe('loadConfig', () => {
  it('has working defaults', () => {
    const c = loadConfig({ HOME: '/home/someone' });
    expect(c).toMatchObject({ port: 8700, host: '127.0.0.1', database: { kind: 'sqlite', path: '/home/someone/.miprox/miprox.db' }, proxyRequireKey: false });
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('puts the default database in one fixed place, not under the current directory', () => {
    const c = loadConfig({ HOME: '/home/someone' });
    expect(describeDatabase(c.database)).toBe('sqlite /home/someone/.miprox/miprox.db');
    // A relative path given on purpose is resolved once, so what is printed is what is opened.
    expect(loadConfig({ DATABASE_URL: 'sqlite:rel/x.db' }).database).toEqual({ kind: 'sqlite', path: join(process.cwd(), 'rel/x.db') });
    expect(describeDatabase(loadConfig({ DATABASE_URL: 'postgres://u:secret@h:5432/db', DATABASE_SCHEMA: 's1' }).database)).toBe('postgres://u@h:5432/db (schema s1)');
  });

  it('never prints a PostgreSQL password given as the URL\'s password parameter', () => {
    // The PostgreSQL client reads `?password=` as the password (pg-connection-string): `serve`,
    // `migrate` and `keys` print the database they use, and their errors name it.
    const shown = describeDatabase(loadConfig({ DATABASE_URL: 'postgres://u@h:5432/db?sslmode=require&password=s3cret%23x&application_name=m', DATABASE_SCHEMA: 's1' }).database);
    expect(shown).not.toContain('s3cret');
    expect(shown).toBe('postgres://u@h:5432/db?sslmode=require&application_name=m (schema s1)');
  });

  it("never prints libpq's sslpassword or another parameter named like a secret", () => {
    const url = 'postgres://u@h:5432/db?sslmode=verify-full&sslpassword=keypass-1&PGPASSWORD=pw-2&auth_token=tok-3&application_name=m';
    const shown = describeDatabase(loadConfig({ DATABASE_URL: url, DATABASE_SCHEMA: 's1' }).database);
    for (const secret of ['keypass-1', 'pw-2', 'tok-3']) expect(shown).not.toContain(secret);
    expect(shown).toBe('postgres://u@h:5432/db?sslmode=verify-full&application_name=m (schema s1)');
  });

  it('selects PostgreSQL from a postgres:// URL', () => {
    expect(loadConfig({ DATABASE_URL: 'postgres://u@h:5432/db' }).database).toEqual({ kind: 'postgres', url: 'postgres://u@h:5432/db', schema: 'public' });
    expect(loadConfig({ DATABASE_URL: 'sqlite:/tmp/a.db' }).database).toEqual({ kind: 'sqlite', path: '/tmp/a.db' });
  });

  it('reports every bad variable at once', () => {
    try {
      loadConfig({ PORT: '-1', PUBLIC_URL: 'not a url', MIPROX_API_KEY: 'short', UPSTREAM_TIMEOUT_MS: 'soon' });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      const paths = (e as ConfigError).details.map((d) => d.path).sort();
      expect(paths).toEqual(['MIPROX_API_KEY', 'PORT', 'PUBLIC_URL', 'UPSTREAM_TIMEOUT_MS']);
    }
  });

  it('treats empty values as unset', () => {
    expect(loadConfig({ PORT: '', PUBLIC_URL: '' }).port).toBe(8700);
  });
});

/**
 * PUBLIC_URL is the base of every proxy URL handed out (`${PUBLIC_URL}/api/mipro/v1/sys_...`): it
 * accepted any URL, so a typo or a query string started the server and every job view then named
 * a proxy URL no client can use (or carried the URL's password to every client).
 */
describe('PUBLIC_URL', () => {
  const problem = (value: string): string => {
    try {
      loadConfig({ PUBLIC_URL: value });
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      const details = (e as ConfigError).details;
      expect(details.map((d) => d.path)).toEqual(['PUBLIC_URL']);
      return details[0]!.message;
    }
    return 'accepted';
  };

  it('takes an http(s) origin with an optional path prefix, without its trailing slash', () => {
    expect(loadConfig({ PUBLIC_URL: 'https://miprox.example.com' }).publicUrl).toBe('https://miprox.example.com');
    expect(loadConfig({ PUBLIC_URL: 'https://miprox.example.com/' }).publicUrl).toBe('https://miprox.example.com');
    expect(loadConfig({ PUBLIC_URL: 'http://10.0.0.1:8080/miprox/' }).publicUrl).toBe('http://10.0.0.1:8080/miprox');
    expect(loadConfig({ PUBLIC_URL: 'http://[::1]:8700' }).publicUrl).toBe('http://[::1]:8700');
  });

  it('refuses what would make the handed-out proxy URLs unusable, saying why', () => {
    expect(problem('https://miprox.example.com/?tenant=a')).toMatch(/query or fragment/);
    expect(problem('https://miprox.example.com/#x')).toMatch(/query or fragment/);
    expect(problem('http:/miprox.example.com')).toMatch(/two slashes/);
    expect(problem('ftp://miprox.example.com')).toMatch(/http:\/\/ or https:\/\//);
    expect(problem('mailto:ops@example.com')).toMatch(/http:\/\/ or https:\/\//);
    expect(problem('miprox.example.com')).toMatch(/http\(s\) URL/);
  });

  it('refuses a user name or password without repeating it', () => {
    const message = problem('https://ops:hunter2secret@miprox.example.com');
    expect(message).toMatch(/user name or password/);
    expect(message).not.toContain('hunter2secret');
  });
});

/** OPENAI_BASE_URL=ftp://... started the server, then every call of an openai job was a 500 (undici refuses the scheme). */
describe('provider base URLs', () => {
  it('take http(s) URLs, a path and a query included', () => {
    const c = loadConfig({ OPENAI_BASE_URL: 'http://127.0.0.1:8000/v1', ANTHROPIC_BASE_URL: 'https://proxy.example.com/anthropic?tenant=a' });
    expect(c.providers.openaiBaseUrl).toBe('http://127.0.0.1:8000/v1');
    expect(c.providers.anthropicBaseUrl).toBe('https://proxy.example.com/anthropic?tenant=a');
  });

  it('refuse any other scheme at start, naming the variable', () => {
    try {
      loadConfig({ OPENAI_BASE_URL: 'ftp://api.example.com/v1', ANTHROPIC_BASE_URL: 'mailto:ops@example.com' });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      expect((e as ConfigError).details).toEqual([
        { path: 'OPENAI_BASE_URL', message: 'must be an http:// or https:// URL' },
        { path: 'ANTHROPIC_BASE_URL', message: 'must be an http:// or https:// URL' },
      ]);
    }
  });

  /**
   * A value that is no URL at all (`api.openai.com/v1`, a typo) stopped the start with a bare
   * "miprox: Invalid URL": the scheme check ran `new URL()` on it after z.url() had refused it, and
   * the TypeError escaped the schema, so the message named no variable and hid every other bad one.
   */
  it('refuse a value that is no URL, naming the variable beside the other bad ones', () => {
    try {
      loadConfig({ OPENAI_BASE_URL: 'api.openai.com/v1', ANTHROPIC_BASE_URL: 'nope', PORT: 'x' });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      const details = (e as ConfigError).details;
      expect(details.map((d) => d.path).sort()).toEqual(['ANTHROPIC_BASE_URL', 'OPENAI_BASE_URL', 'PORT']);
      expect(details.find((d) => d.path === 'OPENAI_BASE_URL')?.message).toBe('must be an http:// or https:// URL');
    }
  });
});

/** A password with an unencoded # or / stopped serve, keys and migrate with a bare "Invalid URL" from the PostgreSQL client. */
describe('DATABASE_URL for PostgreSQL', () => {
  const problems = (url: string) => {
    try {
      loadConfig({ DATABASE_URL: url });
      return [];
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      return (e as ConfigError).details;
    }
  };

  it('refuses a URL the client cannot read, naming the variable and the fix but not the password', () => {
    for (const url of ['postgres://miprox:s3cr#et@db.internal:5432/miprox', 'postgresql://miprox:s3cr/et@db.internal/miprox']) {
      const details = problems(url);
      expect(details.map((d) => d.path)).toEqual(['DATABASE_URL']);
      expect(details[0]!.message).toMatch(/percent-encode #, \/, \? and @/);
      expect(JSON.stringify(details)).not.toContain('s3cr');
    }
  });

  it('takes what the client reads: encoded passwords, spaces, a socket directory, query options', () => {
    for (const url of [
      'postgres://miprox:s3cr%23et@db.internal:5432/miprox',
      'postgres://miprox:two words@127.0.0.1:5432/miprox',
      'postgres://miprox@/miprox?host=/var/run/postgresql',
      'postgres://miprox@[::1]:5432/miprox?sslmode=verify-full&application_name=m1',
    ]) expect(problems(url)).toEqual([]);
  });
});

/** PORT=0x10 started on port 16 and PORT=1e3 on 1000; PORT=abc said "expected number, received NaN". */
describe('integer variables', () => {
  it('take decimal digits only, and say the range and the value otherwise', () => {
    expect(loadConfig({ PORT: '8080' }).port).toBe(8080);
    expect(loadConfig({ PORT: ' 0 ' }).port).toBe(0);
    expect(loadConfig({ RETENTION_DAYS: '30' }).retentionDays).toBe(30);
    expect(loadConfig({}).retentionDays).toBeUndefined();
    for (const [name, value] of [['PORT', '0x10'], ['PORT', '1e3'], ['PORT', '80.5'], ['PORT', 'abc'], ['PORT', '70000'], ['UPSTREAM_MAX_RETRIES', '-1'], ['RETENTION_DAYS', '1e1']] as const) {
      try {
        loadConfig({ [name]: value });
        expect.unreachable(`${name}=${value}`);
      } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        expect((e as ConfigError).details).toEqual([{ path: name, message: expect.stringMatching(new RegExp(`^must be an integer from \\d+ to \\d+ in decimal digits, got "${value.replace('.', '\\.')}"$`)) }]);
      }
    }
  });
});

/** MIPROX_PROVIDERS: what new jobs may name as policy.provider and mipro.proposer.provider. */
describe('MIPROX_PROVIDERS', () => {
  const problem = (value: string): string => {
    try {
      loadConfig({ MIPROX_PROVIDERS: value });
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      expect((e as ConfigError).message).toMatch(/^invalid configuration: MIPROX_PROVIDERS: /);
      const details = (e as ConfigError).details;
      expect(details.map((d) => d.path)).toEqual(['MIPROX_PROVIDERS']);
      return details[0]!.message;
    }
    return 'accepted';
  };

  it('allows every provider when unset or empty (what existing setups, the demo and the tests get)', () => {
    expect(loadConfig({}).providers.allowedProviders).toEqual(['openai', 'openai_compatible', 'anthropic', 'sim']);
    expect(loadConfig({ MIPROX_PROVIDERS: '' }).providers.allowedProviders).toEqual(['openai', 'openai_compatible', 'anthropic', 'sim']);
  });

  it('takes a comma-separated list, padded or repeated', () => {
    const c = loadConfig({ MIPROX_PROVIDERS: ' openai , anthropic,openai,' });
    expect(c.providers.allowedProviders).toEqual(['openai', 'anthropic']);
    expect(Object.isFrozen(c.providers.allowedProviders)).toBe(true);
  });

  it('refuses an unknown name, naming it and the providers there are', () => {
    expect(problem('openai,simulator')).toBe('unknown provider "simulator": each must be one of openai, openai_compatible, anthropic, sim');
    expect(problem('OpenAI')).toBe('unknown provider "OpenAI": each must be one of openai, openai_compatible, anthropic, sim');
  });

  it('refuses a list that names no provider', () => {
    expect(problem(',')).toBe('must name at least one of openai, openai_compatible, anthropic, sim (unset it to allow them all)');
    expect(problem(' ')).toBe('must name at least one of openai, openai_compatible, anthropic, sim (unset it to allow them all)');
  });
});

/**
 * MIPROX_ALLOWED_INFERENCE_HOSTS entries the policy could not read (`localhost:8000/v1`, a port that
 * is no number, a space in a name) were skipped without a word: the server started, and every job
 * naming that host was still refused with "add it to MIPROX_ALLOWED_INFERENCE_HOSTS", which it was.
 */
describe('MIPROX_ALLOWED_INFERENCE_HOSTS', () => {
  it('takes host, host:port, [v6]:port, * and URLs', () => {
    const c = loadConfig({ MIPROX_ALLOWED_INFERENCE_HOSTS: 'gpu.internal, 10.0.0.5:8000,[::1]:8000,http://127.0.0.1:11434/v1' });
    expect(c.providers.allowedInferenceHosts).toEqual(['gpu.internal', '10.0.0.5:8000', '[::1]:8000', 'http://127.0.0.1:11434/v1']);
    expect(loadConfig({ MIPROX_ALLOWED_INFERENCE_HOSTS: '*' }).providers.allowedInferenceHosts).toEqual(['*']);
  });

  it('refuses an entry it cannot read at start, naming it, beside the other bad variables', () => {
    try {
      loadConfig({ MIPROX_ALLOWED_INFERENCE_HOSTS: 'gpu.internal,localhost:8000/v1,local host:abc', PORT: 'x' });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      const details = (e as ConfigError).details;
      expect(details.map((d) => d.path).sort()).toEqual(['MIPROX_ALLOWED_INFERENCE_HOSTS', 'PORT']);
      const message = details.find((d) => d.path === 'MIPROX_ALLOWED_INFERENCE_HOSTS')?.message ?? '';
      expect(message).toContain('"localhost:8000/v1"');
      expect(message).toContain('"local host:abc"');
      expect(message).not.toContain('"gpu.internal"');
    }
  });
});
