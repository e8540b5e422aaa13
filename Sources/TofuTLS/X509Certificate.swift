import COpenSSL
import TofuCore

#if canImport(Glibc)
    import Glibc
#endif

/// One X.509 certificate, owned: OpenSSL's `X509` is freed when this goes away.
///
/// The only way tofu reads certificates: from PEM text, from DER bytes, or from a TLS peer.
/// `summary` is what the store keeps and every answer shows.
public final class X509Certificate {
    let pointer: OpaquePointer

    /// Takes ownership of an `X509` reference.
    init(owning pointer: OpaquePointer) {
        self.pointer = pointer
    }

    deinit { X509_free(pointer) }

    /// Parses DER bytes; anything else (or trailing bytes) is an error.
    public convenience init(der: [UInt8]) throws(CertificateParseError) {
        var parsed: OpaquePointer?
        var consumed = 0
        der.withUnsafeBufferPointer { buffer in
            guard let start = buffer.baseAddress else { return }
            var cursor: UnsafePointer<UInt8>? = start
            parsed = d2i_X509(nil, &cursor, buffer.count)
            consumed = cursor.map { start.distance(to: $0) } ?? 0
        }
        ERR_clear_error()
        guard let parsed else { throw CertificateParseError("the bytes are not a DER X.509 certificate") }
        self.init(owning: parsed)
        guard consumed == der.count else {
            throw CertificateParseError("there are \(der.count - consumed) bytes after the certificate")
        }
    }

    /// Every certificate in a PEM text, in order. Text other than `CERTIFICATE` blocks is
    /// refused rather than skipped, so a private key pasted by mistake is not ignored silently.
    public static func certificates(fromPEM text: String) throws(CertificateParseError) -> [X509Certificate] {
        let blocks = text.components(separatedBy: "-----BEGIN ").dropFirst()
        guard !blocks.isEmpty else { throw CertificateParseError("no PEM block found (expected -----BEGIN CERTIFICATE-----)") }
        for block in blocks where !block.hasPrefix("CERTIFICATE-----") {
            let label = block.prefix(while: { $0 != "-" })
            throw CertificateParseError("a PEM '\(label)' block is not a certificate")
        }
        let bio: MemoryBIO
        do { bio = try MemoryBIO(copying: Array(text.utf8)) } catch { throw CertificateParseError(error.reason) }
        var certificates: [X509Certificate] = []
        while let certificate = PEM_read_bio_X509(bio.pointer, nil, nil, nil) {
            certificates.append(X509Certificate(owning: certificate))
        }
        let pendingError = ERR_peek_last_error()
        ERR_clear_error()
        // Reading stops with "no start line" at the end of the text; any other error is a bad block.
        if certificates.count != blocks.count || (pendingError != 0 && ERR_GET_REASON(pendingError) != PEM_R_NO_START_LINE) {
            throw CertificateParseError("a CERTIFICATE block is damaged (bad base64 or not X.509)")
        }
        return certificates
    }

    /// Exactly one certificate from a PEM text.
    public static func single(fromPEM text: String) throws(CertificateParseError) -> X509Certificate {
        let certificates = try certificates(fromPEM: text)
        guard certificates.count == 1 else {
            throw CertificateParseError("the PEM holds \(certificates.count) certificates where one is expected")
        }
        return certificates[0]
    }

    /// DER encoding.
    public var der: [UInt8] {
        let length = i2d_X509(pointer, nil)
        guard length > 0 else { return [] }
        var bytes = [UInt8](repeating: 0, count: Int(length))
        let written = bytes.withUnsafeMutableBufferPointer { buffer -> Int32 in
            var cursor = buffer.baseAddress
            return i2d_X509(pointer, &cursor)
        }
        return written == length ? bytes : []
    }

    /// PEM text (`-----BEGIN CERTIFICATE-----` …), as `openssl x509` writes it.
    public static func pem(der: [UInt8]) -> String {
        guard let certificate = try? X509Certificate(der: der), let bio = try? MemoryBIO(),
            PEM_write_bio_X509(bio.pointer, certificate.pointer) == 1
        else { return "" }
        return bio.text
    }

    /// The summary tofu stores and shows.
    public func summary() throws(CertificateParseError) -> CertificateSummary {
        let der = self.der
        guard !der.isEmpty else { throw CertificateParseError("the certificate cannot be encoded as DER") }
        return CertificateSummary(
            subject: name(X509_get_subject_name(pointer)),
            issuer: name(X509_get_issuer_name(pointer)),
            serialNumber: serialNumber(),
            sha256Fingerprint: Fingerprint(sha256Of: der),
            spkiSha256: try spkiSha256(),
            notBefore: try time(X509_get0_notBefore(pointer), "notBefore"),
            notAfter: try time(X509_get0_notAfter(pointer), "notAfter"),
            subjectAltNames: subjectAltNames(),
            publicKey: publicKeyDescription(),
            der: der)
    }

    // MARK: - Fields

    private func name(_ name: OpaquePointer?) -> String {
        guard let name, let bio = try? MemoryBIO() else { return "" }
        guard X509_NAME_print_ex(bio.pointer, name, 0, tofu_name_print_flags()) >= 0 else { return "" }
        return bio.text
    }

