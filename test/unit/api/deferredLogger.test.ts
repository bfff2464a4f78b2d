import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { DeferredChildLogger } from '../../../src/api/deferredLogger.js';
import { REDACT_PATHS } from '../../../src/shared/logger.js';

function capture(): { lines: () => Array<Record<string, unknown>>; logger: pino.Logger } {
  const out: string[] = [];
  const stream = new Writable({ write(chunk: Buffer, _enc, done) { out.push(chunk.toString()); done(); } });
  const logger = pino({ level: 'info', redact: { paths: REDACT_PATHS, censor: '[redacted]' }, timestamp: false, base: null }, stream);
  return { logger, lines: () => out.join('').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('DeferredChildLogger (a request child logger made on first use)', () => {
  it('logs what the pino child would, bindings, redaction and levels included', () => {
    const direct = capture();
    const deferred = capture();
    const logs = (l: { info: pino.LogFn; warn: pino.LogFn; error: pino.LogFn; debug: pino.LogFn }) => {
      l.info({ apiKey: 'secret', n: 1 }, 'first %s', 'x');
      l.warn('plain');
      l.error(new Error('boom'));
      l.debug('not at info');
    };
    logs(direct.logger.child({ reqId: 'req_1' }, {}));
    logs(new DeferredChildLogger(deferred.logger, { reqId: 'req_1' }, {}));
    const strip = (rows: Array<Record<string, unknown>>) => rows.map(({ err, ...rest }) => ({ ...rest, err: err === undefined ? undefined : (err as { message: string }).message }));
    expect(strip(deferred.lines())).toEqual(strip(direct.lines()));
    expect(deferred.lines()).toHaveLength(3);
    expect(deferred.lines()[0]).toMatchObject({ reqId: 'req_1', apiKey: '[redacted]', msg: 'first x' });
  });

  it('makes no pino child until something logs, and one at most', () => {
    const { logger } = capture();
    let made = 0;
    const parent = { ...logger, level: logger.level, child: (b: pino.Bindings, o?: pino.ChildLoggerOptions) => { made++; return logger.child(b, o); } } as unknown as pino.Logger;
    const child = new DeferredChildLogger(parent, { reqId: 'r' }, { level: 'warn' });
    expect(made).toBe(0);
    child.info('dropped: the child level is warn');
    child.warn('kept');
    expect(made).toBe(1);
    expect(child.level).toBe('warn');
  });
});
