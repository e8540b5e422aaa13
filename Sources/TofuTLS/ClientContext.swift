import COpenSSL
import Posix

/// The one OpenSSL client context (`SSL_CTX`) of the process, made at the first connection and
/// shared by every connection after it: each probe's settings are the same (TLS 1.2 or later,
/// the system's CA directory for OpenSSL's verdict, the callbacks below), and making a context
/// (its providers' algorithms fetched, its certificate store built) cost every probe of a
/// `verifyCert {all}` run as much as a good part of its handshake. A context is safe to share
/// between threads once it is set up, and it is never changed after; each `SSL` made from it
/// holds a reference to it.
enum ClientContext {
    /// The context, or why OpenSSL could not make it (asked again at the next connection).
    static let shared = Locked<Result<OpaquePointer, ProbeFailure>?>(nil)

    fileprivate static func make() -> Result<OpaquePointer, ProbeFailure> {
        guard let method = TLS_client_method(), let context = SSL_CTX_new(method) else {
            return .failure(ProbeFailure(.protocol, "OpenSSL could not create a TLS context: \(OpenSSLError.drain("SSL_CTX_new"))"))
        }
        guard tofu_SSL_CTX_set_min_proto_version(context, TLS1_2_VERSION) == 1 else {
            SSL_CTX_free(context)
            return .failure(ProbeFailure(.protocol, "OpenSSL could not require TLS 1.2: \(OpenSSLError.drain("SSL_CTX_set_min_proto_version"))"))
        }
        // The system's CA directory, looked up lazily, so the verdict a probe keeps means something.
        _ = SSL_CTX_load_verify_dir(context, X509_get_default_cert_dir())
        // tofu presents no client certificate; the callback notes that the server asked for one,
        // so a refusal can be named for what it is (mutual TLS) rather than a bare alert.
        SSL_CTX_set_client_cert_cb(context) { ssl, _, _ in
            HandshakeSignals.of(ssl)?.certificateRequested = true
            return 0
        }
        // A TLS 1.3 server sends session tickets only once it has accepted the client's side of
        // the handshake, so a ticket settles the question of the missing client certificate.
        // Only the callback sees them (no cache keeps them); returning 0 lets OpenSSL free each.
        _ = tofu_SSL_CTX_set_client_session_callbacks_only(context)
        SSL_CTX_sess_set_new_cb(context) { ssl, _ in
            HandshakeSignals.of(ssl)?.sessionTicketArrived = true
            return 0
        }
        return .success(context)
    }
}

extension Locked where Value == Result<OpaquePointer, ProbeFailure>? {
    /// The shared context, made now if it was not (or could not be) before.
    func get() throws(ProbeFailure) -> OpaquePointer {
        try withLock { made -> Result<OpaquePointer, ProbeFailure> in
            if case .success(let context)? = made { return .success(context) }
            let attempt = ClientContext.make()
            if case .success = attempt { made = attempt }
            return attempt
        }.get()
    }
}
