import Foundation
import TestSupport
import Testing

/// `rpc.discover` returns protocol/openrpc.json, and the document and the server agree.
@Suite struct DiscoverTests {
    static let repositoryDocument: String = {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return (try? String(contentsOf: root.appendingPathComponent("protocol/openrpc.json"), encoding: .utf8)) ?? ""
    }()

    @Test func returnsTheRepositorysDocumentFromAnyDirectory() async throws {
        let server = try ServerProcess()
        let answer = try await server.call("rpc.discover", id: 1)
        let result = try #require(answer.object["result"])
        #expect(Wire.json(result) == Wire.canonical(Self.repositoryDocument))
        server.closeInput()
        #expect(try await server.waitForExit() == 0)
    }

    @Test func isAnOpenRPCDocument() throws {
        let document = try #require(try JSONSerialization.jsonObject(with: Data(Self.repositoryDocument.utf8)) as? [String: Any])
        #expect((document["openrpc"] as? String)?.hasPrefix("1.") == true)
        let info = try #require(document["info"] as? [String: Any])
        #expect(info["title"] is String && info["version"] is String)
        let methods = try #require(document["methods"] as? [[String: Any]])
        #expect(!methods.isEmpty)
        for method in methods {
            let name = method["name"] as? String ?? ""
            #expect(!name.isEmpty)
            #expect(method["params"] is [Any], "\(name) has no params list")
            #expect((method["result"] as? [String: Any])?["schema"] != nil, "\(name) has no result schema")
            for reference in (method["errors"] as? [[String: Any]] ?? []).compactMap({ $0["$ref"] as? String }) {
                let key = reference.replacingOccurrences(of: "#/components/errors/", with: "")
                #expect(((document["components"] as? [String: Any])?["errors"] as? [String: Any])?[key] != nil, "\(name): \(reference) is not defined")
            }
        }
        let errors = try #require((document["components"] as? [String: Any])?["errors"] as? [String: [String: Any]])
        let codes = Set(errors.values.compactMap { $0["code"] as? Int })
        #expect(codes.isSuperset(of: [-32700, -32600, -32601, -32602, -32603, -32800, -32001, -32002, -32003, -32004, -32005, -32006]))
    }

    /// Every listed method is answered (not -32601), and names that are not listed are not.
    @Test func listsEveryMethodTheServerAnswersAndNoOther() async throws {
        let document = try #require(try JSONSerialization.jsonObject(with: Data(Self.repositoryDocument.utf8)) as? [String: Any])
        let methods = try #require(document["methods"] as? [[String: Any]])
        let server = try ServerProcess()
        for method in methods {
            guard let name = method["name"] as? String, name != "exit", name != "shutdown" else { continue }
            let answer = try await server.call(name, id: name, params: name == "$/cancelRequest" ? ["id": 12345] : nil)
            #expect(answer.errorCode != -32601, "\(name) is listed but not answered")
        }
        for name in ["listcerts", "rpc.describe", "initialize", "$/progress", "Shutdown"] where !methods.contains(where: { $0["name"] as? String == name }) {
            let answer = try await server.call(name, id: name)
            #expect(answer.errorCode == -32601, "\(name) is answered but not listed")
        }
        #expect(try await server.call("shutdown", id: "s").object["result"] is NSNull)
        server.send(line: Wire.request("exit"))
        #expect(try await server.waitForExit() == 0)
    }
}

/// The README's method reference and protocol/openrpc.json agree.
@Suite struct ReadmeTests {
    @Test func everyDocumentedMethodIsInTheReadmeTableAndNoOther() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
        let section = readme.components(separatedBy: "## Methods").dropFirst().first?.components(separatedBy: "\n## ").first ?? ""
        let rows = section.split(separator: "\n").filter { $0.hasPrefix("| `") }
        let named = Set(rows.compactMap { $0.split(separator: "`").dropFirst().first.map(String.init) })
        let documented = Set(OpenRPCDocument.repository.methods.compactMap { $0["name"] as? String })
        #expect(named == documented)
    }

    /// Every example in the document is an answer the document itself accepts.
    @Test func everyExampleResultMatchesItsMethodsSchema() throws {
        let document = OpenRPCDocument.repository
        var checked = 0
        for method in document.methods {
            let name = method["name"] as? String ?? ""
            for example in method["examples"] as? [[String: Any]] ?? [] {
                guard let result = (example["result"] as? [String: Any])?["value"] else { continue }
                let schema = try #require((method["result"] as? [String: Any])?["schema"])
                let problems = document.validate(result, against: schema, at: "\(name) example '\(example["name"] ?? "")'")
                #expect(problems.isEmpty, "\(problems)")
                checked += 1
            }
        }
        #expect(checked >= 10, "only \(checked) examples were checked")
    }

    @Test func theSchemaCheckerCatchesAWrongAnswer() {
        let document = OpenRPCDocument.repository
        let bad = Received(framing: "ndjson", text: #"{"jsonrpc":"2.0","id":1,"result":{"certs":[{"host":5}],"nextCursor":null}}"#)
        #expect(!document.problems(answering: "listCerts", bad).isEmpty)
        let unlisted = Received(framing: "ndjson", text: #"{"jsonrpc":"2.0","id":1,"error":{"code":-32004,"message":"x","data":{"kind":"k"}}}"#)
        #expect(!document.problems(answering: "listCerts", unlisted).isEmpty)
        let good = Received(framing: "ndjson", text: #"{"jsonrpc":"2.0","id":1,"result":{"certs":[],"nextCursor":null}}"#)
        #expect(document.problems(answering: "listCerts", good).isEmpty)
    }
}
