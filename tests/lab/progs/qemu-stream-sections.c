/*
 * qemu-stream-sections: list the sections of a QEMU migration stream saved
 * to a file (migrate "file:..."), so two QEMUs' streams of the same guest
 * can be compared section by section.
 *
 * The stream (QEMU 10.0, migration/savevm.c):
 *
 *   be32 magic "QEVM", be32 version 3
 *   [0x07 configuration: be32 len, machine type name, then subsections
 *    0x05 u8 len, name, be32 version, content]
 *   items until 0x00 (EOF):
 *     0x01 START / 0x04 FULL: be32 section id, u8 len, idstr,
 *          be32 instance id, be32 version id, content, footer
 *     0x02 PART / 0x03 END: be32 section id, content, footer
 *     0x08 COMMAND: be16 command, be16 len, data
 *     footer: 0x7e, be32 section id (machine types since 2.4)
 *   [0x06 VMDESCRIPTION: be32 len, JSON]
 *
 * A section's content is not self-delimiting (only the VMStateDescription
 * knows its fields), so the end of a section is found by its footer: the
 * first 0x7e + its id that is followed by a well-formed next item (the
 * next header, a command, or EOF with nothing but the JSON description
 * after it). The JSON lists every device section (name, instance id) in
 * the order they were saved; the FULL sections found must be exactly
 * that list, which checks the scan.
 *
 * Usage: qemu-stream-sections FILE
 * Output, one line per item, in stream order:
 *   configuration <machine type>
 *   subsection <name> <version>           (of the configuration)
 *   start|full <idstr> <instance id> <version id>
 *   command <number>
 *   eof
 *   vmdesc <n> devices                     (checked against the FULL list)
 * PART and END items are counted: "# part=N end=N" at the end.
 * Exit status 0, or 1 with "error: ..." on stderr for a malformed stream.
 *
 * Copyright (c) 2026 qemu-tsc-fork contributors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VM_MAGIC        0x5145564du
#define VM_VERSION      3
#define VM_EOF          0x00
#define VM_START        0x01
#define VM_PART         0x02
#define VM_END          0x03
#define VM_FULL         0x04
#define VM_SUBSECTION   0x05
#define VM_VMDESC       0x06
#define VM_CONFIG       0x07
#define VM_COMMAND      0x08
#define VM_FOOTER       0x7e

#define MAX_SECTIONS    4096

static const unsigned char *buf;
static size_t size;
static const char *path;

/* FULL sections seen: idstr and instance id, for the JSON check. */
static char *full_name[MAX_SECTIONS];
static uint32_t full_inst[MAX_SECTIONS];
static int nr_full;
/* Ids of the START sections: only these may have PART and END items. */
static uint32_t started[MAX_SECTIONS];
static int nr_started;

static void die(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "error: %s: ", path);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

static int avail(size_t pos, size_t n)
{
    return pos <= size && size - pos >= n;
}

static uint32_t be32(size_t pos)
{
    return (uint32_t)buf[pos] << 24 | (uint32_t)buf[pos + 1] << 16 |
           (uint32_t)buf[pos + 2] << 8 | buf[pos + 3];
}

static uint32_t need32(size_t *pos, const char *what)
{
    uint32_t v;

    if (!avail(*pos, 4)) {
        die("stream ends inside %s at offset %zu", what, *pos);
    }
    v = be32(*pos);
    *pos += 4;
    return v;
}

static int is_started(uint32_t id)
{
    int i;

    for (i = 0; i < nr_started; i++) {
        if (started[i] == id) {
            return 1;
        }
    }
    return 0;
}

static int printable(size_t pos, size_t len)
{
    size_t i;

    for (i = 0; i < len; i++) {
        if (buf[pos + i] < 0x20 || buf[pos + i] > 0x7e) {
            return 0;
        }
    }
    return 1;
}

