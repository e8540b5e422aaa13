import TestSupport
import Testing
import TofuCore

/// HostKey reads every text as it did before its parsing was made byte-wise (`ReferenceHostKey`
/// is that parser, kept as it was): the same key, or the same error word for word, for tens of
/// thousands of random, structured and malformed inputs.
@Suite struct HostKeyEquivalenceTests {
    enum Outcome: Equatable {
        case key(host: String, port: Int, description: String)
        case error(HostKeyError)
    }

    static func now(_ input: String) -> Outcome {
        do {
            let key = try HostKey(parsing: input)
            return .key(host: key.host, port: key.port, description: key.description)
        } catch {
            return .error(error)
        }
    }

    static func before(_ input: String) -> Outcome {
        do {
            let key = try ReferenceHostKey(parsing: input)
            return .key(host: key.host, port: key.port, description: key.description)
        } catch {
            return .error(error)
        }
    }

    static func nowParts(_ host: String, _ port: Int) -> Outcome {
        do {
            let key = try HostKey(host: host, port: port)
            return .key(host: key.host, port: key.port, description: key.description)
        } catch {
            return .error(error)
        }
    }

    static func beforeParts(_ host: String, _ port: Int) -> Outcome {
        do {
            let key = try ReferenceHostKey(host: host, port: port)
            return .key(host: key.host, port: key.port, description: key.description)
        } catch {
            return .error(error)
        }
    }

    static let fixed = [
        "192.0.2.10_443", "192.0.2.10", "192.0.2.10:8443", "  192.0.2.10_443 \n", "DNAC.Example.COM", "dnac.example.com.",
        "dnac.example.com.:443", "xn--bcher-kva.example", "a-b.c1", "2001:db8::5", "2001:DB8::5", "[2001:db8::5]:8443",
        "[2001:db8::5]_8443", "::1", "[::1]:4433", "64:ff9b::127.0.0.1", "127.0.0.1.nip.example", "0x7f000001.example", "1e5",
        "0xg", "a.0x7g", "192.0.2.10:0443", "", "   ", "_443", ":443", "[]:443", "192.0.2.10:0", "192.0.2.10:65536",
        "192.0.2.10:", "192.0.2.10:https", "192.0.2.10:+443", "192.0.2.10:4 43", "192.0.2.256", "192.0.2", "192.0.2.010",
        "0x7f000001", "127.1", "0177.0.0.1", "::ffff:127.0.0.1", "::", "0.0.0.0", "::ffff:0.0.0.0", "::7f00:1", "fe80::1%eth0",
        "a..b", ".a", "a.", "a.b.", "a..", "-a.b", "a-.b", "a_b_443", "[2001:db8::5", "[192.0.2.1]", "[2001:db8::5]x",
        "１２７.0.0.1", "127。0.0.1", "ｌｏｃａｌｈｏｓｔ", "bücher.example", "a\u{301}.example", "exa\u{0}mple.com",
        "host\r\n_443", "host_4\r\n43", "a:\u{301}b", "_\u{301}443", "[\u{301}::1]", "\u{212A}ong.example", "İ.example",
        String(repeating: "a", count: 63) + ".example", String(repeating: "a", count: 64) + ".example",
        String(repeating: "a.", count: 126) + "b", String(repeating: "a.", count: 127) + "b", String(repeating: "x", count: 301),
        "0x", "0x.0x", "1.2.3.0x", "example.123", "example.0x1f", "example.0x", "EXAMPLE.COM_00443", "h005000.example",
    ]

    static let pieces = [
        "a", "Z", "0", "9", "x", "0x", "ff", ".", ".", ".", "-", "_", ":", "::", "[", "]", "%", " ", "\t", "\n", "\r\n", "\0",
        "443", "65535", "65536", "0", "127", "255", "256", "012", "example", "COM", "xn--", "é", "１", "。", "\u{301}", "\u{212A}",
        "İ", "🔐", "\u{7F}", "ﬀ",
    ]

