import JSONRPC
import Logging
import TofuStore
import TofuTLS

/// The method table of `tofu-rpc`: glue between the JSON-RPC layer and tofu's modules.
public enum TofuMethods {
    /// Most TLS probes (verifyCert, addDnacServer) connected at once in this process; more wait their turn.
    public static let defaultMaxProbes = ProbePool.defaultLimit

    /// `maxProbes` nil: the default; given: as given; either way lowered to what `ulimit -n`
    /// affords (with a warning when it was given): a process whose probes took every file
    /// descriptor could not open its store, and libdispatch stops a process that cannot open
    /// the files it watches its threads with.
    public static func table(store: PinStore, logger: Logger, maxProbes: Int? = nil) -> MethodTable {
        let affordable = ProbePool.affordableLimit ?? Int.max
        if let maxProbes, maxProbes > affordable {
            logger.warning("--max-probes \(maxProbes) is more than ulimit -n affords; using \(affordable): raise ulimit -n for more")
        }
        ProbePool.shared.limit = min(maxProbes ?? defaultMaxProbes, affordable)
        store.observe { notice in TrustLog.log(notice, to: logger) }
        var table = MethodTable()
        table.register("rpc.discover") { params, _ in
            _ = try params.named(allowing: [])
            return ProtocolDocument.value
        }
        InitializeMethods.register(in: &table)
        PinMethods(store: store, writes: SerialLane(name: "tofu writes")).register(in: &table)
        VerifyMethods(store: store).register(in: &table)
        DnacMethods(store: store).register(in: &table)
        BackupMethods(store: store).register(in: &table)
        TransferMethods(store: store).register(in: &table)
        return table
    }
}
