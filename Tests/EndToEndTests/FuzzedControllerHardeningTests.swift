import Foundation
import TestSupport
import Testing

/// A fuzzed fake controller: the token request is answered with mutated HTTP (real answers,
/// mutated by a seeded generator, so a failure replays with TOFU_FUZZ_SEED=<seed>). tofu-rpc
/// answers every call with a success or a typed error, within its deadline, and never crashes.
/// `make torture` (TOFU_TORTURE=1) runs it long.
@Suite struct FuzzedControllerHardeningTests {
    static let torture = ProcessInfo.processInfo.environment["TOFU_TORTURE"] == "1"


    static let token = #"{"Token":"eyJ0eXAiOiJKV1QiLCJhbGciOiJub25lIn0.test-token"}"#

    /// What real controllers and proxies answer.
    static let bases: [String] = [
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: \(token.utf8.count)\r\n\r\n\(token)",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n\(token.prefix(16))\r\n\(String(token.utf8.count - 16, radix: 16))\r\n\(token.dropFirst(16))\r\n0\r\n\r\n",
        "HTTP/1.1 404 Not Found\r\nContent-Length: 21\r\n\r\n{\"error\":\"not found\"}",
        "HTTP/1.0 404 Not Found\r\nContent-Length: 21\r\n\r\n{\"error\":\"not found\"}",
        "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: \(token.utf8.count)\r\n\r\n\(token)",
        "HTTP/1.1 204 No Content\r\n\r\n",
        "HTTP/1.1 200 OK\nContent-Length: \(token.utf8.count)\n\n\(token)",
        "HTTP/1.1 401 Unauthorized\r\nContent-Length: 2\r\nConnection: close, TE\r\n\r\n{}",
        "HTTP/1.0 200 OK\r\n\r\n\(token)",
    ]

    /// Pieces a mutation splices in: the sizes, line ends and fields parsers trip over.
    static let pieces: [String] = [
        "\r\n", "\n", "\r", "\r\n\r\n", ":", " ", ";", ",", "0", "7FFFFFFFFFFFFFFF", "FFFFFFFFFFFFFFFFF", "-1",
        "99999999999999999999", "18446744073709551616", "Transfer-Encoding: chunked\r\n", "Content-Length: 5, 6\r\n",
        "Content-Length: 3\r\n", "Connection: close\r\n", "HTTP/1.1 100 Continue\r\n\r\n", "HTTP/1.1 101 Switching Protocols\r\n\r\n",
        "0\r\n\r\n", " \t", "\u{0}", "\u{FF}", "HTTP/1.1 ",
    ]

    static func mutate(_ base: [UInt8], _ random: inout SeededGenerator) -> [UInt8] {
        var bytes = base
        for _ in 0..<Int.random(in: 1...4, using: &random) {
            let at = bytes.isEmpty ? 0 : Int.random(in: 0...bytes.count, using: &random)
            switch Int.random(in: 0..<7, using: &random) {
            case 0 where at < bytes.count: bytes[at] = UInt8.random(in: 0...255, using: &random)
            case 1: bytes.insert(UInt8.random(in: 0...255, using: &random), at: at)
            case 2 where at < bytes.count:
                let end = min(bytes.count, at + Int.random(in: 1...16, using: &random))
                bytes.removeSubrange(at..<end)
            case 3 where at < bytes.count:
                let end = min(bytes.count, at + Int.random(in: 1...64, using: &random))
                bytes.insert(contentsOf: bytes[at..<end], at: at)
            case 4: bytes = Array(bytes.prefix(at))
            case 5:
                let count = Int.random(in: 1...3000, using: &random)
                bytes.insert(contentsOf: Array(repeating: Array("X-F: v\r\n".utf8), count: count).joined(), at: at)
            default: bytes.insert(contentsOf: Array(pieces.randomElement(using: &random)!.utf8), at: at)
            }
        }
        return bytes
    }

    @Test func everyMutatedAnswerGetsATypedAnswerAndTheServerSurvives() async throws {
        let seed = ProcessInfo.processInfo.environment["TOFU_FUZZ_SEED"].flatMap(UInt64.init) ?? UInt64.random(in: 0...UInt64.max)
        let rounds = Self.torture ? 3000 : 40
        print("fuzzed controller: seed \(seed), \(rounds) answers (replay with TOFU_FUZZ_SEED=\(seed))")
        var random = SeededGenerator(state: seed)
        let peers = try TLSPeers()
        let dnac = try await HTTPAnswerTests.controller(peers, try await CertificateFactory.make(), ["behaviour": "raw"])
        let server = try StoreServer(storePath: newStorePath())
        var codes: [Int: Int] = [:]
        for round in 0..<rounds {
            let base = Array(Self.bases[Int.random(in: 0..<Self.bases.count, using: &random)].utf8)
            // One in eight unmutated, so the successes stay exercised too.
            let answer = Int.random(in: 0..<8, using: &random) == 0 ? base : Self.mutate(base, &random)
            try await peers.dnac(dnac, ["raw": Data(answer).base64EncodedString()])
            let start = ContinuousClock.now
            let received = try await server.call("addDnacServer", DnacTests.add(dnac, extra: ["timeoutMs": 1500]))
            let elapsed = ContinuousClock.now - start
            let code = received.errorCode ?? 0
            codes[code, default: 0] += 1
            let context = "seed \(seed), round \(round), answer \(Data(answer).base64EncodedString().prefix(400))"
            #expect([0, -32004, -32006].contains(code), "\(context): \(received)")
            #expect(elapsed < TestTime.bound(.seconds(12)), "\(context): took \(elapsed)")
            if code == -32006 { #expect(!received.errorReason.isEmpty, "\(context)") }
            guard server.process.process.isRunning else {
                Issue.record("tofu-rpc died: \(context): \(server.process.stderr)")
                break
            }
        }
        print("fuzzed controller: answers by code \(codes.sorted { $0.key < $1.key })")
        #expect((try await server.result("listCerts")["certs"] as? [Any])?.count == 1)
        #expect(try await server.stop() == 0)
        peers.stop()
    }
}
