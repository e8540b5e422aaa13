import Foundation
import GRDB
import TofuCore
import TofuTLS

/// Pins, servers and events to and from rows. SANs are stored one per line: tofu escapes
/// control characters in them, so a name can never contain a newline.
///
/// Reading is strict: every column must hold exactly what tofu writes there (type, form and
/// range), since a person or another program may have edited the file. A row that does not
/// throws `RowDamage`, which names the table, the rowid and the host; it never traps, and
/// SQLite's silent conversions (text 'x' read as the number 0) never make up a value.
enum Rows {
    static let pinInsertColumns = """
        host, address, port, der, sha256Fingerprint, spkiSha256, subject, issuer, serialNumber,
        notBefore, notAfter, subjectAltNames, publicKey, pinnedAt, lastVerifiedAt, policy,
        nextDer, nextSha256Fingerprint, nextSpkiSha256, nextSubject, nextIssuer, nextSerialNumber,
        nextNotBefore, nextNotAfter, nextSubjectAltNames, nextPublicKey, nextStagedAt
        """
    /// What `pin(_:)` reads, by position: the rowid and the host first, as every read here.
    static let pinColumns = "id, " + pinInsertColumns
    static let pinNames = RowReader.names(pinColumns)
    /// Where the staged certificate's columns start: the same order as the pin's own, 13 further on.
    private static let nextOffset = 13

    static func insert(_ pin: Pin, into db: Database) throws {
        let placeholders = Array(repeating: "?", count: pinNames.count - 1).joined(separator: ", ")
        try db.cachedStatement(sql: "INSERT INTO pin (\(pinInsertColumns)) VALUES (\(placeholders))").execute(arguments: StatementArguments(arguments(pin)))
    }

    /// Writes every column of the pin row of `pin.host`, which exists.
    static func update(_ pin: Pin, in db: Database) throws {
        let assignments = pinNames.dropFirst(2).map { "\($0) = ?" }.joined(separator: ", ")
        var values = arguments(pin)
        let host = values.removeFirst()
        try db.cachedStatement(sql: "UPDATE pin SET \(assignments) WHERE host = ?").execute(arguments: StatementArguments(values + [host]))
    }

    private static func arguments(_ pin: Pin) -> [(any DatabaseValueConvertible)?] {
        let next = pin.next?.certificate
        return [pin.host.description, pin.host.host, pin.host.port] + certificateArguments(pin.certificate)
            + [pin.pinnedAt, pin.lastVerifiedAt, pin.policy.rawValue]
            + (next.map(certificateArguments) ?? Array(repeating: nil, count: 10)) + [pin.next?.stagedAt]
    }

    private static func certificateArguments(_ certificate: CertificateSummary) -> [(any DatabaseValueConvertible)?] {
        [
            Data(certificate.der), certificate.sha256Fingerprint.description, certificate.spkiSha256, certificate.subject,
            certificate.issuer, certificate.serialNumber, certificate.notBefore, certificate.notAfter,
            certificate.subjectAltNames.joined(separator: "\n"), certificate.publicKey,
        ]
    }

