// SPDX-License-Identifier: MIT
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// Set by the SIGINT handler; polled by the training progress closure.
private let interruptRequested = Atomic<Bool>(false)

/// Ctrl-C handling for training: the first SIGINT asks the run to stop
/// after the current batch (the library then writes the checkpoint); a
/// second one quits at once.
enum Interrupt {
    static var requested: Bool { interruptRequested.load(ordering: .relaxed) }

    static func install() {
        interruptRequested.store(false, ordering: .relaxed)
        // A parent may have started us with SIGINT blocked (the mask is
        // inherited across exec); unblock it so that Ctrl-C arrives.
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        sigprocmask(SIG_UNBLOCK, &set, nil)
        signal(SIGINT) { _ in
            // Only async-signal-safe work here: an atomic exchange, write, _exit.
            if interruptRequested.exchange(true, ordering: .relaxed) {
                _exit(130)
            }
            let message: StaticString = "\ndigitc: interrupt: stopping after this batch (Ctrl-C again to quit now)\n"
            message.withUTF8Buffer { _ = write(STDERR_FILENO, $0.baseAddress, $0.count) }
        }
    }

    static func uninstall() {
        signal(SIGINT, SIG_DFL)
    }
}
