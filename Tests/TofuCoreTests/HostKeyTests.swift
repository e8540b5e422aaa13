import Testing
import TofuCore

#if canImport(Glibc)
    import Glibc
#endif

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
        // NAT64 (RFC 6052) stays an IPv6 address of its own; so do other loopback addresses
        ("64:ff9b::7f00:1", "64:ff9b::7f00:1_443"),
        ("64:ff9b::127.0.0.1", "64:ff9b::7f00:1_443"),
        ("127.0.0.2", "127.0.0.2_443"),
        // names that merely contain numbers are names
        ("127.0.0.1.nip.example", "127.0.0.1.nip.example_443"),
        ("0x7f000001.example", "0x7f000001.example_443"),
        ("1e5", "1e5_443"),
        ("0xg", "0xg_443"),
        ("a.0x7g", "a.0x7g_443"),
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

    /// A refused value is shown cut to 80 code points: one character with 100,000 combining
    /// accents was shown whole (the error goes back to the peer and into the log).
    @Test func aRefusedValueIsShownCutByCodePoints() {
        let input = "a" + String(repeating: "\u{301}", count: 100_000)
        do {
            _ = try HostKey(parsing: input)
            Issue.record("accepted")
        } catch {
            #expect(error.description.unicodeScalars.count < 200, "\(error.description.unicodeScalars.count) code points")
        }
    }

    /// Every spelling the system resolver (inet_aton, getaddrinfo) reads as an IPv4 address,
    /// other than the canonical dotted quad, is refused, and the refusal names the address it
    /// would have reached: a second spelling must never become a second pin for one host.
    @Test(arguments: [
        // hexadecimal, octal, shortened, mixed, leading zeros, one 32-bit number
        ("0x7f000001", "127.0.0.1"),
        ("0X7F000001", "127.0.0.1"),
        ("0x7f.0.0.0x1", "127.0.0.1"),
        ("0x7f.0x0.0x0.0x1", "127.0.0.1"),
        ("0x00000000007f.1", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("017700000001", "127.0.0.1"),
        ("0177.01", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("127.0.1", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("127.000.000.001", "127.0.0.1"),
        ("127.0.0.01", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("192.0.2.010", "192.0.2.8"),
        ("3221225994", "192.0.2.10"),
        ("192.0.522", "192.0.2.10"),
        ("192.522", "192.0.2.10"),
        ("0xc0.0.2.0xa", "192.0.2.10"),
        // a trailing dot, with and without a port
        ("127.0.0.1.", "127.0.0.1"),
        ("0x7f000001.", "127.0.0.1"),
        ("127.1.:443", "127.0.0.1"),
        ("0x7f000001:443", "127.0.0.1"),
        ("0x7f.0.0.0x1_8443", "127.0.0.1"),
        // IPv6 spellings of an IPv4 host
        ("::ffff:127.0.0.1", "127.0.0.1"),
        ("::FFFF:7F00:1", "127.0.0.1"),
        ("::ffff:7f00:1", "127.0.0.1"),
        ("[::ffff:127.0.0.1]:443", "127.0.0.1"),
        ("[::ffff:127.0.0.1]_443", "127.0.0.1"),
        ("0:0:0:0:0:ffff:7f00:0001", "127.0.0.1"),
        ("::ffff:192.0.2.1", "192.0.2.1"),
        ("::FFFF:C000:0201", "192.0.2.1"),
        ("::127.0.0.1", "127.0.0.1"),
        ("::7f00:1", "127.0.0.1"),
        ("[::192.0.2.10]:443", "192.0.2.10"),
        // the unspecified address connects to this machine itself
        ("0.0.0.0", "127.0.0.1"),
        ("0", "127.0.0.1"),
        ("0x0", "127.0.0.1"),
        ("::", "::1"),
        ("[::]:443", "::1"),
        ("::ffff:0.0.0.0", "127.0.0.1"),
        // Unicode digits and the dots IDNA maps to '.'
        ("１２７．０．０．１", "127.0.0.1"),
        ("127。0。0。1", "127.0.0.1"),
        ("127｡0｡0｡1", "127.0.0.1"),
        ("０ｘ７ｆ０００００１", "127.0.0.1"),
        ("𝟏𝟐𝟕.0.0.1", "127.0.0.1"),
    ])
    func numericAliasesAreRefusedNamingTheAddress(input: String, address: String) {
        do {
            let key = try HostKey(parsing: input)
            Issue.record("'\(input)' was accepted as \(key)")
        } catch {
            #expect(error.input == input)
            #expect(error.description.contains("use \(address)"), "\(error)")
        }
    }

    /// The aliases above are real: this system's resolver (getaddrinfo, no lookup) reads each
    /// ASCII spelling as the address the refusal names, so each would have reached that host.
    @Test(arguments: [
        ("0x7f000001", "127.0.0.1"), ("0x7f.0.0.0x1", "127.0.0.1"), ("0177.0.0.1", "127.0.0.1"), ("017700000001", "127.0.0.1"),
        ("127.1", "127.0.0.1"), ("127.0.1", "127.0.0.1"), ("0x7f.1", "127.0.0.1"), ("127.000.000.001", "127.0.0.1"),
        ("2130706433", "127.0.0.1"), ("192.0.2.010", "192.0.2.8"), ("192.522", "192.0.2.10"), ("0", "0.0.0.0"),
        ("::ffff:127.0.0.1", "::ffff:127.0.0.1"), ("::7f00:1", "::127.0.0.1"),
    ])
    func theResolverReadsEachAliasAsTheAddressNamed(spelling: String, address: String) {
        var hints = addrinfo()
        hints.ai_flags = AI_NUMERICHOST
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(spelling, "443", &hints, &list) == 0, let first = list else {
            Issue.record("getaddrinfo does not read '\(spelling)' as an address")
            return
        }
        defer { freeaddrinfo(first) }
        var buffer = [CChar](repeating: 0, count: Int(NI_MAXHOST))
        #expect(getnameinfo(first.pointee.ai_addr, first.pointee.ai_addrlen, &buffer, socklen_t(buffer.count), nil, 0, NI_NUMERICHOST) == 0)
        #expect(String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self) == address)
    }

    /// A name whose last label is a number is never a host name (RFC 3696 §2), whether or not
    /// this system's inet_aton reads it: other resolvers (BSD, browsers) read "0x" as 0.
    @Test(arguments: [
        "dnac.example.1", "dnac.example.0x1", "dnac.0x", "0x", "1.2.3.4.5", "4294967296", "0x100000000",
        "256.0.0.1", "1.2.3.256", "0x7f.0x100.1", "99999999999999999999999999", "08", "09.1.1.1", "0xfffffffff",
        "127.0.0.1%eth0", "127%2e0%2e0%2e1", "%31%32%37.0.0.1", "127.0.0.1 x", "127.0.0.1\u{0}", "fe80::1%25eth0",
        "١٢٧.٠.٠.١", "127.0.0.1\u{200B}",
    ])
    func numericLookingNamesAreRefused(input: String) {
        #expect(throws: HostKeyError.self, "'\(input)'") { try HostKey(parsing: input) }
    }

    /// Case never makes a second key: every spelling of one name or one IPv6 address is one key.
    @Test(arguments: [
        (["dnac.example.com", "DNAC.Example.COM", "dNaC.eXaMpLe.CoM", "DNAC.EXAMPLE.COM.", "Dnac.Example.Com:443", "DNAC.EXAMPLE.COM_443"], "dnac.example.com_443"),
        (["2001:db8::5", "2001:DB8::5", "2001:Db8:0:0::5", "[2001:DB8::5]:443", "2001:0DB8::0005_443"], "2001:db8::5_443"),
        (["xn--bcher-kva.example", "XN--BCHER-KVA.EXAMPLE", "Xn--Bcher-Kva.Example."], "xn--bcher-kva.example_443"),
    ])
    func everyCaseIsOneKey(spellings: [String], key: String) throws {
        for spelling in spellings {
            #expect(try HostKey(parsing: spelling).description == key, "'\(spelling)'")
            #expect(try HostKey(parsing: HostKey(parsing: spelling).description).description == key)
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
        canonical.replacing(":", with: ""),
        canonical.replacing(":", with: "").lowercased(),
        "sha256 Fingerprint=" + canonical,
        "  " + canonical + "\n",
    ])
    func everyFormReadsTheSame(text: String) {
        #expect(Fingerprint(parsing: text)?.description == Self.canonical)
    }

    @Test(arguments: ["", "00", String(Self.canonical.dropLast()), Self.canonical + "00", Self.canonical.replacing("E", with: "G")])
    func othersAreRefused(text: String) {
        #expect(Fingerprint(parsing: text) == nil)
    }
}
