// swift-tools-version: 6.1
// SPDX-License-Identifier: MIT
//
// The Swift face of libdigit: the C library (csrc/, include/digit.h) built as
// the `CDigit` target, the idiomatic `Digit` module over it, the `digitc`
// command-line tool, the `DigitJSON` records both tools print, and the
// `digitc-serve` HTTP server. The server is its own executable so that
// `digitc` itself links no networking code; `digitc serve` runs it. The same
// csrc/ is also built by the Makefile for C users.
import PackageDescription

let package = Package(
    name: "libdigit",
    platforms: [.macOS(.v15)],  // Synchronization (Atomic, Mutex)
    products: [
        .library(name: "Digit", targets: ["Digit"]),
        .executable(name: "digitc", targets: ["digitc"]),
        .executable(name: "digitc-serve", targets: ["digitc-serve"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        // `swift package generate-documentation --target Digit` (DocC).
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
        // No traits: the server needs neither swift-configuration nor the
        // full Foundation, and leaving them out shortens a cold build.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: []),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    ],
    targets: [
        // The C library itself. The public header lives in include/ at the
        // package root, next to csrc/, hence path "." with explicit sources.
        .target(
            name: "CDigit",
            path: ".",
            sources: ["csrc"],
            publicHeadersPath: "include",
            cSettings: [
                .define("NDEBUG", .when(configuration: .release)),
            ],
            linkerSettings: [
                .linkedLibrary("openblas"),
                .linkedLibrary("png16"),
                .linkedLibrary("jpeg"),
                .linkedLibrary("z"),
                .linkedLibrary("m"),
                .linkedLibrary("pthread", .when(platforms: [.linux])),
            ]
        ),
        .target(
            name: "Digit",
            dependencies: ["CDigit"]
        ),
        // The JSON records of `digitc classify/evaluate/info --json` and of
        // the server's API: one schema of plain Codable values, and the only
        // place that turns the Digit module's types into them.
        .target(
            name: "DigitJSON",
            dependencies: ["Digit"]
        ),
        .executableTarget(
            name: "digitc",
            dependencies: [
                "Digit",
                "CDigit",  // DIGIT_DEFAULT_MODEL_FILE, the one spelling of the shipped model's name
                "DigitJSON",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "digitc-serve",
            dependencies: [
                "Digit",
                "CDigit",  // DIGIT_DEFAULT_MODEL_FILE
                "DigitJSON",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOPosix", package: "swift-nio"),  // the inference thread pool
            ]
        ),
        // Every test lives under tests/ (C in tests/c, Swift here): one
        // folder, so a case-insensitive checkout has no Tests/tests clash.
        .testTarget(
            name: "DigitTests",
            dependencies: ["Digit", "CDigit", "DigitJSON"],
            path: "tests/swift/DigitTests"
        ),
    ]
)
