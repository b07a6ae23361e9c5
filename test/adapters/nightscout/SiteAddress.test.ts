import {
  checkedAddress,
  developmentSitePolicy,
  embeddedIpv4,
  isPublicAddress,
  type SiteResolver,
  strictSitePolicy
} from "@bg-ingest/adapters/nightscout"
import { assert, describe, it } from "@effect/vitest"

const resolverOf =
  (table: Record<string, ReadonlyArray<string>>): SiteResolver =>
  async (hostname) => {
    const addresses = table[hostname]
    if (addresses === undefined) throw Object.assign(new Error("not found"), { code: "ENOTFOUND" })
    return addresses.map((address) => ({ address, family: address.includes(":") ? 6 : 4 }))
  }

describe("which site addresses may be called", () => {
  it("public addresses, v4 and v6, are allowed", () => {
    for (const address of ["8.8.8.8", "1.1.1.1", "93.184.215.14", "2606:4700:4700::1111", "2a00:1450:4001:82b::200e"]) {
      assert.isTrue(isPublicAddress(address), address)
    }
  })

  it("loopback, private, link-local, CGNAT, metadata, multicast, reserved and documentation ranges are not", () => {
    for (const address of [
      "127.0.0.1",
      "127.255.255.254",
      "0.0.0.0",
      "10.0.0.1",
      "172.16.0.1",
      "172.31.255.255",
      "192.168.1.1",
      "169.254.169.254", // AWS, GCP, Azure metadata
      "169.254.170.2", // ECS task credentials
      "100.64.0.1",
      "100.100.100.200", // Alibaba metadata
      "192.0.0.192", // Oracle metadata
      "192.0.2.1",
      "198.18.0.1",
      "224.0.0.1",
      "255.255.255.255",
      "::",
      "::1",
      "fe80::1",
      "fe80::1%eth0",
      "fc00::1",
      "fd00:ec2::254", // AWS IPv6 metadata
      "ff02::1",
      "2001:db8::1",
      "2001:0:4136:e378:8000:63bf:3fff:fdd2", // Teredo
      "not an address"
    ]) {
      assert.isFalse(isPublicAddress(address), address)
    }
  })

  it("an IPv6 address that embeds an IPv4 one is judged as that address", () => {
    assert.strictEqual(embeddedIpv4("::ffff:127.0.0.1"), "127.0.0.1")
    assert.strictEqual(embeddedIpv4("::ffff:7f00:1"), "127.0.0.1")
    assert.strictEqual(embeddedIpv4("0:0:0:0:0:ffff:a9fe:a9fe"), "169.254.169.254")
    assert.strictEqual(embeddedIpv4("64:ff9b::10.0.0.1"), "10.0.0.1")
    assert.strictEqual(embeddedIpv4("2002:c0a8:0101::1"), "192.168.1.1")
    assert.strictEqual(embeddedIpv4("2606:4700:4700::1111"), undefined)
    for (const address of [
      "::ffff:127.0.0.1",
      "::ffff:7f00:1",
      "::ffff:169.254.169.254",
      "::ffff:10.1.2.3",
      "::127.0.0.1",
      "64:ff9b::a9fe:a9fe",
      "64:ff9b:1::a00:1",
      "2002:7f00:0001::"
    ]) {
      assert.isFalse(isPublicAddress(address), address)
    }
    assert.isTrue(isPublicAddress("::ffff:8.8.8.8"))
    assert.isTrue(isPublicAddress("64:ff9b::808:808"))
  })

  it("strict: https only; every address of the name must be public; literals and odd IPv4 forms included", async () => {
    const resolve = resolverOf({
      "ns.example.org": ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"],
      "mixed.example.org": ["93.184.215.14", "10.0.0.5"],
      "rebind.example.org": ["127.0.0.1"],
      "empty.example.org": []
    })
    const check = async (url: string) => {
      const result = await checkedAddress(new URL(url), strictSitePolicy, resolve)
      return result.ok ? `ok ${result.value.address}` : result.reason
    }
    assert.strictEqual(await check("https://ns.example.org/"), "ok 93.184.215.14")
    assert.strictEqual(await check("http://ns.example.org/"), "scheme")
    assert.strictEqual(await check("ftp://ns.example.org/"), "scheme")
    assert.strictEqual(await check("https://mixed.example.org/"), "address")
    assert.strictEqual(await check("https://rebind.example.org/"), "address")
    assert.strictEqual(await check("https://unknown.example.org/"), "unresolved")
    assert.strictEqual(await check("https://empty.example.org/"), "unresolved")
    for (const url of [
      "https://127.0.0.1/",
      "https://127.1/",
      "https://2130706433/",
      "https://0x7f000001/",
      "https://0177.0.0.1/",
      "https://[::1]/",
      "https://[::ffff:127.0.0.1]/",
      "https://[::ffff:a9fe:a9fe]/",
      "https://169.254.169.254/latest/meta-data/",
      "https://0.0.0.0/",
      "https://[fd00:ec2::254]/"
    ]) {
      assert.strictEqual(await check(url), "address", url)
    }
    assert.strictEqual(await check("https://8.8.8.8/"), "ok 8.8.8.8")
  })

  it("development allows plain http and loopback (a fake site), and still needs the name to resolve", async () => {
    const resolve = resolverOf({ "site.test": ["127.0.0.1"] })
    const dev = async (url: string) => {
      const result = await checkedAddress(new URL(url), developmentSitePolicy, resolve)
      return result.ok ? `ok ${result.value.address}` : result.reason
    }
    assert.strictEqual(await dev("http://site.test:8080/"), "ok 127.0.0.1")
    assert.strictEqual(await dev("http://127.0.0.1:8080/"), "ok 127.0.0.1")
    assert.strictEqual(await dev("http://[::1]:8080/"), "ok ::1")
    assert.strictEqual(await dev("http://missing.test/"), "unresolved")
    assert.strictEqual(await dev("file:///etc/passwd"), "scheme")
  })
})
