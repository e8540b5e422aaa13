import Posix

#if canImport(Glibc)
    import Glibc
#endif

/// poll(2) in slices, so a cancelled probe stops within 50 ms. `what` names the step waited
/// on as a noun phrase ("the TLS handshake with 192.0.2.10"), for the failure's sentence.
enum Wait {
    static func until(_ fd: Int32, events: Int16, deadline: Deadline, cancel: CancelFlag, doing what: String) throws(ProbeFailure) {
        while true {
            if cancel.isCancelled { throw ProbeFailure(.cancelled, "cancelled during \(what)") }
            let remaining = deadline.remainingMilliseconds
            if remaining == 0 { throw ProbeFailure(.timeout, "\(what) took longer than the deadline") }
            var entry = [pollfd(fd: fd, events: events, revents: 0)]
            do {
                if try FileIO.poll(&entry, milliseconds: Int32(min(remaining, 50))) > 0 { return }
            } catch {
                throw ProbeFailure(.reset, "waiting on the connection failed during \(what): \(error)")
            }
        }
    }
}
