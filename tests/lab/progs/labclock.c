/*
 * labclock: set and compare the wall clocks of the two-host lab's inner
 * hosts (tests/lab/run2, docs/lab.md "Two hosts").
 *
 * Each inner host boots with its wall clock from the emulated CMOS RTC,
 * whose resolution is one second, so two hosts booted side by side
 * disagree by up to a second, and their TAI offset is 0 (nothing sets
 * it). The cross-host tests need both under control:
 *
 *   labclock show              realtime_ns=, tai_ns=, tai_offset_s=
 *   labclock tai N             set the kernel's TAI offset (ADJ_TAI) to N
 *   labclock step NS           step CLOCK_REALTIME by NS (signed)
 *   labclock serve PORT        answer UDP probes with this host's
 *                              CLOCK_REALTIME (runs until killed)
 *   labclock offset HOST PORT [N]
 *                              N probes (default 40); from the one with
 *                              the shortest round trip: offset_ns= (peer
 *                              minus here) and rtt_ns= (the offset is
 *                              right to within half of it)
 *
 * Copyright (c) 2026 qemu-tsc-fork contributors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/timex.h>
#include <time.h>
#include <unistd.h>

#define NSEC_PER_SEC 1000000000LL

static int64_t now_ns(clockid_t id)
{
    struct timespec ts;

    clock_gettime(id, &ts);
    return ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
}

static int die(const char *what)
{
    fprintf(stderr, "labclock: %s: %s\n", what, strerror(errno));
    return 1;
}

static int show(void)
{
    struct timex tx = { 0 };

    if (adjtimex(&tx) < 0) {
        return die("adjtimex");
    }
    printf("realtime_ns=%" PRId64 "\ntai_ns=%" PRId64 "\ntai_offset_s=%d\n",
           now_ns(CLOCK_REALTIME), now_ns(CLOCK_TAI), tx.tai);
    return 0;
}

static int set_tai(int offset)
{
    struct timex tx = { .modes = ADJ_TAI, .constant = offset };

    if (adjtimex(&tx) < 0) {
        return die("adjtimex(ADJ_TAI)");
    }
    return show();
}

static int step(int64_t delta_ns)
{
    int64_t t = now_ns(CLOCK_REALTIME) + delta_ns;
    struct timespec ts = { .tv_sec = t / NSEC_PER_SEC,
                           .tv_nsec = t % NSEC_PER_SEC };

    if (clock_settime(CLOCK_REALTIME, &ts) < 0) {
        return die("clock_settime");
    }
    return show();
}

static int serve(int port)
{
    struct sockaddr_in sa = { .sin_family = AF_INET,
                              .sin_port = htons(port) };
    int fd = socket(AF_INET, SOCK_DGRAM, 0);

    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        return die("bind");
    }
    for (;;) {
        struct sockaddr_in from;
        socklen_t len = sizeof(from);
        uint64_t msg[2];
        ssize_t n = recvfrom(fd, msg, sizeof(msg), 0,
                             (struct sockaddr *)&from, &len);

        if (n != sizeof(msg)) {
            continue;
        }
        msg[1] = now_ns(CLOCK_REALTIME);
        sendto(fd, msg, sizeof(msg), 0, (struct sockaddr *)&from, len);
    }
}

static int offset(const char *host, int port, int probes)
{
    struct sockaddr_in sa = { .sin_family = AF_INET,
                              .sin_port = htons(port) };
    struct timeval tv = { .tv_sec = 0, .tv_usec = 200000 };
    int64_t best_rtt = INT64_MAX, best_off = 0;
    int fd = socket(AF_INET, SOCK_DGRAM, 0), answered = 0;

    if (fd < 0 || inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
        fprintf(stderr, "labclock: bad address %s\n", host);
        return 1;
    }
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    for (int i = 0; i < probes; i++) {
        uint64_t msg[2] = { i, 0 };
        int64_t t0 = now_ns(CLOCK_REALTIME), t1;

        if (sendto(fd, msg, sizeof(msg), 0, (struct sockaddr *)&sa,
                   sizeof(sa)) != sizeof(msg) ||
            recv(fd, msg, sizeof(msg), 0) != sizeof(msg) ||
            msg[0] != (uint64_t)i) {
            continue;
        }
        t1 = now_ns(CLOCK_REALTIME);
        answered++;
        if (t1 - t0 < best_rtt) {
            best_rtt = t1 - t0;
            best_off = (int64_t)msg[1] - (t0 + (t1 - t0) / 2);
        }
    }
    if (!answered) {
        fprintf(stderr, "labclock: no answer from %s:%d\n", host, port);
        return 1;
    }
    printf("offset_ns=%" PRId64 "\nrtt_ns=%" PRId64 "\nanswers=%d\n",
           best_off, best_rtt, answered);
    return 0;
}

int main(int argc, char **argv)
{
    const char *cmd = argc > 1 ? argv[1] : "";
    int64_t delta;

    if (!strcmp(cmd, "show") && argc == 2) {
        return show();
    } else if (!strcmp(cmd, "tai") && argc == 3) {
        return set_tai(atoi(argv[2]));
    } else if (!strcmp(cmd, "step") && argc == 3 &&
               sscanf(argv[2], "%" SCNd64, &delta) == 1) {
        return step(delta);
    } else if (!strcmp(cmd, "serve") && argc == 3) {
        return serve(atoi(argv[2]));
    } else if (!strcmp(cmd, "offset") && (argc == 4 || argc == 5)) {
        return offset(argv[2], atoi(argv[3]), argc == 5 ? atoi(argv[4]) : 40);
    }
    fprintf(stderr, "usage: labclock show | tai N | step NS | serve PORT |"
            " offset HOST PORT [N]\n");
    return 2;
}
