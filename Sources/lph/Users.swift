import ArgumentParser
import Foundation
import LinesPerHour

/// `lph users …`: list users, add one, set credits, through the daemon (admin token).
struct Users: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage users and their line credits through the running daemon (needs an admin token).",
        subcommands: [List.self, Add.self, Credits.self, Budget.self, Token.self, Delete.self],
        defaultSubcommand: List.self
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the users.")
        @OptionGroup var daemon: DaemonOptions

        func run() async throws {
            let users = try JSONCoding.decoder.decode([User].self, from: try await daemon.expectSuccess("GET", "/users"))
            print("ID     ROLE   CREDITS     BUDGET      EMAIL")
            for user in users {
                let budget = user.budgetUsd.map { String(format: "$%.2f", $0) } ?? "none"
                print(String(user.id).padding(toLength: 7, withPad: " ", startingAt: 0)
                      + user.role.rawValue.padding(toLength: 7, withPad: " ", startingAt: 0)
                      + String(user.lineCredits).padding(toLength: 12, withPad: " ", startingAt: 0)
                      + budget.padding(toLength: 12, withPad: " ", startingAt: 0) + user.email)
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

    struct Budget: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Set what a user's agents may still cost, in US dollars ('none': no budget).")
        @OptionGroup var daemon: DaemonOptions
        @Argument(help: "The user's id.")
        var user: Int64
        @Argument(help: "US dollars (a number ≥ 0), or 'none'.")
        var budget: String

        func run() async throws {
            let amount = Double(budget)
            guard budget == "none" || (amount ?? -1) >= 0 else { throw ValidationError("the budget is a number of US dollars ≥ 0, or none") }
            _ = try await daemon.expectSuccess("POST", "/users/\(user)/budget", body: ["budget_usd": amount ?? NSNull()])
            print("user \(user): " + (amount.map { String(format: "a budget of $%.2f", $0) } ?? "no budget"))
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
