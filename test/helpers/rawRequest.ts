import { request } from 'node:http';

/** An answer as it went over the wire: status, headers and the body's bytes, undecoded. */
export interface RawAnswer { status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }

/**
 * One request by node:http rather than fetch, which adds an accept-encoding of its own and
 * decompresses, hiding what the server sent (gzip, ETags, 304s, HEAD).
 */
export function rawRequest(base: string, path: string, opts: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { method: opts.method ?? 'GET', headers: opts.headers ?? {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}
