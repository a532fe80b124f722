// SPDX-License-Identifier: MIT
import ArgumentParser
import Foundation

/// `digitc serve` runs the separate `digitc-serve` executable in its place.
/// The server is its own binary so that digitc links no networking code
/// (Hummingbird and SwiftNIO double a cold build); this command keeps the
/// one command-line entry point.
struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve the HTTP API and the draw-a-digit page (runs digitc-serve).",
        discussion: """
            Replaces itself with the digitc-serve executable found next to digitc
            (or at $DIGITC_SERVE), passing every argument on. `digitc serve --help`
            shows the server's options.

            Examples:
              digitc serve                          # http://127.0.0.1:8080/
              digitc serve --port 0                 # any free port; prints which
              digitc serve --host 0.0.0.0 --threads 2 --model model.safetensors
            """)

    @Argument(parsing: .captureForPassthrough, help: ArgumentHelp("Options for digitc-serve.", valueName: "option"))
    var arguments: [String] = []

    func run() throws {
        let server = try Self.serverExecutable()
        let argv = [server.path] + arguments
        var cArguments = argv.map { strdup($0) } + [nil]
        execv(server.path, &cArguments)
        throw CLIError("cannot run \(server.path): \(String(cString: strerror(errno)))")
    }

    /// `$DIGITC_SERVE`, else `digitc-serve` in digitc's own directory.
    static func serverExecutable() throws -> URL {
        if let path = Locations.env("DIGITC_SERVE") { return URL(fileURLWithPath: path) }
        let own = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        let sibling = (Bundle.main.executableURL ?? own).deletingLastPathComponent().appendingPathComponent("digitc-serve")
        guard FileManager.default.isExecutableFile(atPath: sibling.path) else {
            throw CLIError("""
                cannot find digitc-serve next to digitc (\(sibling.path)); build it with \
                `swift build --product digitc-serve` or set $DIGITC_SERVE
                """)
        }
        return sibling
    }
}
