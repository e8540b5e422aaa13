import TofuCore

#if canImport(Glibc)
    import Glibc
#endif

/// One value of a row as a backend read it, before tofu checks it: what the shared checks of
/// `RowReader` see, whichever database it came from.
enum StoredValue: Equatable {
    case null
    /// An integer column; a boolean is 1 or 0.
    case integer(Int64)
    case real(Double)
    case text(String)
    case bytes([UInt8])
}

/// Pins, servers and events from rows, the same for every backend: the columns of each table
/// are read by position, in the order of the names below (the rowid and the host first).
///
/// Reading is strict: every column must hold exactly what tofu writes there (type, form and
/// range), since a person or another program may have edited the database. A row that does
/// not throws `RowDamage`, which names the table, the rowid and the host; it never traps, and
/// no database's silent conversion (text 'x' read as the number 0) ever makes up a value.
enum RowDecoding {
    static let pinNames = [
        "id", "host", "address", "port", "der", "sha256Fingerprint", "spkiSha256", "subject", "issuer", "serialNumber",
        "notBefore", "notAfter", "subjectAltNames", "publicKey", "pinnedAt", "lastVerifiedAt", "policy",
        "nextDer", "nextSha256Fingerprint", "nextSpkiSha256", "nextSubject", "nextIssuer", "nextSerialNumber",
        "nextNotBefore", "nextNotAfter", "nextSubjectAltNames", "nextPublicKey", "nextStagedAt",
    ]
    static let eventNames = ["id", "host", "at", "event", "sha256Fingerprint", "detail"]
    static let serverNames = ["id", "host", "address", "port", "username", "pinnedFingerprint", "addedAt", "lastCheckedAt", "authenticated"]

    /// Where the staged certificate's columns start: the same order as the pin's own, 13 further on.
    private static let nextOffset = 13

    /// A pin row, its columns in the order of `pinNames`.
    static func pin(_ reader: RowReader) throws(RowDamage) -> Pin {
        let host = try reader.hostKey(address: 2, port: 3)
        let certificate = try Self.certificate(reader, offset: 0)
        let policyText = try reader.text(16)
        guard let policy = PinPolicy(rawValue: policyText) else {
            throw reader.damage(16, "holds \(RowReader.describe(.text(policyText))) where one of \(PinPolicy.allCases.map(\.rawValue).joined(separator: ", ")) belongs")
        }
        var next: StagedCertificate?
        if try reader.isNull(nextOffset + 5) {
            // Nothing staged: then nothing of a staged certificate may be there either.
            for index in (nextOffset + 4)...(nextOffset + 14) where try !reader.isNull(index) {
                throw reader.damage(index, "holds \(RowReader.describe(try reader.value(index))) though no next certificate is staged (nextSha256Fingerprint is NULL)")
            }
        } else {
            let staged = try Self.certificate(reader, offset: nextOffset)
            if staged.sha256Fingerprint == certificate.sha256Fingerprint {
                throw reader.damage(nextOffset + 5, "holds the pinned certificate's own fingerprint: a staged certificate is always another one")
            }
            next = StagedCertificate(certificate: staged, stagedAt: try reader.timestamp(27))
        }
        return Pin(
            host: host, certificate: certificate, pinnedAt: try reader.timestamp(14), lastVerifiedAt: try reader.optionalTimestamp(15),
            policy: policy, next: next)
    }

    /// The certificate whose columns start at der = 4 + `offset`.
    private static func certificate(_ reader: RowReader, offset: Int) throws(RowDamage) -> CertificateSummary {
        let sans = try reader.text(offset + 12)
        let fingerprint = try reader.fingerprint(offset + 5)
        let der = try reader.blob(offset + 4)
        // The certificate an answer shows (PEM) must be the one the pin compares by.
        guard Fingerprint(sha256Of: der) == fingerprint else {
            let column = reader.names[offset + 5]
            throw reader.damage(offset + 4, "holds a certificate whose SHA-256 fingerprint is not the one in \(column) (\(fingerprint)): one of the two was changed")
        }
        return CertificateSummary(
            subject: try reader.text(offset + 7), issuer: try reader.text(offset + 8), serialNumber: try reader.text(offset + 9),
            sha256Fingerprint: fingerprint, spkiSha256: try reader.text(offset + 6),
            notBefore: try reader.timestamp(offset + 10), notAfter: try reader.timestamp(offset + 11),
            subjectAltNames: sans.isEmpty ? [] : sans.split(separator: "\n", omittingEmptySubsequences: false).map(String.init),
            publicKey: try reader.text(offset + 13), der: der)
    }

