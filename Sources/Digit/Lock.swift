// SPDX-License-Identifier: MIT
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// A readers–writer lock that lets the thread holding the write lock read
/// (and write) again without deadlocking.
///
/// Training holds the write lock for the whole run and calls the caller's
/// progress closure between batches; a closure that inspects or queries the
/// model then runs on the writer thread while the model is at rest, which is
/// safe, so such nested uses simply proceed.
final class ReadWriteLock: @unchecked Sendable {
    // @unchecked: the pthread lock is only reached through its stable
    // pointer, and `owner` is atomic.
    private let lock: UnsafeMutablePointer<pthread_rwlock_t>
    private let owner = Atomic<UInt>(0)

    init() {
        lock = .allocate(capacity: 1)
        lock.initialize(to: pthread_rwlock_t())
        pthread_rwlock_init(lock, nil)
    }

    deinit {
        pthread_rwlock_destroy(lock)
        lock.deallocate()
    }

    private static var currentThread: UInt {
        #if canImport(Darwin)
        UInt(bitPattern: pthread_self())
        #else
        UInt(pthread_self())
        #endif
    }

    /// Whether the calling thread holds the write lock.
    var isHeldByCurrentThreadForWriting: Bool {
        owner.load(ordering: .relaxed) == Self.currentThread
    }

    func withReadLock<R>(_ body: () throws -> R) rethrows -> R {
        if isHeldByCurrentThreadForWriting { return try body() }
        pthread_rwlock_rdlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return try body()
    }

    func withWriteLock<R>(_ body: () throws -> R) rethrows -> R {
        if isHeldByCurrentThreadForWriting { return try body() }
        pthread_rwlock_wrlock(lock)
        owner.store(Self.currentThread, ordering: .relaxed)
        defer {
            owner.store(0, ordering: .relaxed)
            pthread_rwlock_unlock(lock)
        }
        return try body()
    }
}
