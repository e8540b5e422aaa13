import Foundation
import TestSupport
import Testing

/// `params: null` is absent params (JSON-RPC layer), as pygls 1.x sends it for every call
/// without arguments and pygls 2.x for generic calls: over a real pipe to the real tofu-rpc.
@Suite struct NullParamsTests {
    /// A request whose `params` member is JSON `null`, written by hand: Foundation would not
    /// put a null there from a Swift optional.
    static func nullParams(_ method: String, id: Int) -> String {
        #"{"jsonrpc":"2.0","id":\#(id),"method":"\#(method)","params":null}"#
    }

    @Test(arguments: ["ndjson", "lsp"])
    func nullParamsAreAbsentParams(framing: String) async throws {
        let server = try ServerProcess(arguments: ["--store", newStorePath("tofu-null-params")])
        // A method that takes no params.
        server.send(Wire.frame(Self.nullParams("rpc.discover", id: 1), framing))
        var answer = try await server.reader.next()
        #expect(answer.object["error"] == nil, "rpc.discover with params null: \(answer)")
        #expect((answer.object["result"] as? [String: Any])?["openrpc"] != nil, "\(answer)")
        server.send(Wire.frame(Self.nullParams("listDnacServers", id: 2), framing))
        answer = try await server.reader.next()
        #expect((answer.object["result"] as? [String: Any])?["servers"] as? [Any] != nil, "listDnacServers with params null: \(answer)")
        // Methods whose params are all optional.
        server.send(Wire.frame(Self.nullParams("listCerts", id: 3), framing))
        answer = try await server.reader.next()
        #expect((answer.object["result"] as? [String: Any])?["certs"] as? [Any] != nil, "listCerts with params null: \(answer)")
        server.send(Wire.frame(Self.nullParams("certHistory", id: 4), framing))
        answer = try await server.reader.next()
        #expect((answer.object["result"] as? [String: Any])?["events"] as? [Any] != nil, "certHistory with params null: \(answer)")
        // A method with a required param still says which one is missing.
        server.send(Wire.frame(Self.nullParams("deleteCert", id: 5), framing))
        answer = try await server.reader.next()
        #expect(answer.errorCode == -32602 && (answer.object["error"] as? [String: Any])?["data"].flatMap { ($0 as? [String: Any])?["field"] as? String } == "host", "\(answer)")
        // A member given as null is not given: timeoutMs null beside pem is no timeout for an
        // offline check (refused when it is a number).
        let certificate = try await CertificateFactory.make()
        server.send(Wire.frame(Wire.request("verifyCert", id: 7, params: ["host": "null.example", "pem": certificate.pem, "timeoutMs": NSNull()]), framing))
        answer = try await server.reader.next()
        #expect((answer.object["result"] as? [String: Any])?["status"] as? String == "unpinned", "verifyCert with timeoutMs null: \(answer)")
        // The lifecycle: shutdown and exit with params null, as pygls 1.x shuts a server down.
        server.send(Wire.frame(Self.nullParams("shutdown", id: 6), framing))
        answer = try await server.reader.next()
        #expect(answer.object["id"] as? Int == 6 && answer.object["error"] == nil && answer.object["result"] is NSNull, "shutdown with params null: \(answer)")
        server.send(Wire.frame(#"{"jsonrpc":"2.0","method":"exit","params":null}"#, framing))
        #expect(try await server.waitForExit() == 0, "exit after shutdown, both with params null: \(server.stderr)")
    }
}