/* Does a well-formed item start at POS (what may follow a footer)? */
static int item_at(size_t pos)
{
    size_t len;

    if (!avail(pos, 1)) {
        return 0;
    }
    switch (buf[pos]) {
    case VM_EOF:
        /* Nothing after it but, optionally, the JSON description. */
        if (pos + 1 == size) {
            return 1;
        }
        if (!avail(pos + 1, 5) || buf[pos + 1] != VM_VMDESC) {
            return 0;
        }
        return avail(pos + 6, be32(pos + 2)) &&
               buf[pos + 6] == '{';
    case VM_START:
    case VM_FULL:
        if (!avail(pos, 6)) {
            return 0;
        }
        len = buf[pos + 5];
        return len > 0 && avail(pos + 6, len + 8) && printable(pos + 6, len);
    case VM_PART:
    case VM_END:
        return avail(pos, 5) && is_started(be32(pos + 1));
    case VM_COMMAND:
        return avail(pos, 5) && buf[pos + 1] == 0 && buf[pos + 2] < 32 &&
               avail(pos + 5, (size_t)buf[pos + 3] << 8 | buf[pos + 4]);
    default:
        return 0;
    }
}

/* Skip a section's content: return the offset just after its footer. */
static size_t skip_content(size_t pos, uint32_t id, const char *name)
{
    const unsigned char *p;

    while (avail(pos, 5)) {
        p = memchr(buf + pos, VM_FOOTER, size - pos - 4);
        if (!p) {
            break;
        }
        pos = p - buf;
        if (be32(pos + 1) == id && item_at(pos + 5)) {
            return pos + 5;
        }
        pos++;
    }
    die("no footer found for section %u (%s)", id, name);
    return 0;
}

static void config(size_t *pos)
{
    uint32_t len = need32(pos, "configuration");
    char name[256];
    size_t n;

    if (!avail(*pos, len) || len >= sizeof(name)) {
        die("bad configuration name length %u", len);
    }
    memcpy(name, buf + *pos, len);
    name[len] = 0;
    *pos += len;
    printf("configuration %s\n", name);
    while (avail(*pos, 2) && buf[*pos] == VM_SUBSECTION) {
        n = buf[*pos + 1];
        if (!avail(*pos + 2, n + 4) || n >= sizeof(name)) {
            die("bad configuration subsection at offset %zu", *pos);
        }
        memcpy(name, buf + *pos + 2, n);
        name[n] = 0;
        *pos += 2 + n;
        printf("subsection %s %u\n", name, need32(pos, "subsection"));
        if (!strcmp(name, "configuration/target-page-bits")) {
            *pos += 4;
        } else if (!strcmp(name, "configuration/capabilities")) {
            uint32_t i, count = need32(pos, "capabilities");

            for (i = 0; i < count && avail(*pos, 1); i++) {
                *pos += 1 + buf[*pos];
            }
        } else if (!strcmp(name, "configuration/uuid")) {
            *pos += 16;
        } else {
            die("unknown configuration subsection %s", name);
        }
    }
}

/*
 * The device list of the JSON description, in order: every object that
 * starts with "name" followed by "instance_id" (fields have no instance
 * id). Returns how many there were; each must match the FULL sections.
 */
static int check_vmdesc(size_t pos, size_t len)
{
    static const char key[] = "{\"name\": \"";
    char *json = malloc(len + 1);
    char *p, *q, *e;
    unsigned long inst;
    int n = 0;

    if (!json) {
        die("out of memory");
    }
    memcpy(json, buf + pos, len);
    json[len] = 0;
    for (p = strstr(json, key); p; p = strstr(p, key)) {
        p += sizeof(key) - 1;
        q = strchr(p, '"');
        if (!q || strncmp(q, "\", \"instance_id\": ", 18)) {
            continue;
        }
        *q = 0;
        inst = 0;
        for (e = q + 18; *e >= '0' && *e <= '9'; e++) {
            inst = inst * 10 + (*e - '0');
        }
        if (n >= nr_full || strcmp(full_name[n], p) ||
            full_inst[n] != inst) {
            die("JSON device %d is %s %lu, the stream's FULL section %s",
                n, p, inst, n < nr_full ? full_name[n] : "(none)");
        }
        n++;
        p = e;
    }
    if (n != nr_full) {
        die("JSON lists %d devices, the stream has %d FULL sections",
            n, nr_full);
    }
    free(json);
    return n;
}

