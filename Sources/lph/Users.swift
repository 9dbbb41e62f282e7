import ArgumentParser
import Foundation
import LinesPerHour

/// `lph users …`: list users, add one, set credits, through the daemon (admin token).
struct Users: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage users and their line credits through the running daemon (needs an admin token).",
        subcommands: [List.self, Add.self, Credits.self, Token.self, Delete.self],
        defaultSubcommand: List.self
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the users.")
        @OptionGroup var daemon: DaemonOptions

        func run() async throws {
            let users = try JSONCoding.decoder.decode([User].self, from: try await daemon.expectSuccess("GET", "/users"))
            print("ID     ROLE   CREDITS     EMAIL")
            for user in users {
                print(String(user.id).padding(toLength: 7, withPad: " ", startingAt: 0)
                      + user.role.rawValue.padding(toLength: 7, withPad: " ", startingAt: 0)
                      + String(user.lineCredits).padding(toLength: 12, withPad: " ", startingAt: 0) + user.email)
            }
        }
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a user and print their token (shown once, stored hashed).")
        @OptionGroup var daemon: DaemonOptions
        @Option(help: "admin or user.")
        var role = "user"
        @Option(help: "Line credits to start with.")
        var credits: Int64 = 0
        @Argument(help: "The user's email.")
        var email: String

        func run() async throws {
            guard Role(rawValue: role) != nil else { throw ValidationError("role is admin or user") }
            let data = try await daemon.expectSuccess("POST", "/users", body: ["email": email, "role": role, "line_credits": credits])
            let answer = try JSONSerialization.jsonObject(with: data) as? [String: Any]
            print(answer?["token"] as? String ?? "")
        }
    }

    struct Credits: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Set a user's line credits.")
        @OptionGroup var daemon: DaemonOptions
        @Argument(help: "The user's id.")
        var user: Int64
        @Argument(help: "The new line credits (a whole number ≥ 0).")
        var credits: Int64

        func run() async throws {
            guard credits >= 0 else { throw ValidationError("credits is a whole number ≥ 0") }
            _ = try await daemon.expectSuccess("POST", "/users/\(user)/credits", body: ["line_credits": credits])
            print("user \(user): \(credits) line credits")
        }
    }

    struct Token: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Give a user a new token and print it; the old one stops working and its open streams end.")
        @OptionGroup var daemon: DaemonOptions
        @Argument(help: "The user's id.")
        var user: Int64

        func run() async throws {
            let data = try await daemon.expectSuccess("POST", "/users/\(user)/token")
            print((try JSONSerialization.jsonObject(with: data) as? [String: Any])?["token"] as? String ?? "")
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a user: their token stops working and their open streams end.")
        @OptionGroup var daemon: DaemonOptions
        @Argument(help: "The user's id.")
        var user: Int64

        func run() async throws {
            _ = try await daemon.expectSuccess("DELETE", "/users/\(user)")
            print("user \(user): deleted")
        }
    }
}
