// libFuzzer target: arbitrary text through the host-key parser. Built by `make fuzz` with
// Sources/TofuCore/HostKey.swift. Any trap, sanitizer report or broken invariant is a bug:
// - a parsed key's text parses again to the same key (normalisation is idempotent);
// - an accepted name is never a numeric address to the system's resolver (inet_aton,
//   getaddrinfo), so no second spelling of an address can become a second pin;
// - an accepted address is in its one canonical form, and never an IPv4 host in IPv6 clothes.
import Glibc

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    let key: HostKey
    do {
        key = try HostKey(parsing: text)
    } catch {
        // A refusal must name the input and never be empty.
        check(!error.description.isEmpty && error.input == text, "refusal without a reason", text)
        return 0
    }
    check((1...65535).contains(key.port), "port out of range", text)
    check(key.host.utf8.allSatisfy { (0x21...0x7E).contains($0) }, "host has bytes outside printable ASCII", text)
    for spelling in [key.description, key.hostForURL + ":" + String(key.port), key.hostForURL + "_" + String(key.port)] {
        guard let again = try? HostKey(parsing: spelling) else { fail("'\(spelling)' does not parse again", text) }
        check(again == key && again.description == key.description, "'\(spelling)' parses to \(again), not \(key)", text)
    }
    if key.isIPv6 {
        var address = in6_addr()
        check(inet_pton(AF_INET6, key.host, &address) == 1, "IPv6 key is no IPv6 address", text)
        let bytes = withUnsafeBytes(of: &address) { Array($0) }
        check(!bytes.allSatisfy { $0 == 0 }, "the unspecified address was accepted", text)
        check(!(bytes[..<10].allSatisfy { $0 == 0 } && bytes[10] == 0xFF && bytes[11] == 0xFF), "an IPv4-mapped address was accepted", text)
        check(!bytes[..<12].allSatisfy { $0 == 0 } || bytes[12...] == [0, 0, 0, 1], "an IPv4-compatible address was accepted", text)
        check(numericHost(key.host) == key.host, "IPv6 key not in RFC 5952 form", text)
    } else if key.isIPAddress {
        check(numericHost(key.host) == key.host && key.host != "0.0.0.0", "IPv4 key not canonical", text)
    } else {
        check(key.host.utf8.allSatisfy { isNameByte($0) }, "name has bytes other than a-z 0-9 - .", text)
        for variant in [key.host, key.host + "."] {
            var address = in_addr()
            check(inet_aton(variant, &address) == 0, "inet_aton reads the name '\(variant)' as an address", text)
            check(numericHost(variant) == nil, "getaddrinfo reads the name '\(variant)' as an address", text)
        }
    }
    return 0
}

/// What getaddrinfo makes of `host` without any lookup (AI_NUMERICHOST), as numeric text.
private func numericHost(_ host: String) -> String? {
    var hints = addrinfo()
    hints.ai_flags = AI_NUMERICHOST
    hints.ai_family = AF_UNSPEC
    hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
    var list: UnsafeMutablePointer<addrinfo>?
    guard getaddrinfo(host, nil, &hints, &list) == 0, let first = list else { return nil }
    defer { freeaddrinfo(first) }
    var buffer = [CChar](repeating: 0, count: Int(NI_MAXHOST))
    guard getnameinfo(first.pointee.ai_addr, first.pointee.ai_addrlen, &buffer, socklen_t(buffer.count), nil, 0, NI_NUMERICHOST) == 0 else {
        return nil
    }
    return String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

private func isNameByte(_ byte: UInt8) -> Bool {
    (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
        || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".")
}

private func check(_ condition: Bool, _ what: @autoclosure () -> String, _ input: String) {
    if !condition { fail(what(), input) }
}

private func fail(_ what: String, _ input: String) -> Never {
    fatalError("host key invariant broken: \(what); input \(Array(input.utf8))")
}
