import Foundation
import Posix
import TestSupport
import Testing

/// A tofu-rpc process on a store file of the test's own.
struct StoreServer {
    let process: ServerProcess
    let storePath: String
    private static let counter = Counter()

    init(storePath: String, arguments: [String] = [], environment: [String: String] = [:]) throws {
        self.storePath = storePath
        process = try ServerProcess(arguments: ["--store", storePath] + arguments, environment: environment)
    }

    /// Calls `method`, checks the answer against protocol/openrpc.json, and returns it.
    func call(_ method: String, _ params: [String: Any]? = nil, sourceLocation: SourceLocation = #_sourceLocation) async throws -> Received {
        let id = Self.counter.next()
        process.send(line: Wire.request(method, id: id, params: params))
        let answer: Received
        do {
            answer = try await process.reader.next()
        } catch PeerError.timeout {
            // A server that does not answer: what each of its threads is doing, for the log.
            let pid = process.process.processIdentifier
            let stacks = try? await runProgram("/usr/bin/gdb", ["-batch", "-p", String(pid), "-ex", "thread apply all bt 25"], timeout: .seconds(60))
            FileHandle.standardError.write(Data("tofu-rpc \(pid) did not answer \(method) (id \(id)):\n\(stacks.map { $0.stdout + $0.stderr } ?? "gdb failed")\n".utf8))
            throw PeerError.timeout
        }
        #expect(answer.object["id"] as? Int == id, "answer out of order: \(answer)", sourceLocation: sourceLocation)
        let problems = OpenRPCDocument.repository.problems(answering: method, answer)
        #expect(problems.isEmpty, "\(method): \(problems)", sourceLocation: sourceLocation)
        return answer
    }

    /// The `result` object of a call that must succeed.
    func result(_ method: String, _ params: [String: Any]? = nil, sourceLocation: SourceLocation = #_sourceLocation) async throws -> [String: Any] {
        let answer = try await call(method, params, sourceLocation: sourceLocation)
        #expect(answer.object["error"] == nil, "\(method) failed: \(answer)", sourceLocation: sourceLocation)
        return answer.object["result"] as? [String: Any] ?? [:]
    }

    func stop() async throws -> Int32 {
        process.closeInput()
        return try await process.waitForExit()
    }
}

/// Another process holding the write lock of `store`: sqlite3 in an open IMMEDIATE
/// transaction. Returns once the lock is held; `end` finishes the transaction with COMMIT or
/// ROLLBACK, and sqlite3 then exits.
struct WriteLockHolder {
    private let process: ServerProcess

    init(_ store: String) async throws {
        process = try ServerProcess("/usr/bin/sqlite3", arguments: [store])
        process.send(Array("BEGIN IMMEDIATE;\nSELECT 'locked';\n".utf8))
        let deadline = ContinuousClock.now + TestTime.bound(.seconds(10))
        while !String(decoding: process.reader.leftover, as: UTF8.self).contains("locked") && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    func end(with ending: String) {
        process.send(Array("\(ending);\n.quit\n".utf8))
    }

    func waitForExit() async throws {
        _ = try await process.waitForExit()
    }
}

final class Counter: Sendable {
    private let value = Locked(0)
    func next() -> Int { value.withLock { $0 += 1; return $0 } }
}

/// The bytes of a file, to prove a refused store was not touched.
func fileBytes(_ path: String) -> Data? { FileManager.default.contents(atPath: path) }

func permissions(_ path: String) -> Int {
    ((try? FileManager.default.attributesOfItem(atPath: path))?[.posixPermissions] as? Int) ?? -1
}
