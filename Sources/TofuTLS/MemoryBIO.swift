import COpenSSL

/// An OpenSSL memory BIO, owned: freed when this goes away.
final class MemoryBIO {
    let pointer: OpaquePointer

    /// An empty BIO to write into.
    init() throws(OpenSSLError) {
        guard let method = BIO_s_mem(), let bio = BIO_new(method) else { throw OpenSSLError.drain("BIO_new") }
        pointer = bio
    }

    /// A read-only BIO over a copy of `bytes`.
    init(copying bytes: [UInt8]) throws(OpenSSLError) {
        guard let method = BIO_s_mem(), let bio = BIO_new(method) else { throw OpenSSLError.drain("BIO_new") }
        pointer = bio
        // BIO_write takes an int: a text of 2 GiB or more (possible under a raised
        // --max-message-bytes) is refused, not truncated or trapped on.
        guard let count = Int32(exactly: bytes.count) else {
            throw OpenSSLError(reason: "the text is \(bytes.count) bytes, more than OpenSSL can read at once")
        }
        let written = bytes.withUnsafeBytes { BIO_write(bio, $0.baseAddress, count) }
        guard written == bytes.count || bytes.isEmpty else { throw OpenSSLError.drain("BIO_write") }
    }

    deinit { BIO_free(pointer) }

    /// Everything written so far, as text.
    var text: String {
        var data: UnsafeMutablePointer<CChar>?
        let count = tofu_BIO_get_mem_data(pointer, &data)
        guard let data, count > 0 else { return "" }
        return String(decoding: UnsafeRawBufferPointer(start: data, count: count), as: UTF8.self)
    }
}
