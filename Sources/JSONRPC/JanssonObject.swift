import CJansson

/// Where the members of a JSON object are written: a `[String: JSONValue]` (an answer as a
/// `JSONValue`), or jansson's own tree (`JanssonObject`, an answer turned into text at once).
/// One function filling either keeps the two forms of an answer the same, member for member.
public protocol JSONObjectWriter: ~Copyable {
    /// An empty object with room for `capacity` members.
    init(capacity: Int)
    mutating func set(_ key: String, _ text: String)
    mutating func set(_ key: String, _ number: Int64)
    /// `text`, or `null` when it is nil.
    mutating func set(_ key: String, orNull text: String?)
    mutating func setNull(_ key: String)
    /// An array of strings.
    mutating func set(_ key: String, strings: [String])
    mutating func set(_ key: String, object: consuming Self)
}

extension Dictionary: JSONObjectWriter where Key == String, Value == JSONValue {
    public init(capacity: Int) { self.init(minimumCapacity: capacity) }
    public mutating func set(_ key: String, _ text: String) { self[key] = .string(text) }
    public mutating func set(_ key: String, _ number: Int64) { self[key] = .int(number) }
    public mutating func set(_ key: String, orNull text: String?) { self[key] = text.map(JSONValue.string) ?? .null }
    public mutating func setNull(_ key: String) { self[key] = .null }
    public mutating func set(_ key: String, strings: [String]) { self[key] = .array(strings.map(JSONValue.string)) }
    public mutating func set(_ key: String, object: consuming [String: JSONValue]) { self[key] = .object(object) }
}

/// A JSON object built straight into jansson's tree, for an answer on a hot path: it becomes
/// text (`JSONCodec.response(id:result:)`) without a `JSONValue` being made, walked into
/// jansson and freed on the way. It owns its tree and never leaves the thread that built it.
/// jansson failing to allocate stops the process, as everywhere in `JSONCodec`.
public struct JanssonObject: ~Copyable, JSONObjectWriter {
    private let object: UnsafeMutablePointer<json_t>
    /// Every object in this tree got its keys in JSON_SORT_KEYS's order (see `add`): its text
    /// is then jansson's dump in insertion order, with no sort and no lookup of each key.
    private(set) var keysInOrder = true
    private var lastKey: String?
    /// False once the tree is handed on (`released`).
    private var owned = true

    /// jansson's objects grow as members come; `capacity` is accepted for `JSONObjectWriter`.
    public init(capacity: Int = 0) {
        guard let made = json_object() else { preconditionFailure("jansson: out of memory") }
        object = made
    }

    deinit { if owned { tofu_json_decref(object) } }

    public mutating func set(_ key: String, _ text: String) { add(key, JSONCodec.makeString(text)) }

    public mutating func set(_ key: String, _ number: Int64) { add(key, json_integer(json_int_t(number))) }

    public mutating func set(_ key: String, orNull text: String?) {
        if let text { set(key, text) } else { setNull(key) }
    }

    public mutating func setNull(_ key: String) { add(key, json_null()) }

    public mutating func set(_ key: String, strings: [String]) {
        guard let array = json_array() else { preconditionFailure("jansson: out of memory") }
        for text in strings {
            // Takes the element's reference, also when it fails (and then the array is freed below).
            guard json_array_append_new(array, JSONCodec.makeString(text)) == 0 else {
                tofu_json_decref(array)
                preconditionFailure("jansson: out of memory")
            }
        }
        add(key, array)
    }

    /// `bytes` as a string if they are UTF-8 (jansson checks them as it makes one): text read
    /// in place from where it is kept (a database's buffer). False, and nothing set, if not.
    public mutating func set(_ key: String, utf8 bytes: UnsafeRawBufferPointer) -> Bool {
        guard let string = Self.string(utf8: bytes) else { return false }
        add(key, string)
        return true
    }

    /// An array of the strings `forEach` gives (as `set(_:utf8:)` makes each) until it is told
    /// to stop; false, and nothing set, if one of them is not UTF-8.
    public mutating func set(_ key: String, utf8Strings forEach: ((UnsafeRawBufferPointer) -> Bool) -> Bool) -> Bool {
        guard let array = json_array() else { preconditionFailure("jansson: out of memory") }
        let complete = forEach { bytes in
            guard let string = Self.string(utf8: bytes) else { return false }
            precondition(json_array_append_new(array, string) == 0, "jansson: out of memory")
            return true
        }
        guard complete else {
            tofu_json_decref(array)
            return false
        }
        add(key, array)
        return true
    }

