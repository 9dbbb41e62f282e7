import ServiceLifecycle

/// Runs `work` now and then every `interval` until the service group shuts
/// down gracefully (a sleep in progress ends at once), the loop of a service
/// whose work comes from the clock.
func periodically(every interval: Duration, _ work: @escaping @Sendable () async -> Void) async {
    await withTaskGroup(of: Void.self) { group in
        group.addTask { try? await gracefulShutdown() }
        group.addTask {
            while !Task.isCancelled {
                await work()
                try? await Task.sleep(for: interval)
            }
        }
        await group.next()
        group.cancelAll()
    }
}
