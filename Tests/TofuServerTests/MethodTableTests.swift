import JSONRPC
import Logging
import Testing
import TofuServer
import TofuStore

@Suite struct MethodTableTests {
    /// The server answers exactly the methods protocol/openrpc.json describes.
    @Test func registeredMethodsAreTheDocumentedOnes() {
        let table = TofuMethods.table(store: PinStore(path: "/nonexistent/never-opened.sqlite"), logger: Logger(label: "test"))
        #expect(table.methodNames == ProtocolDocument.methodNames)
    }
}