    /// An event row, its columns in the order of `eventNames`.
    static func event(_ reader: RowReader) throws(RowDamage) -> HistoryEvent {
        let host = try reader.canonicalHostKey()
        let kindText = try reader.text(3)
        guard let kind = HistoryEvent.Kind(rawValue: kindText) else {
            throw reader.damage(3, "holds \(RowReader.describe(.text(kindText))) where one of \(HistoryEvent.Kind.allCases.map(\.rawValue).joined(separator: ", ")) belongs")
        }
        return HistoryEvent(at: try reader.timestamp(2), host: host, kind: kind, sha256Fingerprint: try reader.fingerprint(4), detail: try reader.text(5))
    }

    /// A server row, its columns in the order of `serverNames`.
    static func server(_ reader: RowReader) throws(RowDamage) -> DnacServer {
        DnacServer(
            host: try reader.hostKey(address: 2, port: 3), username: try reader.text(4), pinnedFingerprint: try reader.fingerprint(5),
            addedAt: try reader.timestamp(6), lastCheckedAt: try reader.timestamp(7), authenticated: try reader.optionalBool(8))
    }
}

/// One row, read column by column, each checked for exactly what tofu writes there.
/// Column 0 is the rowid and column 1 the host key text of every row read here.
struct RowReader {
    let table: String
    let names: [String]
    /// The host column as stored; nil when it is not text.
    let rawHost: String?
    /// The host key a point read looked up, and its text: a host column that holds exactly that
    /// text is that key, without parsing it again.
    var knownHost: (key: HostKey, text: String)?
    /// The value at a position as the backend read it; nil when it cannot be read at all.
    private let valueAt: (Int) -> StoredValue?

    init(table: String, names: [String], valueAt: @escaping (Int) -> StoredValue?) {
        self.table = table
        self.names = names
        self.valueAt = valueAt
        if case .text(let text) = valueAt(1) { rawHost = text } else { rawHost = nil }
    }

    func damage(_ index: Int, _ problem: String) -> RowDamage {
        let column = index < names.count ? names[index] : "column \(index)"
        // The rowid is an integer primary key: the databases allow nothing else there.
        let rowid: Int64 = if case .integer(let id) = valueAt(0) { id } else { -1 }
        let host = rawHost.map { Self.shown($0, limit: 300) }
        return RowDamage(row: DamagedRow(table: table, rowid: rowid, host: host, column: column, problem: "\(column) \(problem)"))
    }

    func value(_ index: Int) throws(RowDamage) -> StoredValue {
        guard let value = valueAt(index) else { throw damage(index, "cannot be read") }
        return value
    }

    func text(_ index: Int) throws(RowDamage) -> String {
        let value = try value(index)
        guard case .text(let text) = value else { throw damage(index, "holds \(Self.describe(value)) where text belongs") }
        return text
    }

    func blob(_ index: Int) throws(RowDamage) -> [UInt8] {
        let value = try value(index)
        guard case .bytes(let bytes) = value, !bytes.isEmpty else {
            throw damage(index, "holds \(Self.describe(value)) where the certificate (DER bytes) belongs")
        }
        return bytes
    }

    func port(_ index: Int) throws(RowDamage) -> Int {
        let value = try value(index)
        guard case .integer(let number) = value, (1...65535).contains(number) else {
            throw damage(index, "holds \(Self.describe(value)) where a port number (1–65535) belongs")
        }
        return Int(number)
    }

    func optionalBool(_ index: Int) throws(RowDamage) -> Bool? {
        let value = try value(index)
        switch value {
        case .null: return nil
        case .integer(0): return false
        case .integer(1): return true
        default: throw damage(index, "holds \(Self.describe(value)) where 1, 0 or NULL belongs")
        }
    }

