import Foundation
import TestSupport
import Testing

/// `timeoutMs` of the two methods that probe a live host, verifyCert and addDnacServer: the
/// bounds the protocol document gives both (100 to 120000 ms), refused outside them naming the field.
@Suite struct ProbeTimeoutTests {
    @Test(arguments: ["verifyCert", "addDnacServer"])
    func theSameBoundsForBothMethods(method: String) async throws {
        let server = try StoreServer(storePath: temporaryDirectory("tofu-timeout") + "/store.sqlite")
        // Nothing listens there: a probe, once allowed, is refused at once.
        let host = "127.0.0.1:\(TLSPeers.closedPort())"
        let params: [String: Any] = method == "verifyCert"
            ? ["host": host] : ["server": host, "username": "u", "password": "pw", "confirmPassword": "pw"]
        for timeout in [99, 120_001, 0, -1] {
            let answer = try await server.call(method, params.merging(["timeoutMs": timeout]) { $1 })
            #expect(answer.errorCode == -32602, "\(timeout): \(answer)")
            #expect(answer.errorData?["field"] as? String == "timeoutMs", "\(timeout): \(answer)")
            #expect(answer.errorReason == "must be from 100 to 120000, got \(timeout)", "\(timeout): \(answer)")
        }
        for timeout in [100, 120_000] {
            let answer = try await server.call(method, params.merging(["timeoutMs": timeout]) { $1 })
            if method == "verifyCert" {
                #expect((answer.object["result"] as? [String: Any])?["status"] as? String == "unreachable", "\(timeout): \(answer)")
            } else {
                #expect(answer.errorCode == -32003, "\(timeout): \(answer)")
            }
        }
        #expect(try await server.stop() == 0)
    }
}
