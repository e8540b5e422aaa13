/// Byte classes of ASCII text that more than one parser needs (host keys, PostgreSQL's bytea,
/// HTTP's chunk sizes): one definition.
public enum ASCII {
    /// The value of a hexadecimal digit, either case; nil for any other byte.
    @inlinable public static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
