/**
 * Literal IP addresses and the ranges an outbound call from a server must not reach by default.
 * Syntactic only: input is the hostname as WHATWG `URL` normalised it (IPv4 in dotted decimal even
 * when written as `0x7f.1` or `2130706433`; IPv6 in brackets, compressed).
 */
export type AddressClass =
  | 'metadata'
  | 'loopback'
  | 'private'
  | 'link-local'
  | 'unspecified'
  | 'multicast'
  | 'reserved'
  | 'public';

export function parseIPv4(host: string): [number, number, number, number] | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  if (!m) return undefined;
  const octets = [Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4])] as [number, number, number, number];
  return octets.every((o) => o <= 255) ? octets : undefined;
}

/** Eight 16-bit groups, or undefined. Accepts `::` compression and a trailing dotted IPv4. */
export function parseIPv6(input: string): number[] | undefined {
  let host = input.startsWith('[') && input.endsWith(']') ? input.slice(1, -1) : input;
  const zone = host.indexOf('%');
  if (zone !== -1) host = host.slice(0, zone);
  if (!host.includes(':')) return undefined;
  // A trailing dotted IPv4 (`::ffff:1.2.3.4`) is rewritten as its two hex groups.
  const lastColon = host.lastIndexOf(':');
  const v4 = parseIPv4(host.slice(lastColon + 1));
  if (v4) {
    const hi = ((v4[0] << 8) | v4[1]).toString(16);
    const lo = ((v4[2] << 8) | v4[3]).toString(16);
    host = `${host.slice(0, lastColon + 1)}${hi}:${lo}`;
  }
  const halves = host.split('::');
  if (halves.length > 2) return undefined;
  const parse = (s: string): number[] | undefined => {
    if (s === '') return [];
    const groups = s.split(':').map((g) => (/^[0-9a-f]{1,4}$/i.test(g) ? parseInt(g, 16) : NaN));
    return groups.some((g) => Number.isNaN(g)) ? undefined : groups;
  };
  const head = parse(halves[0] ?? '');
  const rest = halves.length === 2 ? parse(halves[1] ?? '') : [];
  if (head === undefined || rest === undefined) return undefined;
  const explicit = head.length + rest.length;
  if (halves.length === 1) return explicit === 8 ? head : undefined;
  if (explicit > 7) return undefined;
  return [...head, ...new Array<number>(8 - explicit).fill(0), ...rest];
}

/**
 * Addresses that hand out cloud credentials or control the host, never called whatever the allowlist:
 * AWS/GCP/Azure/OpenStack (169.254.169.254), Alibaba, Azure's wireserver, ECS task metadata, EKS pod
 * identity, Oracle Cloud.
 */
const METADATA_V4 = new Set(['169.254.169.254', '100.100.100.200', '168.63.129.16', '169.254.170.2', '169.254.170.23', '192.0.0.192']);

export function classifyIPv4(o: readonly [number, number, number, number]): AddressClass {
  const [a, b] = o;
  const dotted = o.join('.');
  if (METADATA_V4.has(dotted)) return 'metadata';
  if (a === 127) return 'loopback';
  if (a === 0) return 'unspecified'; // 0.0.0.0/8 reaches the local host on Linux
  if (a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168)) return 'private';
  if (a === 100 && b >= 64 && b <= 127) return 'private'; // carrier-grade NAT / tailnets, not the internet
  if (a === 169 && b === 254) return 'link-local';
  if (a >= 224 && a <= 239) return 'multicast';
  if (a >= 240 || (a === 198 && (b === 18 || b === 19)) || (a === 192 && b === 0 && o[2] === 0)) return 'reserved';
  return 'public';
}

export function classifyIPv6(h: readonly number[]): AddressClass {
  const g = (i: number): number => h[i] ?? 0;
  const embeddedV4 = (): [number, number, number, number] => [g(6) >> 8, g(6) & 255, g(7) >> 8, g(7) & 255];
  // fd00:ec2::254 and fd00:ec2::23, AWS's IPv6 instance metadata and EKS pod identity endpoints.
  if (g(0) === 0xfd00 && g(1) === 0xec2 && g(2) === 0 && g(3) === 0 && g(4) === 0 && g(5) === 0 && g(6) === 0 && (g(7) === 0x254 || g(7) === 0x23)) {
    return 'metadata';
  }
  const firstFiveZero = g(0) === 0 && g(1) === 0 && g(2) === 0 && g(3) === 0 && g(4) === 0;
  if (firstFiveZero && g(5) === 0 && g(6) === 0) {
    if (g(7) === 1) return 'loopback';
    if (g(7) === 0) return 'unspecified';
  }
  // IPv4-mapped (::ffff:a.b.c.d), IPv4-compatible (::a.b.c.d) and NAT64 (64:ff9b::a.b.c.d) reach IPv4 hosts.
  if (firstFiveZero && (g(5) === 0xffff || g(5) === 0)) return classifyIPv4(embeddedV4());
  if (g(0) === 0x64 && g(1) === 0xff9b && g(2) === 0 && g(3) === 0 && g(4) === 0 && g(5) === 0) {
    return classifyIPv4(embeddedV4());
  }
  // IPv4-translated (::ffff:0:a.b.c.d, SIIT) reaches the IPv4 host through a translator like NAT64.
  if (g(0) === 0 && g(1) === 0 && g(2) === 0 && g(3) === 0 && g(4) === 0xffff && g(5) === 0) return classifyIPv4(embeddedV4());
  // 64:ff9b:1::/48 is NAT64 for a site's own use (RFC 8215): it reaches the site's IPv4 hosts, at a
  // position its chosen prefix length decides, so the whole range is private.
  if (g(0) === 0x64 && g(1) === 0xff9b && g(2) === 1) return 'private';
  // 6to4 (2002:a.b.c.d::/48) is tunnelled to the IPv4 address in its second and third groups; RFC 3056
  // allows only public ones, so any other names a host it must not reach.
  if (g(0) === 0x2002) {
    const v4 = classifyIPv4([g(1) >> 8, g(1) & 255, g(2) >> 8, g(2) & 255]);
    if (v4 !== 'public') return v4;
  }
  if ((g(0) & 0xfe00) === 0xfc00) return 'private'; // fc00::/7 unique local
  if ((g(0) & 0xffc0) === 0xfe80) return 'link-local';
  if ((g(0) & 0xffc0) === 0xfec0) return 'private'; // deprecated site-local
  if ((g(0) & 0xff00) === 0xff00) return 'multicast';
  return 'public';
}

/** Classifies a URL hostname if it is an IP literal; undefined for DNS names. */
export function classifyIpLiteral(hostname: string): AddressClass | undefined {
  const v4 = parseIPv4(hostname);
  if (v4) return classifyIPv4(v4);
  const v6 = parseIPv6(hostname);
  if (v6) return classifyIPv6(v6);
  return undefined;
}
