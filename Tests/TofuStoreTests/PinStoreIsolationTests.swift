import Dispatch
import Foundation
import Posix
import Synchronization
import TestSupport
import Testing
import TofuCore

@testable import TofuStore

/// The store actor's isolation is what makes its database access safe: its jobs run on its own
/// thread, and a thread of its own enters it only with `blocking` or `ifIdle`, in turn with
/// the jobs, never beside them.
@Suite struct PinStoreIsolationTests {
    /// Counts who is inside the store at once; `enter` runs inside the store's isolation.
    final class Occupancy: Sendable {
        private let inside = Atomic<Int>(0)
        private let most = Atomic<Int>(0)
        private let calls = Atomic<Int>(0)

        func enter() {
            let now = inside.add(1, ordering: .sequentiallyConsistent).newValue
            most.max(now, ordering: .sequentiallyConsistent)
            usleep(200)
            inside.subtract(1, ordering: .sequentiallyConsistent)
            calls.add(1, ordering: .sequentiallyConsistent)
        }

        var mostAtOnce: Int { most.load(ordering: .sequentiallyConsistent) }
        var total: Int { calls.load(ordering: .sequentiallyConsistent) }
    }

    /// Threads calling `blocking` and `ifIdle` and tasks awaiting the actor, all at once: never
    /// two inside together, and every call ran.
    @Test func blockingCallsAndJobsTakeTurns() async throws {
        let store = PinStore(path: temporaryStore())
        let occupancy = Occupancy()
        let idleRuns = Atomic<Int>(0)
        let threadsDone = DispatchSemaphore(value: 0)
        for index in 0..<4 {
            DetachedThread.start(name: "test caller \(index)") {
                for _ in 0..<50 {
                    try? store.blocking { store in store.run(occupancy.enter) }
                    if (try? store.ifIdle({ store in store.run(occupancy.enter) })) != nil { idleRuns.add(1, ordering: .sequentiallyConsistent) }
                }
                threadsDone.signal()
            }
        }
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<200 {
                group.addTask { await store.run(occupancy.enter) }
            }
        }
        for _ in 0..<4 { await waitOnAnotherThread(threadsDone) }
        #expect(occupancy.mostAtOnce == 1, "\(occupancy.mostAtOnce) callers were inside the store at once")
        #expect(occupancy.total == 200 + 200 + idleRuns.load(ordering: .sequentiallyConsistent))
    }

    /// While the store is busy, `ifIdle` answers nil at once and `blocking` waits its turn.
    @Test func ifIdleNeverWaitsAndBlockingWaits() async throws {
        let store = PinStore(path: temporaryStore())
        let entered = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let holderDone = DispatchSemaphore(value: 0)
        DetachedThread.start(name: "test holder") {
            try? store.blocking { store in
                store.run {
                    entered.signal()
                    release.wait()
                }
            }
            holderDone.signal()
        }
        await waitOnAnotherThread(entered)

        // Answered while the store is still held: an ifIdle that waited would not answer at all.
        let idle = Locked<Int?>(nil)
        let idleDone = DispatchSemaphore(value: 0)
        DetachedThread.start(name: "test idle") {
            let answer = try? store.ifIdle { _ in 1 }
            idle.withLock { $0 = answer ?? nil }
            idleDone.signal()
        }
        let answered = await waitOnAnotherThread(idleDone, timeout: TestTime.bound(.seconds(30)))
        #expect(answered, "ifIdle waited for the busy store")
        #expect(idle.withLock { $0 } == nil, "ifIdle ran while the store was busy")

        let waiterDone = DispatchSemaphore(value: 0)
        let waited = Atomic<Bool>(false)
        DetachedThread.start(name: "test waiter") {
            try? store.blocking { _ in waited.store(true, ordering: .sequentiallyConsistent) }
            waiterDone.signal()
        }
        let job = Task { try await store.pin(for: try hostKey("kong.example")) }
        try await Task.sleep(for: .milliseconds(200))
        let ranEarly = waited.load(ordering: .sequentiallyConsistent)
        #expect(!ranEarly, "blocking ran while another thread held the store")
        release.signal()
        await waitOnAnotherThread(waiterDone)
        await waitOnAnotherThread(holderDone)
        let ran = waited.load(ordering: .sequentiallyConsistent)
        #expect(ran)
        #expect(try await job.value == nil)
        // The store's thread lets go just after the job's answer is out: idle again soon after.
        var idleAgain: Int?
        for _ in 0..<500 where idleAgain == nil {
            idleAgain = try ifIdleOnAnotherThread(store)
            if idleAgain == nil { try await Task.sleep(for: .milliseconds(10)) }
        }
        #expect(idleAgain == 2, "the store stayed busy")
    }

    /// `blocking` runs on the calling thread (no hop); an awaited method runs on the store's
    /// own thread, never on the cooperative pool.
    @Test func blockingRunsOnTheCallerAndJobsOnTheStoresThread() async throws {
        let store = PinStore(path: temporaryStore())
        #expect(await store.threadName() == "tofu store")
        let name = Locked<String?>(nil)
        let done = DispatchSemaphore(value: 0)
        DetachedThread.start(name: "test caller") {
            let inside = try? store.blocking { store in store.threadName() }
            name.withLock { $0 = inside }
            done.signal()
        }
        await waitOnAnotherThread(done)
        #expect(name.withLock { $0 } == "test caller")
    }

    /// A store that cannot be opened says why at each call, and opens once it can: a failure to
    /// open is not kept.
    @Test func aFailedOpenIsTriedAgainAtTheNextCall() async throws {
        let directory = temporaryDirectory("tofu-reopen")
        // A file where the store's directory should be.
        #expect(FileManager.default.createFile(atPath: directory + "/store", contents: Data("x".utf8)))
        let store = PinStore(path: directory + "/store/store.sqlite")
        let host = try hostKey("kong.example")
        for _ in 0..<2 {
            guard case .storeUnavailable(let reason)? = await tofuError({ try await store.pin(for: host) }) else {
                Issue.record("a store that cannot be created was opened")
                return
            }
            #expect(reason.contains("\(directory)/store"), "\(reason)")
        }
        try FileManager.default.removeItem(atPath: directory + "/store")
        #expect(try await store.pin(for: host) == nil)
        let certificates = try await Certificates.get()
        #expect(try await store.pin(certificates.a, for: host).1 == PinStatus.pinned)
        // Closed, it opens again at the next call.
        await store.close()
        #expect(try await store.pin(for: host)?.certificate == certificates.a)
    }

    @Test func anUnusableStoreAnswersEveryCallWithItsError() async throws {
        let error = TofuError.storeUnavailable(reason: "no store location: set --store")
        let store = PinStore(unusable: error)
        let host = try hostKey("kong.example")
        await #expect(throws: error) { try await store.pin(for: host) }
        await #expect(throws: error) { try await store.history(host: nil, limit: 1) }
        await #expect(throws: error) { try await store.delete(host, expected: nil) }
    }

    /// A backend that a failure left unusable is closed and replaced at the next call; one that
    /// only failed a call is kept.
    @Test func aBackendLeftUnusableIsReplaced() async throws {
        let opened = Locked<[FailingBackend]>([])
        let store = PinStore(path: "test") { () throws(TofuError) in
            let backend = FailingBackend()
            opened.withLock { $0.append(backend) }
            return backend
        }
        let host = try hostKey("kong.example")
        await #expect(throws: TofuError.storeUnavailable(reason: "a failure")) { try await store.pin(for: host) }
        await #expect(throws: TofuError.storeUnavailable(reason: "a failure")) { try await store.pin(for: host) }
        #expect(opened.withLock { $0.count } == 1, "a backend that only failed a call was replaced")
        opened.withLock { $0[0] }.breaks.store(true, ordering: .sequentiallyConsistent)
        await #expect(throws: TofuError.storeUnavailable(reason: "a failure")) { try await store.pin(for: host) }
        let closed = opened.withLock { $0[0] }.closed.load(ordering: .sequentiallyConsistent)
        #expect(closed, "the unusable backend was not closed")
        await #expect(throws: TofuError.storeUnavailable(reason: "a failure")) { try await store.pin(for: host) }
        #expect(opened.withLock { $0.count } == 2, "the unusable backend was not replaced")
    }

    /// A store's thread ends with the store: a process (or a test run) that makes many leaks none.
    @Test func aStoresThreadEndsWithIt() async throws {
        func running(_ thread: Int32) -> Bool {
            (try? String(contentsOfFile: "/proc/self/task/\(thread)/comm", encoding: .utf8)) == "tofu store\n"
        }
        var threads: [Int32] = []
        do {
            let stores = (0..<20).map { _ in PinStore(path: temporaryStore()) }
            for store in stores {
                _ = try await store.pin(for: try hostKey("kong.example"))
                threads.append(await store.threadID())
            }
            #expect(Set(threads).count == 20)
            #expect(threads.allSatisfy(running))
        }
        let deadline = ContinuousClock.now + TestTime.bound(.seconds(30))
        while threads.contains(where: running) && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(!threads.contains(where: running), "the threads of 20 dropped stores are still running")
    }
}

