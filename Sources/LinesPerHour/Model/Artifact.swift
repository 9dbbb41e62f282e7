/// A row of `artifacts` with its project's name; `previewContent` only when asked for one artifact.
struct Artifact: Sendable, Codable, Equatable {
    var id: Int64
    var project: String
    var jobId: Int64?
    var filePath: String
    var fileName: String
    var artifactType: String
    var previewContent: String?
    var lineCount: Int64
    var sizeBytes: Int64
    var modifiedAt: String
    var createdAt: String
}
