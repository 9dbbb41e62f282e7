/* The floors lph is measured against: the same system interfaces with nothing
 * in between. Built and run by bench/run.py (cc -O2 floors.c -lsqlite3).
 *
 *   floors inotify DIR N      rename a file into a watched folder -> its event read; prints N latencies (ms)
 *   floors sqlite DB N        a child's pipe (seq 1 N) read with read(2), split on \n, inserted with one
 *                             prepared statement in transactions of 10,000 (WAL, synchronous=NORMAL);
 *                             prints lines per second
 *   floors socket N           loopback TCP: write a line -> read on the other end; prints N latencies (ms)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int inotify_floor(const char *dir, int n) {
    int fd = inotify_init1(IN_CLOEXEC);
    if (fd < 0 || inotify_add_watch(fd, dir, IN_MOVED_TO | IN_CLOSE_WRITE) < 0) { perror("inotify"); return 1; }
    char buf[4096], from[4096], to[4096];
    for (int i = 0; i < n; i++) {
        snprintf(from, sizeof from, "%s/../.floor-%d", dir, i);
        snprintf(to, sizeof to, "%s/floor-%d", dir, i);
        int f = open(from, O_CREAT | O_WRONLY, 0644);
        write(f, "x\n", 2);
        close(f);
        double t0 = now_ms();
        rename(from, to);
        if (read(fd, buf, sizeof buf) <= 0) { perror("read"); return 1; }
        printf("%.4f\n", now_ms() - t0);
    }
    return 0;
}

/* The bare table, or (`schema`) lph's own log_entries as its migrations leave it (Schema.swift):
   AUTOINCREMENT, the foreign key to jobs (checked: GRDB turns foreign keys on), the CHECKs
   (written with OR: an IN list makes SQLite build a temporary table for every row) and the index. */
static const char *BARE_TABLE =
    "CREATE TABLE log_entries (id INTEGER PRIMARY KEY, job_id INTEGER, message TEXT, level TEXT, source TEXT, timestamp TEXT)";
static const char *LPH_TABLE =
    "PRAGMA foreign_keys=ON; CREATE TABLE jobs (id INTEGER PRIMARY KEY AUTOINCREMENT); INSERT INTO jobs DEFAULT VALUES;"
    "CREATE TABLE log_entries (id INTEGER PRIMARY KEY AUTOINCREMENT, job_id INTEGER NOT NULL REFERENCES jobs(id),"
    " message TEXT NOT NULL, level TEXT NOT NULL CHECK (level = 'info' OR level = 'warning' OR level = 'error' OR level = 'debug'),"
    " source TEXT NOT NULL CHECK (source = 'system' OR source = 'agent' OR source = 'user'), timestamp TEXT NOT NULL);"
    "CREATE INDEX log_entries_by_job ON log_entries(job_id, id)";

static int sqlite_floor(const char *path, long n, int schema) {
    sqlite3 *db;
    sqlite3_stmt *insert;
    if (sqlite3_open(path, &db) != SQLITE_OK) return 1;
    sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL", 0, 0, 0);
    if (sqlite3_exec(db, schema ? LPH_TABLE : BARE_TABLE, 0, 0, 0) != SQLITE_OK) { fprintf(stderr, "%s\n", sqlite3_errmsg(db)); return 1; }
    sqlite3_prepare_v2(db, "INSERT INTO log_entries (job_id, message, level, source, timestamp) VALUES (1, ?, 'info', 'agent', ?)", -1, &insert, 0);
    int pipefd[2];
    pipe(pipefd);
    double t0 = now_ms();
    pid_t child = fork();
    if (child == 0) {
        dup2(pipefd[1], 1);
        close(pipefd[0]);
        char count[32];
        snprintf(count, sizeof count, "%ld", n);
        execlp("seq", "seq", "1", count, (char *)0);
        _exit(127);
    }
    close(pipefd[1]);
    static char buf[1 << 16], line[1 << 16];
    size_t have = 0;
    long stored = 0, in_tx = 0;
    const char *stamp = "2026-01-01T00:00:00.000Z";
    sqlite3_exec(db, "BEGIN", 0, 0, 0);
    ssize_t got;
    while ((got = read(pipefd[0], buf, sizeof buf)) > 0) {
        for (ssize_t i = 0; i < got; i++) {
            if (buf[i] != '\n') { if (have < sizeof line) line[have++] = buf[i]; continue; }
            sqlite3_bind_text(insert, 1, line, (int)have, SQLITE_TRANSIENT);
            sqlite3_bind_text(insert, 2, stamp, -1, SQLITE_STATIC);
            sqlite3_step(insert);
            sqlite3_reset(insert);
            have = 0;
            stored++;
            if (++in_tx == 10000) { sqlite3_exec(db, "COMMIT; BEGIN", 0, 0, 0); in_tx = 0; }
        }
    }
    sqlite3_exec(db, "COMMIT", 0, 0, 0);
    waitpid(child, 0, 0);
    printf("%.0f\n", stored / ((now_ms() - t0) / 1e3));
    sqlite3_finalize(insert);
    sqlite3_close(db);
    return 0;
}

static int socket_floor(int n) {
    int server = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof addr;
    bind(server, (struct sockaddr *)&addr, sizeof addr);
    listen(server, 1);
    getsockname(server, (struct sockaddr *)&addr, &len);
    int client = socket(AF_INET, SOCK_STREAM, 0);
    connect(client, (struct sockaddr *)&addr, sizeof addr);
    int peer = accept(server, 0, 0);
    setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    char buf[256];
    const char *frame = "id: 1\nevent: log\ndata: {\"text\":\"x\"}\n\n";
    for (int i = 0; i < n; i++) {
        double t0 = now_ms();
        write(client, frame, strlen(frame));
        if (read(peer, buf, sizeof buf) <= 0) return 1;
        printf("%.4f\n", now_ms() - t0);
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc >= 4 && !strcmp(argv[1], "inotify")) return inotify_floor(argv[2], atoi(argv[3]));
    if (argc >= 4 && !strcmp(argv[1], "sqlite")) return sqlite_floor(argv[2], atol(argv[3]), 0);
    if (argc >= 4 && !strcmp(argv[1], "sqlite-schema")) return sqlite_floor(argv[2], atol(argv[3]), 1);
    if (argc >= 3 && !strcmp(argv[1], "socket")) return socket_floor(atoi(argv[2]));
    fprintf(stderr, "usage: floors inotify DIR N | sqlite DB N | sqlite-schema DB N | socket N\n");
    return 2;
}
