import COpenSSL
import Posix
import TofuCore

#if canImport(Glibc)
    import Glibc
#endif

/// One TLS client connection, owned: the socket and OpenSSL's `SSL` are freed when it goes
/// away. Blocking with deadlines, so it lives on one thread of its own (see `TLSProbe`); it is
/// deliberately not `Sendable`.
///
/// Any certificate is accepted: under TOFU the pin, not a CA, is the trust decision.
/// OpenSSL's own verdict is kept as information.
public final class TLSConnection {
    private let fd: Int32
    private let ssl: OpaquePointer
    /// What OpenSSL's callbacks saw: a request for a client certificate, a session ticket.
    private let signals = HandshakeSignals()
    /// Until the handshake (and the wait for a verdict on the missing client certificate) is done.
    private var handshaking = true
    /// Set to stop this connection's blocking steps; a reconnection shares it.
    let cancelFlag: CancelFlag
    public let host: HostKey
    /// What the host presented.
    public private(set) var presented: ProbeResult?

    /// Connects and completes the handshake before `deadline`.
    init(host: HostKey, deadline: Deadline, cancel: CancelFlag) throws(ProbeFailure) {
        self.host = host
        self.cancelFlag = cancel
        let (fd, address) = try SocketConnector.connect(host, deadline: deadline, cancel: cancel)
        let context: OpaquePointer
        do {
            context = try ClientContext.shared.get()
        } catch {
            close(fd)
            throw error
        }
        guard let ssl = SSL_new(context) else {
            close(fd)
            throw ProbeFailure(.protocol, "OpenSSL could not create a TLS session: \(OpenSSLError.drain("SSL_new"))")
        }
        self.fd = fd
        self.ssl = ssl
        SSL_set_verify(ssl, SSL_VERIFY_NONE, nil)
        guard SSL_set_ex_data(ssl, 0, Unmanaged.passUnretained(signals).toOpaque()) == 1 else {
            throw ProbeFailure(.protocol, OpenSSLError.drain("SSL_set_ex_data").reason)
        }
        guard SSL_set_fd(ssl, fd) == 1 else { throw ProbeFailure(.protocol, OpenSSLError.drain("SSL_set_fd").reason) }
        if !host.isIPAddress {
            guard tofu_SSL_set_tlsext_host_name(ssl, host.host) == 1 else {
                throw ProbeFailure(.protocol, OpenSSLError.drain("setting SNI").reason)
            }
        }
        try handshake(deadline: deadline, address: address)
    }

    deinit {
        SSL_free(ssl)
        close(fd)
    }

    /// The address of the OpenSSL context this connection was made from (the process's one).
    var contextAddress: Int { Int(bitPattern: SSL_get_SSL_CTX(ssl)) }

    private func handshake(deadline: Deadline, address: String) throws(ProbeFailure) {
        ERR_clear_error()
        while true {
            let status = SSL_connect(ssl)
            if status == 1 { break }
            try waitFor(status, deadline: deadline, doing: "the TLS handshake with \(address)")
        }
        if signals.certificateRequested && SSL_version(ssl) == TLS1_3_VERSION {
            try awaitVerdictOnNoClientCertificate(deadline: deadline, address: address)
        }
        handshaking = false
        guard let leafPointer = SSL_get0_peer_certificate(ssl) else {
            throw ProbeFailure(.protocol, "\(address) completed the handshake without presenting a certificate")
        }
        guard X509_up_ref(leafPointer) == 1 else { throw ProbeFailure(.protocol, "OpenSSL could not keep the certificate") }
        let leaf: CertificateSummary
        do {
            leaf = try X509Certificate(owning: leafPointer).summary()
        } catch {
            throw ProbeFailure(.protocol, "\(address) presented a certificate tofu cannot read: \(error.reason)")
        }
        let verdict = SSL_get_verify_result(ssl)
        let verification = verdict == X509_V_OK ? "ok" : String(cString: X509_verify_cert_error_string(verdict))
        presented = ProbeResult(
            leaf: leaf, verification: verification, tlsVersion: String(cString: SSL_get_version(ssl)),
            address: address)
    }

