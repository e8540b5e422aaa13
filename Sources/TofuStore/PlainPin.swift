import TofuCore

#if canImport(Glibc)
    import Glibc
#endif

/// A pin with nothing staged, checked where the database holds its row and copied out as its
/// stored texts, with no `Pin` made: the answer to the lookup asked most ("what is pinned for
/// this host?") built from one buffer. Every check `RowDecoding.pin` makes of such a row held
/// (the certificate hashes to the fingerprint, times and policy as tofu writes them, the host
/// key matches the address and port, no staged column set), and each text is as stored, with
/// no NUL in it: the text a `Pin` read from the row would hold if it is UTF-8, which whoever
/// shows it checks (jansson does as it makes a string). A row that is anything else is no
/// `PlainPin` (`PlainPinLookup.notPlain`): it is read as a `Pin`, which says what is wrong.
public struct PlainPin: Sendable {
    public let host: HostKey
    public let policy: PinPolicy
    /// The texts one after another, in `Texts`' order; `ends[i]` is where the i-th ends.
    private let storage: [UInt8]
    private let ends: [Int]
    private let verified: Bool

    /// The pin's texts, as stored. Valid only inside the closure they are lent to.
    public struct Texts {
        public let sha256Fingerprint, spkiSha256, subject, issuer, serialNumber: UnsafeRawBufferPointer
        public let notBefore, notAfter, publicKey, pinnedAt: UnsafeRawBufferPointer
        /// One name a line; empty when there is none. Holds no CR: a `Pin`'s names are split at
        /// each "\n" as a `Character`, which a CR before it would join.
        public let subjectAltNames: UnsafeRawBufferPointer
        public let lastVerifiedAt: UnsafeRawBufferPointer?

        /// Each subject alternative name, as a `Pin` read from the row lists them, until `body`
        /// returns false; whether it never did.
        public func forEachSubjectAltName(_ body: (UnsafeRawBufferPointer) -> Bool) -> Bool {
            guard !subjectAltNames.isEmpty else { return true }
            var start = 0
            for index in subjectAltNames.indices where subjectAltNames[index] == UInt8(ascii: "\n") {
                guard body(UnsafeRawBufferPointer(rebasing: subjectAltNames[start..<index])) else { return false }
                start = index + 1
            }
            return body(UnsafeRawBufferPointer(rebasing: subjectAltNames[start...]))
        }
    }

    /// The texts of a row the backend has checked, copied out of its buffers.
    init(
        host: HostKey, policy: PinPolicy, sha256Fingerprint: UnsafeRawBufferPointer, spkiSha256: UnsafeRawBufferPointer,
        subject: UnsafeRawBufferPointer, issuer: UnsafeRawBufferPointer, serialNumber: UnsafeRawBufferPointer,
        notBefore: UnsafeRawBufferPointer, notAfter: UnsafeRawBufferPointer, subjectAltNames: UnsafeRawBufferPointer,
        publicKey: UnsafeRawBufferPointer, pinnedAt: UnsafeRawBufferPointer, lastVerifiedAt: UnsafeRawBufferPointer?
    ) {
        self.host = host
        self.policy = policy
        let texts = [
            sha256Fingerprint, spkiSha256, subject, issuer, serialNumber, notBefore, notAfter, subjectAltNames, publicKey, pinnedAt,
            lastVerifiedAt ?? UnsafeRawBufferPointer(start: nil, count: 0),
        ]
        var ends: [Int] = []
        ends.reserveCapacity(texts.count)
        let total = texts.reduce(0) { $0 + $1.count }
        storage = [UInt8](unsafeUninitializedCapacity: total) { buffer, count in
            for text in texts {
                UnsafeMutableRawBufferPointer(UnsafeMutableBufferPointer(rebasing: buffer[count..<(count + text.count)])).copyMemory(from: text)
                count += text.count
                ends.append(count)
            }
        }
        self.ends = ends
        verified = lastVerifiedAt != nil
    }

