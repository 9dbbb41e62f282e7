import GRDB

/// The database schema, created and migrated by the daemon at start.
///
/// Table and column names are the contract's; columns beyond them carry what
/// the daemon needs to recover after a crash (`spool_*`, `agent_pgid`) and to
/// explain what happened (`failure_reason`, `exit_code`, timings).
enum Schema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE users (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    email TEXT NOT NULL UNIQUE COLLATE NOCASE,
                    role TEXT NOT NULL CHECK (role IN ('admin', 'user')),
                    line_credits INTEGER NOT NULL DEFAULT 0 CHECK (line_credits >= 0),
                    initial_credits INTEGER NOT NULL DEFAULT 0,
                    token_hash TEXT UNIQUE,
                    created_at TEXT NOT NULL
                );
                CREATE TABLE projects (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    name TEXT NOT NULL UNIQUE,
                    user_id INTEGER NOT NULL REFERENCES users(id),
                    created_at TEXT NOT NULL
                );
                CREATE TABLE jobs (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    project_id INTEGER NOT NULL REFERENCES projects(id),
                    user_id INTEGER NOT NULL REFERENCES users(id),
                    specification TEXT NOT NULL,
                    status TEXT NOT NULL DEFAULT 'pending'
                        CHECK (status IN ('pending', 'in_progress', 'completed', 'failed', 'cancelled')),
                    current_phase TEXT NOT NULL DEFAULT 'idle'
                        CHECK (current_phase IN ('idle', 'specify', 'plan', 'implement', 'test', 'review')),
                    lines_written INTEGER NOT NULL DEFAULT 0,
                    tasks_done INTEGER NOT NULL DEFAULT 0,
                    tasks_total INTEGER NOT NULL DEFAULT 0,
                    exit_code INTEGER,
                    failure_reason TEXT,
                    spool_name TEXT,
                    spool_inode INTEGER,
                    spool_filed INTEGER NOT NULL DEFAULT 1,
                    agent_pgid INTEGER,
                    created_at TEXT NOT NULL,
                    started_at TEXT,
                    finished_at TEXT,
                    updated_at TEXT NOT NULL
                );
                CREATE INDEX jobs_by_status ON jobs(status, id);
                CREATE INDEX jobs_unfiled ON jobs(spool_filed) WHERE spool_filed = 0;
                CREATE TABLE log_entries (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    job_id INTEGER NOT NULL REFERENCES jobs(id),
                    message TEXT NOT NULL,
                    level TEXT NOT NULL CHECK (level IN ('info', 'warning', 'error', 'debug')),
                    source TEXT NOT NULL CHECK (source IN ('system', 'agent', 'user')),
                    timestamp TEXT NOT NULL
                );
                CREATE INDEX log_entries_by_job ON log_entries(job_id, id);
                CREATE TABLE artifacts (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    project_id INTEGER NOT NULL REFERENCES projects(id),
                    job_id INTEGER REFERENCES jobs(id),
                    file_path TEXT NOT NULL,
                    file_name TEXT NOT NULL,
                    artifact_type TEXT NOT NULL CHECK (artifact_type IN ('documentation', 'code', 'binary', 'symlink')),
                    preview_content TEXT,
                    line_count INTEGER NOT NULL DEFAULT 0,
                    size_bytes INTEGER NOT NULL DEFAULT 0,
                    modified_at TEXT NOT NULL,
                    created_at TEXT NOT NULL,
                    UNIQUE (project_id, file_path)
                );
                CREATE TABLE stream_messages (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    stream_type TEXT NOT NULL
                        CHECK (stream_type IN ('logs', 'insights', 'knowledge', 'jobs', 'artifacts')),
                    message_text TEXT NOT NULL,
                    source TEXT NOT NULL,
                    level TEXT NOT NULL DEFAULT 'info',
                    job_id INTEGER,
                    payload TEXT,
                    created_at TEXT NOT NULL
                );
                CREATE INDEX stream_messages_by_type ON stream_messages(stream_type, id);
                """)
        }
        migrator.registerMigration("v2: knowledge") { db in
            try db.execute(sql: """
                CREATE TABLE knowledge (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    subject TEXT NOT NULL,
                    key TEXT NOT NULL,
                    value TEXT NOT NULL,
                    updated_at TEXT NOT NULL,
                    UNIQUE (subject, key)
                );
                CREATE INDEX stream_messages_by_job ON stream_messages(job_id, stream_type, id);
                """)
        }
        migrator.registerMigration("v3: checks without IN lists") { db in
            // SQLite evaluates `x IN ('a', 'b', 'c')` in a CHECK by building an
            // ephemeral table each time a statement runs: once per inserted log line.
            // The same checks written as comparisons cost nothing. The hot tables
            // are rebuilt with them (SQLite cannot alter a CHECK in place).
            try rebuild(db, "log_entries", """
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                job_id INTEGER NOT NULL REFERENCES jobs(id),
                message TEXT NOT NULL,
                level TEXT NOT NULL CHECK (\(oneOf("level", "info", "warning", "error", "debug"))),
                source TEXT NOT NULL CHECK (\(oneOf("source", "system", "agent", "user"))),
                timestamp TEXT NOT NULL
                """, indexes: ["CREATE INDEX log_entries_by_job ON log_entries(job_id, id)"])
            try rebuild(db, "artifacts", """
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                project_id INTEGER NOT NULL REFERENCES projects(id),
                job_id INTEGER REFERENCES jobs(id),
                file_path TEXT NOT NULL,
                file_name TEXT NOT NULL,
                artifact_type TEXT NOT NULL CHECK (\(oneOf("artifact_type", "documentation", "code", "binary", "symlink"))),
                preview_content TEXT,
                line_count INTEGER NOT NULL DEFAULT 0,
                size_bytes INTEGER NOT NULL DEFAULT 0,
                modified_at TEXT NOT NULL,
                created_at TEXT NOT NULL,
                UNIQUE (project_id, file_path)
                """, indexes: [])
            try rebuild(db, "stream_messages", """
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                stream_type TEXT NOT NULL CHECK (\(oneOf("stream_type", "logs", "insights", "knowledge", "jobs", "artifacts"))),
                message_text TEXT NOT NULL,
                source TEXT NOT NULL,
                level TEXT NOT NULL DEFAULT 'info',
                job_id INTEGER,
                payload TEXT,
                created_at TEXT NOT NULL
                """, indexes: ["CREATE INDEX stream_messages_by_type ON stream_messages(stream_type, id)",
                               "CREATE INDEX stream_messages_by_job ON stream_messages(job_id, stream_type, id)"])
        }
        migrator.registerMigration("v4: agent profiles") { db in
            // NULL: the daemon's --agent-profile when the job starts.
            try db.execute(sql: "ALTER TABLE jobs ADD COLUMN agent TEXT")
        }
        migrator.registerMigration("v5: idempotency keys") { db in
            // A client's key for a POST it may send again: one job per user and key.
            try db.execute(sql: "ALTER TABLE jobs ADD COLUMN idempotency_key TEXT")
            try db.execute(sql: "CREATE UNIQUE INDEX jobs_by_idempotency_key ON jobs (user_id, idempotency_key) WHERE idempotency_key IS NOT NULL")
        }
        migrator.registerMigration("v6: deleted users") { db in
            // A deleted user who ran jobs stays as their record, without a token.
            try db.execute(sql: "ALTER TABLE users ADD COLUMN deleted_at TEXT")
        }
        migrator.registerMigration("v7: lines written as a diff") { db in
            // Jobs from before keep the lines_written they were charged; their changes were never measured.
            try db.execute(sql: """
                ALTER TABLE jobs ADD COLUMN lines_removed INTEGER NOT NULL DEFAULT 0;
                ALTER TABLE jobs ADD COLUMN start_tree TEXT;
                ALTER TABLE jobs ADD COLUMN end_tree TEXT;
                CREATE TABLE job_changes (
                    job_id INTEGER NOT NULL REFERENCES jobs(id),
                    file_path TEXT NOT NULL,
                    old_path TEXT,
                    lines_added INTEGER NOT NULL,
                    lines_removed INTEGER NOT NULL,
                    change TEXT NOT NULL CHECK (\(oneOf("change", "added", "modified", "deleted", "renamed"))),
                    binary INTEGER NOT NULL DEFAULT 0,
                    PRIMARY KEY (job_id, file_path)
                );
                CREATE INDEX job_changes_by_path ON job_changes (file_path);
                """)
        }
        migrator.registerMigration("v8: ignored folders as one entry") { db in
            try rebuild(db, "artifacts", """
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                project_id INTEGER NOT NULL REFERENCES projects(id),
                job_id INTEGER REFERENCES jobs(id),
                file_path TEXT NOT NULL,
                file_name TEXT NOT NULL,
                artifact_type TEXT NOT NULL CHECK (\(oneOf("artifact_type", "documentation", "code", "binary", "symlink", "ignored"))),
                preview_content TEXT,
                line_count INTEGER NOT NULL DEFAULT 0,
                size_bytes INTEGER NOT NULL DEFAULT 0,
                modified_at TEXT NOT NULL,
                created_at TEXT NOT NULL,
                UNIQUE (project_id, file_path)
                """, indexes: [])
        }
        migrator.registerMigration("v9: the journal's rows carry their job's user") { db in
            // Who may see a row is then in the row: the live filter of a user's streams reads nothing.
            try db.execute(sql: """
                ALTER TABLE stream_messages ADD COLUMN user_id INTEGER REFERENCES users(id);
                UPDATE stream_messages SET user_id = (SELECT user_id FROM jobs WHERE jobs.id = stream_messages.job_id)
                    WHERE job_id IS NOT NULL;
                """)
        }
        migrator.registerMigration("v10: retries, agent sessions and usage") { db in
            try db.execute(sql: """
                ALTER TABLE jobs ADD COLUMN retry_of INTEGER REFERENCES jobs(id);
                ALTER TABLE jobs ADD COLUMN session_id TEXT;
                ALTER TABLE jobs ADD COLUMN resume_session_id TEXT;
                ALTER TABLE jobs ADD COLUMN run_after TEXT;
                ALTER TABLE jobs ADD COLUMN input_tokens INTEGER NOT NULL DEFAULT 0;
                ALTER TABLE jobs ADD COLUMN output_tokens INTEGER NOT NULL DEFAULT 0;
                ALTER TABLE jobs ADD COLUMN cache_read_tokens INTEGER NOT NULL DEFAULT 0;
                ALTER TABLE jobs ADD COLUMN cache_write_tokens INTEGER NOT NULL DEFAULT 0;
                ALTER TABLE jobs ADD COLUMN cost_usd REAL NOT NULL DEFAULT 0;
                CREATE INDEX jobs_by_retry_of ON jobs(retry_of) WHERE retry_of IS NOT NULL;
                """)
        }
        migrator.registerMigration("v11: budgets") { db in
            // NULL: no budget; else what the user's agents may still cost, in US dollars.
            try db.execute(sql: "ALTER TABLE users ADD COLUMN budget_usd REAL")
        }
        migrator.registerMigration("v12: the webhook outbox") { db in
            try db.execute(sql: """
                CREATE TABLE webhook_deliveries (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    url TEXT NOT NULL,
                    kind TEXT NOT NULL,
                    event_id INTEGER NOT NULL,
                    body TEXT NOT NULL,
                    status TEXT NOT NULL DEFAULT 'pending' CHECK (\(oneOf("status", "pending", "delivered", "given_up"))),
                    attempts INTEGER NOT NULL DEFAULT 0,
                    last_error TEXT,
                    next_attempt_at TEXT NOT NULL,
                    created_at TEXT NOT NULL,
                    delivered_at TEXT
                );
                CREATE INDEX webhook_deliveries_due ON webhook_deliveries(next_attempt_at) WHERE status = 'pending';
                """)
        }
        migrator.registerMigration("v13: a job's diff kept once it has ended") { db in
            // Served from here by any node (several may share a database); the shadow repository keeps its trees for revert.
            try db.execute(sql: "CREATE TABLE job_diffs (job_id INTEGER PRIMARY KEY REFERENCES jobs(id), patch TEXT NOT NULL)")
        }
        return migrator
    }

    /// `column = 'a' OR column = 'b' …`
    private static func oneOf(_ column: String, _ values: String...) -> String {
        values.map { "\(column) = '\($0)'" }.joined(separator: " OR ")
    }

    /// Rebuilds a table with new column definitions, keeping its rows, ids and autoincrement counter.
    private static func rebuild(_ db: Database, _ table: String, _ columns: String, indexes: [String]) throws {
        try db.execute(sql: "CREATE TABLE \(table)_rebuilt (\(columns))")
        try db.execute(sql: "INSERT INTO \(table)_rebuilt SELECT * FROM \(table)")
        // Ids are never handed out twice (clients resume streams by id): keep the counter too.
        try db.execute(sql: "DELETE FROM sqlite_sequence WHERE name = '\(table)_rebuilt'")
        try db.execute(sql: "INSERT INTO sqlite_sequence (name, seq) SELECT '\(table)_rebuilt', seq FROM sqlite_sequence WHERE name = '\(table)'")
        try db.execute(sql: "DROP TABLE \(table)")
        try db.execute(sql: "ALTER TABLE \(table)_rebuilt RENAME TO \(table)")
        for index in indexes { try db.execute(sql: index) }
    }
}
