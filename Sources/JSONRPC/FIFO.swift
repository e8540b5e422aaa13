/// A first-in, first-out queue with O(1) amortised pops (Array.removeFirst is O(n), which
/// made a queue of many thousand waiting requests quadratic).
struct FIFO<Element> {
    private var storage: [Element] = []
    private var head = 0

    var isEmpty: Bool { head == storage.count }

    /// The waiting elements, oldest first.
    var elements: ArraySlice<Element> { storage[head...] }

    mutating func append(_ element: Element) { storage.append(element) }

    mutating func popFirst() -> Element? {
        guard head < storage.count else { return nil }
        let element = storage[head]
        head += 1
        if head > 1024 && head * 2 > storage.count {
            storage.removeFirst(head)
            head = 0
        }
        return element
    }

    /// Removes the elements matching `predicate` and returns them.
    mutating func remove(where predicate: (Element) -> Bool) -> [Element] {
        let removed = elements.filter(predicate)
        if !removed.isEmpty {
            storage = elements.filter { !predicate($0) }
            head = 0
        }
        return removed
    }

    mutating func removeAll() -> [Element] {
        defer {
            storage.removeAll()
            head = 0
        }
        return Array(elements)
    }
}

extension FIFO: Sendable where Element: Sendable {}