int main(int argc, char **argv)
{
    size_t pos = 8, len, cap = 0;
    int parts = 0, ends = 0, type;
    uint32_t id, inst, ver;
    unsigned char *data = NULL;
    size_t n;
    FILE *f;
    char name[256];

    if (argc != 2) {
        fprintf(stderr, "usage: qemu-stream-sections FILE\n");
        return 2;
    }
    path = argv[1];
    f = fopen(path, "rb");
    if (!f) {
        die("cannot open");
    }
    do {
        if (size == cap) {
            cap = cap ? cap * 2 : 1 << 20;
            data = realloc(data, cap);
            if (!data) {
                die("out of memory");
            }
        }
        n = fread(data + size, 1, cap - size, f);
        size += n;
    } while (n > 0);
    fclose(f);
    buf = data;

    if (!avail(0, 8) || be32(0) != VM_MAGIC) {
        die("not a QEMU migration stream (no QEVM magic)");
    }
    if (be32(4) != VM_VERSION) {
        die("stream version %u, not %u", be32(4), VM_VERSION);
    }
    if (avail(pos, 1) && buf[pos] == VM_CONFIG) {
        pos++;
        config(&pos);
    }
    for (;;) {
        if (!avail(pos, 1)) {
            die("stream ends at offset %zu without EOF", pos);
        }
        type = buf[pos++];
        switch (type) {
        case VM_START:
        case VM_FULL:
            id = need32(&pos, "section header");
            if (!avail(pos, 1) || !avail(pos + 1, buf[pos] + 8)) {
                die("stream ends inside section header %u", id);
            }
            len = buf[pos];
            memcpy(name, buf + pos + 1, len);
            name[len] = 0;
            pos += 1 + len;
            inst = need32(&pos, "section header");
            ver = need32(&pos, "section header");
            printf("%s %s %u %u\n", type == VM_START ? "start" : "full",
                   name, inst, ver);
            if (type == VM_START) {
                if (nr_started == MAX_SECTIONS) {
                    die("too many sections");
                }
                started[nr_started++] = id;
            } else {
                if (nr_full == MAX_SECTIONS) {
                    die("too many sections");
                }
                full_name[nr_full] = strdup(name);
                full_inst[nr_full++] = inst;
            }
            pos = skip_content(pos, id, name);
            break;
        case VM_PART:
        case VM_END:
            id = need32(&pos, "section header");
            if (!is_started(id)) {
                die("%s item for section %u, which never started",
                    type == VM_PART ? "PART" : "END", id);
            }
            if (type == VM_PART) {
                parts++;
            } else {
                ends++;
            }
            pos = skip_content(pos, id, "iterable");
            break;
        case VM_COMMAND:
            if (!avail(pos, 4)) {
                die("stream ends inside a command");
            }
            printf("command %u\n", (unsigned)(buf[pos] << 8 | buf[pos + 1]));
            pos += 4 + (buf[pos + 2] << 8 | buf[pos + 3]);
            break;
        case VM_EOF:
            printf("eof\n");
            if (avail(pos, 5) && buf[pos] == VM_VMDESC) {
                len = be32(pos + 1);
                if (!avail(pos + 5, len)) {
                    die("JSON description runs past the end");
                }
                printf("vmdesc %d devices\n", check_vmdesc(pos + 5, len));
            }
            printf("# part=%d end=%d\n", parts, ends);
            return 0;
        default:
            die("unknown item type 0x%02x at offset %zu", type, pos - 1);
        }
    }
}
