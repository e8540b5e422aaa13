import Posix
import TofuCore

/// What a host presents now: connect, handshake, read its certificates.
///
/// Every blocking step (getaddrinfo, connect, the handshake) runs on a thread of the process's
/// `ProbePool`, never on Swift's cooperative pool, so a host that never answers delays nothing
/// else, and however many probes are asked for, at most the pool's limit run (and hold a
/// socket) at once; the others wait their turn in arrival order.
///
/// The timeout is about the host: it starts when the probe leaves the queue, not when it is
/// asked for. Cancelling the calling task answers at once while the probe waits or connects
/// (a waiting probe leaves the queue, a connecting one stops within 50 ms on its thread); once
/// `session`'s body runs, the body decides, since it may already have changed something.
public enum TLSProbe {
    /// The certificate `host` presents, or why none could be had within `timeoutMilliseconds`.
    public static func fetch(_ host: HostKey, timeoutMilliseconds: Int) async -> Result<ProbeResult, ProbeFailure> {
        await session(host, timeoutMilliseconds: timeoutMilliseconds) { connection in
            guard let presented = connection.presented else {
                return .failure(ProbeFailure(.protocol, "the handshake left no certificate"))
            }
            return .success(presented)
        }
    }

    /// Connects to `host` and runs `body` with the open connection on the probe's pool thread;
    /// the connection is closed when `body` returns. This is how a caller talks over the very
    /// connection whose certificate it checked (addDnacServer's credentials).
    public static func session<T: Sendable>(
        _ host: HostKey, timeoutMilliseconds: Int,
        _ body: @escaping @Sendable (TLSConnection) -> Result<T, ProbeFailure>
    ) async -> Result<T, ProbeFailure> {
        await session(host, timeoutMilliseconds: timeoutMilliseconds, pool: ProbePool.shared, body)
    }

    /// `session` on a given pool.
    static func session<T: Sendable>(
        _ host: HostKey, timeoutMilliseconds: Int, pool: BoundedThreadPool,
        _ body: @escaping @Sendable (TLSConnection) -> Result<T, ProbeFailure>
    ) async -> Result<T, ProbeFailure> {
        let probe = Probe<T>()
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                guard probe.begin(continuation) else { return }
                let id = pool.submit {
                    probe.run(host, timeoutMilliseconds: timeoutMilliseconds, body)
                } refuse: { error in
                    probe.finish(.failure(ProbePool.refusal(error)))
                }
                probe.queued(id, in: pool)
            }
        } onCancel: {
            probe.cancel()
        }
    }
}

/// One probe's way from the caller's task to a pool thread and back: its continuation is
/// resumed exactly once, by whichever comes first of the result and a cancellation that may
/// still answer for it.
private final class Probe<T: Sendable>: Sendable {
    private enum Phase {
        /// Not yet given to the pool, or waiting in its queue (`job` once known).
        case waiting(job: UInt64?, pool: BoundedThreadPool?)
        /// On a pool thread, resolving, connecting or in the handshake.
        case connecting
        /// `session`'s body runs: only its own result answers.
        case body
        case finished
    }

    private struct State {
        var phase = Phase.waiting(job: nil, pool: nil)
        var continuation: CheckedContinuation<Result<T, ProbeFailure>, Never>?
        var cancelled = false
    }

    private let state = Locked(State())
    private let cancelFlag = CancelFlag()

    /// Keeps the continuation; false (and answered) if the caller was cancelled already.
    func begin(_ continuation: CheckedContinuation<Result<T, ProbeFailure>, Never>) -> Bool {
        let cancelled = state.withLock { state -> Bool in
            if state.cancelled {
                state.phase = .finished
                return true
            }
            state.continuation = continuation
            return false
        }
        if cancelled { continuation.resume(returning: .failure(Self.cancelled)) }
        return !cancelled
    }

    func queued(_ job: UInt64, in pool: BoundedThreadPool) {
        state.withLock { state in
            if case .waiting = state.phase { state.phase = .waiting(job: job, pool: pool) }
        }
    }

    func cancel() {
        cancelFlag.cancel()
        let (continuation, removal) = state.withLock { state -> (CheckedContinuation<Result<T, ProbeFailure>, Never>?, (UInt64, BoundedThreadPool)?) in
            state.cancelled = true
            switch state.phase {
            case .waiting(let job, let pool):
                state.phase = .finished
                defer { state.continuation = nil }
                return (state.continuation, job.flatMap { job in pool.map { (job, $0) } })
            case .connecting:
                // The thread stops at its next wake-up (or after getaddrinfo) and is not waited for.
                state.phase = .finished
                defer { state.continuation = nil }
                return (state.continuation, nil)
            case .body, .finished:
                return (nil, nil)
            }
        }
        if let (job, pool) = removal { _ = pool.remove(job) }
        continuation?.resume(returning: .failure(Self.cancelled))
    }

    /// On a pool thread.
    func run(_ host: HostKey, timeoutMilliseconds: Int, _ body: @Sendable (TLSConnection) -> Result<T, ProbeFailure>) {
        guard advance(to: .connecting) else { return }
        let deadline = Deadline(milliseconds: timeoutMilliseconds)
        let connection: TLSConnection
        do throws(ProbeFailure) {
            connection = try TLSConnection(host: host, deadline: deadline, cancel: cancelFlag)
        } catch {
            finish(.failure(error))
            return
        }
        // Answered already (cancelled): the connection closes unused, nothing is sent.
        guard advance(to: .body) else { return }
        finish(body(connection))
    }

    func finish(_ result: Result<T, ProbeFailure>) {
        let continuation = state.withLock { state -> CheckedContinuation<Result<T, ProbeFailure>, Never>? in
            state.phase = .finished
            defer { state.continuation = nil }
            return state.continuation
        }
        continuation?.resume(returning: result)
    }

    private func advance(to phase: Phase) -> Bool {
        state.withLock { state in
            if case .finished = state.phase { return false }
            state.phase = phase
            return true
        }
    }

    private static var cancelled: ProbeFailure { ProbeFailure(.cancelled, "cancelled before the probe finished") }
}