    /// Over TLS 1.3 the client's handshake is complete before the server has seen that no
    /// client certificate came, so a server that demands one refuses with its alert
    /// (certificate_required) only afterwards. Waits for that verdict, so the refusal fails the
    /// connection here, before anything is pinned or sent, as it does over TLS 1.2. A server
    /// that only asked (optional client certificate) says so by sending its session tickets,
    /// which ends the wait at once; one that sends no tickets ends it when the wait runs out.
    private func awaitVerdictOnNoClientCertificate(deadline: Deadline, address: String) throws(ProbeFailure) {
        let verdict = Deadline(milliseconds: min(Self.clientCertificateVerdictMilliseconds, deadline.remainingMilliseconds))
        var byte: UInt8 = 0
        while true {
            ERR_clear_error()
            var count = 0
            let status = SSL_peek_ex(ssl, &byte, 1, &count)
            if status == 1 || signals.sessionTicketArrived { return }
            switch SSL_get_error(ssl, status) {
            case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
                do {
                    try Wait.until(fd, events: Int16(POLLIN), deadline: verdict, cancel: cancelFlag, doing: "the TLS handshake with \(address)")
                } catch {
                    if error.reason == .timeout { return }
                    throw error
                }
            case SSL_ERROR_SSL where ERR_GET_REASON(ERR_peek_error()) != SSL_R_UNEXPECTED_EOF_WHILE_READING:
                throw classify(during: "the TLS handshake with \(address)")
            default:
                // A close or reset right after the handshake: what it means shows on the first read.
                ERR_clear_error()
                return
            }
        }
    }

    /// How long a TLS 1.3 connection waits for a refusal after the server asked for a client
    /// certificate and sent no session ticket: long enough for a server that checks the (missing)
    /// certificate slowly, short enough for the rare server that asks, accepts, and sends no ticket.
    /// 2 seconds, or `TOFU_TLS13_VERDICT_MS` (0 to 60000) for a controller that takes longer.
    static let clientCertificateVerdictMilliseconds: Int = {
        guard let text = getenv("TOFU_TLS13_VERDICT_MS").map({ String(cString: $0) }), let value = Int(text), (0...60_000).contains(value) else {
            return 2000
        }
        return value
    }()

    /// Sends all of `bytes` before `deadline`.
    func write(_ bytes: [UInt8], deadline: Deadline) throws(ProbeFailure) {
        var offset = 0
        while offset < bytes.count {
            ERR_clear_error()
            var written = 0
            let status = bytes.withUnsafeBytes { raw in
                SSL_write_ex(ssl, raw.baseAddress.map { $0 + offset }, raw.count - offset, &written)
            }
            if status == 1 {
                offset += written
                continue
            }
            try waitFor(status, deadline: deadline, doing: "the request to \(host)")
        }
    }

