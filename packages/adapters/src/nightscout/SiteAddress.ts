import { lookup } from "node:dns/promises"
import { BlockList, isIP } from "node:net"

/**
 * Which addresses the service may call when a user gives it a site to poll. The URL is the user's, so it is
 * hostile: without these rules it would make the service fetch its own loopback, the private network it runs in, or
 * the cloud's metadata endpoint (and its credentials) on the user's behalf.
 */
export interface SitePolicy {
  /** Plain http (development only: everything else is https, with its certificate checked). */
  readonly allowHttp: boolean
  /** Loopback, private and other non-public addresses (development and tests only: a fake site on loopback). */
  readonly allowPrivateAddresses: boolean
}

export const strictSitePolicy: SitePolicy = { allowHttp: false, allowPrivateAddresses: false }
export const developmentSitePolicy: SitePolicy = { allowHttp: true, allowPrivateAddresses: true }

/** How a host name becomes addresses; `lookupAll` (the system resolver) unless a test gives its own. */
export type SiteResolver = (
  hostname: string
) => Promise<ReadonlyArray<{ readonly address: string; readonly family: 4 | 6 }>>

export const lookupAll: SiteResolver = async (hostname) =>
  (await lookup(hostname, { all: true, verbatim: true })).map(({ address, family }) => ({
    address,
    family: family === 6 ? 6 : 4
  }))

const notPublicV4 = new BlockList()
for (const [network, prefix] of [
  ["0.0.0.0", 8], // "this network": 0.0.0.0 reaches the host itself
  ["10.0.0.0", 8],
  ["100.64.0.0", 10], // carrier-grade NAT, and Alibaba Cloud's metadata (100.100.100.200)
  ["127.0.0.0", 8],
  ["169.254.0.0", 16], // link-local, and the metadata endpoint of AWS, GCP, Azure, OpenStack (169.254.169.254)
  ["172.16.0.0", 12],
  ["192.0.0.0", 24], // protocol assignments (Oracle Cloud's metadata is 192.0.0.192)
  ["192.0.2.0", 24],
  ["192.88.99.0", 24],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15],
  ["198.51.100.0", 24],
  ["203.0.113.0", 24],
  ["224.0.0.0", 4], // multicast
  ["240.0.0.0", 4] // reserved, and the broadcast address
] as const) {
  notPublicV4.addSubnet(network, prefix, "ipv4")
}

const notPublicV6 = new BlockList()
for (const [network, prefix] of [
  ["::", 128], // unspecified
  ["::1", 128], // loopback
  ["100::", 64], // discard
  ["2001::", 23], // protocol assignments: Teredo, benchmarking, ORCHID
  ["2001:db8::", 32], // documentation
  ["3fff::", 20], // documentation (RFC 9637)
  ["fc00::", 7], // unique local (AWS's IPv6 metadata endpoint is fd00:ec2::254)
  ["fe80::", 10], // link-local
  ["fec0::", 10], // site-local (deprecated)
  ["ff00::", 8] // multicast
] as const) {
  notPublicV6.addSubnet(network, prefix, "ipv6")
}

