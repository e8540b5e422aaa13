import Foundation
import TestSupport
import Testing

/// A batch's write not begun when the batch's answer passed its bound answers -32600
/// `limitExceeded` (`batchAnswerBytes`), the answer README tells a client to send again; never
/// -32800 when no cancel was sent. The write lane, reaching an entry the batch had just refused,
/// answered -32800 over the refusal when it got there first: a client that sent no cancel read
/// "Request cancelled", and one that takes -32800 as its own cancel's answer dropped the write.
@Suite struct BatchRefusedLaneEntryTests {
    @Test func aRefusedWriteOfABatchAnswersBatchAnswerBytesNeverCancelled() async throws {
        let server = try StoreServer(storePath: newStorePath("tofu-batch-refusal"), arguments: ["--max-batch", "5000", "--max-message-bytes", "500000"])
        // deleteCert of hosts never pinned: each a quick write-lane call answered -32001, so
        // the lane keeps pace with the batch's task refusing the entries past the bound.
        let count = 5000
        var refused = 0
        var notFound = 0
        var wrong: [String] = []
        for round in 0..<5 {
            let batch = (0..<count).map { index -> [String: Any] in
                ["jsonrpc": "2.0", "id": index, "method": "deleteCert", "params": ["host": "unpinned\(index).example"]]
            }
            server.process.send(line: Wire.json(batch))
            let entries = try await server.process.reader.next(timeout: TestTime.bound(.seconds(120))).array
            #expect(entries.map { $0["id"] as? Int } == (0..<count).map { $0 }, "round \(round): the answers are not the entries in order")
            for entry in entries {
                let error = entry["error"] as? [String: Any]
                let data = error?["data"] as? [String: Any]
                switch (error?["code"] as? Int, data?["limit"] as? String) {
                case (-32001, _): notFound += 1
                case (-32600, "batchAnswerBytes"): refused += 1
                default: if wrong.count < 3 { wrong.append("round \(round): \(Wire.json(entry))") }
                }
            }
        }
        #expect(wrong.isEmpty, "a batch entry answered neither certNotFound nor batchAnswerBytes:\n\(wrong.joined(separator: "\n"))")
        // Both kinds met: the bound was passed, with writes still waiting on the lane.
        #expect(refused > 0 && notFound > 0, "refused \(refused), not found \(notFound)")
        #expect(try await server.stop() == 0)
    }
}
