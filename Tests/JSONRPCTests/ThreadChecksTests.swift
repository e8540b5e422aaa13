import Foundation
import JSONRPC
import TestSupport
import Testing

@testable import JSONRPC

/// Which thread runs what: the names the connection gives its threads, and the checks that
/// stop a process calling thread-bound code from the wrong thread.
@Suite struct ThreadChecksTests {
    /// The names of this process's threads, as `top -H` shows them.
    static func threadNames() -> Set<String> {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
        return Set(tasks.compactMap { task in
            (try? String(contentsOfFile: "/proc/self/task/\(task)/comm", encoding: .utf8))?.trimmingCharacters(in: .newlines)
        })
    }

    /// Waits until every name in `names` is a thread's name.
    static func threadsNamed(_ names: Set<String>) async throws -> Bool {
        let deadline = ContinuousClock.now + TestTime.bound(.seconds(10))
        while ContinuousClock.now < deadline {
            if names.isSubset(of: threadNames()) { return true }
            try await Task.sleep(for: .milliseconds(10))
        }
        return false
    }

    /// The library names no user of its own: the program that serves gives the names.
    @Test func theConnectionsThreadsBearTheNamesItIsGiven() async throws {
        let suffix = String(UInt16.random(in: 0...UInt16.max), radix: 16)
        let names = (input: "test-in-" + suffix, output: "test-out-" + suffix)
        let server = InProcessServer(methods: MethodTable(), threadNames: names)
        server.send(line: Wire.request("shutdown", id: 1))
        _ = try await server.reader.next()
        #expect(try await Self.threadsNamed([names.input, names.output]), "threads: \(Self.threadNames().sorted())")
        server.closeInput()
        _ = await server.ending()
    }

    @Test func theDefaultNamesAreTheLibrarys() async throws {
        let server = InProcessServer(methods: MethodTable())
        server.send(line: Wire.request("shutdown", id: 1))
        _ = try await server.reader.next()
        #expect(try await Self.threadsNamed(["jsonrpc-input", "jsonrpc-output"]), "threads: \(Self.threadNames().sorted())")
        #expect(Self.threadNames().isDisjoint(with: ["tofu-rpc input", "tofu-rpc output"]), "threads: \(Self.threadNames().sorted())")
        server.closeInput()
        _ = await server.ending()
    }

    @Test func aThreadRoleStopsAnyOtherThread() async {
        await #expect(processExitsWith: .failure) {
            ThreadRole("input").check()
        }
    }

    @Test func theThreadThatClaimedARolePassesItsCheck() async {
        await #expect(processExitsWith: .success) {
            let role = ThreadRole("input")
            role.claim()
            role.check()
        }
    }

    @Test func onlyTheInputThreadHoldsAnswers() async {
        await #expect(processExitsWith: .failure) {
            let writer = OutputWriter(
                fd: open("/dev/null", O_WRONLY), bound: 1 << 10, threadName: "test-output", inputThread: ThreadRole("input"), onBroken: { _ in })
            writer.hold(Array("{}\n".utf8))
        }
    }

    @Test func waitingForRoomInTheQueueIsNeverDoneByATask() async {
        await #expect(processExitsWith: .failure) {
            let tracker = RequestTracker(maxInFlight: 1, maxQueuedCost: 1 << 10, outputHasRoom: { true })
            tracker.waitForRoomInQueue {}
        }
    }
}
