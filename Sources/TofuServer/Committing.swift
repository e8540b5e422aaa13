import JSONRPC
import TofuCore
import TofuStore

/// Runs a store write that a cancel must not tear from its answer: a cancel that comes before
/// the write starts answers -32800 and nothing changes; once the write has started it runs to
/// its end (it is not cancelled with the call), and the call's own answer (what the write did,
/// or why it failed) is sent even if the call was cancelled meanwhile.
func committing<T: Sendable>(_ context: RequestContext?, _ write: @escaping @Sendable () async throws -> T) async throws -> T {
    try Task.checkCancellation()
    let task = Task { try await answering(write) }
    defer { context?.answerEvenIfCancelled() }
    return try await task.value
}

/// Runs a store write from a thread of its own (a `SerialLane` running a `BlockingHandler`),
/// inside the store's isolation once the store is free (`PinStore.blocking`): a cancel that came
/// before the call started never let it run (the lane answered -32800); once the write has
/// started it runs to its end, and the call's own answer (what the write did, or why it failed)
/// is sent even if the call was cancelled meanwhile. Never from a task.
func committing<T: Sendable>(
    _ context: RequestContext, in store: PinStore, _ write: @Sendable (isolated PinStore) throws(TofuError) -> T
) throws(ResponseError) -> T {
    defer { context.answerEvenIfCancelled() }
    return try answering { () throws(TofuError) in try store.blocking(write) }
}
