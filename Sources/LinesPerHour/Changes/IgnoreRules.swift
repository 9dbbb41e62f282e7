import Synchronization

/// Which folders under the projects folder are ignored: dependency trees and
/// build output (``ShadowRepository/dependencyFolders``) and what each
/// project's own `.gitignore` files say, as libgit2 reads them. An
/// ignored folder is not watched (a `node_modules/` of 6,000 folders would
/// take 6,000 of the machine's inotify watches), not indexed file by file,
/// and not counted.
///
/// Asked from the inotify thread and the index's; each project's repository
/// object is used by one of them at a time.
final class IgnoreRules: Sendable {
    private let shadows: String
    private let projects: String
    private let repositories = Mutex<[String: ShadowRepository]>([:])

    init(shadows: String, projects: String) {
        self.shadows = shadows
        self.projects = projects
    }

    /// `folder` is a full path under the projects folder. A project's own
    /// folder is never ignored, nor tool state (Spec Kit's run logs give phases).
    func isIgnored(folder: String) -> Bool {
        guard folder.hasPrefix(projects + "/") else { return false }
        let relative = folder.dropFirst(projects.count + 1)
        guard let slash = relative.firstIndex(of: "/") else { return false }
        let project = String(relative[..<slash])
        let inside = String(relative[relative.index(after: slash)...])
        guard !inside.isEmpty, ProjectName.isValid(project) else { return false }
        let components = inside.split(separator: "/").map(String.init)
        if ShadowRepository.toolStateFolders.contains(components[0]) { return false }
        if Self.alwaysIgnored.contains(components[components.count - 1]) { return true }
        return repositories.withLock { open in
            if open[project] == nil {
                open[project] = try? ShadowRepository(at: "\(shadows)/\(project).git", workTree: "\(projects)/\(project)")
            }
            return open[project]?.isIgnored(folder: inside) ?? false
        }
    }

    /// Folder names answered without asking libgit2.
    private static let alwaysIgnored = Set(ShadowRepository.dependencyFolders)
}