/** The 16 bytes of an IPv6 address (`isIP` said it is one). */
const bytesOfV6 = (address: string): Uint8Array => {
  let text = address.split("%")[0]!.toLowerCase()
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text)
  if (dotted !== null) {
    const [a, b, c, d] = dotted[1]!.split(".").map(Number) as [number, number, number, number]
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`
  }
  const [head = "", tail] = text.split("::")
  const headGroups = head === "" ? [] : head.split(":")
  const tailGroups = tail === undefined || tail === "" ? [] : tail.split(":")
  const groups =
    tail === undefined
      ? headGroups
      : [...headGroups, ...Array<string>(8 - headGroups.length - tailGroups.length).fill("0"), ...tailGroups]
  const bytes = new Uint8Array(16)
  groups.forEach((group, index) => {
    const value = Number.parseInt(group, 16)
    bytes[index * 2] = value >> 8
    bytes[index * 2 + 1] = value & 0xff
  })
  return bytes
}

const startsWith = (bytes: Uint8Array, prefix: ReadonlyArray<number>) => prefix.every((byte, i) => bytes[i] === byte)
const v4 = (bytes: Uint8Array, offset: number) => Array.from(bytes.subarray(offset, offset + 4)).join(".")

/**
 * The IPv4 address an IPv6 address stands for, when it embeds one: IPv4-mapped (`::ffff:a.b.c.d`), IPv4-translated
 * (`::ffff:0:a.b.c.d`, SIIT), IPv4-compatible (`::a.b.c.d`), NAT64 (`64:ff9b::a.b.c.d`, `64:ff9b:1::/48`) and 6to4
 * (`2002:aabb:ccdd::`). Each reaches that IPv4 address somewhere on the way, so it is judged as that address.
 */
export const embeddedIpv4 = (address: string): string | undefined => {
  const bytes = bytesOfV6(address)
  const zeros = (count: number) => Array<number>(count).fill(0)
  if (startsWith(bytes, [...zeros(10), 0xff, 0xff])) return v4(bytes, 12)
  if (startsWith(bytes, [...zeros(8), 0xff, 0xff, 0, 0])) return v4(bytes, 12)
  if (startsWith(bytes, zeros(12))) return v4(bytes, 12)
  if (startsWith(bytes, [0x00, 0x64, 0xff, 0x9b, ...zeros(8)])) return v4(bytes, 12)
  if (startsWith(bytes, [0x00, 0x64, 0xff, 0x9b, 0x00, 0x01])) return v4(bytes, 12)
  if (startsWith(bytes, [0x20, 0x02])) return v4(bytes, 2)
  return undefined
}

/** Global unicast: the only IPv6 addresses the internet routes; anything else is not a site's. */
const globalUnicastV6 = new BlockList()
globalUnicastV6.addSubnet("2000::", 3, "ipv6")

/** Whether an address is one on the public internet (and so one a user's site may have). */
export const isPublicAddress = (address: string): boolean => {
  const family = isIP(address)
  if (family === 4) return !notPublicV4.check(address, "ipv4")
  if (family !== 6) return false
  const embedded = embeddedIpv4(address)
  if (embedded !== undefined) return embedded !== "0.0.0.0" && !notPublicV4.check(embedded, "ipv4")
  const plain = address.split("%")[0]!
  return globalUnicastV6.check(plain, "ipv6") && !notPublicV6.check(plain, "ipv6")
}

/** Why a site's address may not be called. */
export type AddressRefusal =
  | { readonly reason: "scheme"; readonly message: string }
  | { readonly reason: "address"; readonly message: string }
  | { readonly reason: "unresolved"; readonly message: string }

export interface CheckedAddress {
  readonly address: string
  readonly family: 4 | 6
}

/**
 * Every address of the URL's host, checked: the one to connect to, or why none may be. All of them must be
 * allowed (a name with one private address among public ones is refused: which one a connection would take is not
 * ours to choose). Called before every request, so a name that starts resolving elsewhere later (DNS rebinding) is
 * caught, and the request then connects to exactly the address checked here.
 */
export const checkedAddress = async (
  url: URL,
  policy: SitePolicy,
  resolve: SiteResolver
): Promise<{ readonly ok: true; readonly value: CheckedAddress } | ({ readonly ok: false } & AddressRefusal)> => {
  if (url.protocol !== "https:" && !(url.protocol === "http:" && policy.allowHttp)) {
    return { ok: false, reason: "scheme", message: "Only https sites are called" }
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1")
  let addresses: ReadonlyArray<CheckedAddress>
  const literal = isIP(host)
  if (literal !== 0) {
    addresses = [{ address: host, family: literal === 6 ? 6 : 4 }]
  } else {
    try {
      addresses = await resolve(host)
    } catch (error) {
      const code = (error as { readonly code?: unknown }).code
      return { ok: false, reason: "unresolved", message: `The site's host name does not resolve (${String(code)})` }
    }
  }
  if (addresses.length === 0) return { ok: false, reason: "unresolved", message: "The site's host name has no address" }
  if (!policy.allowPrivateAddresses && addresses.some(({ address }) => !isPublicAddress(address))) {
    return {
      ok: false,
      reason: "address",
      message: "The site's host resolves to a loopback, private, link-local or metadata address, which is never called"
    }
  }
  return { ok: true, value: addresses[0]! }
}
