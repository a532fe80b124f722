import ArgumentParser
import Foundation

struct Fetch: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Download MNIST as four verified IDX files.",
        discussion: """
            Runs scripts/fetch_mnist.py (or $DIGIT_FETCH_SCRIPT) with python3. Its
            progress goes to standard error; the data directory is printed on
            standard output. Files already present and verified are kept.

            Examples:
              digitc fetch
              digitc fetch --dir ~/data/mnist
              DIGIT_DATA=/tmp/mnist digitc fetch
            """)

    @Option(help: ArgumentHelp(
        "Directory to store the files in (default: $DIGIT_DATA, $XDG_CACHE_HOME/libdigit/mnist or ~/.cache/libdigit/mnist).",
        valueName: "dir"))
    var dir: String?

    func run() throws {
        let directory = try Locations.runFetchScript(
            directory: dir.map { URL(fileURLWithPath: Locations.expandingTilde($0)) })
        Console.out(directory.path)
    }
}
