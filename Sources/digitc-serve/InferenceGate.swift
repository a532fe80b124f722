// SPDX-License-Identifier: MIT
import Foundation
import NIOPosix
import Synchronization

/// Runs CPU-bound work (decoding, preprocessing, inference) off the event
/// loops with a bounded concurrency, so that concurrent requests share the
/// cores instead of oversubscribing them.
///
/// The gate holds `capacity` permits, one per library thread: a job takes
/// as many as the threads it will use (1 for a single image, up to
/// `capacity` for a batch), so running jobs never use more threads than
/// `--threads`. At most `queueLimit` jobs wait for permits; the next one is
/// refused at once (``Refusal/busy``), and one that waits past its
/// deadline gives up (``Refusal/timedOut``).
final class InferenceGate: Sendable {
    enum Refusal: Error {
        case busy
        case timedOut
    }

    private struct Waiter {
        let id: UInt64
        let weight: Int
        let continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var free: Int
        var waiters: [Waiter] = []
        var nextID: UInt64 = 0
    }

    let capacity: Int
    let queueLimit: Int
    private let state: Mutex<State>
    private let pool: NIOThreadPool

    init(capacity: Int, queueLimit: Int) {
        self.capacity = capacity
        self.queueLimit = queueLimit
        state = Mutex(State(free: capacity))
        pool = NIOThreadPool(numberOfThreads: capacity)
        pool.start()
    }

    /// Runs `body` on the pool once `weight` permits are free.
    func run<T: Sendable>(weight: Int, deadline: ContinuousClock.Instant,
                          _ body: @escaping @Sendable () throws -> T) async throws -> T {
        let weight = min(max(weight, 1), capacity)
        try await acquire(weight, deadline: deadline)
        defer { release(weight) }
        return try await pool.runIfActive(body)
    }

    /// Stops the pool once every job handed to it has finished.
    func shutdown() async throws {
        try await pool.shutdownGracefully()
    }

    private func acquire(_ weight: Int, deadline: ContinuousClock.Instant) async throws {
        let id = state.withLock { s in
            s.nextID += 1
            return s.nextID
        }
        let timer = Task { [weak self] in
            try await Task.sleep(until: deadline, clock: .continuous)
            self?.giveUp(id)
        }
        defer { timer.cancel() }
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            // Decided and queued under one lock, so that no release or
            // timer can slip in between.
            let outcome: Result<Void, Refusal>? = state.withLock { s in
                // First come, first served: nobody overtakes a waiting job.
                if s.waiters.isEmpty && s.free >= weight {
                    s.free -= weight
                    return .success(())
                }
                if s.waiters.count >= queueLimit { return .failure(.busy) }
                if ContinuousClock.now >= deadline { return .failure(.timedOut) }
                s.waiters.append(Waiter(id: id, weight: weight, continuation: continuation))
                return nil
            }
            if let outcome { continuation.resume(with: outcome.mapError { $0 as any Error }) }
        }
    }

    /// Removes waiter `id` if it is still waiting and fails it.
    private func giveUp(_ id: UInt64) {
        let waiter: Waiter? = state.withLock { s in
            guard let i = s.waiters.firstIndex(where: { $0.id == id }) else { return nil }
            let waiter = s.waiters.remove(at: i)
            return waiter
        }
        waiter?.continuation.resume(throwing: Refusal.timedOut)
        // Removing a heavy job at the head may let lighter ones through.
        if waiter != nil { release(0) }
    }

    private func release(_ weight: Int) {
        let ready: [Waiter] = state.withLock { s in
            s.free += weight
            var ready: [Waiter] = []
            while let first = s.waiters.first, first.weight <= s.free {
                s.free -= first.weight
                ready.append(s.waiters.removeFirst())
            }
            return ready
        }
        ready.forEach { $0.continuation.resume() }
    }
}