    /// `body` with the pin's texts.
    public func withTexts<T>(_ body: (Texts) -> T) -> T {
        storage.withUnsafeBytes { bytes in
            func text(_ index: Int) -> UnsafeRawBufferPointer {
                UnsafeRawBufferPointer(rebasing: bytes[(index == 0 ? 0 : ends[index - 1])..<ends[index]])
            }
            return body(
                Texts(
                    sha256Fingerprint: text(0), spkiSha256: text(1), subject: text(2), issuer: text(3), serialNumber: text(4),
                    notBefore: text(5), notAfter: text(6), publicKey: text(8), pinnedAt: text(9), subjectAltNames: text(7),
                    lastVerifiedAt: verified ? text(10) : nil))
        }
    }
}

extension PlainPin {
    /// The checks of `RowDecoding.pin` for a row with nothing staged, made on the row as a
    /// backend holds it, the same for every backend: columns by position as `RowDecoding.pinNames`
    /// lists them. `text(i)` is column i's text as stored, nil when the column holds anything but
    /// text or holds a NUL; `isNull(i)` whether it is NULL; `portIsTheKeys` whether the port column
    /// holds the key's port, as that backend stores a number; `certificateHashes(f)` whether the
    /// der column holds a certificate (DER bytes, not empty) whose SHA-256 the text `f` spells
    /// exactly. Nil for any other row.
    @inline(__always)
    static func checked(
        host: HostKey, key: String, text: (Int) -> UnsafeRawBufferPointer?, isNull: (Int) -> Bool, portIsTheKeys: () -> Bool,
        certificateHashes: (UnsafeRawBufferPointer) -> Bool
    ) -> PlainPin? {
        func time(_ column: Int) -> UnsafeRawBufferPointer? {
            text(column).flatMap { Timestamp.isCanonical(utf8: $0) ? $0 : nil }
        }
        func same(_ bytes: UnsafeRawBufferPointer, _ text: String) -> Bool {
            var text = text
            return text.withUTF8 { utf8 in
                guard utf8.count == bytes.count else { return false }
                guard let first = utf8.baseAddress, let second = bytes.baseAddress else { return true }
                return memcmp(first, second, bytes.count) == 0
            }
        }
        // Nothing staged, nor any staged column set: else it is judged as a `Pin`.
        for column in 17..<RowDecoding.pinNames.count where !isNull(column) { return nil }
        guard let hostText = text(1), same(hostText, key), let address = text(2), same(address, host.host), portIsTheKeys(),
            let fingerprint = text(5), certificateHashes(fingerprint),
            let spki = text(6), let subject = text(7), let issuer = text(8), let serial = text(9),
            let notBefore = time(10), let notAfter = time(11), let names = text(12), !names.contains(UInt8(ascii: "\r")),
            let publicKey = text(13), let pinnedAt = time(14), let policyText = text(16),
            let policy = PinPolicy.allCases.first(where: { same(policyText, $0.rawValue) })
        else { return nil }
        let verifiedAt: UnsafeRawBufferPointer?
        if isNull(15) {
            verifiedAt = nil
        } else {
            guard let time = time(15) else { return nil }
            verifiedAt = time
        }
        return PlainPin(
            host: host, policy: policy, sha256Fingerprint: fingerprint, spkiSha256: spki, subject: subject, issuer: issuer,
            serialNumber: serial, notBefore: notBefore, notAfter: notAfter, subjectAltNames: names, publicKey: publicKey,
            pinnedAt: pinnedAt, lastVerifiedAt: verifiedAt)
    }
}

/// What a lookup of one host's plain pin found.
public enum PlainPinLookup: Sendable {
    /// No pin of that host.
    case noPin
    case plain(PlainPin)
    /// A row that is staged or damaged, or a backend that does not check rows in place: read
    /// it as a `Pin` (`PinStore.list`), which gives the pin or says what is wrong.
    case notPlain
}
