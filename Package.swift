// swift-tools-version: 6.0
//
// The Swift face of libdigit: the C library (csrc/, include/digit.h) built as
// the `CDigit` target, the idiomatic `Digit` module over it, and the `digitc`
// command-line tool. The same csrc/ is also built by the Makefile for C users.
import PackageDescription

let package = Package(
    name: "libdigit",
    platforms: [.macOS(.v15)],  // Synchronization (Atomic, Mutex)
    products: [
        .library(name: "Digit", targets: ["Digit"]),
        .executable(name: "digitc", targets: ["digitc"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
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
        .executableTarget(
            name: "digitc",
            dependencies: [
                "Digit",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(
            name: "DigitTests",
            dependencies: ["Digit"]
        ),
    ]
)
