import CLibPQ

#if canImport(Glibc)
    import Glibc
#endif

/// libpq, the PostgreSQL client library, loaded when a PostgreSQL store is opened instead of
/// linked: a process on an SQLite store never maps it, nor the nineteen libraries it brings
/// (Kerberos, LDAP, GnuTLS…), whose loading took a third of tofu-rpc's start. Holds the
/// functions `PGConnection` and `PGResult` call, each found by name and typed by its
/// declaration in libpq's header; the only place that looks libpq up.
///
/// Each instance holds one reference to the library, given back when it goes away; the library
/// itself stays loaded until the process ends (`RTLD_NODELETE`): libpq and the libraries it
/// brings are not made to be unloaded while a process runs. Not `Sendable`: each connection
/// has its own, on the store's thread.
final class LibPQ {
    /// The library's file name, as the libpq5 package installs it.
    static let defaultName = "libpq.so.5"
    /// Names another libpq to load (a path, or a file name the dynamic loader searches for): a
    /// libpq installed outside the loader's path, and the tests of a missing one.
    static let environmentVariable = "TOFU_LIBPQ"

    private let handle: UnsafeMutableRawPointer

    let connectdbParams: tofu_PQconnectdbParams_function
    let status: tofu_PQstatus_function
    let errorMessage: tofu_PQerrorMessage_function
    let finish: tofu_PQfinish_function
    let setNoticeProcessor: tofu_PQsetNoticeProcessor_function
    let setnonblocking: tofu_PQsetnonblocking_function
    let socket: tofu_PQsocket_function
    let sendQuery: tofu_PQsendQuery_function
    let sendQueryParams: tofu_PQsendQueryParams_function
    let sendPrepare: tofu_PQsendPrepare_function
    let sendQueryPrepared: tofu_PQsendQueryPrepared_function
    let flush: tofu_PQflush_function
    let consumeInput: tofu_PQconsumeInput_function
    let isBusy: tofu_PQisBusy_function
    let getResult: tofu_PQgetResult_function
    let resultStatus: tofu_PQresultStatus_function
    let resultErrorField: tofu_PQresultErrorField_function
    let resultErrorMessage: tofu_PQresultErrorMessage_function
    let clear: tofu_PQclear_function
    let ntuples: tofu_PQntuples_function
    let nfields: tofu_PQnfields_function
    let cmdTuples: tofu_PQcmdTuples_function
    let ftype: tofu_PQftype_function
    let getisnull: tofu_PQgetisnull_function
    let getvalue: tofu_PQgetvalue_function
    let getlength: tofu_PQgetlength_function
    let unescapeBytea: tofu_PQunescapeBytea_function
    let freemem: tofu_PQfreemem_function

    /// Loads libpq (`TOFU_LIBPQ`, else libpq.so.5) and finds each function; the library not
    /// found, or one that lacks a function, throws what the operator needs to know.
    init() throws(LoadError) {
        let name = getenv(Self.environmentVariable).map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 } ?? Self.defaultName
        // RTLD_NOW: a function the library lacks is found missing here, as an error, and not
        // at its first call, where the dynamic loader would end the process.
        guard let handle = dlopen(name, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE) else {
            throw LoadError(library: name, reason: Self.loaderError() ?? "not found")
        }
        self.handle = handle
        do {
            connectdbParams = try Self.function(handle, "PQconnectdbParams", in: name)
            status = try Self.function(handle, "PQstatus", in: name)
            errorMessage = try Self.function(handle, "PQerrorMessage", in: name)
            finish = try Self.function(handle, "PQfinish", in: name)
            setNoticeProcessor = try Self.function(handle, "PQsetNoticeProcessor", in: name)
            setnonblocking = try Self.function(handle, "PQsetnonblocking", in: name)
            socket = try Self.function(handle, "PQsocket", in: name)
            sendQuery = try Self.function(handle, "PQsendQuery", in: name)
            sendQueryParams = try Self.function(handle, "PQsendQueryParams", in: name)
            sendPrepare = try Self.function(handle, "PQsendPrepare", in: name)
            sendQueryPrepared = try Self.function(handle, "PQsendQueryPrepared", in: name)
            flush = try Self.function(handle, "PQflush", in: name)
            consumeInput = try Self.function(handle, "PQconsumeInput", in: name)
            isBusy = try Self.function(handle, "PQisBusy", in: name)
            getResult = try Self.function(handle, "PQgetResult", in: name)
            resultStatus = try Self.function(handle, "PQresultStatus", in: name)
            resultErrorField = try Self.function(handle, "PQresultErrorField", in: name)
            resultErrorMessage = try Self.function(handle, "PQresultErrorMessage", in: name)
            clear = try Self.function(handle, "PQclear", in: name)
            ntuples = try Self.function(handle, "PQntuples", in: name)
            nfields = try Self.function(handle, "PQnfields", in: name)
            cmdTuples = try Self.function(handle, "PQcmdTuples", in: name)
            ftype = try Self.function(handle, "PQftype", in: name)
            getisnull = try Self.function(handle, "PQgetisnull", in: name)
            getvalue = try Self.function(handle, "PQgetvalue", in: name)
            getlength = try Self.function(handle, "PQgetlength", in: name)
            unescapeBytea = try Self.function(handle, "PQunescapeBytea", in: name)
            freemem = try Self.function(handle, "PQfreemem", in: name)
        } catch {
            dlclose(handle)
            throw error
        }
    }

    deinit { dlclose(handle) }

    /// The function `symbol` of the library, as the pointer type `F` its declaration gives.
    private static func function<F>(_ handle: UnsafeMutableRawPointer, _ symbol: String, in library: String) throws(LoadError) -> F {
        _ = dlerror()
        guard let address = dlsym(handle, symbol) else {
            throw LoadError(library: library, reason: "it has no function \(symbol) (\(loaderError() ?? "not found")): it is not libpq, or too old a libpq")
        }
        guard MemoryLayout<F>.size == MemoryLayout<UnsafeMutableRawPointer>.size else {
            throw LoadError(library: library, reason: "\(symbol) cannot be called through \(F.self)")
        }
        return unsafeBitCast(address, to: F.self)
    }

    /// The dynamic loader's last error on this thread, on one line.
    private static func loaderError() -> String? {
        guard let text = dlerror() else { return nil }
        return String(cString: text).split(whereSeparator: \.isNewline).joined(separator: " ")
    }

    /// libpq could not be loaded, or is not the libpq tofu needs.
    struct LoadError: Error, CustomStringConvertible {
        /// The name dlopen was given.
        let library: String
        /// What went wrong, in the dynamic loader's words when it gave some.
        let reason: String

        var description: String {
            "the PostgreSQL client library \(library) could not be loaded (\(reason)). A PostgreSQL store needs libpq: install the "
                + "libpq5 package (apt-get install libpq5) and try again\(library == LibPQ.defaultName ? "" : ", or correct or unset \(LibPQ.environmentVariable)"); an SQLite store does not need it"
        }
    }
}
