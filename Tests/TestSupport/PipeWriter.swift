import Dispatch
import Foundation
import Posix

/// Writes to a pipe from a thread of its own, so a test never blocks Swift's cooperative
/// pool on a full pipe (which, with a server that pauses reading, would deadlock the pool).
public final class PipeWriter: Sendable {
    private enum Item: Sendable {
        case bytes([UInt8])
        case close
    }

    private let queue = Locked<[Item]>([])
    private let ready = DispatchSemaphore(value: 0)

    public init(fd: Int32) {
        // A server that exits (or is killed) mid-test must fail the test, not kill the runner.
        signal(SIGPIPE, SIG_IGN)
        DetachedThread.start(name: "test writer") { [self] in
            while true {
                ready.wait()
                let item = queue.withLock { $0.isEmpty ? nil : $0.removeFirst() }
                switch item {
                case .bytes(let bytes)?: writeAll(fd, bytes)
                case .close?:
                    Foundation.close(fd)
                    return
                case nil: continue
                }
            }
        }
    }

    public func send(_ bytes: [UInt8]) {
        queue.withLock { $0.append(.bytes(bytes)) }
        ready.signal()
    }

    /// Closes the pipe once everything sent before has been written.
    public func close() {
        queue.withLock { $0.append(.close) }
        ready.signal()
    }
}

/// Marks descriptors close-on-exec: a test's pipe end inherited by a program another test
/// starts at the same moment would keep the pipe open, and its reader would never see EOF.
/// Children still get their own ends: posix_spawn's dup2 clears the flag on 0, 1 and 2.
public func closeOnExec(_ descriptors: Int32...) {
    for fd in descriptors { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
}

/// A pipe, both ends close-on-exec: (read, write).
public func closingOnExecPipe() -> (read: Int32, write: Int32) {
    var ends: [Int32] = [-1, -1]
    precondition(pipe(&ends) == 0, "pipe: \(Errno.current)")
    closeOnExec(ends[0], ends[1])
    return (ends[0], ends[1])
}

/// A copy of `fd` that is close-on-exec.
public func duplicateClosingOnExec(_ fd: Int32) -> Int32 { fcntl(fd, F_DUPFD_CLOEXEC, 0) }
