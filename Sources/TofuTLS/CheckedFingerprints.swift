import Posix

#if canImport(Glibc)
    import Glibc
#endif

/// Certificates whose stored fingerprint text was found to be their SHA-256, remembered by the
/// exact bytes of both: the row a client asks for again and again (an editor's status line, a
/// script polling one host) is not hashed every time, which was 13k of a point read's 156k
/// instructions. A pair is only ever remembered after it was hashed and matched, and matches
/// again only if text and certificate are the same bytes, so a row edited in either place is
/// hashed, and judged, afresh. A few slots, each holding one certificate of at most 4 KiB: at most
/// 32 × 4 KiB of memory, and anything else is hashed as before.
final class CheckedFingerprints: Sendable {
    static let slots = 32
    static let largestCertificate = 4096

    private struct Entry {
        var text: [UInt8]
        var der: [UInt8]
    }

    private let entries = Locked<[Entry?]>([Entry?](repeating: nil, count: slots))

    /// Whether `text` was found to be the fingerprint of exactly `der`.
    func contains(text: UnsafeRawBufferPointer, der: UnsafeRawBufferPointer) -> Bool {
        guard let slot = Self.slot(text, der) else { return false }
        return entries.withLock { entries in
            guard let entry = entries[slot] else { return false }
            return Self.same(entry.text, text) && Self.same(entry.der, der)
        }
    }

    /// Remembers that `text` is the fingerprint of `der` (the caller has just hashed it).
    /// A slot's buffers are reused: a run of point reads of many hosts replaces entries without
    /// allocating.
    func insert(text: UnsafeRawBufferPointer, der: UnsafeRawBufferPointer) {
        guard let slot = Self.slot(text, der) else { return }
        entries.withLock { entries in
            var entry = entries[slot] ?? Entry(text: [], der: [])
            entries[slot] = nil
            entry.text.removeAll(keepingCapacity: true)
            entry.text.append(contentsOf: text)
            entry.der.removeAll(keepingCapacity: true)
            entry.der.append(contentsOf: der)
            entries[slot] = entry
        }
    }

    /// The slot of a pair, from the fingerprint's first digest bytes; nil for what is not kept.
    private static func slot(_ text: UnsafeRawBufferPointer, _ der: UnsafeRawBufferPointer) -> Int? {
        guard text.count >= 5, !der.isEmpty, der.count <= largestCertificate else { return nil }
        let mixed = (Int(text[0]) &* 131 &+ Int(text[1])) &* 131 &+ Int(text[3]) &* 7 &+ Int(text[4])
        return mixed % slots
    }

    private static func same(_ kept: [UInt8], _ bytes: UnsafeRawBufferPointer) -> Bool {
        kept.count == bytes.count && kept.withUnsafeBytes { kept in
            guard let a = kept.baseAddress, let b = bytes.baseAddress else { return kept.isEmpty }
            return memcmp(a, b, bytes.count) == 0
        }
    }
}
