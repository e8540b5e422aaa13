/// What a peer may send before it gets an error instead of an answer. Each is a
/// `tofu-rpc` flag; the defaults are the design's.
public struct Limits: Sendable, Equatable {
    /// Largest message body, in bytes (a line, or a Content-Length body). Also the most
    /// requests queued, and the most answers left unwritten while the peer does not read:
    /// past that, reading and starting calls pause until the peer reads (one answer larger
    /// than this is still sent whole).
    public var maxMessageBytes: Int
    /// Deepest nesting of arrays and objects in one message.
    public var maxDepth: Int
    /// Most entries in one batch.
    public var maxBatchEntries: Int
    /// Most messages being worked on at once (a batch counts as one); later ones queue in
    /// arrival order, and reading pauses while more than `maxMessageBytes` are queued.
    public var maxInFlight: Int
    /// Largest LSP header block, in bytes.
    public var maxHeaderBytes: Int

    public init(
        maxMessageBytes: Int = 16 << 20, maxDepth: Int = 128, maxBatchEntries: Int = 1000,
        maxInFlight: Int = 64, maxHeaderBytes: Int = 8 << 10
    ) {
        self.maxMessageBytes = maxMessageBytes
        self.maxDepth = maxDepth
        self.maxBatchEntries = maxBatchEntries
        self.maxInFlight = maxInFlight
        self.maxHeaderBytes = maxHeaderBytes
    }
}
