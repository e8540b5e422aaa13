import Foundation
import TestSupport
import Testing

/// Malformed input from Tests/Corpus, and every param of every method given the wrong way:
/// a typed error or a documented close, never a crash, and the next request still answered.
@Suite struct CorpusTests {
    static let corpus: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Corpus")

    static var files: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: corpus.path)) ?? []).filter { !$0.hasSuffix(".md") }.sorted()
    }

    @Test(arguments: files)
    func malformedInputNeverCrashesTheServer(file: String) async throws {
        let bytes = try #require(FileManager.default.contents(atPath: Self.corpus.appendingPathComponent(file).path))
        let framing = file.hasSuffix(".lsp") ? "lsp" : "ndjson"
        let server = try ServerProcess(arguments: ["--store", temporaryDirectory("tofu-corpus") + "/store.sqlite"])
        server.send(Array(bytes))
        server.send(Wire.frame(Wire.request("rpc.discover", id: "after"), framing))
        server.closeInput()
        let status = try await server.waitForExit(timeout: TestTime.bound(.seconds(30)))
        let answers = try await server.reader.drain()
        #expect(server.ended?.signaled == false, "\(file): killed by signal \(status)")
        if file.hasPrefix("fatal-") {
            #expect(status == 2, "\(file): exit status \(status)")
            #expect(server.stderr.contains("unrecoverable framing") || server.stderr.contains("input ended"), "\(file): \(server.stderr)")
        } else {
            #expect(status == 0, "\(file): exit status \(status): \(server.stderr)")
            let after = answers.first { $0.object["id"] as? String == "after" }
            #expect(after?.object["result"] != nil, "\(file): the next request was not answered: \(answers)")
            for answer in answers where answer.object["id"] as? String != "after" {
                let codes = answer.array.isEmpty ? [answer.errorCode] : answer.array.map { ($0["error"] as? [String: Any])?["code"] as? Int }
                #expect(codes.allSatisfy { [-32700, -32600, -32601, -32602].contains($0 ?? 0) }, "\(file): \(answer)")
            }
        }
    }

    @Test func aLineOfTwentyMegabytesAndAHundredThousandEntryBatch() async throws {
        let server = try ServerProcess(arguments: ["--store", temporaryDirectory("tofu-corpus") + "/store.sqlite"])
        server.send(Array("[\"".utf8) + [UInt8](repeating: 0x61, count: 20 << 20) + Array("\"]\n".utf8))
        let big = try await server.reader.next(timeout: .seconds(300))
        #expect(big.errorCode == -32600 && big.errorData?["limit"] as? String == "messageBytes")
        let batch = "[" + Array(repeating: #"{"jsonrpc":"2.0","method":"rpc.discover"}"#, count: 100_000).joined(separator: ",") + "]"
        server.send(line: batch)
        let refused = try await server.reader.next(timeout: .seconds(300))
        #expect(refused.errorCode == -32600 && refused.errorData?["limit"] as? String == "batchEntries")
        #expect(try await server.call("rpc.discover", id: "after").object["result"] != nil)
        server.closeInput()
        #expect(try await server.waitForExit() == 0)
    }

    /// Every param of every documented method, given as the wrong type, as null when
    /// required, as a megabyte string; and an unknown param: -32602 naming it, every time.
    @Test func everyParamOfEveryMethodGivenWrong() async throws {
        let server = try StoreServer(storePath: temporaryDirectory("tofu-corpus") + "/store.sqlite")
        let huge = String(repeating: "x", count: 1 << 20)
        var checked = 0
        for method in OpenRPCDocument.repository.methods {
            // initialize takes whatever LSP and MCP define (InitializeTests checks its params).
            guard let name = method["name"] as? String, !["exit", "shutdown", "$/cancelRequest", "rpc.discover", "initialize"].contains(name) else { continue }
            let params = method["params"] as? [[String: Any]] ?? []
            // A valid base where one is needed, so each case fails on exactly one field. Hosts are
            // loopback ports where nothing listens: a validation bug can never dial anywhere else.
            var base: [String: Any] = [:]
            for param in params where param["required"] as? Bool == true {
                switch param["name"] as? String {
                case "host", "server": base[param["name"] as! String] = "127.0.0.1:9"
                case "pem": base["pem"] = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
                default: base[param["name"] as! String] = "x"
                }
            }
            for param in params {
                guard let field = param["name"] as? String else { continue }
                let schema = param["schema"] as? [String: Any]
                let types = (schema?["type"] as? String).map { [$0] } ?? (schema?["type"] as? [String] ?? ["string"])
                let type = types.first ?? "string"
                var wrongs: [Any] = [[1, 2], ["a": 1]]
                if !types.contains("integer") && !types.contains("number") { wrongs.append(12345) }
                if !types.contains("string") { wrongs.append("12345") }
                if param["required"] as? Bool == true { wrongs.append(NSNull()) }
                if type == "string" && !["password", "confirmPassword", "username", "progressToken"].contains(field) { wrongs.append(huge) }
                for wrong in wrongs {
                    var call = base
                    call[field] = wrong
                    if name == "verifyCert" && field != "host" && field != "all" { call["all"] = field == "pem" ? nil : true; if field == "pem" { call["host"] = "127.0.0.1:9" } }
                    let answer = try await server.call(name, call)
                    #expect(answer.errorCode == -32602, "\(name).\(field) = \(String(describing: wrong).prefix(40)): \(answer.text.prefix(300))")
                    checked += 1
                }
            }
            var extra = base
            extra["noSuchParam"] = 1
            let answer = try await server.call(name, extra)
            #expect(answer.errorCode == -32602 && answer.errorData?["field"] as? String == "noSuchParam", "\(name): \(answer.text.prefix(300))")
        }
        #expect(checked > 60)
        #expect(try await server.call("rpc.discover").errorCode == nil)
        _ = try await server.stop()
    }
}
