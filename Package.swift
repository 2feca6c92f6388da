// swift-tools-version:6.1
import PackageDescription

let upcoming: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "deploylog",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "deploylog", targets: ["deploylog"]),
        .executable(name: "deploylog-bench", targets: ["deploylog-bench"]),
        .library(name: "DeployLogEvents", targets: ["DeployLogEvents"]),
        .library(name: "DeployLogStore", targets: ["DeployLogStore"]),
        .library(name: "DeployLogProjections", targets: ["DeployLogProjections"]),
        .library(name: "DeployLogPostgres", targets: ["DeployLogPostgres"]),
        .library(name: "DeployLogProjectionSink", targets: ["DeployLogProjectionSink"]),
        .library(name: "DeployLogPostgresStore", targets: ["DeployLogPostgresStore"]),
        .library(name: "DeployLogEngine", targets: ["DeployLogEngine"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        // C libraries: each imported by exactly one Swift file.
        .systemLibrary(name: "CLZ4", pkgConfig: "liblz4", providers: [.apt(["liblz4-dev"])]),
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        // CRC-32C with the SSE 4.2 instruction (Swift cannot reach it), table fallback.
        .target(name: "CDeployLogCRC"),

        // The event model: JSON values, canonical encoding, the envelope, the v1 catalog.
        .target(name: "DeployLogEvents", swiftSettings: upcoming),
        // LZ4 per-event compression with a shared dictionary.
        .target(name: "DeployLogCompression", dependencies: ["CLZ4"], swiftSettings: upcoming),
        // The log: store protocol, embedded file store, subscriptions.
        .target(
            name: "DeployLogStore",
            dependencies: [
                "DeployLogEvents", "DeployLogCompression", "CDeployLogCRC",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: upcoming),
        // libpq: connections, prepared statements, binary parameters and results, COPY. (The
        // events library only for `CredentialRedaction`: one finder of passwords for the log and
        // for every address shown.)
        .target(
            name: "DeployLogPostgres",
            dependencies: ["CLibPQ", "DeployLogEvents", .product(name: "Logging", package: "swift-log")],
            swiftSettings: upcoming),
        // The projectors: pure folds of the log into the seed's read models, point-in-time state.
        .target(
            name: "DeployLogProjections",
            dependencies: ["DeployLogEvents", "DeployLogStore", "DeployLogCompression", "CDeployLogCRC"],
            swiftSettings: upcoming),
        // Embeds projections/*.sql (the read model of record) in the sink as Swift string
        // constants at build time: one source, nothing to find at run time.
        .plugin(
            name: "EmbedProjectionSQL", capability: .buildTool(), path: "Sources/DeployLogProjectionSink/Plugin"),
        // The projection sink: the projectors' rows into PostgreSQL (rebuild, catch-up, swap, status).
        .target(
            name: "DeployLogProjectionSink",
            dependencies: [
                "DeployLogProjections", "DeployLogPostgres", "DeployLogStore", "DeployLogEvents",
                .product(name: "Logging", package: "swift-log"),
            ],
            exclude: ["Plugin"],
            swiftSettings: upcoming,
            plugins: ["EmbedProjectionSQL"]),
        // The PostgreSQL event store: the same protocol as the file store, in `deploylog.events`.
        .target(
            name: "DeployLogPostgresStore",
            dependencies: [
                "DeployLogStore", "DeployLogPostgres", "DeployLogEvents", "DeployLogCompression",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: upcoming),
        // The deployment engine: migrations, environments, pipelines, blue-green, rollback by replay.
        .target(
            name: "DeployLogEngine",
            dependencies: [
                "DeployLogStore", "DeployLogEvents", "DeployLogProjections", "DeployLogPostgres",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: upcoming),
        // The command-line tool.
        .executableTarget(
            name: "deploylog",
            dependencies: [
                "DeployLogEvents", "DeployLogStore", "DeployLogProjections", "DeployLogProjectionSink",
                "DeployLogPostgres", "DeployLogPostgresStore", "DeployLogEngine",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: upcoming),
        .executableTarget(
            name: "deploylog-bench",
            dependencies: [
                "DeployLogEvents", "DeployLogStore", "DeployLogCompression", "DeployLogProjections",
                "DeployLogPostgres", "DeployLogPostgresStore", "DeployLogProjectionSink", "DeployLogEngine",
            ],
            swiftSettings: upcoming),

        // Shared test support: the store conformance suite every backend runs.
        .target(
            name: "DeployLogTestSupport",
            dependencies: ["DeployLogEvents", "DeployLogStore", "DeployLogPostgres"],
            path: "Tests/DeployLogTestSupport",
            swiftSettings: upcoming),
        .testTarget(
            name: "DeployLogEventsTests", dependencies: ["DeployLogEvents", "DeployLogTestSupport"], swiftSettings: upcoming),
        .testTarget(name: "DeployLogCompressionTests", dependencies: ["DeployLogCompression"], swiftSettings: upcoming),
        .testTarget(
            name: "DeployLogStoreTests",
            dependencies: ["DeployLogStore", "DeployLogEvents", "DeployLogTestSupport"],
            exclude: ["Golden"],
            swiftSettings: upcoming),
        .testTarget(
            name: "DeployLogPostgresTests",
            dependencies: ["DeployLogPostgres", "DeployLogTestSupport"],
            swiftSettings: upcoming),
        .testTarget(
            name: "DeployLogProjectionsTests",
            dependencies: ["DeployLogProjections", "DeployLogEvents", "DeployLogStore", "DeployLogTestSupport"],
            swiftSettings: upcoming),
        .testTarget(
            name: "DeployLogProjectionSinkTests",
            dependencies: [
                "DeployLogProjectionSink", "DeployLogProjections", "DeployLogPostgres", "DeployLogStore",
                "DeployLogEvents", "DeployLogTestSupport",
            ],
            swiftSettings: upcoming),
        .testTarget(
            name: "DeployLogPostgresStoreTests",
            dependencies: [
                "DeployLogPostgresStore", "DeployLogPostgres", "DeployLogStore", "DeployLogEvents",
                "DeployLogTestSupport", .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: upcoming),
        .testTarget(
            name: "DeployLogEngineTests",
            dependencies: [
                "DeployLogEngine", "DeployLogProjections", "DeployLogPostgres", "DeployLogStore", "DeployLogEvents",
                "DeployLogTestSupport",
            ],
            swiftSettings: upcoming),
        .testTarget(
            name: "DeployLogCLITests",
            dependencies: ["DeployLogEvents", "DeployLogTestSupport"],
            swiftSettings: upcoming),
    ]
)
