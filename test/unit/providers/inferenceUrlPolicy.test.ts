import { describe, expect, it } from 'vitest';
import { checkInferenceUrl, checkResolvedAddress, parseAllowEntry } from '../../../src/providers/inferenceUrlPolicy.js';
import { classifyIpLiteral, parseIPv6 } from '../../../src/providers/ipAddress.js';

describe('checkInferenceUrl without an allowlist', () => {
  it.each([
    'https://api.together.xyz/v1',
    'http://vllm.example.com:8000/v1',
    'https://8.8.8.8/v1',
    'http://[2001:4860:4860::8888]:8000/v1',
    'https://my-llm.internal-corp.example.org/v1',
  ])('allows public %s', (url) => {
    expect(checkInferenceUrl(url, [])).toEqual({ ok: true });
  });

  it.each([
    ['not a URL', 'localhost:8000', /not a valid absolute URL|must use http/],
    ['relative', '/v1', /not a valid absolute URL/],
    ['ftp', 'ftp://example.com/v1', /http or https/],
    ['file', 'file:///etc/passwd', /http or https/],
    ['credentials', 'https://user:pw@example.com/v1', /credentials/],
    ['AWS metadata', 'http://169.254.169.254/latest/meta-data', /metadata/],
    ['GCP metadata name', 'http://metadata.google.internal/computeMetadata/v1', /metadata/],
    ['GCP metadata name, upper case with dot', 'http://METADATA.GOOGLE.INTERNAL./', /metadata/],
    ['AWS IPv6 metadata', 'http://[fd00:ec2::254]/latest', /metadata/],
    ['Alibaba metadata', 'http://100.100.100.200/latest', /metadata/],
    ['loopback', 'http://127.0.0.1:8000/v1', /loopback/],
    ['loopback elsewhere in 127/8', 'http://127.8.9.10/v1', /loopback/],
    ['loopback as decimal integer', 'http://2130706433/v1', /loopback/],
    ['loopback as hex', 'http://0x7f.0.0.1/v1', /loopback/],
    ['loopback short form', 'http://127.1:8000/v1', /loopback/],
    ['localhost', 'http://localhost:11434/v1', /loopback/],
    ['sub.localhost', 'http://api.localhost/v1', /loopback/],
    ['IPv6 loopback', 'http://[::1]:8000/v1', /loopback/],
    ['IPv4-mapped loopback', 'http://[::ffff:127.0.0.1]/v1', /loopback/],
    ['IPv4-mapped metadata', 'http://[::ffff:169.254.169.254]/', /metadata/],
    ['unspecified', 'http://0.0.0.0:8000/v1', /unspecified/],
    ['10/8', 'http://10.1.2.3/v1', /private/],
    ['172.16/12 low', 'http://172.16.0.1/v1', /private/],
    ['172.16/12 high', 'http://172.31.255.254/v1', /private/],
    ['192.168/16', 'http://192.168.1.20:8000/v1', /private/],
    ['fc00::/7', 'http://[fd12:3456::1]/v1', /private/],
    ['link-local v4', 'http://169.254.10.10/v1', /link-local/],
    ['link-local v6', 'http://[fe80::1]/v1', /link-local/],
    ['single-label docker name', 'http://vllm:8000/v1', /private network name/],
    ['.internal', 'http://llm.svc.internal/v1', /private network name/],
    ['.local', 'http://gpu-box.local:8000/v1', /private network name/],
  ])('refuses %s', (_name, url, reason) => {
    const r = checkInferenceUrl(url, []);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(reason);
  });

  it('tells the operator how to allow a private host', () => {
    const r = checkInferenceUrl('http://192.168.1.20:8000/v1', []);
    expect(r).toEqual({
      ok: false,
      reason: expect.stringContaining('MIPROX_ALLOWED_INFERENCE_HOSTS') as unknown as string,
    });
  });

  it('does not refuse public neighbours of private ranges', () => {
    for (const url of ['http://172.15.255.255/', 'http://172.32.0.1/', 'http://192.169.0.1/', 'http://11.0.0.1/', 'http://[fe00::1]/']) {
      expect(checkInferenceUrl(url, []), url).toEqual({ ok: true });
    }
  });
});

