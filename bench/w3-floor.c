/*
 * W3's floor in C: the least any HTTP server does for W3's requests. A blocking HTTP/1.1 keep-alive server, one
 * process and one libpq connection per client connection, that finds the item's id after a fixed marker in the
 * request, runs the limit's hand-written statement (prepared once) and answers 200 with two bytes. No framework,
 * no parser, no event loop: what is left between it and pgbench is the extra hop (client → server → database).
 * Usage: w3-floor CONNINFO SQL_FILE MARKER TENANT_ID USER_ID LOGIN DOOR; prints "listening PORT" (loopback).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

static const char *conninfo, *sql, *marker, *fixed[4];
static char request[1 << 16];

static void serve(int fd) {
  PGconn *db = PQconnectdb(conninfo);
  if (PQstatus(db) != CONNECTION_OK) {
    fprintf(stderr, "%s", PQerrorMessage(db));
    exit(1);
  }
  PGresult *result = PQprepare(db, "w3", sql, 5, NULL);
  if (PQresultStatus(result) != PGRES_COMMAND_OK) {
    fprintf(stderr, "%s", PQerrorMessage(db));
    exit(1);
  }
  PQclear(result);
  size_t have = 0;
  for (;;) {
    char *end;
    while (!(end = memmem(request, have, "\r\n\r\n", 4))) {
      ssize_t n = read(fd, request + have, sizeof request - have - 1);
      if (n <= 0) exit(0);
      have += n;
    }
    size_t head = end + 4 - request, body = 0;
    for (char *line = request; line && line < end; line = strstr(line, "\r\n")) {
      if (line != request) line += 2;
      if (!strncasecmp(line, "content-length:", 15)) body = strtoul(line + 15, NULL, 10);
    }
    if (head + body >= sizeof request) exit(1);
    while (have < head + body) {
      ssize_t n = read(fd, request + have, sizeof request - have - 1);
      if (n <= 0) exit(0);
      have += n;
    }
    size_t total = head + body;
    char next = request[total];
    request[total] = 0;
    char id[24] = "0", *at = strstr(request, marker);
    if (at) {
      at += strlen(marker);
      size_t i = 0;
      for (; i < sizeof id - 1 && at[i] >= '0' && at[i] <= '9'; i++) id[i] = at[i];
      id[i] = 0;
    }
    request[total] = next;
    const char *values[5] = {id, fixed[0], fixed[1], fixed[2], fixed[3]};
    result = PQexecPrepared(db, "w3", 5, values, NULL, NULL, 0);
    ExecStatusType status = PQresultStatus(result);
    PQclear(result);
    const char *reply = status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK
                            ? "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"
                            : "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n";
    if (write(fd, reply, strlen(reply)) < 0) exit(0);
    memmove(request, request + total, have - total);
    have -= total;
  }
}

int main(int argc, char **argv) {
  if (argc != 8) {
    fprintf(stderr, "usage: w3-floor CONNINFO SQL_FILE MARKER TENANT_ID USER_ID LOGIN DOOR\n");
    return 2;
  }
  conninfo = argv[1];
  static char text[1 << 16];
  FILE *file = fopen(argv[2], "r");
  if (!file) return 2;
  text[fread(text, 1, sizeof text - 1, file)] = 0;
  sql = text;
  marker = argv[3];
  for (int i = 0; i < 4; i++) fixed[i] = argv[4 + i];
  signal(SIGCHLD, SIG_IGN);
  int listener = socket(AF_INET, SOCK_STREAM, 0), one = 1;
  struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = 0};
  inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
  socklen_t size = sizeof address;
  if (bind(listener, (void *)&address, sizeof address) || listen(listener, 128) ||
      getsockname(listener, (void *)&address, &size)) {
    perror("w3-floor");
    return 1;
  }
  printf("listening %d\n", ntohs(address.sin_port));
  fflush(stdout);
  for (;;) {
    int client = accept(listener, NULL, NULL);
    if (client < 0) continue;
    setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (fork() == 0) {
      // a connection's process ends with its server
      prctl(PR_SET_PDEATHSIG, SIGTERM);
      close(listener);
      serve(client);
    }
    close(client);
  }
}
