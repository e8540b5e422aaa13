import JSONRPC
import Logging
import TofuStore
import TofuTLS

/// The method table of `tofu-rpc`: glue between the JSON-RPC layer and tofu's modules.
public enum TofuMethods {
    /// Most TLS probes (verifyCert, addDnacServer) connected at once in this process; more wait their turn.
    public static let defaultMaxProbes = ProbePool.defaultLimit

    /// `maxProbes` nil: the default, lowered to what `ulimit -n` affords. Given: as given, with a
    /// warning when the file-descriptor limit cannot hold that many sockets.
    public static func table(store: PinStore, logger: Logger, maxProbes: Int? = nil) -> MethodTable {
        let affordable = ProbePool.affordableLimit ?? Int.max
        if let maxProbes, maxProbes > affordable {
            logger.warning("--max-probes \(maxProbes) is more than ulimit -n affords (\(affordable)); probes past that answer localLimit: raise ulimit -n")
        }
        ProbePool.shared.limit = maxProbes ?? min(defaultMaxProbes, affordable)
        var table = MethodTable()
        table.register("rpc.discover") { params, _ in
            _ = try params.named(allowing: [])
            return ProtocolDocument.value
        }
        PinMethods(store: store).register(in: &table)
        VerifyMethods(store: store).register(in: &table)
        DnacMethods(store: store).register(in: &table)
        return table
    }
}
