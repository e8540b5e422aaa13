import Foundation
import TofuCore

/// What a host presents now: connect, handshake, read its certificates.
///
/// Every blocking step (getaddrinfo, connect, the handshake) runs on a thread of its own,
/// never on Swift's cooperative pool, so a host that never answers delays nothing else.
/// Cancelling the calling task stops the probe within 50 ms.
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

    /// Connects to `host` and runs `body` with the open connection on the probe's own thread;
    /// the connection is closed when `body` returns. This is how a caller talks over the very
    /// connection whose certificate it checked (addDnacServer's credentials).
    public static func session<T: Sendable>(
        _ host: HostKey, timeoutMilliseconds: Int,
        _ body: @escaping @Sendable (TLSConnection) -> Result<T, ProbeFailure>
    ) async -> Result<T, ProbeFailure> {
        let cancel = CancelFlag()
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let thread = Thread {
                    let deadline = Deadline(milliseconds: timeoutMilliseconds)
                    do throws(ProbeFailure) {
                        let connection = try TLSConnection(host: host, deadline: deadline, cancel: cancel)
                        continuation.resume(returning: body(connection))
                    } catch {
                        continuation.resume(returning: .failure(error))
                    }
                }
                thread.name = "tofu probe \(host)"
                thread.start()
            }
        } onCancel: {
            cancel.cancel()
        }
    }
}
