import Posix

#if canImport(Glibc)
    import Glibc
#endif

/// poll(2) in slices, so a cancelled probe stops within 50 ms.
enum Wait {
    static func until(_ fd: Int32, events: Int16, deadline: Deadline, cancel: CancelFlag, doing what: String) throws(ProbeFailure) {
        while true {
            if cancel.isCancelled { throw ProbeFailure(.cancelled, "cancelled while \(what)") }
            let remaining = deadline.remainingMilliseconds
            if remaining == 0 { throw ProbeFailure(.timeout, "no answer before the deadline while \(what)") }
            var entry = [pollfd(fd: fd, events: events, revents: 0)]
            do {
                if try FileIO.poll(&entry, milliseconds: Int32(min(remaining, 50))) > 0 { return }
            } catch {
                throw ProbeFailure(.reset, "waiting on the connection failed while \(what): \(error)")
            }
        }
    }
}
