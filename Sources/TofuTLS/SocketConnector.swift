import Posix
import TofuCore

#if canImport(Glibc)
    import Glibc
#endif

/// Resolving and connecting with a deadline. Blocking: runs on a probe's own thread.
enum SocketConnector {
    /// A connected, non-blocking TCP socket to `host`, and the address it reached.
    static func connect(_ host: HostKey, deadline: Deadline, cancel: CancelFlag) throws(ProbeFailure) -> (fd: Int32, address: String) {
        let addresses = try resolve(host, deadline: deadline, cancel: cancel)
        var lastFailure = ProbeFailure(.refused, "no address of \(host.host) accepted a connection on port \(host.port)")
        for address in addresses {
            do {
                return (try connect(to: address, deadline: deadline, cancel: cancel), address.text)
            } catch {
                if error.reason == .timeout || error.reason == .cancelled || error.reason == .localLimit { throw error }
                lastFailure = error
            }
        }
        throw lastFailure
    }

    struct Address: Sendable {
        let family: Int32
        let storage: [UInt8]
        let text: String
    }

    /// IP literals need no lookup; names go through getaddrinfo on the probe's own thread.
    /// getaddrinfo cannot be interrupted, so the deadline and a cancellation are checked when it
    /// returns: a name whose DNS server does not answer holds the probe's pool thread for the
    /// resolver's own timeout (resolv.conf's `timeout` and `attempts`), within the pool's bound.
    static func resolve(_ host: HostKey, deadline: Deadline, cancel: CancelFlag) throws(ProbeFailure) -> [Address] {
        let outcome = lookup(host.host, port: host.port, numeric: host.isIPAddress)
        if cancel.isCancelled { throw ProbeFailure(.cancelled, "cancelled while resolving \(host.host)") }
        if deadline.hasPassed { throw ProbeFailure(.timeout, "resolving \(host.host) took longer than the deadline") }
        return try outcome.get()
    }

    private static func lookup(_ name: String, port: Int, numeric: Bool) -> Result<[Address], ProbeFailure> {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_NUMERICSERV | (numeric ? AI_NUMERICHOST : 0)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(name, String(port), &hints, &list)
        guard status == 0, let first = list else {
            let error = errno
            if status == EAI_SYSTEM, let exhausted = ProbeFailure.outOfDescriptors(error, doing: "resolving \(name)") {
                return .failure(exhausted)
            }
            let why = status == EAI_SYSTEM ? "\(Errno(error))" : String(cString: gai_strerror(status))
            return .failure(ProbeFailure(.dns, "\(name) did not resolve (\(why))"))
        }
        defer { freeaddrinfo(first) }
        var addresses: [Address] = []
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let entry = cursor {
            if let socketAddress = entry.pointee.ai_addr {
                let storage = Array(UnsafeRawBufferPointer(start: socketAddress, count: Int(entry.pointee.ai_addrlen)))
                addresses.append(Address(family: entry.pointee.ai_family, storage: storage, text: text(of: socketAddress)))
            }
            cursor = entry.pointee.ai_next
        }
        return addresses.isEmpty ? .failure(ProbeFailure(.dns, "\(name) has no address")) : .success(addresses)
    }

    private static func text(of address: UnsafeMutablePointer<sockaddr>) -> String {
        var buffer = [CChar](repeating: 0, count: Int(NI_MAXHOST))
        let length = socklen_t(address.pointee.sa_family == sa_family_t(AF_INET6) ? MemoryLayout<sockaddr_in6>.size : MemoryLayout<sockaddr_in>.size)
        guard getnameinfo(address, length, &buffer, socklen_t(buffer.count), nil, 0, NI_NUMERICHOST) == 0 else { return "?" }
        return String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    private static func connect(to address: Address, deadline: Deadline, cancel: CancelFlag) throws(ProbeFailure) -> Int32 {
        let fd = socket(address.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else {
            let error = errno
            if let exhausted = ProbeFailure.outOfDescriptors(error, doing: "connecting to \(address.text)") { throw exhausted }
            if error == ENOBUFS || error == ENOMEM {
                throw ProbeFailure(.localLimit, "the system is short of memory for a socket (\(Errno(error))); nothing is known about \(address.text)")
            }
            throw ProbeFailure(.refused, "cannot open a socket for \(address.text): \(Errno(error))")
        }
        var noDelay: Int32 = 1
        _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &noDelay, socklen_t(MemoryLayout<Int32>.size))
        let status = address.storage.withUnsafeBytes { raw in
            Glibc.connect(fd, raw.baseAddress?.assumingMemoryBound(to: sockaddr.self), socklen_t(raw.count))
        }
        if status != 0 && errno != EINPROGRESS {
            let error = errno
            close(fd)
            throw failure(connecting: address, errno: error)
        }
        if status != 0 {
            do {
                try Wait.until(fd, events: Int16(POLLOUT), deadline: deadline, cancel: cancel, doing: "the connection to \(address.text)")
            } catch {
                close(fd)
                throw error
            }
            var error: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
            if error != 0 {
                close(fd)
                throw failure(connecting: address, errno: error)
            }
        }
        return fd
    }

    private static func failure(connecting address: Address, errno error: Int32) -> ProbeFailure {
        let why = Errno(error)
        switch error {
        case ECONNREFUSED: return ProbeFailure(.refused, "\(address.text) refused the connection (nothing listens on that port)")
        case ETIMEDOUT: return ProbeFailure(.timeout, "connecting to \(address.text) timed out")
        case ECONNRESET: return ProbeFailure(.reset, "\(address.text) reset the connection")
        case EADDRNOTAVAIL:
            return ProbeFailure(.localLimit, "this machine has no local port free to connect to \(address.text) (\(why)); nothing is known about the host")
        default: return ProbeFailure(.refused, "cannot connect to \(address.text): \(why)")
        }
    }
}
