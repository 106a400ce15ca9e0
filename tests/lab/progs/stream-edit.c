/*
 * stream-edit: read and corrupt the fork's per-vCPU "cpu/precise-tsc"
 * subsections in a QEMU migration stream saved to a file
 * (tests/lab/tests/precise-bad-stream.sh).
 *
 *   stream-edit show IN                    every vCPU's subsection:
 *                                          offsets and fields, key=value
 *                                          (vcpus=N, then FIELD.I=...)
 *   stream-edit set IN OUT FIELD VAL [I]   copy IN to OUT with FIELD of
 *                                          the I-th subsection (default
 *                                          0) replaced; VAL is a number
 *                                          (0x.. allowed), or +N / -N
 *                                          added to the stored value
 *   stream-edit cut IN OUT N               OUT = IN cut N bytes into the
 *                                          first subsection's fields
 *
 * A subsection (QEMU's savevm format, big-endian): QEMU_VM_SUBSECTION
 * (0x05), u8 name length, the name, u32 version id, then the fields
 * (target/i386/kvm/precise-tsc-stream.c): u32 flags, u32 tsc_khz, i64
 * ref_tai_ns, i32 ref_tai_offset_s, u64 ref_kvmclock_ns, u64 bracket_ns,
 * u64 guest_tsc, u64 tsc_adjust. The name also appears in the JSON
 * description at the end of the file; only an occurrence with the
 * subsection byte in front and room for the fields counts, and the
 * subsections come in vCPU order (the CPUs' sections are saved so).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char name[] = "cpu/precise-tsc";

static const struct field {
    const char *name;
    unsigned off, size;
    bool is_signed;
} fields[] = {
    { "flags", 0, 4, false },
    { "tsc_khz", 4, 4, false },
    { "ref_tai_ns", 8, 8, true },
    { "ref_tai_offset_s", 16, 4, true },
    { "ref_kvmclock_ns", 20, 8, false },
    { "bracket_ns", 28, 8, false },
    { "guest_tsc", 36, 8, false },
    { "tsc_adjust", 44, 8, false },
};
#define FIELDS_SIZE 52
#define MAX_SUBSECTIONS 1024

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

/*
 * The offsets of every subsection's first field, in stream order, into
 * fo[]; returns how many (exits if none).
 */
static unsigned find_subsections(const unsigned char *buf, size_t len,
                                 size_t *fo)
{
    size_t nl = strlen(name);
    unsigned n = 0;

    for (size_t i = 2; i + nl + 4 + FIELDS_SIZE <= len; i++) {
        if (buf[i - 1] != nl || buf[i - 2] != 0x05 ||
            memcmp(buf + i, name, nl)) {
            continue;
        }
        if (n == MAX_SUBSECTIONS) {
            die("more than %s subsections", "1024");
        }
        fo[n++] = i + nl + 4;
        i += nl + 4 + FIELDS_SIZE - 1;
    }
    if (!n) {
        die("no %s subsection in the stream", name);
    }
    return n;
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
    static size_t fo[MAX_SUBSECTIONS];
    unsigned char *buf;
    size_t len;
    unsigned n;

    if (argc < 3) {
        fprintf(stderr, "usage: stream-edit show IN | set IN OUT FIELD VAL"
                " [I] | cut IN OUT N\n");
        return 2;
    }
    buf = slurp(argv[2], &len);
    n = find_subsections(buf, len, fo);

    if (!strcmp(argv[1], "show")) {
        printf("file_size=%zu\n", len);
        printf("vcpus=%u\n", n);
        for (unsigned i = 0; i < n; i++) {
            printf("fields_offset.%u=%zu\n", i, fo[i]);
            printf("version_id.%u=%" PRIu64 "\n", i,
                   get_be(buf + fo[i] - 4, 4));
            for (size_t k = 0; k < sizeof(fields) / sizeof(fields[0]); k++) {
                uint64_t v = get_be(buf + fo[i] + fields[k].off,
                                    fields[k].size);

                if (fields[k].is_signed && fields[k].size == 4) {
                    printf("%s.%u=%" PRId32 "\n", fields[k].name, i,
                           (int32_t)v);
                } else if (fields[k].is_signed) {
                    printf("%s.%u=%" PRId64 "\n", fields[k].name, i,
                           (int64_t)v);
                } else {
                    printf("%s.%u=%" PRIu64 "\n", fields[k].name, i, v);
                }
            }
        }
        return 0;
    }
    if (!strcmp(argv[1], "set") && (argc == 6 || argc == 7)) {
        const struct field *f = field_named(argv[4]);
        const char *val = argv[5];
        uint64_t v, idx = 0;
        unsigned char *p;

        if (!parse_number(val, &v)) {
            die("bad value %s", val);
        }
        if (argc == 7 && (!parse_number(argv[6], &idx) || idx >= n)) {
            die("no subsection %s", argv[6]);
        }
        p = buf + fo[idx] + f->off;
        if (val[0] == '+' || val[0] == '-') {
            v += get_be(p, f->size);
        }
        put_be(p, f->size, v);
        spill(argv[3], buf, len);
        return 0;
    }
    if (!strcmp(argv[1], "cut") && argc == 5) {
        uint64_t cut;

        if (!parse_number(argv[4], &cut)) {
            die("bad length %s", argv[4]);
        }
        spill(argv[3], buf, fo[0] + cut < len ? fo[0] + cut : len);
        return 0;
    }
    die("bad arguments (%s)", argv[1]);
    return 2;
}
