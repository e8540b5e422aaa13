import Foundation
import TestSupport
import Testing

/// A request that cannot be read may still hold a password: every error it gets (the
/// answer's `message` and `data`, the server's stderr) says where and what kind of error it
/// is, never what is there. Each case puts a secret exactly where jansson or the framer
/// complains, in the spot whose text jansson would quote.
@Suite struct MalformedInputSecretTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let bytes: [UInt8]
        let secret: String
        /// The framing cannot be recovered: the server exits with status 2.
        var fatal = false
        /// The input ends inside the case (no request can follow it).
        var last = false
        var framing = "ndjson"
        var testDescription: String { name }
    }

    static func line(_ text: String) -> [UInt8] { Array((text + "\n").utf8) }

    static func lsp(_ body: [UInt8], length: Int? = nil) -> [UInt8] {
        Array("Content-Length: \(length ?? body.count)\r\n\r\n".utf8) + body
    }

    static let head = #"{"jsonrpc":"2.0","id":1,"method":"addDnacServer","params":{"server":"127.0.0.1","username":"u","password""#

    static let cases: [Case] = [
        Case(name: "missing colon", bytes: line(head + #" "Zq9xWv7"}}"#), secret: "Zq9xWv7"),
        Case(name: "missing colon, JSON-escaped characters", bytes: line(head + #" "S3c\"r\\et"}}"#), secret: #"S3c"r\et"#),
        Case(name: "missing colon, non-ASCII", bytes: line(head + #" "Ünï🔒kß"}}"#), secret: "Ünï🔒kß"),
        Case(name: "missing colon, short", bytes: line(head + #" "pw"}}"#), secret: "\"pw\""),
        Case(name: "missing comma", bytes: line(head + #":"Fb6yTn" "confirmPassword":"Fb6yTn"}}"#), secret: "Fb6yTn"),
        Case(name: "unterminated string", bytes: line(head + #":"Kp4mQs"#), secret: "Kp4mQs"),
        Case(name: "unterminated string at the end of input", bytes: Array((head + #":"Kp4mQs"#).utf8), secret: "Kp4mQs", last: true),
        Case(name: "invalid escape", bytes: line(head + #":"Hx7\qLm"}}"#), secret: #"Hx7\qLm"#),
        Case(name: "invalid unicode escape", bytes: line(head + #":"Nm3\uZZZZ"}}"#), secret: #"Nm3\uZZZZ"#),
        Case(name: "lone surrogate escape", bytes: line(head + #":"Rf6\uD800Pq"}}"#), secret: "Rf6"),
        Case(
            name: "invalid UTF-8 in a string",
            bytes: Array((head + #":"Wd2"#).utf8) + [0xC0] + Array(#"Jn"}}"#.utf8) + [0x0A], secret: "Wd2"),
        Case(
            name: "control character in a string",
            bytes: Array((head + #":"Ty5"#).utf8) + [0x01] + Array(#"Gh"}}"#.utf8) + [0x0A], secret: "Ty5"),
        Case(name: "huge integer", bytes: line(head + ":98765432109876543210}}"), secret: "98765432109876543210"),
        Case(name: "huge negative integer", bytes: line(head + ":-98765432109876543210}}"), secret: "98765432109876543210"),
        Case(name: "real overflow", bytes: line(head + ":7e4242}}"), secret: "7e4242"),
        Case(name: "bare word", bytes: line(head + ":BvtRzk}}"), secret: "BvtRzk"),
        Case(name: "trailing text", bytes: line(#"{"jsonrpc":"2.0","id":1,"method":"rpc.discover"} YcxLpq"#), secret: "YcxLpq"),
        Case(name: "not JSON at all", bytes: line("PassWordJkQz"), secret: "PassWordJkQz"),
        Case(name: "duplicate key", bytes: line(head + #":"x","Dk3jHu":1,"Dk3jHu":2}}"#), secret: "Dk3jHu"),
        Case(
            name: "LSP body cut short by its Content-Length",
            bytes: lsp(Array((head + #":"Lq8wEr9t"}}"#).utf8), length: (head + #":"Lq8w"#).utf8.count) + [0x0A],
            secret: "Lq8wEr9t", framing: "lsp"),
        Case(
            name: "LSP body longer than its JSON text",
            bytes: lsp(Array(#"{"jsonrpc":"2.0","id":1,"method":"rpc.discover"} GzkWqm"#.utf8)), secret: "GzkWqm", framing: "lsp"),
        Case(name: "LSP body missing a colon", bytes: lsp(Array((head + #" "Vb4nMx"}}"#).utf8)), secret: "Vb4nMx", framing: "lsp"),
        Case(name: "Content-Length that is a word", bytes: Array("Content-Length: Hj6vDs\r\n\r\n{}".utf8), secret: "Hj6vDs", fatal: true),
        Case(
            name: "Content-Length with a secret after the digits",
            bytes: Array("Content-Length: 12 Hj6vDs\r\n\r\n{}".utf8), secret: "Hj6vDs", fatal: true),
        Case(
            name: "header line without a colon",
            bytes: Array("Content-Length: 2\r\npassword Pr9sXc\r\n\r\n{}".utf8), secret: "Pr9sXc", fatal: true),
        Case(
            name: "header line without a colon after a secret header",
            bytes: Array("X-Password: Qe5rTy\r\nQe5rTy\r\n\r\n{}".utf8), secret: "Qe5rTy", fatal: true),
    ]

    /// Every window of four characters of the secret, as sent and as JSON would escape it:
    /// a leak of part of a secret is a leak.
    static func fragments(of secret: String) -> Set<String> {
        var found = Set<String>()
        let escaped = String(Wire.json([secret]).dropFirst(2).dropLast(2))
        for form in [secret, escaped] {
            let characters = Array(form)
            guard characters.count > 4 else {
                found.insert(form)
                continue
            }
            for start in 0...(characters.count - 4) { found.insert(String(characters[start..<(start + 4)])) }
        }
        return found
    }

    /// Every string in a parsed JSON value (object keys too).
    static func strings(in value: Any) -> [String] {
        switch value {
        case let text as String: return [text]
        case let array as [Any]: return array.flatMap(strings)
        case let object as [String: Any]: return object.keys.map { $0 } + object.values.flatMap(strings)
        default: return []
        }
    }

    @Test(arguments: cases)
    func aSecretInMalformedInputIsNeverEchoed(_ test: Case) async throws {
        let server = try ServerProcess(arguments: [
            "--store", temporaryDirectory("tofu-secret") + "/store.sqlite", "--log-level", "trace",
        ])
        server.send(test.bytes)
        if !test.fatal && !test.last { server.send(Wire.frame(Wire.request("rpc.discover", id: "after"), test.framing)) }
        server.closeInput()
        let status = try await server.waitForExit()
        let answers = try await server.reader.drain()
        if test.fatal {
            #expect(status == 2, "\(test.name): exit status \(status)")
            #expect(server.stderr.contains("unrecoverable framing"), "\(test.name): \(server.stderr)")
        } else {
            #expect(status == 0, "\(test.name): exit status \(status): \(server.stderr)")
            #expect(test.last || answers.contains { $0.object["id"] as? String == "after" && $0.object["result"] != nil }, "\(test.name): \(answers)")
        }
        let errors = answers.filter { $0.object["id"] as? String != "after" }
        if !test.fatal {
            #expect(!errors.isEmpty && errors.allSatisfy { $0.errorCode != nil }, "\(test.name): no error answer: \(answers)")
        }
        let fragments = Self.fragments(of: test.secret)
        for answer in errors {
            let error = answer.object["error"] ?? [:]
            for text in Self.strings(in: error) {
                let leaked = fragments.filter { text.contains($0) }
                #expect(leaked.isEmpty, "\(test.name): the answer echoes \(leaked.sorted()): \(answer.text)")
            }
        }
        let leaked = fragments.filter { server.stderr.contains($0) }
        #expect(leaked.isEmpty, "\(test.name): stderr echoes \(leaked.sorted()): \(server.stderr)")
    }
}
