import JSONRPC
import Logging
import Testing
import TofuServer

@Suite struct MethodTableTests {
    /// The server answers exactly the methods protocol/openrpc.json describes.
    @Test func registeredMethodsAreTheDocumentedOnes() {
        let table = TofuMethods.table(logger: Logger(label: "test"))
        #expect(table.methodNames == ProtocolDocument.methodNames)
    }
}
