import Testing
import TofuCore

@Suite struct HostKeyTests {
    @Test(arguments: [
        // PI's own form, IPv4
        ("192.0.2.10_443", "192.0.2.10_443"),
        ("192.0.2.10", "192.0.2.10_443"),
        ("192.0.2.10:8443", "192.0.2.10_8443"),
        ("  192.0.2.10_443 \n", "192.0.2.10_443"),
        // names: case, trailing dot, punycode
        ("DNAC.Example.COM", "dnac.example.com_443"),
        ("dnac.example.com.", "dnac.example.com_443"),
        ("dnac.example.com.:443", "dnac.example.com_443"),
        ("dnac.example.com_8443", "dnac.example.com_8443"),
        ("localhost", "localhost_443"),
        ("xn--bcher-kva.example", "xn--bcher-kva.example_443"),
        ("a-b.c1", "a-b.c1_443"),
        // IPv6: every spelling becomes RFC 5952
        ("2001:db8::5", "2001:db8::5_443"),
        ("2001:db8::5_443", "2001:db8::5_443"),
        ("2001:DB8::5", "2001:db8::5_443"),
        ("2001:0db8:0000:0000:0000:0000:0000:0005", "2001:db8::5_443"),
        ("2001:db8:0:0:0:0:0:5", "2001:db8::5_443"),
        ("[2001:db8::5]", "2001:db8::5_443"),
        ("[2001:db8::5]:8443", "2001:db8::5_8443"),
        ("[2001:db8::5]_8443", "2001:db8::5_8443"),
        ("2001:db8:0:1:0:0:0:1", "2001:db8:0:1::1_443"),
        ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1_443"),
        ("2001:db8::1:0", "2001:db8::1:0_443"),
        ("::1", "::1_443"),
        ("[::1]:4433", "::1_4433"),
        ("::ffff:192.0.2.1", "::ffff:192.0.2.1_443"),
        ("::FFFF:C000:0201", "::ffff:192.0.2.1_443"),
        // ports at the edges
        ("192.0.2.10:1", "192.0.2.10_1"),
        ("192.0.2.10_65535", "192.0.2.10_65535"),
        ("192.0.2.10:0443", "192.0.2.10_443"),
    ])
    func acceptedSpellings(input: String, key: String) throws {
        #expect(try HostKey(parsing: input).description == key)
    }

    @Test(arguments: [
        "", "   ", "_443", ":443", "[]:443",
        "192.0.2.10:0", "192.0.2.10_0", "192.0.2.10:65536", "192.0.2.10_99999", "192.0.2.10:", "192.0.2.10_",
        "192.0.2.10:https", "192.0.2.10:-1", "192.0.2.10:+443", "192.0.2.10:4 43",
        "192.0.2.256", "192.0.2", "192.0.2.1.5", "192.0.2.010", "192.0.2.10/24",
        "2001:db8::5::1", "2001:db8:::5", "[2001:db8::5", "[2001:db8::5]x", "[192.0.2.10]:443", "fe80::1%eth0",
        "12345::1", "2001:db8::g",
        "bücher.example", "dnac..example.com", ".dnac.example.com", "-dnac.example.com", "dnac-.example.com",
        "dnac_x.example.com_443x", "dnac example.com", "dnac.example.com..", "host;rm -rf /", "$(id)", "a\"b",
        String(repeating: "a", count: 64) + ".example", String(repeating: "abcdefgh.", count: 30) + "com",
        "http://192.0.2.10/", "user@192.0.2.10",
    ])
    func refusedSpellingsNameTheValue(input: String) {
        do {
            let key = try HostKey(parsing: input)
            Issue.record("'\(input)' was accepted as \(key)")
        } catch {
            #expect(error.input == input)
            #expect(error.description.contains("is not a host key"))
        }
    }

    @Test func longestValidNameIsAccepted() throws {
        let label = String(repeating: "a", count: 63)
        let name = [label, label, label, String(repeating: "b", count: 61)].joined(separator: ".")
        #expect(name.count == 253)
        #expect(try HostKey(parsing: name).host == name)
        #expect(throws: HostKeyError.self) { try HostKey(parsing: name + "c") }
    }

    @Test func keysOrderAsTheirText() throws {
        let keys = try ["b.example", "192.0.2.10", "a.example:8443", "2001:db8::1"].map { try HostKey(parsing: $0) }
        #expect(keys.sorted().map(\.description) == ["192.0.2.10_443", "2001:db8::1_443", "a.example_8443", "b.example_443"])
    }

    @Test func urlFormBracketsIPv6() throws {
        #expect(try HostKey(parsing: "2001:db8::5").hostForURL == "[2001:db8::5]")
        #expect(try HostKey(parsing: "192.0.2.1").hostForURL == "192.0.2.1")
        #expect(try HostKey(parsing: "192.0.2.1").isIPAddress)
        #expect(try !HostKey(parsing: "kong.example").isIPAddress)
    }
}

@Suite struct FingerprintTests {
    static let canonical = "E8:17:6A:E7:93:52:79:9A:49:FD:2B:3D:C3:3E:18:69:8A:FF:7F:F4:AA:5F:E9:95:75:A5:18:82:BE:6F:08:5C"

    @Test(arguments: [
        canonical,
        canonical.lowercased(),
        canonical.replacingOccurrences(of: ":", with: ""),
        canonical.replacingOccurrences(of: ":", with: "").lowercased(),
        "sha256 Fingerprint=" + canonical,
        "  " + canonical + "\n",
    ])
    func everyFormReadsTheSame(text: String) {
        #expect(Fingerprint(parsing: text)?.description == Self.canonical)
    }

    @Test(arguments: ["", "00", String(Self.canonical.dropLast()), Self.canonical + "00", Self.canonical.replacingOccurrences(of: "E", with: "G")])
    func othersAreRefused(text: String) {
        #expect(Fingerprint(parsing: text) == nil)
    }
}
