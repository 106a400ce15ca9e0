/*
 * napagent: the nap test guest's side of the host harness
 * (tests/nap/naplib.py), on a serial line. One request per line:
 *   p           "CLK <realtime ns> <monotonic ns> <boottime ns>", read
 *               as late as possible so the host can bracket it
 *   x <command> the command's output through /bin/sh, then "END <status>"
 * With "-s EVENTDEV" it also runs a userspace suspend policy: a press of
 * KEY_SLEEP on EVENTDEV writes "mem" to /sys/power/state, as a desktop
 * guest without the nap driver would.
 * On a host without python (the lab), "napagent -p IN OUT" is the probe:
 * it sends "p" into the guest's line through the FIFOs IN and OUT (a QEMU
 * pipe chardev) and prints "PROBE <guest - host realtime ns> <round trip
 * ns> <guest realtime> <monotonic> <boottime>", the host's clock read
 * right around the exchange.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <fcntl.h>
#include <linux/input.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

static long long clock_ns(clockid_t id)
{
    struct timespec ts;

    clock_gettime(id, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void reply_clocks(FILE *out)
{
    long long boot = clock_ns(CLOCK_BOOTTIME);
    long long mono = clock_ns(CLOCK_MONOTONIC);
    long long real = clock_ns(CLOCK_REALTIME);

    fprintf(out, "CLK %lld %lld %lld\n", real, mono, boot);
    fflush(out);
}

static void reply_command(FILE *out, const char *cmd)
{
    char line[512];
    FILE *p = popen(cmd, "r");
    int status;

    if (!p) {
        fprintf(out, "END -1\n");
        fflush(out);
        return;
    }
    while (fgets(line, sizeof(line), p)) {
        fputs(line, out);
    }
    status = pclose(p);
    fprintf(out, "END %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    fflush(out);
}

/* Raw, no echo: the host sees only the replies. */
static int open_line(const char *path)
{
    struct termios t;
    int fd = open(path, O_RDWR | O_NOCTTY);

    if (fd < 0 || tcgetattr(fd, &t) < 0) {
        return -1;
    }
    cfmakeraw(&t);
    cfsetspeed(&t, B115200);
    tcsetattr(fd, TCSANOW, &t);
    return fd;
}

static void suspend_to_ram(void)
{
    int fd = open("/sys/power/state", O_WRONLY);

    if (fd >= 0) {
        if (write(fd, "mem", 3) != 3) {
            perror("napagent: suspend");
        }
        close(fd);
    }
}

/* Child process: the sleep-button policy, until the event device fails. */
static void sleep_button_policy(const char *eventdev)
{
    struct input_event ev;
    int fd = open(eventdev, O_RDONLY);

    if (fd < 0) {
        perror(eventdev);
        return;
    }
    while (read(fd, &ev, sizeof(ev)) == sizeof(ev)) {
        if (ev.type == EV_KEY && ev.code == KEY_SLEEP && ev.value == 1) {
            printf("napagent: sleep button pressed, suspending\n");
            fflush(stdout);
            suspend_to_ram();
            printf("napagent: resumed after sleep button\n");
            fflush(stdout);
        }
    }
}

/* Open a FIFO for reading with whatever is already queued in it dropped. */
static FILE *open_drained(const char *path)
{
    char buf[4096];
    int fd = open(path, O_RDONLY | O_NONBLOCK);

    if (fd < 0) {
        return NULL;
    }
    while (read(fd, buf, sizeof(buf)) > 0) {
        continue;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    return fdopen(fd, "r");
}

static int probe_guest(const char *in_path, const char *out_path)
{
    FILE *from = open_drained(out_path);
    FILE *to = fopen(in_path, "w");
    long long t0, t1, real, mono, boot;
    char line[256];

    alarm(10);      /* a guest that does not answer fails the probe */
    if (!to || !from) {
        perror("napagent: probe");
        return 1;
    }
    t0 = clock_ns(CLOCK_REALTIME);
    fputs("p\n", to);
    fflush(to);
    while (fgets(line, sizeof(line), from)) {
        if (sscanf(line, "CLK %lld %lld %lld", &real, &mono, &boot) == 3) {
            t1 = clock_ns(CLOCK_REALTIME);
            printf("PROBE %lld %lld %lld %lld %lld\n",
                   real - (t0 + (t1 - t0) / 2), t1 - t0, real, mono, boot);
            return 0;
        }
    }
    return 1;
}

static void serve(FILE *in, FILE *out)
{
    char line[512];

    fprintf(out, "AGENT READY\n");
    fflush(out);
    while (fgets(line, sizeof(line), in)) {
        line[strcspn(line, "\r\n")] = 0;
        if (!strcmp(line, "p")) {
            reply_clocks(out);
        } else if (!strncmp(line, "x ", 2)) {
            reply_command(out, line + 2);
        } else if (line[0]) {
            fprintf(out, "ERR unknown request\n");
            fflush(out);
        }
    }
}

int main(int argc, char **argv)
{
    FILE *in, *out;
    int fd;

    if (argc == 4 && !strcmp(argv[1], "-p")) {
        return probe_guest(argv[2], argv[3]);
    }
    if (argc == 4 && !strcmp(argv[2], "-s") && fork() == 0) {
        sleep_button_policy(argv[3]);
        return 1;
    }
    fd = argc >= 2 ? open_line(argv[1]) : -1;
    if (fd < 0) {
        fprintf(stderr, "usage: napagent TTY [-s EVENTDEV]\n");
        return 1;
    }
    in = fdopen(fd, "r");
    out = fdopen(dup(fd), "w");
    if (!in || !out) {
        return 1;
    }
    serve(in, out);
    return 0;
}
