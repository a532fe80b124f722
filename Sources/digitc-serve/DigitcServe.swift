// SPDX-License-Identifier: MIT
import ArgumentParser
import Digit
import Foundation
import Hummingbird
import Logging
import NIOCore

/// `digitc-serve` (also run as `digitc serve`): the HTTP API and the
/// draw-a-digit page.
struct DigitcServe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "digitc-serve",
        abstract: "Serve digit recognition over HTTP, with a page to draw digits on.",
        discussion: """
            The API (JSON; described at /openapi.json):
              POST /v1/classify          a PNG or JPEG body, or JSON
                                         {"image": base64} or {"pixels": 28x28}
              POST /v1/classify/batch    {"images": [...]}, at most 64
              GET  /v1/model             what `digitc info --json` prints
              GET  /healthz
            The page at / lets you draw a digit and shows what the model sees.

            Inference runs on --threads library threads in all (default: one per
            core); requests beyond them wait in a queue of --queue, and beyond that
            are answered 503 with Retry-After. SIGINT or SIGTERM stops accepting
            connections and exits once the requests in flight are answered.

            Exit status: 0 after a clean shutdown, 1 usage error, 2 cannot start
            (no model, a bad model file, the port in use).

            Examples:
              digitc-serve                            # http://127.0.0.1:8080/
              digitc-serve --port 0                   # any free port, printed
              digitc-serve --host 0.0.0.0 --port 9000 --threads 2
              curl -s --data-binary @samples/digit-7.png -H 'Content-Type: image/png' \\
                   http://127.0.0.1:8080/v1/classify
            """)

    @Option(help: ArgumentHelp("Address to listen on; the default takes connections from this machine only.", valueName: "address"))
    var host = "127.0.0.1"

    @Option(help: ArgumentHelp("Port to listen on; 0 picks a free one.", valueName: "port"))
    var port = 8080

    @Option(help: ArgumentHelp("Model file (default: $DIGIT_MODEL or models/\(Digit.defaultModelFileName) of the source tree).", valueName: "file"))
    var model: String?

    @Option(help: ArgumentHelp("Library threads for inference, shared by all requests (default: one per core).", valueName: "n"))
    var threads: Int?

    @Option(help: ArgumentHelp("Largest request body in bytes; the library's image limits (64 MiB, 8192 px a side, 16 Mpx) apply too.", valueName: "bytes"))
    var maxBody = 8 << 20

    @Option(help: ArgumentHelp("Requests that may wait for an inference slot; more get 503.", valueName: "n"))
    var queue = 128

    @Option(help: ArgumentHelp("Seconds a request may take to arrive and to get an inference slot.", valueName: "seconds"))
    var timeout = 30.0

    func validate() throws {
        if !(0...65535).contains(port) { throw ValidationError("--port must be 0...65535, not \(port)") }
        if let threads, !(1...256).contains(threads) { throw ValidationError("--threads must be 1...256, not \(threads)") }
        if maxBody < 1 { throw ValidationError("--max-body must be at least 1, not \(maxBody)") }
        if queue < 0 { throw ValidationError("--queue must be 0 or more, not \(queue)") }
        if !(timeout > 0 && timeout <= 3600) { throw ValidationError("--timeout must be over 0 and at most 3600 seconds, not \(timeout)") }
        if host.isEmpty { throw ValidationError("--host needs an address") }
    }

    func run() async throws {
        let modelURL = try ModelLocation.resolve(model)
        let recognizer: Recognizer
        do {
            recognizer = try Recognizer(modelAt: modelURL, shownAs: model ?? modelURL.path)
        } catch {
            throw StartupError("cannot load the model: \(error)")
        }
        let threadCount = threads ?? ProcessInfo.processInfo.activeProcessorCount
        Recognizer.setLibraryThreads(threadCount)
        let gate = InferenceGate(capacity: threadCount, queueLimit: queue)
        let reader = RequestReader(maxBody: maxBody, timeout: .milliseconds(Int64(timeout * 1000)))
        let router = Routes.router(api: ClassifierAPI(recognizer: recognizer, gate: gate, reader: reader), maxBody: reader.maxBody)

        var logger = Logger(label: "digitc-serve")
        logger.logLevel = .warning
        let banner = "model \(model ?? modelURL.path), \(threadCount) inference thread\(threadCount == 1 ? "" : "s"), queue \(queue)"
        let host = host
        let app = Application(
            router: router,
            server: .http1(configuration: .init(idleTimeout: .seconds(Int64(max(60, timeout * 2))))),
            configuration: .init(address: .hostname(host, port: port), serverName: "digitc-serve"),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? 0
                let shown = host.contains(":") ? "[\(host)]" : host
                Output.line("digitc-serve: listening on http://\(shown):\(port)/ (\(banner))")
            },
            logger: logger)
        do {
            try await app.runService()
        } catch let error as IOError where error.errnoCode == EADDRINUSE {
            throw StartupError("port \(port) on \(host) is in use by another program; pick another with --port (0: any free one)")
        } catch let error as IOError {
            throw StartupError("cannot listen on \(host) port \(port): \(error)")
        }
        try await gate.shutdown()
        Output.line("digitc-serve: stopped")
    }
}

/// Runs the command line with digitc's exit codes: 1 for usage errors, 2
/// when the server cannot start.
@main
enum Main {
    static func main() async {
        var command: any ParsableCommand
        do {
            command = try DigitcServe.parseAsRoot()
        } catch {
            if DigitcServe.exitCode(for: error) == .success { DigitcServe.exit(withError: error) }
            Output.error(DigitcServe.message(for: error))
            exit(1)
        }
        do {
            // --help arrives as ArgumentParser's own help command.
            if var server = command as? DigitcServe {
                try await server.run()
            } else {
                try command.run()
            }
        } catch let error as StartupError {
            Output.error(error.message)
            exit(2)
        } catch {
            if DigitcServe.exitCode(for: error) == .success { DigitcServe.exit(withError: error) }
            Output.error("\(error)")
            exit(2)
        }
    }
}

/// Unbuffered lines on the standard streams: a test or a supervisor
/// reading the pipe sees the "listening" line at once.
enum Output {
    static func line(_ text: String) {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }

    static func error(_ message: String) {
        FileHandle.standardError.write(Data("digitc-serve: error: \(message)\n".utf8))
    }
}