describe('checkInferenceUrl with an allowlist', () => {
  it.each([
    ['host entry, any port', ['localhost'], 'http://localhost:11434/v1', true],
    ['host:port entry, same port', ['127.0.0.1:8000'], 'http://127.0.0.1:8000/v1', true],
    ['host:port entry, other port', ['127.0.0.1:8000'], 'http://127.0.0.1:9000/v1', false],
    ['host:port entry, default port', ['10.0.0.5:80'], 'http://10.0.0.5/v1', true],
    ['https default port', ['10.0.0.5:443'], 'https://10.0.0.5/v1', true],
    ['case and spaces', ['  VLLM:8000 '], 'http://vllm:8000/v1', true],
    ['IPv6 bracketed with port', ['[::1]:8000'], 'http://[::1]:8000/v1', true],
    ['IPv6 bare', ['::1'], 'http://[::1]:1234/v1', true],
    ['spelling of an IP differs', ['127.1'], 'http://127.0.0.1/v1', true],
    ['URL entry', ['http://gpu-box.local:8000'], 'http://gpu-box.local:8000/v1', true],
    ['another host', ['10.0.0.6'], 'http://10.0.0.5/v1', false],
    ['wildcard', ['*'], 'http://10.0.0.5/v1', true],
    ['metadata stays refused even with *', ['*'], 'http://169.254.169.254/', false],
    ['metadata stays refused even when listed', ['metadata.google.internal'], 'http://metadata.google.internal/', false],
  ])('%s', (_name, allowed, url, ok) => {
    expect(checkInferenceUrl(url, allowed).ok).toBe(ok);
  });

  it('ignores unreadable entries', () => {
    expect(parseAllowEntry('')).toBeUndefined();
    expect(parseAllowEntry('exa mple')).toBeUndefined();
    expect(checkInferenceUrl('http://10.0.0.5/', ['exa mple', '10.0.0.5']).ok).toBe(true);
  });
});

describe('IP literal parsing', () => {
  it.each([
    ['::1', [0, 0, 0, 0, 0, 0, 0, 1]],
    ['[::]', [0, 0, 0, 0, 0, 0, 0, 0]],
    ['fd00:ec2::254', [0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254]],
    ['::ffff:10.0.0.1', [0, 0, 0, 0, 0, 0xffff, 0x0a00, 0x0001]],
    ['1:2:3:4:5:6:7:8', [1, 2, 3, 4, 5, 6, 7, 8]],
    ['fe80::1%eth0', [0xfe80, 0, 0, 0, 0, 0, 0, 1]],
  ])('parses %s', (text, groups) => {
    expect(parseIPv6(text)).toEqual(groups);
  });

  it.each(['1:2:3', '1::2::3', 'g::1', '1:2:3:4:5:6:7:8:9', 'example.com'])('rejects %s', (text) => {
    expect(parseIPv6(text)).toBeUndefined();
  });

  it('classifies NAT64 addresses by their embedded IPv4', () => {
    expect(classifyIpLiteral('[64:ff9b::a00:1]')).toBe('private');
    expect(classifyIpLiteral('[64:ff9b::808:808]')).toBe('public');
    expect(classifyIpLiteral('example.com')).toBeUndefined();
  });

  it('classifies the other IPv6 forms that reach IPv4 hosts: IPv4-translated, local-use NAT64, 6to4', () => {
    // Each used to be 'public', so a job could name loopback, a private host or a metadata endpoint by it.
    expect(classifyIpLiteral('[::ffff:0:127.0.0.1]')).toBe('loopback');
    expect(classifyIpLiteral('[::ffff:0:a9fe:a9fe]')).toBe('metadata');
    expect(classifyIpLiteral('[::ffff:0:808:808]')).toBe('public');
    expect(classifyIpLiteral('[64:ff9b:1::a00:1]')).toBe('private');
    expect(classifyIpLiteral('[64:ff9b:1:808:8:800::]')).toBe('private');
    expect(classifyIpLiteral('[2002:7f00:1::]')).toBe('loopback');
    expect(classifyIpLiteral('[2002:a9fe:a9fe::1]')).toBe('metadata');
    expect(classifyIpLiteral('[2002:c0a8:101::1]')).toBe('private');
    expect(classifyIpLiteral('[2002:808:808::1]')).toBe('public');
    expect(checkInferenceUrl('http://[2002:a9fe:a9fe::1]/v1', ['*']).ok).toBe(false);
    expect(checkResolvedAddress('x.example', '80', '::ffff:0:7f00:1', []).ok).toBe(false);
  });
});
