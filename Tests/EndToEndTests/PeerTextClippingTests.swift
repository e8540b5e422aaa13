import Foundation
import TestSupport
import Testing

/// A peer's text echoed in an error (an unknown method, a host that is not one) or written to the
/// log (a notification that failed) is clipped to a couple of hundred code points, whatever the
/// text is made of: a base letter followed by a hundred thousand combining accents is one
/// character, and clipping by characters echoed all of it (hundreds of kilobytes per answer and
/// per log line, from any peer).
@Suite struct PeerTextClippingTests {
    /// One character of 100,001 code points (200,001 bytes of UTF-8).
    static let oneCharacter = "a" + String(repeating: "\u{301}", count: 100_000)

    @Test func aHugeSingleCharacterIsClippedInAnswersAndInTheLog() async throws {
        let server = try StoreServer(storePath: newStorePath("tofu-clipping"))
        let text = Self.oneCharacter
        #expect(text.count == 1)

        // An unknown method (request, then notification: only logged), an unknown param's name,
        // a host that is not one, and a fingerprint that is not one.
        server.process.send(line: Wire.request(text, id: 1))
        server.process.send(line: Wire.request(text))
        server.process.send(line: Wire.request("listCerts", id: 2, params: ["host": "kong.example", text: 1]))
        server.process.send(line: Wire.request("listCerts", id: 3, params: ["host": text]))
        server.process.send(line: Wire.request("deleteCert", id: 4, params: ["host": "kong.example", "expectedFingerprint": text]))
        let answers = try await server.process.reader.next(4)
        for answer in answers {
            #expect(answer.object["error"] != nil, "\(answer.text.prefix(300))")
            // The largest answer here, with its text clipped, is well under 4 KB; unclipped, each
            // held the whole 200 KB text (the host error three times).
            #expect(answer.text.utf8.count < 4_000, "answer of \(answer.text.utf8.count) bytes: \(answer.text.prefix(300))")
        }
        #expect(try await server.stop() == 0)
        let log = server.process.stderr
        #expect(log.contains("notification"), "the failed notification is logged: \(log.prefix(300))")
        #expect(log.utf8.count < 4_000, "log of \(log.utf8.count) bytes: \(log.prefix(300))")
    }
}
