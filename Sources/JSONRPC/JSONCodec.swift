import CJansson

/// Why a JSON text could not be turned into a `JSONValue`.
public enum JSONDecodingError: Error, Sendable, Equatable {
    /// Not a JSON text: bad syntax, invalid UTF-8, a duplicate key, an integer outside 64 bits.
    /// `reason` is one of a fixed set of wordings that never quote the text (which may hold
    /// a password); line and column are 1-based, `position` is the byte offset where
    /// jansson stopped.
    case syntax(reason: String, line: Int, column: Int, position: Int)
    /// Valid JSON nested deeper than the limit. `id` is the request id when the text is an
    /// object whose `id` could still be read, so the error can be matched to its request.
    case tooDeep(limit: Int, id: JSONValue?)
}

/// JSON text in and out, through jansson.
///
/// This, with `JanssonObject` and `JanssonArray` (an answer built straight in jansson),
/// is the only place in tofu that touches jansson's pointers: every `json_t` is created,
/// read and released on one thread, never crossing to another.
public enum JSONCodec {
    private static let seeded: Bool = {
        // Seeds jansson's object hash from the system's entropy, once, before any parse.
        json_object_seed(0)
        return true
    }()

    /// Seeds jansson's hash function. Call once at start-up; parse and serialise also
    /// make sure it happened.
    public static func prepare() { _ = seeded }

    /// Parses one JSON text of any type (`JSON_DECODE_ANY`), rejecting duplicate keys and
    /// nesting deeper than `maxDepth` containers.
    public static func parse(_ bytes: UnsafeRawBufferPointer, maxDepth: Int) throws(JSONDecodingError) -> JSONValue {
        var values = 0
        return try withTree(bytes, maxDepth: maxDepth) { root throws(JSONDecodingError) in try value(root, maxDepth: maxDepth, values: &values) }
    }

    /// What one message read from the wire is: a plain single call, or any other value.
    enum Message {
        case call(Call)
        case other(JSONValue)
    }

    /// Parses a message as `parse` does; a plain single call (see `plainCall`) is read from
    /// jansson's tree directly, without its envelope becoming a `JSONValue` first.
    static func message(_ bytes: [UInt8], maxDepth: Int) throws(JSONDecodingError) -> Message {
        var values = 0
        return try message(bytes, maxDepth: maxDepth, values: &values)
    }

