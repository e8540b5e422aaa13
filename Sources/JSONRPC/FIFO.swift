/// A first-in, first-out queue with O(1) amortised pops (Array.removeFirst is O(n), which
/// made a queue of many thousand waiting requests quadratic). A popped element is released
/// at once, not when the storage is next compacted.
struct FIFO<Element> {
    private var storage: [Element?] = []
    private var head = 0

    var isEmpty: Bool { head == storage.count }

    /// The oldest element, left in place.
    var first: Element? { head < storage.count ? storage[head] : nil }

    /// The waiting elements, oldest first.
    var elements: [Element] { storage[head...].compactMap { $0 } }

    mutating func append(_ element: Element) { storage.append(element) }

    /// Puts `element` back in front of the others.
    mutating func prepend(_ element: Element) {
        if head > 0 {
            head -= 1
            storage[head] = element
        } else {
            storage.insert(element, at: 0)
        }
    }

    mutating func popFirst() -> Element? {
        guard head < storage.count else { return nil }
        let element = storage[head]
        storage[head] = nil
        head += 1
        if head == storage.count {
            storage.removeAll(keepingCapacity: storage.count <= 1024)
            head = 0
        } else if head > 1024 && head * 2 > storage.count {
            storage.removeFirst(head)
            head = 0
        }
        return element
    }

    /// Removes the elements matching `predicate` and returns them.
    mutating func remove(where predicate: (Element) -> Bool) -> [Element] {
        let waiting = elements
        let removed = waiting.filter(predicate)
        if !removed.isEmpty {
            storage = waiting.filter { !predicate($0) }
            head = 0
        }
        return removed
    }

    mutating func removeAll() -> [Element] {
        defer {
            storage.removeAll()
            head = 0
        }
        return elements
    }
}

extension FIFO: Sendable where Element: Sendable {}
