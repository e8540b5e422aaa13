import COpenSSL

/// An OpenSSL call failed; `reason` has OpenSSL's own words when its error queue had any.
public struct OpenSSLError: Error, Sendable, CustomStringConvertible {
    public let reason: String

    public var description: String { reason }

    /// Takes (and clears) this thread's OpenSSL error queue, after `what` failed.
    static func drain(_ what: String) -> OpenSSLError {
        var messages: [String] = []
        while case let code = ERR_get_error(), code != 0 {
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            messages.append(String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return OpenSSLError(reason: messages.isEmpty ? what : "\(what): \(messages.joined(separator: "; "))")
    }
}
