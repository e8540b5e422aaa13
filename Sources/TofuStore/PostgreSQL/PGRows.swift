import TofuCore

/// Pins, servers and events to and from PostgreSQL rows: the statements' column lists and
/// parameters, and each value as the server sent it, checked by `RowDecoding` as SQLite's are.
enum PGRows {
    static let pinColumns = RowDecoding.pinNames.joined(separator: ", ")
    static let eventColumns = RowDecoding.eventNames.joined(separator: ", ")
    static let serverColumns = RowDecoding.serverNames.joined(separator: ", ")

    /// The parameters of a pin row, in the order of `RowDecoding.pinNames` without the id.
    static func parameters(_ pin: Pin) -> [PGValue] {
        let next = pin.next?.certificate
        return [.text(pin.host.description), .text(pin.host.host), .text(String(pin.host.port))] + certificate(pin.certificate)
            + [.text(pin.pinnedAt), optional(pin.lastVerifiedAt), .text(pin.policy.rawValue)]
            + (next.map(certificate) ?? Array(repeating: .null, count: 10)) + [optional(pin.next?.stagedAt)]
    }

    private static func certificate(_ certificate: CertificateSummary) -> [PGValue] {
        [
            .bytes(certificate.der), .text(certificate.sha256Fingerprint.description), .text(certificate.spkiSha256),
            .text(certificate.subject), .text(certificate.issuer), .text(certificate.serialNumber), .text(certificate.notBefore),
            .text(certificate.notAfter), .text(certificate.subjectAltNames.joined(separator: "\n")), .text(certificate.publicKey),
        ]
    }

    static func optional(_ text: String?) -> PGValue {
        text.map(PGValue.text) ?? .null
    }

    /// Row `row` of `result` for the shared checks: each value by its column's type, as sent.
    static func reader(_ result: PGResult, row: Int, table: String, names: [String]) -> RowReader {
        RowReader(table: table, names: names) { column in
            guard column < result.columnCount, row < result.rowCount else { return nil }
            if result.isNull(row, column) { return .null }
            switch result.typeOID(column) {
            case 16:  // boolean: 1 or 0, as SQLite stores it
                switch result.text(row, column) {
                case "t": return .integer(1)
                case "f": return .integer(0)
                default: return nil
                }
            case 17:  // bytea
                return result.bytes(row, column).map(StoredValue.bytes)
            case 20, 21, 23:  // bigint, smallint, integer
                return result.text(row, column).flatMap { Int64($0) }.map(StoredValue.integer)
            case 700, 701:  // real, double precision
                return result.text(row, column).flatMap { Double($0) }.map(StoredValue.real)
            default:
                return result.text(row, column).map(StoredValue.text)
            }
        }
    }
}