    /// A fingerprint exactly as tofu writes it: 32 uppercase hex pairs joined by colons.
    func fingerprint(_ index: Int) throws(RowDamage) -> Fingerprint {
        let value = try value(index)
        guard case .text(let text) = value, let fingerprint = Fingerprint(exactly: text) else {
            throw damage(index, "holds \(Self.describe(value)) where a SHA-256 fingerprint (AB:CD:… in uppercase hex) belongs")
        }
        return fingerprint
    }

    /// An RFC 3339 UTC time exactly as tofu writes it, `2026-11-29T04:00:00Z`, and a real one
    /// (month, day of that month, hour, minute and second in range).
    func timestamp(_ index: Int) throws(RowDamage) -> String {
        let value = try value(index)
        guard case .text(let text) = value, Self.isTimestamp(text) else {
            throw damage(index, "holds \(Self.describe(value)) where a time (YYYY-MM-DDTHH:MM:SSZ) belongs")
        }
        return text
    }

    func isNull(_ index: Int) throws(RowDamage) -> Bool {
        try value(index) == .null
    }

    func optionalTimestamp(_ index: Int) throws(RowDamage) -> String? {
        if try value(index) == .null { return nil }
        return try timestamp(index)
    }

    /// The host column, which must be a canonical host key.
    func canonicalHostKey() throws(RowDamage) -> HostKey {
        if let knownHost, let rawHost, Self.sameBytes(rawHost, knownHost.text) { return knownHost.key }
        guard let rawHost, let key = try? HostKey(parsing: rawHost), key.description == rawHost else {
            let stored = try value(1)
            throw damage(1, "holds \(Self.describe(stored)) where a host key (host_port, normalised) belongs")
        }
        return key
    }

    /// The host key, from the host column, checked against the address and port columns.
    func hostKey(address: Int, port: Int) throws(RowDamage) -> HostKey {
        let key = try canonicalHostKey()
        let addressText = try text(address)
        let portNumber = try self.port(port)
        // What tofu writes: the key's own host and port (a host key's host is already normalised).
        if portNumber == key.port && Self.sameBytes(addressText, key.host) { return key }
        guard let parts = try? HostKey(host: addressText, port: portNumber), parts == key else {
            let column = portNumber == key.port ? address : port
            let said = "\(Self.shown(addressText, limit: 60)) port \(portNumber)"
            throw damage(column, "does not match the host key: address and port say \(said), the host key says \(key)")
        }
        return key
    }

    /// Whether two texts are the same bytes (not merely canonically equivalent, as `==` says).
    static func sameBytes(_ a: String, _ b: String) -> Bool {
        var a = a, b = b
        return a.withUTF8 { x in
            b.withUTF8 { y in
                guard x.count == y.count else { return false }
                guard let first = x.baseAddress, let second = y.baseAddress else { return true }
                return memcmp(first, second, x.count) == 0
            }
        }
    }

    // MARK: - Words

    /// What a column holds, for an operator: its kind, and a short escaped excerpt of text.
    static func describe(_ value: StoredValue) -> String {
        switch value {
        case .null: "NULL"
        case .integer(let number): "the number \(number)"
        case .real(let number): "the number \(number)"
        case .text(let text): "the text '\(shown(text, limit: 40))'"
        case .bytes(let bytes): "\(bytes.count) bytes of binary data"
        }
    }

    /// `text` with control, format and bidi code points escaped as `\u{…}` and a backslash as
    /// `\\` (so stored text that spells `\u{202E}` is never shown as the character it names),
    /// clipped to `limit` characters: stored text may hold anything, and an answer must not carry
    /// it raw.
    static func shown(_ text: String, limit: Int) -> String {
        var result = ""
        var count = 0
        for scalar in text.unicodeScalars {
            if count >= limit {
                result += "…"
                break
            }
            count += 1
            switch scalar.properties.generalCategory {
            case _ where scalar == "\\":
                result += #"\\"#
            case .control, .format, .lineSeparator, .paragraphSeparator, .privateUse, .surrogate, .unassigned:
                result += "\\u{\(String(scalar.value, radix: 16, uppercase: true))}"
            default:
                result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    static func isTimestamp(_ text: String) -> Bool {
        Timestamp.isCanonical(text)
    }
}
