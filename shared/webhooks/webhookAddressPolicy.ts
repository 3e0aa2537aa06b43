import { lookup } from 'node:dns/promises';
import ipaddr from 'ipaddr.js';
import type { Config } from '../config.js';

/*
 * Where webhooks may be sent (no SSRF). A webhook URL is chosen by a user and fetched by our functions, which sit
 * next to the database, the storage account and Azure's instance metadata (169.254.169.254): so every address a
 * host name resolves to must be public unicast, checked when the endpoint is saved and again at every delivery
 * (DNS can change in between), and the connection goes to the very address that was checked (see
 * webhookRequest.ts), so a second resolution cannot swap it (DNS rebinding).
 *
 * Address classes come from ipaddr.js (its IANA special-purpose registries, IPv4-mapped IPv6 unwrapped to IPv4):
 * only its `unicast` class is public. Everything else is refused: loopback, private (RFC 1918), carrier-grade NAT,
 * link-local (169.254.0.0/16, fe80::/10), unique-local (fc00::/7), multicast, broadcast, unspecified, reserved,
 * documentation and benchmarking ranges, and the IPv6 transition prefixes that can carry an IPv4 address inside
 * (6to4, Teredo, NAT64), since what they reach cannot be told from the address.
 *
 * Production takes https URLs only. Development and test also take http, and loopback addresses (127.0.0.0/8, ::1,
 * `localhost`), so that a receiver on the developer's machine works; private and link-local addresses stay refused
 * there too.
 */

export interface WebhookAddressPolicy {
  /** Development and test: http URLs and loopback addresses are allowed. */
  allowLoopback: boolean;
}

export function webhookAddressPolicyOf(config: Pick<Config, 'environment'>): WebhookAddressPolicy {
  return { allowLoopback: config.environment !== 'production' };
}

export const MAX_WEBHOOK_URL_LENGTH = 2048;

/** Why an address may not be called, or null when it may. */
export function addressRefusal(address: string, policy: WebhookAddressPolicy): string | null {
  if (!ipaddr.isValid(address)) return `${address} is not an IP address`;
  const parsed = ipaddr.process(address);
  const range = parsed.range();
  if (range === 'unicast') return null;
  if (range === 'loopback' && policy.allowLoopback) return null;
  return `${parsed.toString()} is a ${range} address, not a public one`;
}

/** The host of a URL without IPv6 brackets. */
function bareHost(url: URL): string {
  return url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
}

function isLocalhostName(host: string): boolean {
  const lower = host.toLowerCase().replace(/\.$/, '');
  return lower === 'localhost' || lower.endsWith('.localhost');
}

/** The checks that need no DNS: shape, scheme, credentials, and IP literals. Null when the URL passes them. */
export function urlRefusal(text: string, policy: WebhookAddressPolicy): string | null {
  if (text.length > MAX_WEBHOOK_URL_LENGTH) return `must be at most ${MAX_WEBHOOK_URL_LENGTH} characters`;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'must be an absolute URL such as https://hooks.example.com/tracepipe';
  }
  if (url.protocol !== 'https:' && !(policy.allowLoopback && url.protocol === 'http:')) {
    return policy.allowLoopback ? 'must be an https:// (or, here, http://) URL' : 'must be an https:// URL';
  }
  if (url.username || url.password) return 'must not carry a user name or password';
  if (url.hash) return 'must not carry a fragment';
  const host = bareHost(url);
  if (isLocalhostName(host)) return policy.allowLoopback ? null : `${host} is not a public host`;
  if (ipaddr.isValid(host)) return addressRefusal(host, policy);
  // A name that is one label, or ends in a label no public suffix has, is an intranet name.
  if (!host.includes('.')) return `${host} is not a public host name`;
  return null;
}

export type ResolvedTarget =
  | { ok: true; url: URL; address: string; family: 4 | 6 }
  | { ok: false; reason: string };

export type HostResolver = (host: string) => Promise<Array<{ address: string; family: number }>>;

const systemResolver: HostResolver = (host) => lookup(host, { all: true, verbatim: true });

/**
 * The URL and the one address to connect to, or why not. Every address the name resolves to must pass: a name
 * that answers with a public and a private address could be steered to the private one.
 */
export async function resolveWebhookTarget(
  text: string,
  policy: WebhookAddressPolicy,
  resolve: HostResolver = systemResolver,
): Promise<ResolvedTarget> {
  const refusal = urlRefusal(text, policy);
  if (refusal) return { ok: false, reason: `url ${refusal}` };
  const url = new URL(text);
  const host = bareHost(url);
  let addresses: Array<{ address: string; family: number }>;
  if (ipaddr.isValid(host)) {
    addresses = [{ address: host, family: ipaddr.parse(host).kind() === 'ipv6' ? 6 : 4 }];
  } else {
    try {
      addresses = await resolve(host);
    } catch (error) {
      return { ok: false, reason: `${host} does not resolve (${(error as NodeJS.ErrnoException).code ?? String(error)})` };
    }
  }
  if (addresses.length === 0) return { ok: false, reason: `${host} does not resolve` };
  for (const { address } of addresses) {
    const refused = addressRefusal(address, policy);
    if (refused) return { ok: false, reason: `${host} resolves to ${refused}` };
  }
  const first = addresses[0] as { address: string; family: number };
  return { ok: true, url, address: first.address, family: first.family === 6 ? 6 : 4 };
}

/**
 * The check when an endpoint is saved: the URL's shape, and the addresses its name has now. A name that does not
 * resolve yet is accepted (it is checked again at every delivery); one that resolves to a refused address is not.
 */
export async function endpointUrlRefusal(
  text: string,
  policy: WebhookAddressPolicy,
  resolve: HostResolver = systemResolver,
): Promise<string | null> {
  const target = await resolveWebhookTarget(text, policy, resolve);
  if (target.ok) return null;
  return /does not resolve/.test(target.reason) ? null : target.reason.replace(/^url /, '');
}
