// SPDX-License-Identifier: MIT
import ArgumentParser
import Digit
import Foundation

/// The root command. Subcommands are listed in `subcommands`; a new one
/// (e.g. `bench`) is one more type there.
struct Digitc: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "digitc",
        abstract: "Train, evaluate and run MNIST digit classifiers (libdigit \(Digit.version)).",
        discussion: """
            Data comes from --data DIR, else $DIGIT_DATA, both read as they are
            (--fetch downloads missing files into them), else the per-user cache
            ($XDG_CACHE_HOME/libdigit/mnist or ~/.cache/libdigit/mnist), fetched
            into when it lacks files.
            The model comes from --model FILE, else $DIGIT_MODEL, else the shipped
            \(Locations.defaultModelName): <prefix>/share/libdigit/ of an installed
            digitc, else models/ of the source tree it was built from.

            Exit status: 0 success, 1 usage error, 2 input or data error,
            130 training interrupted (a checkpoint was written).

            Examples:
              digitc fetch
              digitc train --epochs 3 --output model.safetensors
              digitc evaluate --model model.safetensors --errors errors.png
              digitc classify --model model.safetensors digit.png
              digitc info
              digitc serve --port 8080
            """,
        version: Digit.version,
        subcommands: [
            Fetch.self,
            Train.self,
            Evaluate.self,
            Classify.self,
            Info.self,
            Serve.self,
        ]
    )
}

/// Runs the command line and maps failures onto digitc's exit codes:
/// 1 for usage errors (ArgumentParser's own is 64), 2 for input and data
/// errors, 130 for an interrupted training run.
@main
enum Main {
    static func main() {
        var command: ParsableCommand
        do {
            command = try Digitc.parseAsRoot()
        } catch {
            failParsing(error)
        }
        do {
            try command.run()
        } catch {
            failRunning(error)
        }
    }

    /// Help and version requests exit 0; anything else is a usage error.
    static func failParsing(_ error: Error) -> Never {
        guard Digitc.exitCode(for: error) != .success else { Digitc.exit(withError: error) }
        var message = Digitc.fullMessage(for: error)
        if message.hasPrefix("Error: ") {
            message = "digitc: error: " + message.dropFirst("Error: ".count)
        }
        Console.standardError.write(message.hasSuffix("\n") ? message : message + "\n")
        exit(ExitStatus.usage)
    }

    static func failRunning(_ error: Error) -> Never {
        switch error {
        case let error as CLIError:
            Console.error(error.message)
            exit(error.exitCode)
        case let error as DigitError:
            Console.error(error.description)
            exit(error.isCancellation ? ExitStatus.interrupted : ExitStatus.data)
        case let error as ExitCode:
            exit(error.rawValue)
        case is ValidationError:
            failParsing(error)
        default:
            // `--help` and `help <command>` arrive here as a clean exit.
            if Digitc.exitCode(for: error) == .success { Digitc.exit(withError: error) }
            Console.error(error.localizedDescription)
            exit(ExitStatus.data)
        }
    }
}