    /// `message`, counting in `values` the JSON values it made (what the message holds in memory
    /// beyond its text: `[0,0,…]` is two bytes a value, each a `JSONValue` of 24 or more).
    static func message(_ bytes: [UInt8], maxDepth: Int, values: inout Int) throws(JSONDecodingError) -> Message {
        let result: Result<Message, JSONDecodingError> = bytes.withUnsafeBytes { buffer in
            do throws(JSONDecodingError) {
                return .success(
                    try withTree(buffer, maxDepth: maxDepth) { root throws(JSONDecodingError) in
                        if let call = plainCall(root, maxDepth: maxDepth, values: &values) { return .call(call) }
                        values = 0
                        return .other(try value(root, maxDepth: maxDepth, values: &values))
                    })
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    /// `body` run on the tree of the JSON text in `bytes`, which is freed after; jansson's own
    /// nesting limit reported as `maxDepth`, or as jansson's when that is the lower.
    private static func withTree<T>(
        _ bytes: UnsafeRawBufferPointer, maxDepth: Int, _ body: (UnsafeMutablePointer<json_t>) throws(JSONDecodingError) -> T
    ) throws(JSONDecodingError) -> T {
        _ = seeded
        var error = json_error_t()
        let flags = Int(JSON_DECODE_ANY | JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL)
        let loaded: UnsafeMutablePointer<json_t>?
        if let base = bytes.baseAddress {
            loaded = json_loadb(base.assumingMemoryBound(to: CChar.self), bytes.count, flags, &error)
        } else {
            loaded = json_loadb("", 0, flags, &error)
        }
        guard let root = loaded else {
            if json_error_code(&error) == json_error_stack_overflow {
                throw .tooDeep(limit: min(maxDepth, Int(JSON_PARSER_MAX_DEPTH)), id: nil)
            }
            throw .syntax(
                reason: ParseErrorWording.reason(for: error),
                line: Int(error.line), column: Int(error.column), position: Int(error.position))
        }
        defer { tofu_json_decref(root) }
        return try body(root)
    }

    private static func value(_ root: UnsafeMutablePointer<json_t>, maxDepth: Int, values: inout Int) throws(JSONDecodingError) -> JSONValue {
        guard let value = convert(root, depthLeft: maxDepth, values: &values) else {
            throw .tooDeep(limit: maxDepth, id: recoverableID(root))
        }
        return value
    }

    /// The call in `root` when it is a plain single request or notification, the message
    /// nearly every client sends: an object of `jsonrpc` "2.0", a string `method`, and at most
    /// an `id` (string, number or null) and `params` (an array, an object or null, within the
    /// depth), nothing else. Its id and params become `JSONValue`s; its envelope does not. Nil
    /// for anything else, which `IncomingMessage` reads from the whole value (and words the
    /// error of): the same call either way.
    private static func plainCall(_ root: UnsafeMutablePointer<json_t>, maxDepth: Int, values: inout Int) -> Call? {
        guard maxDepth > 0, tofu_json_typeof(root) == Int32(JSON_OBJECT.rawValue),
            let version = json_object_get(root, "jsonrpc"), tofu_json_typeof(version) == Int32(JSON_STRING.rawValue),
            string(json_string_value(version), count: json_string_length(version)) == "2.0",
            let method = json_object_get(root, "method"), tofu_json_typeof(method) == Int32(JSON_STRING.rawValue)
        else { return nil }
        var members = 2
        var id: JSONValue?
        if let given = json_object_get(root, "id") {
            members += 1
            switch json_type(UInt32(tofu_json_typeof(given))) {
            case JSON_NULL, JSON_INTEGER, JSON_REAL, JSON_STRING: id = convert(given, depthLeft: 0, values: &values)
            default: return nil
            }
        }
        var params: JSONValue?
        if let given = json_object_get(root, "params") {
            members += 1
            switch json_type(UInt32(tofu_json_typeof(given))) {
            case JSON_NULL: params = nil
            case JSON_ARRAY, JSON_OBJECT:
                guard let converted = convert(given, depthLeft: maxDepth - 1, values: &values) else { return nil }
                params = converted
            default: return nil
            }
        }
        guard json_object_size(root) == members else { return nil }
        return Call(id: id, method: string(json_string_value(method), count: json_string_length(method)), params: Params(params))
    }

    /// Parses a JSON text held in an array of bytes.
    public static func parse(_ bytes: [UInt8], maxDepth: Int = 128) throws(JSONDecodingError) -> JSONValue {
        let result: Result<JSONValue, JSONDecodingError> = bytes.withUnsafeBytes { buffer in
            do throws(JSONDecodingError) {
                return .success(try parse(buffer, maxDepth: maxDepth))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    /// Parses a JSON text held in a string.
    public static func parse(_ text: String, maxDepth: Int = 128) throws(JSONDecodingError) -> JSONValue {
        try parse(Array(text.utf8), maxDepth: maxDepth)
    }

    /// The compact, one-line JSON text of `value`, keys sorted so output is stable.
    /// Non-finite reals, which JSON cannot spell, are written as `null`.
    public static func serialize(_ value: JSONValue) -> [UInt8] {
        _ = seeded
        return holdsLongArray(value, depth: streamedDepth) ? streamed(value) : whole(value)
    }

    /// Arrays at least this long, within `streamedDepth` levels of the top (a page of pins in
    /// an answer), are written element by element: a long listing never exists as one jansson
    /// tree beside its Swift values, nor as a dump beside its copy.
    static let longArray = 64
    static let streamedDepth = 3
    /// The most room a long array's text is given ahead (past it, the text grows as it comes).
    static let reservedAtMost = 64 << 20

    private static func holdsLongArray(_ value: JSONValue, depth: Int) -> Bool {
        guard depth > 0 else { return false }
        switch value {
        case .array(let elements): return elements.count >= longArray || elements.contains { holdsLongArray($0, depth: depth - 1) }
        case .object(let members): return members.values.contains { holdsLongArray($0, depth: depth - 1) }
        default: return false
        }
    }

    /// `value` written as `whole` writes it, its containers down to `streamedDepth` levels by
    /// hand (in jansson's compact form and key order) and everything below, keys and scalars
    /// too, by jansson: the same bytes, a part at a time.
    static func streamed(_ value: JSONValue) -> [UInt8] {
        _ = seeded
        var output: [UInt8] = []
        write(value, depth: streamedDepth, into: &output)
        return output
    }

    private static func write(_ value: JSONValue, depth: Int, into output: inout [UInt8]) {
        switch value {
        case .array(let elements) where depth > 0:
            output.append(UInt8(ascii: "["))
            for (index, element) in elements.enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                let start = output.count
                write(element, depth: depth - 1, into: &output)
                // A long array's first element tells what the others will take: room for them
                // at once (an eighth to spare), not the doublings that copy all written so far.
                if index == 0, elements.count >= longArray {
                    let each = output.count - start + 1
                    let (others, overflow) = each.multipliedReportingOverflow(by: elements.count - 1)
                    if !overflow, others <= reservedAtMost { output.reserveCapacity(output.count + others + others / 8 + 2) }
                }
            }
            output.append(UInt8(ascii: "]"))
        case .object(let members) where depth > 0:
            output.append(UInt8(ascii: "{"))
            // JSON_SORT_KEYS's order: the keys' bytes compared, a key before those it begins.
            for (index, key) in members.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }).enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                output.append(contentsOf: whole(.string(key)))
                output.append(UInt8(ascii: ":"))
                if let member = members[key] { write(member, depth: depth - 1, into: &output) }
            }
            output.append(UInt8(ascii: "}"))
        default:
            output.append(contentsOf: whole(value))
        }
    }

    /// `value` dumped by jansson in one piece.
    static func whole(_ value: JSONValue) -> [UInt8] {
        _ = seeded
        let root = build(value)
        defer { tofu_json_decref(root) }
        return dump(root)
    }

    /// The text of the response `{"id":…,"jsonrpc":"2.0","result":…}`, built and dumped in
    /// jansson: byte for byte `serialize` of the same response made of `JSONValue`s. A result
    /// whose keys were all added in order is dumped as it stands, without jansson sorting them.
    public static func response(id: JSONValue, result: consuming JanssonObject) -> [UInt8] {
        _ = seeded
        var envelope = JanssonObject()
        envelope.set("id", value: id)
        envelope.set("jsonrpc", "2.0")
        envelope.set("result", object: result)
        let sorted = envelope.keysInOrder
        let root = envelope.released()
        defer { tofu_json_decref(root) }
        return dump(root, keysInOrder: sorted)
    }

    /// `root` dumped compact with sorted keys (as they stand when `keysInOrder`: already sorted).
    private static func dump(_ root: UnsafeMutablePointer<json_t>, keysInOrder: Bool = false) -> [UInt8] {
        let flags = Int(JSON_COMPACT | JSON_ENCODE_ANY | (keysInOrder ? 0 : JSON_SORT_KEYS))
        // Dumped into scratch space of a typical answer's size (again, one byte longer than the
        // text, when larger), then copied into an array with a byte of room, so framing appends
        // in place.
        // `Array(_:)` of the bytes, not `init(unsafeUninitializedCapacity:)`: that one allocates
        // through a generic call into the standard library, which looks up the storage's type.
        var capacity = 4096
        while true {
            let output: [UInt8]? = withUnsafeTemporaryAllocation(of: CChar.self, capacity: capacity) { scratch in
                let needed = json_dumpb(root, scratch.baseAddress, capacity, flags)
                precondition(needed > 0, "jansson could not serialise a value it built (out of memory)")
                guard needed < capacity else {
                    capacity = needed + 1
                    return nil
                }
                scratch[needed] = 0x0A
                var bytes = Array(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(scratch)[...needed]))
                bytes.removeLast()  // its room kept
                return bytes
            }
            if let output { return output }
        }
    }

    // MARK: - jansson to Swift

    /// A tree built here (`JanssonObject`) as a `JSONValue`.
    static func value(of tree: UnsafeMutablePointer<json_t>) -> JSONValue {
        var values = 0
        guard let value = convert(tree, depthLeft: Int.max, values: &values) else { preconditionFailure("jansson: a tree built here holds a value of no JSON type") }
        return value
    }

    /// nil when the value nests deeper than allowed. Counts each value made in `values`.
    private static func convert(_ json: UnsafeMutablePointer<json_t>, depthLeft: Int, values: inout Int) -> JSONValue? {
        values &+= 1
        switch json_type(UInt32(tofu_json_typeof(json))) {
        case JSON_NULL: return .null
        case JSON_TRUE: return .bool(true)
        case JSON_FALSE: return .bool(false)
        case JSON_INTEGER: return .int(Int64(json_integer_value(json)))
        case JSON_REAL: return .double(json_real_value(json))
        case JSON_STRING:
            return .string(string(json_string_value(json), count: json_string_length(json)))
        case JSON_ARRAY:
            guard depthLeft > 0 else { return nil }
            let count = json_array_size(json)
            var elements: [JSONValue] = []
            elements.reserveCapacity(count)
            for index in 0..<count {
                guard let element = json_array_get(json, index),
                    let value = convert(element, depthLeft: depthLeft - 1, values: &values)
                else { return nil }
                elements.append(value)
            }
            return .array(elements)
        case JSON_OBJECT:
            guard depthLeft > 0 else { return nil }
            // Not sized ahead: `reserveCapacity` and `init(minimumCapacity:)` are generic calls
            // into the standard library, dearer than the growth of the few members params have.
            var members: [String: JSONValue] = [:]
            var iterator = json_object_iter(json)
            while let current = iterator {
                guard let member = json_object_iter_value(current),
                    let value = convert(member, depthLeft: depthLeft - 1, values: &values)
                else { return nil }
                members[string(json_object_iter_key(current), count: json_object_iter_key_len(current))] = value
                iterator = json_object_iter_next(json, current)
            }
            return .object(members)
        default:
            return nil
        }
    }

    private static func string(_ pointer: UnsafePointer<CChar>?, count: Int) -> String {
        guard let pointer else { return "" }
        return String(decoding: UnsafeRawBufferPointer(start: pointer, count: count), as: UTF8.self)
    }

    /// The `id` member of a top-level object when it is a valid request id (string, number, null).
    private static func recoverableID(_ root: UnsafeMutablePointer<json_t>) -> JSONValue? {
        guard tofu_json_typeof(root) == Int32(JSON_OBJECT.rawValue), let id = json_object_get(root, "id") else {
            return nil
        }
        switch json_type(UInt32(tofu_json_typeof(id))) {
        case JSON_NULL, JSON_INTEGER, JSON_REAL, JSON_STRING:
            var values = 0
            return convert(id, depthLeft: 0, values: &values)
        default: return nil
        }
    }

    // MARK: - Swift to jansson

    static func build(_ value: JSONValue) -> UnsafeMutablePointer<json_t> {
        let made: UnsafeMutablePointer<json_t>?
        switch value {
        case .null: made = json_null()
        case .bool(let flag): made = flag ? json_true() : json_false()
        case .int(let number): made = json_integer(json_int_t(number))
        case .double(let number): made = number.isFinite ? json_real(number) : json_null()
        case .string(let text): made = makeString(text)
        case .array(let elements):
            made = json_array()
            if let array = made {
                for element in elements {
                    precondition(json_array_append_new(array, build(element)) == 0, "jansson: out of memory")
                }
            }
        case .object(let members):
            made = json_object()
            if let object = made {
                for (key, member) in members {
                    let status = key.withCString { chars in
                        json_object_setn_new_nocheck(object, chars, key.utf8.count, build(member))
                    }
                    precondition(status == 0, "jansson: out of memory")
                }
            }
        }
        guard let made else { preconditionFailure("jansson: out of memory") }
        return made
    }

    static func makeString(_ text: String) -> UnsafeMutablePointer<json_t>? {
        text.withCString { chars in json_stringn_nocheck(chars, text.utf8.count) }
    }
}
