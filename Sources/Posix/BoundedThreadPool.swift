import Dispatch

/// Threads for blocking work, at most `limit` at once; the rest of the work waits its turn, first
/// come, first served, and what is still waiting can be taken back at once (cancellation).
/// Threads are started on demand (with `DetachedThread`) and end after a while without work.
///
/// For work that must stay off Swift's cooperative pool because it blocks (connect, a TLS
/// handshake, getaddrinfo) and that a caller may ask for in any number: however many jobs are
/// submitted, no more than `limit` threads, and whatever each one holds, exist at once.
public final class BoundedThreadPool: Sendable {
    /// A queued job: `run` on a pool thread, or `refuse` when no thread can be had.
    private struct Job: Sendable {
        let id: UInt64
        let run: @Sendable () -> Void
        let refuse: @Sendable (Errno) -> Void
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
    private let threadName: String
    private let idleMilliseconds: Int
    private let startThread: @Sendable (String, @escaping @Sendable () -> Void) -> Int32

    /// A pool of at most `limit` threads named `threadName` (15 bytes are kept); a thread with no
    /// work for `idleMilliseconds` ends.
    public convenience init(limit: Int, threadName: String, idleMilliseconds: Int = 5000) {
        self.init(limit: limit, threadName: threadName, idleMilliseconds: idleMilliseconds, startingThreadsWith: DetachedThread.tryStart)
    }

    /// A pool whose threads `start` starts, as `DetachedThread.tryStart` does (the tests fail it).
    init(
        limit: Int, threadName: String, idleMilliseconds: Int,
        startingThreadsWith start: @escaping @Sendable (String, @escaping @Sendable () -> Void) -> Int32
    ) {
        state = Locked(State(limit: max(1, limit)))
        self.threadName = threadName
        self.idleMilliseconds = idleMilliseconds
        startThread = start
    }

    /// The most jobs that run at once (at least 1). Lowering it lets running jobs finish;
    /// raising it starts waiting ones.
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
            for _ in 0..<starts { startWorker() }
        }
    }

    /// Jobs waiting for a thread, and threads alive (running a job or idle).
    public var load: (waiting: Int, threads: Int) { state.withLock { ($0.waiting.count, $0.threads) } }

    /// Runs `run` on a pool thread as soon as one is free, after every job submitted before it.
    /// `refuse` is called instead, with pthread_create's error, if the pool is left with no
    /// thread at all because none could be started (EAGAIN: the process's thread limit). Returns
    /// the id `remove` takes. Any thread.
    @discardableResult
    public func submit(_ run: @escaping @Sendable () -> Void, refuse: @escaping @Sendable (Errno) -> Void) -> UInt64 {
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
        case .start: startWorker()
        case .queued: break
        }
        return id
    }

    /// Takes a job that has not started out of the queue; false if it has started (or is
    /// unknown). Any thread.
    public func remove(_ id: UInt64) -> Bool {
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

    /// Starts a thread already counted in `threads`.
    private func startWorker() {
        let status = startThread(threadName) { [self] in work() }
        guard status != 0 else { return }
        // The running threads drain the queue; with none left, nothing would.
        let orphans = state.withLock { state -> [Job] in
            state.threads -= 1
            guard state.threads == 0 else { return [] }
            var jobs: [Job] = []
            while let job = state.popWaiting() { jobs.append(job) }
            return jobs
        }
        for job in orphans { job.refuse(Errno(status)) }
    }
}
