import TofuCore
import TofuTLS

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

    /// Row `row` of `result` (a `SELECT \(pinColumns)` of the key `host`, whose text is `key`),
    /// checked where libpq holds it and copied out, when it is a plain, sound pin as
    /// `Rows.plainPin` checks one (see `PlainPin`): each value read as `reader` reads it, a
    /// certificate sent in bytea's hex form. Nil for any other row, which `reader` then judges.
    static func plainPin(_ result: PGResult, row: Int, host: HostKey, key: String) -> PlainPin? {
        guard result.columnCount == RowDecoding.pinNames.count, row < result.rowCount else { return nil }
        return PlainPin.checked(
            host: host, key: key,
            text: { column in
                // The types `reader` reads as something other than text.
                guard ![16, 17, 20, 21, 23, 700, 701].contains(result.typeOID(column)), let bytes = result.rawText(row, column), !bytes.contains(0) else { return nil }
                return bytes
            },
            isNull: { result.isNull(row, $0) },
            portIsTheKeys: {
                guard [20, 21, 23].contains(result.typeOID(3)), let port = result.rawText(row, 3) else { return false }
                return port.elementsEqual(String(host.port).utf8)
            },
            certificateHashes: { fingerprint in
                // bytea in its hex form, `\x…`, decoded into a buffer of its own; any other form is read by `reader`.
                guard result.typeOID(4) == 17, let hex = result.rawText(row, 4), let size = PGResult.byteaHexCount(hex), size > 0 else { return false }
                return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: size) { der -> Bool in
                    PGResult.decodeByteaHex(hex, into: der) && Fingerprint.text(fingerprint, isSHA256Of: UnsafeRawBufferPointer(der))
                }
            })
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