    private func serialNumber() -> String {
        guard let serial = X509_get0_serialNumber(pointer), let number = ASN1_INTEGER_to_BN(serial, nil) else { return "" }
        defer { BN_free(number) }
        guard let hex = BN_bn2hex(number) else { return "" }
        defer { tofu_OPENSSL_free(hex) }
        return String(cString: hex)
    }

    private func spkiSha256() throws(CertificateParseError) -> String {
        guard let key = X509_get_X509_PUBKEY(pointer) else { throw CertificateParseError("the certificate has no public key") }
        let length = i2d_X509_PUBKEY(key, nil)
        guard length > 0 else { throw CertificateParseError("the public key cannot be encoded") }
        var bytes = [UInt8](repeating: 0, count: Int(length))
        let written = bytes.withUnsafeMutableBufferPointer { buffer -> Int32 in
            var cursor = buffer.baseAddress
            return i2d_X509_PUBKEY(key, &cursor)
        }
        guard written == length else { throw CertificateParseError("the public key cannot be encoded") }
        return Digest.base64(Digest.sha256(bytes))
    }

    private func time(_ time: UnsafePointer<ASN1_TIME>?, _ field: String) throws(CertificateParseError) -> String {
        var parts = tm()
        guard let time, ASN1_TIME_to_tm(time, &parts) == 1 else {
            throw CertificateParseError("the certificate's \(field) time cannot be read")
        }
        return Timestamp.string(utc: parts)
    }

    private func subjectAltNames() -> [String] {
        guard let raw = X509_get_ext_d2i(pointer, NID_subject_alt_name, nil, nil) else {
            ERR_clear_error()
            return []
        }
        let names = OpaquePointer(raw)
        defer { tofu_GENERAL_NAMES_free(names) }
        var result: [String] = []
        for index in 0..<max(0, tofu_sk_GENERAL_NAME_num(names)) {
            guard let entry = tofu_sk_GENERAL_NAME_value(names, index) else { continue }
            let type = entry.pointee.type
            let data = entry.pointee.d.ia5
            switch type {
            case GEN_DNS: result.append("DNS:" + Self.text(data))
            case GEN_EMAIL: result.append("email:" + Self.text(data))
            case GEN_URI: result.append("URI:" + Self.text(data))
            case GEN_IPADD: result.append("IP:" + Self.address(entry.pointee.d.iPAddress))
            default: result.append("other:\(type)")
            }
        }
        return result
    }

    /// A dNSName, rfc822Name or URI: an IA5String, i.e. ASCII. Its bytes are shown as they are,
    /// never decoded as some other encoding: printable ASCII as itself, every other byte
    /// (controls, DEL, anything at or above 0x80) and the backslash as `\xNN`, so that no
    /// certificate can put a control sequence or a look-alike character into a SAN, and the
    /// text says exactly which bytes are there. Internationalised names are in certificates as
    /// A-labels (`xn--…`), which are ASCII, and stay so.
    private static func ia5Text(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        var text = ""
        text.reserveCapacity(bytes.count)
        for byte in bytes {
            if (0x20...0x7E).contains(byte) && byte != UInt8(ascii: "\\") {
                text.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                let hex = String(byte, radix: 16, uppercase: true)
                text += "\\x" + (byte < 0x10 ? "0" : "") + hex
            }
        }
        return text
    }

    private static func text(_ string: UnsafeMutablePointer<ASN1_STRING>?) -> String {
        guard let string, let data = ASN1_STRING_get0_data(string) else { return "" }
        let count = Int(ASN1_STRING_length(string))
        guard count > 0 else { return "" }
        return ia5Text(UnsafeBufferPointer(start: data, count: count))
    }

    private static func address(_ string: UnsafeMutablePointer<ASN1_STRING>?) -> String {
        guard let string, let data = ASN1_STRING_get0_data(string) else { return "" }
        let count = Int(ASN1_STRING_length(string))
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let family: Int32
        // Canonical text: dotted quad, or RFC 5952 (inet_ntop, also ::ffff:192.0.2.1).
        switch count {
        case 4: family = AF_INET
        case 16: family = AF_INET6
        default: return "<\(count) bytes>"
        }
        guard inet_ntop(family, data, &buffer, socklen_t(buffer.count)) != nil else { return "" }
        return String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    private func publicKeyDescription() -> String {
        guard let key = X509_get0_pubkey(pointer) else { return "unknown" }
        let bits = EVP_PKEY_get_bits(key)
        switch EVP_PKEY_get_base_id(key) {
        case EVP_PKEY_RSA, EVP_PKEY_RSA_PSS: return "RSA \(bits)"
        case EVP_PKEY_DSA: return "DSA \(bits)"
        case EVP_PKEY_ED25519: return "Ed25519"
        case EVP_PKEY_ED448: return "Ed448"
        case EVP_PKEY_EC:
            var buffer = [CChar](repeating: 0, count: 80)
            var length = 0
            guard EVP_PKEY_get_group_name(key, &buffer, buffer.count, &length) == 1 else { return "EC \(bits)" }
            let group = String(decoding: buffer.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            let nid = OBJ_sn2nid(group)
            if nid != NID_undef, let nist = EC_curve_nid2nist(nid) { return "EC " + String(cString: nist) }
            return "EC " + group
        default:
            let name = OBJ_nid2sn(EVP_PKEY_get_base_id(key)).map { String(cString: $0) } ?? "unknown"
            return "\(name) \(bits)"
        }
    }
}

/// A certificate that could not be read; `reason` says why, for the operator.
public struct CertificateParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public let reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}