    /// A row of `SELECT \(pinColumns)`, read by position (GRDB's by-name lookup lowercases
    /// the name on every call, which dominated listing large stores).
    static func pin(_ row: Row) throws(RowDamage) -> Pin {
        let reader = RowReader(row, table: "pin", names: pinNames)
        let host = try reader.hostKey(address: 2, port: 3)
        let certificate = try Self.certificate(reader, offset: 0)
        let policyText = try reader.text(16)
        guard let policy = PinPolicy(rawValue: policyText) else {
            throw reader.damage(16, "holds \(RowReader.describe(.string(policyText))) where one of \(PinPolicy.allCases.map(\.rawValue).joined(separator: ", ")) belongs")
        }
        var next: StagedCertificate?
        if try reader.isNull(nextOffset + 5) {
            // Nothing staged: then nothing of a staged certificate may be there either.
            for index in (nextOffset + 4)...(nextOffset + 14) where try !reader.isNull(index) {
                throw reader.damage(index, "holds \(RowReader.describe(try reader.value(index).storage)) though no next certificate is staged (nextSha256Fingerprint is NULL)")
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

    static func record(_ event: HistoryEvent, into db: Database) throws {
        try db.cachedStatement(sql: "INSERT INTO event (at, host, event, sha256Fingerprint, detail) VALUES (?, ?, ?, ?, ?)").execute(arguments: [event.at, event.host.description, event.kind.rawValue, event.sha256Fingerprint.description, event.detail])
    }

    static let eventColumns = "id, host, at, event, sha256Fingerprint, detail"
    static let eventNames = RowReader.names(eventColumns)

    /// A row of `SELECT \(eventColumns)`, read by position.
    static func event(_ row: Row) throws(RowDamage) -> HistoryEvent {
        let reader = RowReader(row, table: "event", names: eventNames)
        let host = try reader.canonicalHostKey()
        let kindText = try reader.text(3)
        guard let kind = HistoryEvent.Kind(rawValue: kindText) else {
            throw reader.damage(3, "holds \(RowReader.describe(.string(kindText))) where one of \(HistoryEvent.Kind.allCases.map(\.rawValue).joined(separator: ", ")) belongs")
        }
        return HistoryEvent(at: try reader.timestamp(2), host: host, kind: kind, sha256Fingerprint: try reader.fingerprint(4), detail: try reader.text(5))
    }

    static let serverColumns = "id, host, address, port, username, pinnedFingerprint, addedAt, lastCheckedAt, authenticated"
    static let serverNames = RowReader.names(serverColumns)

    /// A row of `SELECT \(serverColumns)`, read by position.
    static func server(_ row: Row) throws(RowDamage) -> DnacServer {
        let reader = RowReader(row, table: "dnac_server", names: serverNames)
        return DnacServer(
            host: try reader.hostKey(address: 2, port: 3), username: try reader.text(4), pinnedFingerprint: try reader.fingerprint(5),
            addedAt: try reader.timestamp(6), lastCheckedAt: try reader.timestamp(7), authenticated: try reader.optionalBool(8))
    }
}

/// One row, read column by column, each checked for exactly what tofu writes there.
/// Column 0 is the rowid and column 1 the host key text of every row read here.
struct RowReader {
    let row: Row
    let table: String
    let names: [String]
    /// The host column as stored; nil when it is not text.
    let rawHost: String?

    init(_ row: Row, table: String, names: [String]) {
        self.row = row
        self.table = table
        self.names = names
        if case .string(let text) = (try? row.decode(DatabaseValue.self, atIndex: 1))?.storage { rawHost = text } else { rawHost = nil }
    }

    /// The names of a SELECT's columns, by position.
    static func names(_ columns: String) -> [String] {
        columns.split(separator: ",").map { String($0.drop { $0 == " " || $0 == "\n" }) }
    }

    func damage(_ index: Int, _ problem: String) -> RowDamage {
        let column = index < names.count ? names[index] : "column \(index)"
        // The rowid is an INTEGER PRIMARY KEY: SQLite allows nothing else there.
        let rowid: Int64 = if case .int64(let id) = (try? row.decode(DatabaseValue.self, atIndex: 0))?.storage { id } else { -1 }
        let host = rawHost.map { Self.shown($0, limit: 300) }
        return RowDamage(row: DamagedRow(table: table, rowid: rowid, host: host, column: column, problem: "\(column) \(problem)"))
    }

    func value(_ index: Int) throws(RowDamage) -> DatabaseValue {
        do {
            return try row.decode(DatabaseValue.self, atIndex: index)
        } catch {
            throw damage(index, "cannot be read")
        }
    }

    func text(_ index: Int) throws(RowDamage) -> String {
        let value = try value(index)
        guard case .string(let text) = value.storage else { throw damage(index, "holds \(Self.describe(value.storage)) where text belongs") }
        return text
    }

    func blob(_ index: Int) throws(RowDamage) -> [UInt8] {
        let value = try value(index)
        guard case .blob(let data) = value.storage, !data.isEmpty else {
            throw damage(index, "holds \(Self.describe(value.storage)) where the certificate (DER bytes) belongs")
        }
        return [UInt8](data)
    }

    func port(_ index: Int) throws(RowDamage) -> Int {
        let value = try value(index)
        guard case .int64(let number) = value.storage, (1...65535).contains(number) else {
            throw damage(index, "holds \(Self.describe(value.storage)) where a port number (1–65535) belongs")
        }
        return Int(number)
    }

    func optionalBool(_ index: Int) throws(RowDamage) -> Bool? {
        let value = try value(index)
        switch value.storage {
        case .null: return nil
        case .int64(0): return false
        case .int64(1): return true
        default: throw damage(index, "holds \(Self.describe(value.storage)) where 1, 0 or NULL belongs")
        }
    }

    /// A fingerprint exactly as tofu writes it: 32 uppercase hex pairs joined by colons.
    func fingerprint(_ index: Int) throws(RowDamage) -> Fingerprint {
        let value = try value(index)
        guard case .string(let text) = value.storage, let fingerprint = Fingerprint(parsing: text), fingerprint.description == text else {
            throw damage(index, "holds \(Self.describe(value.storage)) where a SHA-256 fingerprint (AB:CD:… in uppercase hex) belongs")
        }
        return fingerprint
    }

    /// An RFC 3339 UTC time exactly as tofu writes it, `2026-11-29T04:00:00Z`, and a real one
    /// (month, day of that month, hour, minute and second in range).
    func timestamp(_ index: Int) throws(RowDamage) -> String {
        let value = try value(index)
        guard case .string(let text) = value.storage, Self.isTimestamp(text) else {
            throw damage(index, "holds \(Self.describe(value.storage)) where a time (YYYY-MM-DDTHH:MM:SSZ) belongs")
        }
        return text
    }

    func isNull(_ index: Int) throws(RowDamage) -> Bool {
        if case .null = try value(index).storage { return true }
        return false
    }

    func optionalTimestamp(_ index: Int) throws(RowDamage) -> String? {
        if case .null = try value(index).storage { return nil }
        return try timestamp(index)
    }

    /// The host column, which must be a canonical host key.
    func canonicalHostKey() throws(RowDamage) -> HostKey {
        guard let rawHost, let key = try? HostKey(parsing: rawHost), key.description == rawHost else {
            let stored = try value(1)
            throw damage(1, "holds \(Self.describe(stored.storage)) where a host key (host_port, normalised) belongs")
        }
        return key
    }

    /// The host key, from the host column, checked against the address and port columns.
    func hostKey(address: Int, port: Int) throws(RowDamage) -> HostKey {
        let key = try canonicalHostKey()
        let addressText = try text(address)
        let portNumber = try self.port(port)
        guard let parts = try? HostKey(host: addressText, port: portNumber), parts == key else {
            let column = portNumber == key.port ? address : port
            let said = "\(Self.shown(addressText, limit: 60)) port \(portNumber)"
            throw damage(column, "does not match the host key: address and port say \(said), the host key says \(key)")
        }
        return key
    }

    // MARK: - Words

    /// What a column holds, for an operator: its kind, and a short escaped excerpt of text.
    static func describe(_ storage: DatabaseValue.Storage) -> String {
        switch storage {
        case .null: "NULL"
        case .int64(let number): "the number \(number)"
        case .double(let number): "the number \(number)"
        case .string(let text): "the text '\(shown(text, limit: 40))'"
        case .blob(let data): "\(data.count) bytes of binary data"
        }
    }

    /// `text` with control, format and bidi code points escaped as `\u{…}`, clipped to `limit`
    /// characters: stored text may hold anything, and an answer must not carry it raw.
    static func shown(_ text: String, limit: Int) -> String {
        var result = ""
        var count = 0
        for scalar in text.unicodeScalars {
            if count >= limit {
                result += "…"
                break
            }
            switch scalar.properties.generalCategory {
            case .control, .format, .lineSeparator, .paragraphSeparator, .privateUse, .surrogate, .unassigned:
                result += "\\u{\(String(scalar.value, radix: 16, uppercase: true))}"
            default:
                result.unicodeScalars.append(scalar)
            }
            count += 1
        }
        return result
    }

    static func isTimestamp(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count == 20 else { return false }
        for (index, byte) in bytes.enumerated() {
            let expected: UInt8? = switch index {
            case 4, 7: UInt8(ascii: "-")
            case 10: UInt8(ascii: "T")
            case 13, 16: UInt8(ascii: ":")
            case 19: UInt8(ascii: "Z")
            default: nil
            }
            if let expected {
                guard byte == expected else { return false }
            } else {
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return false }
            }
        }
        func number(_ range: Range<Int>) -> Int { bytes[range].reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) } }
        let year = number(0..<4), month = number(5..<7), day = number(8..<10)
        guard (1...12).contains(month), number(11..<13) < 24, number(14..<16) < 60, number(17..<19) < 60 else { return false }
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
        return (1...days).contains(day)
    }
}
