import Foundation
import Posix
import Testing

@testable import JSONRPC

#if canImport(Glibc)
    import Glibc
#endif

/// A small answer is written at once by the thread that has it, with a write that fails
/// rather than block (`FileIO.writeWithoutWaiting`). A socket may take part of such a write:
/// the rest must follow, once, before anything queued after it.
@Suite struct OutputPartialWriteTests {
    /// A connected pair of Unix stream sockets whose first end's send buffer is full, less one
    /// small message read from the other end: a write of `OutputPartialWriteTests.message`
    /// then goes out in part (the socket takes one buffer of it and refuses the next).
    private static func nearlyFullPair() throws -> (write: Int32, read: Int32, filled: Int) {
        var fds: [Int32] = [0, 0]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0 else { throw Errno.current }
        var smallest: Int32 = 1
        guard setsockopt(fds[0], SOL_SOCKET, SO_SNDBUF, &smallest, socklen_t(MemoryLayout<Int32>.size)) == 0 else { throw Errno.current }
        let filler = [UInt8](repeating: UInt8(ascii: "f"), count: 100)
        var filled = 0
        while true {
            let sent = filler.withUnsafeBytes { send(fds[0], $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if sent < 0 { break }
            filled += sent
        }
        var gone = [UInt8](repeating: 0, count: 100)
        guard recv(fds[1], &gone, 100, Int32(MSG_WAITALL)) == 100 else { throw Errno.current }
        return (fds[0], fds[1], filled - 100)
    }

    /// Under PIPE_BUF (written by the calling thread), over one socket buffer.
    private static let message: [UInt8] = Array(("{\"id\":7,\"result\":\"" + String(repeating: "x", count: 3000) + "\"}\n").utf8)

    @Test func theRestOfAPartWrittenAnswerFollowsOnceBeforeWhatCameAfterIt() async throws {
        // The scenario first, straight: this kernel takes part of the write.
        let probe = try Self.nearlyFullPair()
        let part = FileIO.writeWithoutWaiting(probe.write, Self.message)
        close(probe.write)
        close(probe.read)
        guard case .wrote(let count) = part, count > 0, count < Self.message.count else {
            Issue.record("a nearly full socket answered \(part) to a write of \(Self.message.count) bytes: not a partial write")
            return
        }

        let pair = try Self.nearlyFullPair()
        let writer = OutputWriter(fd: pair.write, bound: 1 << 20, threadName: "test-output", inputThread: ThreadRole("input"), onBroken: { _ in })
        let after = Array("{\"id\":8,\"result\":null}\n".utf8)
        // The output thread blocks on the socket until it is read: read on a thread of its own.
        let reading = Task.detached { () -> [UInt8] in
            await withCheckedContinuation { continuation in
                DetachedThread.start(name: "test-reader") { continuation.resume(returning: (try? FileIO.readToEnd(pair.read)) ?? []) }
            }
        }
        writer.write(Self.message)
        writer.write(after)
        await writer.flush()
        writer.stop()
        close(pair.write)
        let received = await reading.value
        close(pair.read)
        let filler = [UInt8](repeating: UInt8(ascii: "f"), count: pair.filled)
        #expect(received.count == pair.filled + Self.message.count + after.count)
        #expect(Array(received.prefix(pair.filled)) == filler, "the bytes before the answers changed")
        let answers = Array(received.dropFirst(pair.filled))
        #expect(answers == Self.message + after, "\(answers.count) bytes of answers, not the \(Self.message.count + after.count) written, whole and in order")
    }
}