    /// A string of `bytes` if they are UTF-8 (a NUL among them included, as JSON allows). Text
    /// that is all ASCII, as most stored text is, is UTF-8 without jansson's check of each byte.
    private static func string(utf8 bytes: UnsafeRawBufferPointer) -> UnsafeMutablePointer<json_t>? {
        guard let start = bytes.baseAddress, !bytes.isEmpty else { return json_stringn_nocheck("", 0) }
        let chars = start.assumingMemoryBound(to: CChar.self)
        return isASCII(bytes) ? json_stringn_nocheck(chars, bytes.count) : json_stringn(chars, bytes.count)
    }

    /// Whether no byte has its high bit set, eight bytes at a time.
    private static func isASCII(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var index = 0
        while index + 8 <= bytes.count {
            guard bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self) & 0x8080_8080_8080_8080 == 0 else { return false }
            index += 8
        }
        while index < bytes.count {
            guard bytes[index] < 0x80 else { return false }
            index += 1
        }
        return true
    }

    /// Any value, built from its `JSONValue` as `JSONCodec.serialize` builds it.
    public mutating func set(_ key: String, value: JSONValue) {
        switch value {
        case .object, .array: keysInOrder = false  // a dictionary's order is its own
        default: break
        }
        add(key, JSONCodec.build(value))
    }

    public mutating func set(_ key: String, object member: consuming JanssonObject) {
        if !member.keysInOrder { keysInOrder = false }
        add(key, member.released())
    }

    public mutating func set(_ key: String, array: consuming JanssonArray) {
        if !array.keysInOrder { keysInOrder = false }
        add(key, array.released())
    }

    /// Whether `first`'s bytes come before `second`'s (a key before those it begins); nil when
    /// a text is not contiguous (then the keys count as out of order, and are sorted).
    private static func precedes(_ first: String, _ second: String) -> Bool? {
        first.utf8.withContiguousStorageIfAvailable { first in
            second.utf8.withContiguousStorageIfAvailable { second in
                for index in 0..<min(first.count, second.count) where first[index] != second[index] {
                    return first[index] < second[index]
                }
                return first.count < second.count
            }
        } ?? nil
    }

    /// This object as a `JSONValue` (for a caller that wants one, e.g. a handler's other form).
    public consuming func value() -> JSONValue {
        let tree = released()
        defer { tofu_json_decref(tree) }
        return JSONCodec.value(of: tree)
    }

    /// The tree, whose reference the caller now holds.
    consuming func released() -> UnsafeMutablePointer<json_t> {
        owned = false
        return object
    }

    /// jansson takes `value`'s reference whether it succeeds or not. jansson keeps an object's
    /// keys in the order they were added; JSON_SORT_KEYS's order compares their bytes, a key
    /// before those it begins.
    private mutating func add(_ key: String, _ value: UnsafeMutablePointer<json_t>?) {
        if keysInOrder, let lastKey, Self.precedes(lastKey, key) != true { keysInOrder = false }
        lastKey = key
        let status = key.withCString { chars in json_object_setn_new_nocheck(object, chars, key.utf8.count, value) }
        precondition(status == 0, "jansson: out of memory")
    }
}

/// A JSON array of objects built straight into jansson's tree (see `JanssonObject`).
public struct JanssonArray: ~Copyable {
    private let array: UnsafeMutablePointer<json_t>
    /// Every object in it got its keys in order (see `JanssonObject.keysInOrder`).
    private(set) var keysInOrder = true

    public init() {
        guard let made = json_array() else { preconditionFailure("jansson: out of memory") }
        array = made
    }

    deinit { tofu_json_decref(array) }

    public mutating func append(_ element: consuming JanssonObject) {
        if !element.keysInOrder { keysInOrder = false }
        let status = json_array_append_new(array, element.released())
        precondition(status == 0, "jansson: out of memory")
    }

    consuming func released() -> UnsafeMutablePointer<json_t> {
        let tree = array
        discard self
        return tree
    }
}