extension PinStore {
    /// Runs `body` inside the store's isolation.
    func run<T: Sendable>(_ body: @Sendable () -> T) -> T { body() }

    /// The kernel's id of the thread the store runs on now.
    func threadID() -> Int32 {
        // /proc/thread-self links to PID/task/TID.
        let link = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/thread-self")) ?? ""
        return Int32(link.split(separator: "/").last ?? "") ?? -1
    }

    /// The name of the thread the store runs on now.
    func threadName() -> String {
        ((try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)) ?? "").trimmingCharacters(in: .newlines)
    }
}

/// Waits for `semaphore` without holding a thread of the cooperative pool; false if `timeout`
/// passed first.
@discardableResult
func waitOnAnotherThread(_ semaphore: DispatchSemaphore, timeout: Duration = .seconds(600)) async -> Bool {
    let seconds = Double(timeout.components.seconds) + Double(timeout.components.attoseconds) / 1e18
    return await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
        DetachedThread.start(name: "test wait") {
            continuation.resume(returning: semaphore.wait(timeout: .now() + seconds) == .success)
        }
    }
}

/// `ifIdle` from a thread of its own (never from a task).
func ifIdleOnAnotherThread(_ store: PinStore) throws -> Int? {
    let answer = Locked<Int?>(nil)
    let done = DispatchSemaphore(value: 0)
    DetachedThread.start(name: "test idle") {
        let value = try? store.ifIdle { _ in 2 }
        answer.withLock { $0 = value ?? nil }
        done.signal()
    }
    done.wait()
    return answer.withLock { $0 }
}

