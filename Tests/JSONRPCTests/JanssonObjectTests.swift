import TestSupport
import Testing

@testable import JSONRPC

/// An answer built straight in jansson (`JanssonObject`, `JSONCodec.response(id:result:)`) is
/// byte for byte the answer made of `JSONValue`s and serialised by `JSONCodec.serialize`, over
/// many random objects: every escape, every kind of id.
@Suite struct JanssonObjectTests {
    /// One member, to be written the same way into either kind of object.
    indirect enum Member {
        case text(String)
        case number(Int64)
        case optional(String?)
        case null
        case strings([String])
        case object([(String, Member)])
    }

    static func fill<Object: JSONObjectWriter & ~Copyable>(_ members: [(String, Member)], as: Object.Type) -> Object {
        var object = Object(capacity: members.count)
        for (key, member) in members {
            switch member {
            case .text(let text): object.set(key, text)
            case .number(let number): object.set(key, number)
            case .optional(let text): object.set(key, orNull: text)
            case .null: object.setNull(key)
            case .strings(let texts): object.set(key, strings: texts)
            case .object(let inner): object.set(key, object: fill(inner, as: Object.self))
            }
        }
        return object
    }

    /// Scalars from every range JSON's text treats apart: controls, quote, backslash, slash,
    /// DEL, Latin-1, the line separators, the BOM, CJK, astral planes, the last code point.
    static let scalars: [ClosedRange<UInt32>] = [
        0...0x1F, 0x20...0x7E, 0x22...0x22, 0x5C...0x5C, 0x2F...0x2F, 0x7F...0xFF, 0x2028...0x2029, 0xFEFF...0xFEFF,
        0x4E00...0x9FFF, 0xE000...0xFFFD, 0x1_0000...0x1_FFFF, 0x10_FFFF...0x10_FFFF,
    ]

    static func text(_ random: inout SeededGenerator, length: Int = 12) -> String {
        var text = ""
        for _ in 0..<Int.random(in: 0...length, using: &random) {
            let range = scalars[Int.random(in: 0..<scalars.count, using: &random)]
            if let scalar = Unicode.Scalar(UInt32.random(in: range, using: &random)) { text.unicodeScalars.append(scalar) }
        }
        return text
    }

    static func members(_ random: inout SeededGenerator, depth: Int) -> [(String, Member)] {
        var members: [(String, Member)] = []
        var keys: Set<String> = []
        for _ in 0..<Int.random(in: 0...12, using: &random) {
            // Keys that begin one another (sorted by their bytes), and random ones.
            let key = Bool.random(using: &random) ? String("keyskeys".prefix(Int.random(in: 0...8, using: &random))) : text(&random, length: 6)
            guard keys.insert(key).inserted else { continue }
            let member: Member
            switch Int.random(in: 0..<(depth > 0 ? 7 : 6), using: &random) {
            case 0: member = .text(text(&random, length: 40))
            case 1: member = .number([Int64.min, Int64.max, 0, -1, Int64.random(in: .min ... .max, using: &random)][Int.random(in: 0..<5, using: &random)])
            case 2: member = .optional(Bool.random(using: &random) ? nil : text(&random))
            case 3: member = .null
            case 4: member = .strings((0..<Int.random(in: 0...70, using: &random)).map { _ in text(&random) })
            case 5: member = .text("")
            default: member = .object(Self.members(&random, depth: depth - 1))
            }
            members.append((key, member))
        }
        return members
    }

    /// `members` with their keys in JSON_SORT_KEYS's order, at every level.
    static func sorted(_ members: [(String, Member)]) -> [(String, Member)] {
        members.map { key, member in
            if case .object(let inner) = member { return (key, .object(sorted(inner))) }
            return (key, member)
        }.sorted { $0.0.utf8.lexicographicallyPrecedes($1.0.utf8) }
    }

    static let ids: [JSONValue] = [
        0, 1, -1, .int(.max), .int(.min), 1.5, -0.0, 1e300, 0.1, .double(.infinity), .double(.nan), "", "1", "a\"b\\c/\u{1}\u{1F}é😀\u{2028}", .null,
    ]

    @Test func anAnswerBuiltInJanssonIsTheJSONValuesAnswerByteForByte() {
        var random = SeededGenerator(state: 19)
        var inOrder = 0
        for round in 0..<4000 {
            // Odd rounds add the keys in order: jansson's tree is then dumped without sorting.
            let members = round % 2 == 0 ? Self.members(&random, depth: 3) : Self.sorted(Self.members(&random, depth: 3))
            let keysInOrder = Self.fill(members, as: JanssonObject.self).keysInOrder
            #expect(keysInOrder || round % 2 == 0, "round \(round): sorted keys not seen in order")
            if keysInOrder { inOrder += 1 }
            let id = Self.ids[round % Self.ids.count]
            let reference = JSONCodec.serialize(["id": id, "jsonrpc": "2.0", "result": .object(Self.fill(members, as: [String: JSONValue].self))])
            let direct = JSONCodec.response(id: id, result: Self.fill(members, as: JanssonObject.self))
            // The first difference is enough to read.
            guard direct == reference else {
                Issue.record("round \(round): \(String(decoding: direct, as: UTF8.self)) != \(String(decoding: reference, as: UTF8.self))")
                return
            }
            guard Self.fill(members, as: JanssonObject.self).value() == .object(Self.fill(members, as: [String: JSONValue].self)) else {
                Issue.record("round \(round): the tree read back is not the value")
                return
            }
        }
        // Both ways were met: most shuffled objects are out of order.
        #expect(inOrder > 2000 && inOrder < 3000, "\(inOrder) of 4,000 in order")
    }

    /// The handler table gives a direct handler's result as a `JSONValue` to whoever asks for
    /// an `ImmediateHandler` (e.g. another protocol layered on the methods).
    @Test func aDirectHandlerIsAnImmediateHandlerToo() throws {
        var table = MethodTable()
        table.register(
            "point",
            direct: { params in
                guard let name = try params.named(allowing: ["name"]).optional("name", as: String.self) else { return nil }
                var object = JanssonObject()
                object.set("name", name)
                object.set("none", orNull: nil)
                return object
            }, otherwise: { _, _ in "listing" })
        let handler = try #require(table.immediateHandler(for: "point"))
        #expect(try handler(Params(["name": "é\u{0}"])) == ["name": "é\u{0}", "none": nil])
        #expect(try handler(Params([:])) == nil)
        #expect(throws: ResponseError.self) { try handler(Params(["other": 1])) }
    }
}
