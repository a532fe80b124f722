// SPDX-License-Identifier: MIT
import ArgumentParser
import Foundation

struct Fetch: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Download MNIST as four verified IDX files.",
        discussion: """
            Runs fetch_mnist.py with python3: $DIGIT_FETCH_SCRIPT, else the copy
            installed in <prefix>/share/libdigit, else scripts/ of the source tree.
            Its progress goes to standard error; the data directory is printed on
            standard output. Only missing files are downloaded: files already there
            are verified, and one that is not MNIST's is reported by name and left
            as it is (exit status 2).

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
