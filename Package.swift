// swift-tools-version:6.2
import PackageDescription

let package = Package(
    name: "tofu",
    products: [
        .executable(name: "tofu-rpc", targets: ["tofu-rpc"]),
        .executable(name: "tofu", targets: ["tofu"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
    ],
    targets: [
        // C libraries, imported once and wrapped by the modules above them.
        .systemLibrary(
            name: "CJansson",
            pkgConfig: "jansson",
            providers: [.apt(["libjansson-dev"])]
        ),
        .systemLibrary(
            name: "COpenSSL",
            pkgConfig: "openssl",
            providers: [.apt(["libssl-dev"])]
        ),

        // libpq's header only: not linked, loaded by TofuStore when a PostgreSQL store is opened.
        .systemLibrary(
            name: "CLibPQ",
            providers: [.apt(["libpq-dev"])]
        ),

        // prctl and signalfd, which Glibc's Swift module does not offer.
        .systemLibrary(name: "CProcessControl"),

        // ThreadSanitizer's annotations, for the lock in Posix (see Locked.swift).
        .target(name: "CThreadSanitizer"),
        // stdin, stdout and stderr opened on /dev/null if closed at start, before anything runs.
        // Its debug information in DWARF 4: valgrind (make bench's instruction counts) cannot
        // read clang's default DWARF 5 and refuses the whole binary.
        .target(name: "CStandardDescriptors", cSettings: [.unsafeFlags(["-gdwarf-4"])]),
        // The one system layer, as small as it can be: the thread starter and the bounded
        // thread pool, the lock, EINTR-safe I/O with errno text, and the process hardening both
        // executables start with.
        .target(name: "Posix", dependencies: ["CThreadSanitizer", "CProcessControl"]),

        // JSON-RPC 2.0: values, framing, messages, dispatch. Knows nothing of certificates.
        .target(
            name: "JSONRPC",
            dependencies: [
                "CJansson",
                "Posix",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // Host keys, certificate summaries, pins, typed errors. No dependencies of ours.
        .target(name: "TofuCore"),

        // OpenSSL: X.509 parsing, and the TLS probe of a live host.
        .target(
            name: "TofuTLS",
            dependencies: ["COpenSSL", "Posix", "TofuCore"]
        ),

        // The durable pin store: one actor per process, on a thread of its own, over a backend
        // shared by processes: SQLite (GRDB), or PostgreSQL (libpq, loaded when such a store is opened).
        // TofuTLS for SHA-256 and the pinned key: every certificate read back must hash to its fingerprint.
        .target(
            name: "TofuStore",
            dependencies: [
                "Posix",
                "TofuCore",
                "TofuTLS",
                "CLibPQ",
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),

        // The method table of tofu-rpc and its embedded protocol document.
        .target(
            name: "TofuServer",
            dependencies: [
                "JSONRPC",
                "Posix",
                "TofuCore",
                "TofuTLS",
                "TofuStore",
                .product(name: "Logging", package: "swift-log"),
            ],
            resources: [.embedInCode("Resources/openrpc.json")]
        ),

        // What tofu's answers look like as text (PI's lines), for the CLI and the MCP tools alike.
        // No Foundation: the CLI links it.
        .target(name: "TofuText", dependencies: ["JSONRPC"]),

        // MCP (the Model Context Protocol) over the same connection: tofu's methods as tools,
        // derived from the protocol document, and the recovery prompt. A layer on top of the
        // method table: JSONRPC and TofuServer know nothing of it.
        .target(
            name: "TofuMCP",
            dependencies: ["JSONRPC", "Posix", "TofuCore", "TofuServer", "TofuText"]
        ),

        .executableTarget(
            name: "tofu-rpc",
            dependencies: [
                "CStandardDescriptors",
                "Posix",
                "TofuMCP",
                "TofuServer",
                "TofuStore",
                "TofuTLS",
                "JSONRPC",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // The operator's CLI: a thin client that starts tofu-rpc and speaks NDJSON to it. No
        // Foundation, here or in TofuCore (FoundationFreeTests): a cold command starts faster.
        .executableTarget(
            name: "tofu",
            dependencies: [
                "CProcessControl",
                "CStandardDescriptors",
                "JSONRPC",
                "Posix",
                "TofuCore",
                "TofuText",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        // Shared by the test targets: pipes, processes, and a reader of our own.
        .target(
            name: "TestSupport",
            dependencies: ["Posix"],
            path: "Tests/TestSupport"
        ),
        .testTarget(
            name: "PosixTests",
            dependencies: ["Posix", "TestSupport"]
        ),
        .testTarget(
            name: "JSONRPCTests",
            dependencies: ["JSONRPC", "Posix", "TestSupport", .product(name: "Logging", package: "swift-log")]
        ),
        .testTarget(
            name: "TofuCoreTests",
            dependencies: ["TofuCore", "TestSupport"]
        ),
        .testTarget(
            name: "TofuTLSTests",
            dependencies: ["TofuTLS", "TofuCore", "TestSupport"]
        ),
        .testTarget(
            name: "TofuStoreTests",
            dependencies: ["TofuStore", "TofuCore", "TofuTLS", "TestSupport", .product(name: "GRDB", package: "GRDB.swift")]
        ),
        .testTarget(
            name: "TofuServerTests",
            dependencies: ["TofuServer", "TofuStore", "JSONRPC", .product(name: "Logging", package: "swift-log")]
        ),
        .testTarget(
            name: "TofuMCPTests",
            dependencies: ["TofuMCP", "TofuServer", "TofuStore", "JSONRPC", .product(name: "Logging", package: "swift-log")]
        ),
        .testTarget(
            name: "EndToEndTests",
            dependencies: ["tofu-rpc", "tofu", "Posix", "TestSupport"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