    /// Up to `maximum` bytes; empty at the end of the stream.
    func read(maximum: Int, deadline: Deadline) throws(ProbeFailure) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: maximum)
        while true {
            ERR_clear_error()
            var count = 0
            let status = buffer.withUnsafeMutableBytes { SSL_read_ex(ssl, $0.baseAddress, $0.count, &count) }
            if status == 1 { return Array(buffer.prefix(count)) }
            let error = SSL_get_error(ssl, status)
            if error == SSL_ERROR_ZERO_RETURN { return [] }
            if error == SSL_ERROR_SSL && ERR_GET_REASON(ERR_peek_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING {
                ERR_clear_error()
                return []
            }
            try waitFor(status, deadline: deadline, doing: "the answer from \(host)")
        }
    }

    /// Waits for what OpenSSL asked for, or throws the classified failure.
    private func waitFor(_ status: Int32, deadline: Deadline, doing what: String) throws(ProbeFailure) {
        let error = SSL_get_error(ssl, status)
        switch error {
        case SSL_ERROR_WANT_READ:
            try Wait.until(fd, events: Int16(POLLIN), deadline: deadline, cancel: cancelFlag, doing: what)
        case SSL_ERROR_WANT_WRITE:
            try Wait.until(fd, events: Int16(POLLOUT), deadline: deadline, cancel: cancelFlag, doing: what)
        case SSL_ERROR_ZERO_RETURN:
            throw ProbeFailure(.reset, "the peer closed the TLS session during \(what)")
        case SSL_ERROR_SYSCALL:
            let code = errno
            ERR_clear_error()
            if code == ECONNRESET || code == EPIPE || code == 0 {
                throw ProbeFailure(.reset, "the peer closed the connection during \(what)")
            }
            throw ProbeFailure(.reset, "the connection failed during \(what): \(Errno(code))")
        default:
            throw classify(during: what)
        }
    }

    /// The TLS alert's name; OpenSSL 3 calls the alerts TLS 1.3 added "unknown".
    static func alertName(_ alert: Int32) -> String {
        switch alert {
        case SSL_AD_CERTIFICATE_REQUIRED: return "certificate required"
        case SSL_AD_MISSING_EXTENSION: return "missing extension"
        default: return String(cString: SSL_alert_desc_string_long(alert))
        }
    }

    /// An OpenSSL failure in the handshake, as an operator would want it named.
    private func classify(during what: String) -> ProbeFailure {
        let code = ERR_peek_error()
        let reason = ERR_GET_REASON(code)
        let text = OpenSSLError.drain("OpenSSL").reason
        if reason >= SSL_AD_REASON_OFFSET {
            let alert = Self.alertName(reason - SSL_AD_REASON_OFFSET)
            if (handshaking && signals.certificateRequested) || reason - SSL_AD_REASON_OFFSET == SSL_AD_CERTIFICATE_REQUIRED {
                // The server asked for a client certificate, got none, and refused (TLS 1.2:
                // handshake_failure or certificate_required; TLS 1.3: certificate_required).
                return ProbeFailure(
                    .tlsAlert,
                    "the controller demands a TLS client certificate (mutual TLS), which tofu does not present: it sent the TLS alert '\(alert)' during \(what). Check that this is the controller's address and port, not a service or proxy that requires client certificates",
                    alert: alert)
            }
            return ProbeFailure(.tlsAlert, "the peer sent the TLS alert '\(alert)' during \(what)", alert: alert)
        }
        switch reason {
        case SSL_R_WRONG_VERSION_NUMBER, SSL_R_HTTP_REQUEST, SSL_R_HTTPS_PROXY_REQUEST, SSL_R_PACKET_LENGTH_TOO_LONG,
            SSL_R_RECORD_LENGTH_MISMATCH:
            return ProbeFailure(.notTLS, "the peer does not speak TLS on that port (\(text)): it may be plain HTTP or another service")
        case SSL_R_UNEXPECTED_EOF_WHILE_READING:
            return ProbeFailure(.reset, "the peer closed the connection during \(what)")
        default:
            return ProbeFailure(.protocol, "\(what) failed: \(text)")
        }
    }
}

/// What OpenSSL's callbacks report during the handshake. They run inside `SSL_connect` and
/// `SSL_peek` on the connection's own thread, which is also the only reader.
final class HandshakeSignals {
    /// The server asked for a client certificate.
    var certificateRequested = false
    /// The server sent a session ticket (TLS 1.3: it accepted the client's side of the handshake).
    var sessionTicketArrived = false

    /// The signals of the connection `ssl` belongs to.
    static func of(_ ssl: OpaquePointer?) -> HandshakeSignals? {
        guard let ssl, let pointer = SSL_get_ex_data(ssl, 0) else { return nil }
        return Unmanaged<HandshakeSignals>.fromOpaque(pointer).takeUnretainedValue()
    }
}
