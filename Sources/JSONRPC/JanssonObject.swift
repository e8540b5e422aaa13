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

    /// jansson's objects grow as members come; `capacity` is accepted for `JSONObjectWriter`.
    public init(capacity: Int = 0) {
        guard let made = json_object() else { preconditionFailure("jansson: out of memory") }
        object = made
    }

    deinit { tofu_json_decref(object) }

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

    /// Any value, built from its `JSONValue` as `JSONCodec.serialize` builds it.
    public mutating func set(_ key: String, value: JSONValue) { add(key, JSONCodec.build(value)) }

    public mutating func set(_ key: String, object member: consuming JanssonObject) { add(key, member.released()) }

    public mutating func set(_ key: String, array: consuming JanssonArray) { add(key, array.released()) }

    /// This object as a `JSONValue` (for a caller that wants one, e.g. a handler's other form).
    public consuming func value() -> JSONValue {
        let tree = released()
        defer { tofu_json_decref(tree) }
        return JSONCodec.value(of: tree)
    }

    /// The tree, whose reference the caller now holds.
    consuming func released() -> UnsafeMutablePointer<json_t> {
        let tree = object
        discard self
        return tree
    }

    /// jansson takes `value`'s reference whether it succeeds or not.
    private func add(_ key: String, _ value: UnsafeMutablePointer<json_t>?) {
        let status = key.withCString { chars in json_object_setn_new_nocheck(object, chars, key.utf8.count, value) }
        precondition(status == 0, "jansson: out of memory")
    }
}

/// A JSON array of objects built straight into jansson's tree (see `JanssonObject`).
public struct JanssonArray: ~Copyable {
    private let array: UnsafeMutablePointer<json_t>

    public init() {
        guard let made = json_array() else { preconditionFailure("jansson: out of memory") }
        array = made
    }

    deinit { tofu_json_decref(array) }

    public mutating func append(_ element: consuming JanssonObject) {
        let status = json_array_append_new(array, element.released())
        precondition(status == 0, "jansson: out of memory")
    }

    consuming func released() -> UnsafeMutablePointer<json_t> {
        let tree = array
        discard self
        return tree
    }
}
