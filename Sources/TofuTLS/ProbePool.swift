import Dispatch
import Posix

#if canImport(Glibc)
    import Glibc
#endif

/// The threads every TLS probe of a process runs on: at most `limit` at once, the rest wait
/// their turn first come, first served.
///
/// A probe blocks (getaddrinfo, connect, the handshake, addDnacServer's HTTP), so it needs a
/// thread of its own off Swift's cooperative pool; one thread and one socket per probe made a
/// batch of 1,000 `verifyCert` calls open 1,000 of each at once and run the process out of file
/// descriptors. Here threads and sockets stay within the limit whatever the callers ask, and a
/// waiting probe can be taken out of the queue at once (cancellation). Threads are POSIX threads,
/// started on demand and ended after a few seconds without work.
public final class ProbePool: Sendable {
    /// Probes at once when nothing else is said (tofu-rpc's `--max-probes`).
    public static let defaultLimit = 64

    /// File descriptors left for everything but probes: stdio, the store's connections (each a
    /// database, WAL and shared-memory file), the event loop's.
    static let reservedDescriptors = 64

    /// The most probes the process's file-descriptor limit (ulimit -n) affords, each counted
    /// at two descriptors (its socket, and what getaddrinfo opens), after the reserve; nil when
    /// the limit is unlimited. A pool within it leaves the store room to open its files.
    public static var affordableLimit: Int? {
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur != rlim_t.max else { return nil }
        let soft = Int(clamping: limit.rlim_cur)
        return max(1, (soft - reservedDescriptors) / 2)
    }

    /// The pool every `TLSProbe` of this process runs on.
    public static let shared = ProbePool(limit: defaultLimit)

    /// A queued piece of work: `run` on a pool thread, or `refuse` when no thread can be had.
    struct Job: Sendable {
        let id: UInt64
        let run: @Sendable () -> Void
        let refuse: @Sendable (String) -> Void
    }

    /// A thread waiting for work: a submitter leaves a job in `handOff` and signals `wake`.
    private final class Worker: Sendable {
        let wake = DispatchSemaphore(value: 0)
        let handOff = Locked<Job?>(nil)
    }

    private struct State {
        var limit: Int
        /// Threads started and not yet ended (running a job, or idle).
        var threads = 0
        var idle: [Worker] = []
        /// Waiting jobs in arrival order; an id whose job was removed is skipped.
        var order: [UInt64] = []
        var head = 0
        var waiting: [UInt64: Job] = [:]
        var lastID: UInt64 = 0

        mutating func popWaiting() -> Job? {
            while head < order.count {
                let id = order[head]
                head += 1
                if head > 1024 && head * 2 > order.count {
                    order.removeFirst(head)
                    head = 0
                }
                if let job = waiting.removeValue(forKey: id) { return job }
            }
            return nil
        }
    }

    private let state: Locked<State>
    private let idleMilliseconds: Int

    /// A pool of at most `limit` threads; a thread with no work for `idleMilliseconds` ends.
    public init(limit: Int, idleMilliseconds: Int = 5000) {
        state = Locked(State(limit: max(1, limit)))
        self.idleMilliseconds = idleMilliseconds
    }

    /// The most probes that run at once. Lowering it lets running probes finish; raising it
    /// starts waiting ones.
    public var limit: Int {
        get { state.withLock { $0.limit } }
        set {
            let starts = state.withLock { state -> Int in
                state.limit = max(1, newValue)
                let wanted = min(state.waiting.count, state.limit - state.threads)
                guard wanted > 0 else { return 0 }
                state.threads += wanted
                return wanted
            }
            for _ in 0..<starts { startThread() }
        }
    }

    /// Probes waiting for a thread, and threads alive (running or idle).
    public var load: (waiting: Int, threads: Int) { state.withLock { ($0.waiting.count, $0.threads) } }

    /// Runs `run` on a pool thread as soon as one is free, after every job submitted before it.
    /// `refuse` is called instead (on some thread) if no thread can be started at all. Returns
    /// the id `remove` takes.
    @discardableResult
    func submit(_ run: @escaping @Sendable () -> Void, refuse: @escaping @Sendable (String) -> Void) -> UInt64 {
        enum Step { case handedOff(Worker), start, queued }
        let (id, step) = state.withLock { state -> (UInt64, Step) in
            state.lastID += 1
            let job = Job(id: state.lastID, run: run, refuse: refuse)
            if let worker = state.idle.popLast() {
                worker.handOff.withLock { $0 = job }
                return (job.id, .handedOff(worker))
            }
            state.waiting[job.id] = job
            state.order.append(job.id)
            guard state.threads < state.limit else { return (job.id, .queued) }
            state.threads += 1
            return (job.id, .start)
        }
        switch step {
        case .handedOff(let worker): worker.wake.signal()
        case .start: startThread()
        case .queued: break
        }
        return id
    }

    /// Takes a job that has not started out of the queue; false if it has started (or is unknown).
    func remove(_ id: UInt64) -> Bool {
        state.withLock { $0.waiting.removeValue(forKey: id) != nil }
    }

    // MARK: - Threads

    private func work() {
        let worker = Worker()
        while let job = next(for: worker) {
            job.run()
        }
    }

    /// The next job for `worker`: a waiting one, or one handed off while it idles; nil when it
    /// has idled long enough and ends (it is then no longer counted).
    private func next(for worker: Worker) -> Job? {
        let waiting = state.withLock { state -> Job? in
            if let job = state.popWaiting() { return job }
            state.idle.append(worker)
            return nil
        }
        if let waiting { return waiting }
        if worker.wake.wait(timeout: .now() + .milliseconds(idleMilliseconds)) == .timedOut {
            let ended = state.withLock { state -> Bool in
                guard let index = state.idle.firstIndex(where: { $0 === worker }) else { return false }
                state.idle.remove(at: index)
                state.threads -= 1
                return true
            }
            if ended { return nil }
            // A submitter took this worker just as it timed out: its signal is on the way.
            worker.wake.wait()
        }
        return worker.handOff.withLock { job in
            defer { job = nil }
            return job
        }
    }

    private func startThread() {
        let status = DetachedThread.tryStart(name: "tofu probe") { [self] in work() }
        guard status == 0 else {
            let reason = "tofu-rpc cannot start a probe thread (\(String(cString: strerror(status)))); lower --max-probes or raise the process limit (ulimit -u)"
            // The running threads drain the queue; with none left, nothing would.
            let orphans = state.withLock { state -> [Job] in
                state.threads -= 1
                guard state.threads == 0 else { return [] }
                var jobs: [Job] = []
                while let job = state.popWaiting() { jobs.append(job) }
                return jobs
            }
            for job in orphans { job.refuse(reason) }
            return
        }
    }
}
