/// The `params` of a call, as sent: by name (an object), by position (an array), or absent
/// (`null` counts as absent).
public struct Params: Sendable, Equatable {
    public let value: JSONValue?

    public init(_ value: JSONValue?) { self.value = value }

    /// The params by position; absent params are an empty list.
    public func positional() throws(ResponseError) -> [JSONValue] {
        switch value {
        case nil, .null?: return []
        case .array(let elements)?: return elements
        default: throw .invalidParams(field: nil, "params must be given by position (an array)")
        }
    }

    /// The params by name, refusing any name not in `allowed`: a misspelt optional
    /// parameter must fail loudly, not be silently ignored (think `expectedFingerprint`).
    public func named(allowing allowed: Set<String>) throws(ResponseError) -> NamedParams {
        let members: [String: JSONValue]
        switch value {
        case nil, .null?: members = [:]
        case .object(let object)?: members = object
        default: throw .invalidParams(field: nil, "params must be given by name (an object)")
        }
        if let unknown = members.keys.lazy.filter({ !allowed.contains($0) }).min() {
            let known = allowed.sorted().joined(separator: ", ")
            throw .invalidParams(field: unknown, "is not a parameter of this method (it takes: \(known.isEmpty ? "none" : known))")
        }
        // A member given as null is a member not given, everywhere (README: "null counts as absent").
        return NamedParams(members: members.values.contains(.null) ? members.filter { $0.value != .null } : members)
    }
}

/// Params by name, read with their types checked; every failure names the field.
public struct NamedParams: Sendable {
    public let members: [String: JSONValue]

    // Inlinable: specialised where it is called, not a generic call (and its metadata) per read.

    /// A required parameter.
    @inlinable
    public func required<T: ParamValue>(_ name: String, as type: T.Type = T.self) throws(ResponseError) -> T {
        guard let value = members[name], !value.isNull else {
            throw .invalidParams(field: name, "is required (\(T.expected))")
        }
        return try convert(value, name)
    }

    /// An optional parameter: absent and `null` both mean "not given".
    @inlinable
    public func optional<T: ParamValue>(_ name: String, as type: T.Type = T.self) throws(ResponseError) -> T? {
        guard let value = members[name], !value.isNull else { return nil }
        return try convert(value, name)
    }

    @inlinable
    func convert<T: ParamValue>(_ value: JSONValue, _ name: String) throws(ResponseError) -> T {
        guard let converted = T(param: value) else {
            throw .invalidParams(field: name, "must be \(T.expected), got \(value.typeName)")
        }
        return converted
    }
}

/// A Swift type a parameter can be read as.
public protocol ParamValue: Sendable {
    /// What the type expects, for error messages: "a string".
    static var expected: String { get }
    init?(param: JSONValue)
}

extension String: ParamValue {
    public static var expected: String { "a string" }
    public init?(param: JSONValue) {
        guard case .string(let value) = param else { return nil }
        self = value
    }
}

extension Bool: ParamValue {
    public static var expected: String { "a boolean" }
    public init?(param: JSONValue) {
        guard case .bool(let value) = param else { return nil }
        self = value
    }
}

extension Int: ParamValue {
    public static var expected: String { "an integer" }
    public init?(param: JSONValue) {
        switch param {
        case .int(let value):
            guard let exact = Int(exactly: value) else { return nil }
            self = exact
        case .double(let value):
            // 5.0 is an integer in JSON's number model; 5.5 is not.
            guard let exact = Int(exactly: value) else { return nil }
            self = exact
        default:
            return nil
        }
    }
}

extension Double: ParamValue {
    public static var expected: String { "a number" }
    public init?(param: JSONValue) {
        switch param {
        case .int(let value): self = Double(value)
        case .double(let value): self = value
        default: return nil
        }
    }
}

extension JSONValue: ParamValue {
    public static var expected: String { "a JSON value" }
    public init?(param: JSONValue) { self = param }
}

extension Array: ParamValue where Element: ParamValue {
    public static var expected: String { "an array" }
    public init?(param: JSONValue) {
        guard case .array(let elements) = param else { return nil }
        var converted: [Element] = []
        for element in elements {
            guard let value = Element(param: element) else { return nil }
            converted.append(value)
        }
        self = converted
    }
}
