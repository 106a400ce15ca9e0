/*
 * napagent: the nap test guest's side of the host harness
 * (tests/nap/naplib.py), on a serial line. One request per line:
 *   p           "CLK <realtime ns> <monotonic ns> <boottime ns>", read
 *               as late as possible so the host can bracket it
 *   x <command> the command's output through /bin/sh, then "END <status>"
 * With "-s EVENTDEV" it also runs a userspace suspend policy: a press of
 * KEY_SLEEP on EVENTDEV writes "mem" to /sys/power/state, as a desktop
 * guest without the nap driver would.
 * "napagent -g PORT" is a minimal QEMU guest agent on a virtio-serial
 * port, enough for libvirt's dompmsuspend and domtime (tests/libvirt):
 * guest-sync, guest-ping, guest-suspend-ram (no reply when it worked, as
 * qemu-ga: the SUSPEND event answers), guest-get-time, guest-set-time (a
 * time, or none: from the RTC, read as UTC as qemu-ga's hwclock -s).
 * One JSON command per line; anything else gets qemu-ga's CommandNotFound
 * error.
 * On a host without python (the lab), "napagent -p IN OUT" is the probe:
 * it sends "p" into the guest's line through the FIFOs IN and OUT (a QEMU
 * pipe chardev) and prints "PROBE <guest - host realtime ns> <round trip
 * ns> <guest realtime> <monotonic> <boottime>", the host's clock read
 * right around the exchange.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <fcntl.h>
#include <linux/rtc.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/time.h>
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

/* 0 once the guest resumed from S3, -1 if it could not suspend. */
static int suspend_to_ram(void)
{
    int fd = open("/sys/power/state", O_WRONLY);
    int ret = -1;

    if (fd >= 0) {
        ret = write(fd, "mem", 3) == 3 ? 0 : -1;
        close(fd);
    }
    if (ret < 0) {
        perror("napagent: suspend");
    }
    return ret;
}

/*
 * The value after "KEY": in a one-line JSON command, or NULL: enough
 * for the flat commands libvirt sends (no nesting of the same key).
 */
static const char *json_value(const char *line, const char *key)
{
    char quoted[64];
    const char *p;

    snprintf(quoted, sizeof(quoted), "\"%s\"", key);
    p = strstr(line, quoted);
    if (!p) {
        return NULL;
    }
    p += strlen(quoted);
    while (*p == ' ' || *p == ':') {
        p++;
    }
    return p;
}

static void ga_reply(int fd, const char *json)
{
    if (dprintf(fd, "%s\n", json) < 0) {
        perror("napagent: guest agent reply");
    }
}

/* The guest's wall clock from its RTC (UTC), as qemu-ga does by hwclock. */
static int set_time_from_rtc(void)
{
    struct rtc_time rt;
    struct tm tm = { 0 };
    struct timeval tv = { 0 };
    int fd = open("/dev/rtc0", O_RDONLY);
    int ret = -1;

    if (fd >= 0 && ioctl(fd, RTC_RD_TIME, &rt) == 0) {
        tm.tm_sec = rt.tm_sec;
        tm.tm_min = rt.tm_min;
        tm.tm_hour = rt.tm_hour;
        tm.tm_mday = rt.tm_mday;
        tm.tm_mon = rt.tm_mon;
        tm.tm_year = rt.tm_year;
        tv.tv_sec = timegm(&tm);
        ret = settimeofday(&tv, NULL);
    }
    if (fd >= 0) {
        close(fd);
    }
    return ret;
}

static void ga_command(int fd, const char *line)
{
    const char *cmd = json_value(line, "execute");
    const char *arg;
    char reply[128];

    if (!cmd || *cmd != '"') {
        ga_reply(fd, "{\"error\": {\"class\": \"GenericError\", "
                 "\"desc\": \"no command\"}}");
        return;
    }
    cmd++;
    if (!strncmp(cmd, "guest-sync\"", 11)) {
        unsigned long long id = 0;

        arg = json_value(line, "id");
        if (arg) {
            sscanf(arg, "%llu", &id);
        }
        snprintf(reply, sizeof(reply), "{\"return\": %llu}", id);
        ga_reply(fd, reply);
    } else if (!strncmp(cmd, "guest-ping\"", 11)) {
        ga_reply(fd, "{\"return\": {}}");
    } else if (!strncmp(cmd, "guest-get-time\"", 15)) {
        snprintf(reply, sizeof(reply), "{\"return\": %lld}",
                 clock_ns(CLOCK_REALTIME));
        ga_reply(fd, reply);
    } else if (!strncmp(cmd, "guest-set-time\"", 15)) {
        struct timespec ts;
        long long ns;
        int ret;

        arg = json_value(line, "time");
        if (!arg) {
            ret = set_time_from_rtc();
        } else if (sscanf(arg, "%lld", &ns) == 1 && ns >= 0) {
            ts.tv_sec = ns / 1000000000LL;
            ts.tv_nsec = ns % 1000000000LL;
            ret = clock_settime(CLOCK_REALTIME, &ts);
        } else {
            ret = -1;
        }
        ga_reply(fd, ret == 0 ? "{\"return\": {}}" :
                 "{\"error\": {\"class\": \"GenericError\", "
                 "\"desc\": \"setting the time failed\"}}");
    } else if (!strncmp(cmd, "guest-suspend-ram\"", 18)) {
        /*
         * No reply when it worked (QEMU's SUSPEND event is libvirt's
         * answer, as with qemu-ga); an error when it did not.
         */
        printf("napagent: guest agent: suspend to RAM\n");
        fflush(stdout);
        if (suspend_to_ram() < 0) {
            ga_reply(fd, "{\"error\": {\"class\": \"GenericError\", "
                     "\"desc\": \"suspend to RAM failed\"}}");
            return;
        }
        printf("napagent: guest agent: resumed\n");
        fflush(stdout);
    } else {
        ga_reply(fd, "{\"error\": {\"class\": \"CommandNotFound\", "
                 "\"desc\": \"not in the test guest's agent\"}}");
    }
}

/*
 * The guest agent's loop. A virtio-serial port reads as end of file
 * while no host side is connected (before libvirt connects, and while a
 * saved domain's new QEMU starts): wait and read again.
 */
static int guest_agent(const char *port)
{
    char line[1024];
    size_t len = 0;
    bool too_long = false;
    int fd = open(port, O_RDWR | O_NOCTTY);

    if (fd < 0) {
        perror(port);
        return 1;
    }
    for (;;) {
        unsigned char c;
        ssize_t n = read(fd, &c, 1);

        if (n <= 0) {
            len = 0;    /* the host went away: no half line carried over */
            too_long = false;
            usleep(100000);
            continue;
        }
        if (c == '\n') {
            line[len] = 0;
            if (too_long) {
                ga_reply(fd, "{\"error\": {\"class\": \"GenericError\", "
                         "\"desc\": \"command too long\"}}");
            } else if (len) {
                ga_command(fd, line);
            }
            len = 0;
            too_long = false;
        } else if (c < ' ' || c == 0xff) {
            continue;   /* control characters, a 0xff sync delimiter */
        } else if (len < sizeof(line) - 1) {
            line[len++] = c;
        } else {
            too_long = true;
        }
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
    if (argc == 3 && !strcmp(argv[1], "-g")) {
        return guest_agent(argv[2]);
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