    static func random(_ random: inout SeededGenerator) -> String {
        switch Int.random(in: 0..<5, using: &random) {
        case 0:
            // Any pieces, any order.
            return (0..<Int.random(in: 0...8, using: &random)).map { _ in pieces.randomElement(using: &random) ?? "" }.joined()
        case 1:
            // A name of labels, a separator, a port.
            let labels = (0..<Int.random(in: 1...4, using: &random)).map { _ in
                (0..<Int.random(in: 0...3, using: &random)).map { _ in pieces.randomElement(using: &random) ?? "" }.joined()
            }
            let separator = ["", "_", ":", "_", ""].randomElement(using: &random) ?? ""
            let port = separator.isEmpty ? "" : String(Int.random(in: -1...70_000, using: &random))
            return labels.joined(separator: ".") + separator + port
        case 2:
            // An IPv4 address in some spelling.
            let parts = (0..<Int.random(in: 1...5, using: &random)).map { _ -> String in
                let value = Int.random(in: 0...300, using: &random)
                return [String(value), "0" + String(value, radix: 8), "0x" + String(value, radix: 16), "\(value)"].randomElement(using: &random) ?? "0"
            }
            return parts.joined(separator: ".") + (Bool.random(using: &random) ? ":\(Int.random(in: 0...70_000, using: &random))" : "")
        case 3:
            // An IPv6 address in some spelling, bracketed or not.
            var groups = (0..<Int.random(in: 1...8, using: &random)).map { _ in String(Int.random(in: 0...0xFFFF, using: &random), radix: 16) }
            if Bool.random(using: &random), !groups.isEmpty { groups[Int.random(in: 0..<groups.count, using: &random)] = "" }
            let address = groups.joined(separator: ":")
            if Bool.random(using: &random) { return "[\(address)]" + (Bool.random(using: &random) ? ":\(Int.random(in: 0...70_000, using: &random))" : "") }
            return Bool.random(using: &random) ? address.uppercased() : address
        default:
            // A canonical key with one byte changed, inserted or dropped.
            var characters = Array("h\(Int.random(in: 0...999_999, using: &random)).example_\(Int.random(in: 1...65_535, using: &random))")
            let piece = Character(pieces.randomElement(using: &random).map { $0.isEmpty ? "a" : $0 }.map { String($0.prefix(1)) } ?? "a")
            let position = Int.random(in: 0..<characters.count, using: &random)
            switch Int.random(in: 0..<3, using: &random) {
            case 0: characters[position] = piece
            case 1: characters.insert(piece, at: position)
            default: characters.remove(at: position)
            }
            return String(characters)
        }
    }

    @Test func everyInputReadsAsBefore() {
        var generator = SeededGenerator(state: 5952)
        let inputs = Self.fixed + (0..<60_000).map { _ in Self.random(&generator) }
        var keys = 0
        for input in inputs {
            let now = Self.now(input)
            #expect(now == Self.before(input), "\(input.debugDescription)")
            if case .key = now { keys += 1 }
        }
        // Both kinds of answer, many times each.
        #expect(keys > 5_000 && keys < inputs.count - 5_000, "\(keys) keys of \(inputs.count)")
    }

    @Test func everyHostAndPortReadsAsBefore() {
        var generator = SeededGenerator(state: 1035)
        let hosts = Self.fixed + (0..<20_000).map { _ in Self.random(&generator) }
        for host in hosts {
            let port = [443, 0, 1, 65535, 65536, -1, Int.random(in: 1...65535, using: &generator)].randomElement(using: &generator) ?? 443
            #expect(Self.nowParts(host, port) == Self.beforeParts(host, port), "\(host.debugDescription) port \(port)")
        }
    }

    /// A key's text reads back as the key itself: what a point read relies on to take a row
    /// whose host column holds exactly that text without parsing it again.
    @Test func aKeysTextReadsBackAsTheKey() throws {
        var generator = SeededGenerator(state: 8443)
        var checked = 0
        for input in Self.fixed + (0..<30_000).map({ _ in Self.random(&generator) }) {
            guard let key = try? HostKey(parsing: input) else { continue }
            let again = try HostKey(parsing: key.description)
            #expect(again == key && again.description == key.description, "\(input.debugDescription)")
            #expect(try HostKey(host: key.host, port: key.port) == key, "\(input.debugDescription)")
            checked += 1
        }
        #expect(checked > 5_000)
    }
}
