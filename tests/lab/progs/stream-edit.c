/*
 * stream-edit: read and corrupt the fork's "precise-tsc" section in a
 * QEMU migration stream saved to a file
 * (tests/lab/tests/precise-bad-stream.sh).
 *
 *   stream-edit show IN               the section's offsets and fields,
 *                                     key=value
 *   stream-edit set IN OUT FIELD VAL  copy IN to OUT with FIELD replaced;
 *                                     VAL is a number (0x.. allowed), or
 *                                     +N / -N added to the stored value
 *   stream-edit cut IN OUT N          OUT = IN cut N bytes into the
 *                                     section's fields
 *
 * The section (QEMU's savevm format, big-endian): a type byte
 * (QEMU_VM_SECTION_FULL 0x04 or QEMU_VM_SECTION_START 0x01), u32 section
 * id, u8 name length, the name, u32 instance id, u32 version id, then the
 * fields: u32 flags, u32 tsc_khz, i64 ref_tai_ns, u64 ref_kvmclock_ns,
 * u64 bracket_ns, u32 nr_vcpus, nr_vcpus x u64 guest_tsc, nr_vcpus x u64
 * tsc_adjust. The name also appears in the JSON description at the end of
 * the file; only an occurrence with the header bytes in front counts.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char name[] = "precise-tsc";

static const struct field {
    const char *name;
    unsigned off, size;
} fields[] = {
    { "flags", 0, 4 },
    { "tsc_khz", 4, 4 },
    { "ref_tai_ns", 8, 8 },
    { "ref_kvmclock_ns", 16, 8 },
    { "bracket_ns", 24, 8 },
    { "nr_vcpus", 32, 4 },
};
#define FIXED_SIZE 36

static void die(const char *fmt, const char *arg)
{
    fprintf(stderr, "stream-edit: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n");
    exit(2);
}

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    size_t cap = 0, n = 0, got;

    if (!f) {
        die("cannot open %s", path);
    }
    do {
        if (n == cap) {
            cap = cap ? cap * 2 : 1 << 20;
            buf = realloc(buf, cap);
            if (!buf) {
                die("out of memory reading %s", path);
            }
        }
        got = fread(buf + n, 1, cap - n, f);
        n += got;
    } while (got);
    fclose(f);
    *len = n;
    return buf;
}

static void spill(const char *path, const unsigned char *buf, size_t len)
{
    FILE *f = fopen(path, "wb");

    if (!f || fwrite(buf, 1, len, f) != len || fclose(f)) {
        die("cannot write %s", path);
    }
}

static uint64_t get_be(const unsigned char *p, unsigned size)
{
    uint64_t v = 0;

    for (unsigned i = 0; i < size; i++) {
        v = v << 8 | p[i];
    }
    return v;
}

static void put_be(unsigned char *p, unsigned size, uint64_t v)
{
    for (unsigned i = size; i-- > 0;) {
        p[i] = v & 0xff;
        v >>= 8;
    }
}

/* Offset of the first field, or exits. Sets *sect to the type byte. */
static size_t find_section(const unsigned char *buf, size_t len,
                           size_t *sect)
{
    size_t nl = strlen(name);

    for (size_t i = 6; i + nl + 8 + FIXED_SIZE <= len; i++) {
        if (buf[i - 1] != nl || memcmp(buf + i, name, nl)) {
            continue;
        }
        if (buf[i - 6] != 0x04 && buf[i - 6] != 0x01) {
            continue;
        }
        *sect = i - 6;
        return i + nl + 8;
    }
    die("no %s section header in the stream", name);
    return 0;
}

static const struct field *field_named(const char *f)
{
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        if (!strcmp(fields[i].name, f)) {
            return &fields[i];
        }
    }
    die("unknown field %s", f);
    return NULL;
}

/*
 * A decimal or 0x-hex number with an optional sign, wrapping modulo 2^64
 * (a "-N" delta is added as its two's complement). A hosted tool of its
 * own: QEMU's qemu_strto* are not linked in here.
 */
static bool parse_number(const char *s, uint64_t *out)
{
    bool neg = false;
    unsigned base = 10;
    uint64_t v = 0;

    if (*s == '+' || *s == '-') {
        neg = *s == '-';
        s++;
    }
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
    }
    if (!*s) {
        return false;
    }
    for (; *s; s++) {
        unsigned d;

        if (*s >= '0' && *s <= '9') {
            d = *s - '0';
        } else if (base == 16 && *s >= 'a' && *s <= 'f') {
            d = *s - 'a' + 10;
        } else if (base == 16 && *s >= 'A' && *s <= 'F') {
            d = *s - 'A' + 10;
        } else {
            return false;
        }
        v = v * base + d;
    }
    *out = neg ? -v : v;
    return true;
}

int main(int argc, char **argv)
{
    unsigned char *buf;
    size_t len, sect, fo;

    if (argc < 3) {
        fprintf(stderr, "usage: stream-edit show IN | set IN OUT FIELD VAL"
                " | cut IN OUT N\n");
        return 2;
    }
    buf = slurp(argv[2], &len);
    fo = find_section(buf, len, &sect);

    if (!strcmp(argv[1], "show")) {
        uint32_t n = get_be(buf + fo + 32, 4);

        printf("file_size=%zu\n", len);
        printf("section_offset=%zu\n", sect);
        printf("section_type=%u\n", buf[sect]);
        printf("section_id=%" PRIu64 "\n", get_be(buf + sect + 1, 4));
        printf("instance_id=%" PRIu64 "\n", get_be(buf + fo - 8, 4));
        printf("version_id=%" PRIu64 "\n", get_be(buf + fo - 4, 4));
        printf("fields_offset=%zu\n", fo);
        for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
            uint64_t v = get_be(buf + fo + fields[i].off, fields[i].size);

            if (!strcmp(fields[i].name, "ref_tai_ns")) {
                printf("%s=%" PRId64 "\n", fields[i].name, (int64_t)v);
            } else {
                printf("%s=%" PRIu64 "\n", fields[i].name, v);
            }
        }
        for (uint32_t i = 0; i < n && fo + FIXED_SIZE + 16 * n <= len; i++) {
            printf("guest_tsc.%u=%" PRIu64 "\n", i,
                   get_be(buf + fo + FIXED_SIZE + 8 * i, 8));
            printf("tsc_adjust.%u=%" PRIu64 "\n", i,
                   get_be(buf + fo + FIXED_SIZE + 8 * (n + i), 8));
        }
        printf("section_end=%zu\n", fo + FIXED_SIZE + 16 * (size_t)n);
        return 0;
    }
    if (!strcmp(argv[1], "set") && argc == 6) {
        const struct field *f = field_named(argv[4]);
        const char *val = argv[5];
        unsigned char *p = buf + fo + f->off;
        uint64_t v;

        if (!parse_number(val, &v)) {
            die("bad value %s", val);
        }
        if (val[0] == '+' || val[0] == '-') {
            v += get_be(p, f->size);
        }
        put_be(p, f->size, v);
        spill(argv[3], buf, len);
        return 0;
    }
    if (!strcmp(argv[1], "cut") && argc == 5) {
        uint64_t n;

        if (!parse_number(argv[4], &n)) {
            die("bad length %s", argv[4]);
        }
        spill(argv[3], buf, fo + n < len ? fo + n : len);
        return 0;
    }
    die("bad arguments (%s)", argv[1]);
    return 2;
}