func temporaryStore() -> String {
    temporaryDirectory("tofu-isolation") + "/store.sqlite"
}

/// A backend whose every call fails; `breaks` makes the failure leave it unusable.
final class FailingBackend: StoreBackend, Sendable {
    let breaks = Atomic<Bool>(false)
    let closed = Atomic<Bool>(false)

    func write<T>(locking host: HostKey?, _ body: (any StoreTransaction) throws -> T) throws(TofuError) -> T {
        throw .storeUnavailable(reason: "a failure")
    }

    func read<T>(_ body: (any StoreTransaction) throws -> T) throws(TofuError) -> T {
        throw .storeUnavailable(reason: "a failure")
    }

    func snapshot<T>(_ body: (any StoreTransaction) throws -> T) throws(TofuError) -> T {
        throw .storeUnavailable(reason: "a failure")
    }

    func write<T>(lockingAll hosts: [HostKey], _ body: (any StoreTransaction) throws -> T) throws(TofuError) -> T {
        throw .storeUnavailable(reason: "a failure")
    }

    var needsReopening: Bool { breaks.load(ordering: .sequentiallyConsistent) }

    func close() { closed.store(true, ordering: .sequentiallyConsistent) }

    func backup(to path: String) throws(TofuError) -> BackupSummary {
        throw .storeUnavailable(reason: "a failure")
    }
}
