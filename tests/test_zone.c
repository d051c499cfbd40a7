/*
 * test_zone: every zone method gives zeroed, aligned memory shared across
 * fork at the same address; posix zones attach by name elsewhere and refuse
 * corrupt control blocks; refusals say why and leak nothing.
 *
 * Every refusal of zone_create, zone_attach, zone_unlink and zone_resident
 * that can be provoked is checked for its exact message: bad sizes and
 * alignments, names missing or too long, sizes whose arithmetic overflows,
 * mappings the kernel refuses (2^63 bytes), a name in use, objects too small
 * or with a wrong field, the same call made twice, a stale handle, and, in
 * children, no descriptor or no address space left (resource limits).
 * Without huge pages, hugetlb's refusal names /proc/sys/vm/nr_hugepages.
 * Failures no limit provokes (fstat, IPC_RMID, an unreadable or made-up
 * /proc/meminfo) are injected through `ld --wrap` (see test_injected).
 *
 * `test_zone hugetlb` runs the common checks over a hugetlb zone, which the
 * default run leaves out; without huge pages it exits with TEST_SKIPPED.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "substrate/diag.h"
#include "testutil.h"
#include "testskip.h"
#include "substrate/zone.h"


#define MIB (1024 * 1024)

_Static_assert(sizeof(struct zone_ctl) == ZONE_CTL_SIZE, "zone_ctl size");
_Static_assert(offsetof(struct zone_ctl, lockstat) == ZONE_HEAD_SIZE,
               "lockstat offset");

static char names[8][ZONE_NAME_MAX];
static int  nnames;

static const char *
test_name(const char *what)
{
    char *n = names[nnames++ % 8];

    snprintf(n, ZONE_NAME_MAX, "/shmbench-test-zone-%d-%s", (int) getpid(),
             what);
    return n;
}

static int
count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    int  n = 0;

    if (d == NULL) {
        return -1;
    }
    while (readdir(d) != NULL) {
        n++;
    }
    closedir(d);
    return n;
}

static int
all_zero(const unsigned char *p, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (p[i] != 0) {
            return 0;
        }
    }
    return 1;
}

/* One method, one alignment: the common checks.  -1 if the method is not
 * available here (hugetlb without huge pages), else 0. */
static int
test_method(enum zone_method method, size_t align)
{
    struct zone    z;
    const char    *mname = zone_method_name(method);
    const char    *name = method == ZONE_POSIX ? test_name("m") : NULL;
    size_t         page = zone_os_page(), size = MIB, i;
    long long      r0, r1;
    pid_t          pid;
    unsigned char *base;

    if (zone_create(&z, method, size, align, name) != 0) {
        if (method == ZONE_HUGETLB) {
            CHECK(strstr(diag_last(), "nr_hugepages") != NULL,
                  "hugetlb refusal does not name nr_hugepages: %s",
                  diag_last());
            CHECK(strstr(diag_last(), "zone_create(hugetlb)") != NULL,
                  "%s", diag_last());
            CHECK(z.map == NULL && z.base == NULL, "handle not cleared");
            printf("skip hugetlb: not available: %s\n", diag_last());
            return -1;
        }
        CHECK(0, "zone_create(%s, align %zu): %s", mname, align, diag_last());
        return 0;
    }

    CHECK(z.base != NULL && z.size == size && z.method == method && z.owner,
          "%s: handle", mname);
    CHECK(((uintptr_t) z.base & (align - 1)) == 0,
          "%s: base %p not aligned to %zu", mname, (void *) z.base, align);
    CHECK((unsigned char *) z.ctl == z.map, "%s: ctl != map", mname);
    CHECK(memcmp(z.ctl->magic, ZONE_MAGIC, 8) == 0, "%s: magic", mname);
    CHECK(z.ctl->version == ZONE_VERSION, "%s: version", mname);
    CHECK(z.ctl->method == (uint32_t) method, "%s: method", mname);
    CHECK(z.ctl->map_size == z.map_size, "%s: map_size", mname);
    CHECK(z.ctl->base_off == (uint64_t) (z.base - z.map)
          && z.ctl->base_off >= ZONE_CTL_SIZE, "%s: base_off %llu", mname,
          (unsigned long long) z.ctl->base_off);
    CHECK(z.ctl->base_off + z.ctl->size <= z.ctl->map_size,
          "%s: region past the mapping", mname);
    CHECK(z.ctl->base_off < ZONE_CTL_SIZE + align + page,
          "%s: base_off %llu wastes more than align", mname,
          (unsigned long long) z.ctl->base_off);
    CHECK(z.ctl->size == size && z.ctl->align >= align, "%s: size/align",
          mname);
    CHECK(z.ctl->page_size == 0 && z.ctl->allocator[0] == '\0'
          && atomic_load(&z.ctl->formatted) == 0, "%s: allocator fields set",
          mname);
    CHECK(method == ZONE_POSIX ? strcmp(z.ctl->name, name) == 0
                                 && strcmp(z.name, name) == 0
                               : z.ctl->name[0] == '\0',
          "%s: name \"%s\"", mname, z.ctl->name);
    CHECK((method == ZONE_SYSV) == (z.shmid != -1), "%s: shmid %d", mname,
          z.shmid);

    base = z.base;
    if (method != ZONE_HUGETLB) {
        r0 = zone_resident(&z);
        CHECK(r0 >= 0 && r0 <= (long long) (4 * page),
              "%s: fresh zone has %lld resident bytes", mname, r0);
        for (i = 0; i < 64; i++) {
            base[i * page + 1] = 1;
        }
        r1 = zone_resident(&z);
        CHECK(r1 >= r0 + (long long) (64 * page) && r1 <= (long long) size,
              "%s: resident %lld -> %lld after touching 64 pages", mname,
              r0, r1);
        for (i = 0; i < 64; i++) {
            base[i * page + 1] = 0;
        }
    }
    CHECK(all_zero(base, size), "%s: region not zero", mname);
    CHECK(all_zero(z.map + ZONE_HEAD_SIZE, ZONE_CTL_SIZE - ZONE_HEAD_SIZE),
          "%s: lockstat not zero", mname);
    CHECK(method == ZONE_HUGETLB || zone_resident(&z) == (long long) size,
          "%s: resident %lld after reading everything", mname,
          zone_resident(&z));

    pid = fork();
    if (pid == 0) {
        for (i = 0; i < size; i += 4096) {
            base[i] = (unsigned char) (i / 4096 * 7 + 3);
        }
        base[size - 1] = 0xA5;
        _exit(0);
    }
    CHECK(wait_child(pid) == 0, "%s: writer child", mname);
    for (i = 0; i < size; i += 4096) {
        if (base[i] != (unsigned char) (i / 4096 * 7 + 3)) {
            break;
        }
    }
    CHECK(i >= size && base[size - 1] == 0xA5,
          "%s: parent does not see the child's writes (offset %zu)", mname, i);

    zone_destroy(&z);
    CHECK(z.map == NULL && z.base == NULL, "%s: destroy clears", mname);
    if (method == ZONE_POSIX) {
        int fd = shm_open(name, O_RDONLY, 0);
        CHECK(fd == -1 && errno == ENOENT, "posix: name left after destroy");
        if (fd != -1) {
            close(fd);
            shm_unlink(name);
        }
    }
    return 0;
}

/* A child attaches the posix zone by name at another address. */
static void
test_attach(void)
{
    struct zone z, a;
    const char *name = test_name("attach");
    pid_t       pid;
    int         st;
    char        bare[ZONE_NAME_MAX];

    if (zone_create(&z, ZONE_POSIX, MIB, 65536, name + 1) != 0) {
        CHECK(0, "zone_create(posix): %s", diag_last());
        return;
    }
    CHECK(strcmp(z.name, name) == 0, "leading '/' not added: \"%s\"", z.name);
    strcpy(z.ctl->allocator, "testalloc");
    z.ctl->page_size = 4096;
    memcpy(z.base, "hello", 6);
    memcpy(z.base + MIB - 6, "world", 6);

    pid = fork();
    if (pid == 0) {
        int bad = 0;
        if (zone_attach(&a, name, 1) != 0) {
            fprintf(stderr, "child: zone_attach: %s\n", diag_last());
            _exit(10);
        }
        bad |= a.base == z.base;              /* second mapping elsewhere */
        bad |= (a.owner != 0) << 1;
        bad |= (!a.readonly) << 2;
        bad |= (a.size != MIB || a.map_size != z.map_size) << 3;
        bad |= (a.ctl->base_off != z.ctl->base_off) << 4;
        bad |= (strcmp(a.ctl->allocator, "testalloc") != 0
                || a.ctl->page_size != 4096) << 5;
        bad |= (strcmp((char *) a.base, "hello") != 0
                || strcmp((char *) a.base + MIB - 6, "world") != 0) << 6;
        bad |= (strcmp(a.name, name) != 0) << 7;
        zone_destroy(&a);
        /* read-write, by the name without '/', writes seen by the creator */
        if (zone_attach(&a, name + 1, 0) != 0) {
            _exit(11);
        }
        memcpy(a.base + 100, "child", 6);
        zone_destroy(&a);
        _exit(bad);
    }
    st = wait_child(pid);
    CHECK(st == 0, "attaching child failed: status %d", st);
    CHECK(strcmp((char *) z.base + 100, "child") == 0,
          "write through the attached mapping not seen");

    /* the attacher's destroy did not remove the name */
    if (zone_attach(&a, name, 1) == 0) {
        test_passed++;
        zone_destroy(&a);
    } else {
        CHECK(0, "name gone after a non-owner's destroy: %s", diag_last());
    }

    /* zone_unlink removes the name now; destroy is then a plain unmap */
    CHECK(zone_unlink(&z) == 0, "zone_unlink: %s", diag_last());
    CHECK(zone_attach(&a, name, 1) == -1 && strstr(diag_last(), "shm_open"),
          "attach after unlink: %s", diag_last());
    CHECK(strcmp((char *) z.base, "hello") == 0, "mapping lost after unlink");
    zone_destroy(&z);

    snprintf(bare, sizeof(bare), "%s", "/shmbench-test-zone-none-such");
    CHECK(zone_attach(&a, bare, 0) == -1
          && strstr(diag_last(), "No such file") != NULL,
          "attach of a missing name: %s", diag_last());
    CHECK(a.map == NULL, "handle set on failure");
}

/* Corrupt one thing in a fresh posix zone; attach must refuse naming `field`. */
typedef void (*corrupt_fn)(struct zone *z, const char *name);

static void c_magic(struct zone *z, const char *n)
{ (void) n; z->ctl->magic[0] = 'X'; }
static void c_version(struct zone *z, const char *n)
{ (void) n; z->ctl->version = 99; }
static void c_method(struct zone *z, const char *n)
{ (void) n; z->ctl->method = ZONE_ANON; }
static void c_map_size(struct zone *z, const char *n)
{ (void) n; z->ctl->map_size += 4096; }
static void c_base_off_huge(struct zone *z, const char *n)
{ (void) n; z->ctl->base_off = UINT64_C(1) << 62; }
static void c_base_off_wrap(struct zone *z, const char *n)
{ (void) n; z->ctl->base_off = UINT64_MAX - 100; }
static void c_base_off_small(struct zone *z, const char *n)
{ (void) n; z->ctl->base_off = 64; }
static void c_size(struct zone *z, const char *n)
{ (void) n; z->ctl->size = UINT64_MAX - 10; }
static void c_size_tail(struct zone *z, const char *n)
{ (void) n; z->ctl->size = z->ctl->map_size - z->ctl->base_off + 1; }
static void c_name(struct zone *z, const char *n)
{ (void) n; memset(z->ctl->name, 'a', ZONE_NAME_MAX); }
static void c_allocator(struct zone *z, const char *n)
{ (void) n; memset(z->ctl->allocator, 'a', ZONE_ALLOC_NAME_MAX); }

static void
c_truncate(struct zone *z, const char *n)
{
    int fd = shm_open(n, O_RDWR, 0);
    (void) z;
    if (fd == -1 || ftruncate(fd, MIB / 2) == -1) {
        fprintf(stderr, "truncate: %s\n", strerror(errno));
    }
    if (fd != -1) {
        close(fd);
    }
}

static void
c_truncate_tiny(struct zone *z, const char *n)
{
    int fd = shm_open(n, O_RDWR, 0);
    (void) z;
    if (fd == -1 || ftruncate(fd, 100) == -1) {
        fprintf(stderr, "truncate: %s\n", strerror(errno));
    }
    if (fd != -1) {
        close(fd);
    }
}

static void
test_corrupt(const char *what, corrupt_fn fn, const char *field)
{
    struct zone z, a;
    const char *name = test_name("corrupt");
    pid_t       pid;
    int         st;

    if (zone_create(&z, ZONE_POSIX, MIB, 0, name) != 0) {
        CHECK(0, "zone_create(posix): %s", diag_last());
        return;
    }
    fn(&z, name);
    /* in a child, so that a crash shows as a failure, not as the end */
    pid = fork();
    if (pid == 0) {
        unsigned long before = diag_count();
        if (zone_attach(&a, name, 1) != -1) {
            _exit(1);
        }
        if (diag_count() == before || strstr(diag_last(), field) == NULL) {
            fprintf(stderr, "%s: message does not name %s: %s\n", what,
                    field, diag_last());
            _exit(2);
        }
        if (a.map != NULL) {
            _exit(3);
        }
        if (zone_attach(&a, name, 0) != -1) {
            _exit(4);
        }
        printf("corrupt %-14s -> %s\n", what, diag_last());
        _exit(0);
    }
    st = wait_child(pid);
    CHECK(st == 0, "corrupt %s: attach child status %d", what, st);
    zone_destroy(&z);           /* only unmaps: the zone is never touched */
}

static void
test_foreign(void)
{
    struct zone a;
    const char *name = test_name("foreign");
    int         fd = shm_open(name, O_CREAT | O_EXCL | O_RDWR, 0600);
    char        junk[4096];

    if (fd == -1) {
        CHECK(0, "shm_open: %s", strerror(errno));
        return;
    }
    memset(junk, 0x5A, sizeof(junk));
    for (int i = 0; i < 8; i++) {
        if (write(fd, junk, sizeof(junk)) != (ssize_t) sizeof(junk)) {
            break;
        }
    }
    close(fd);
    CHECK(zone_attach(&a, name, 0) == -1 && strstr(diag_last(), "magic"),
          "foreign object: %s", diag_last());
    shm_unlink(name);
}

static void
test_refusals(void)
{
    struct zone      z;
    enum zone_method m;
    int              i;
    char             longname[200];

    for (i = 0; i < ZONE_METHOD_COUNT; i++) {
        const char *mname = zone_method_name((enum zone_method) i);
        unsigned long before = diag_count();
        CHECK(zone_create(&z, (enum zone_method) i, 0, 0, test_name("zero"))
              == -1 && diag_count() > before
              && strstr(diag_last(), mname) != NULL,
              "%s: size 0: %s", mname, diag_last());
        CHECK(z.map == NULL, "handle set on failure");
        CHECK(zone_create(&z, (enum zone_method) i, MIB, 3 * 4096,
                          test_name("align")) == -1
              && strstr(diag_last(), "power of two"),
              "%s: align 12288: %s", mname, diag_last());
        CHECK(zone_method_parse(mname, &m) == 0 && m == (enum zone_method) i,
              "parse %s", mname);
    }
    CHECK(zone_create(&z, ZONE_POSIX, MIB, 0, NULL) == -1
          && strstr(diag_last(), "posix") && strstr(diag_last(), "name"),
          "posix without a name: %s", diag_last());
    CHECK(zone_create(&z, ZONE_POSIX, MIB, 0, "") == -1,
          "posix with an empty name");
    memset(longname, 'x', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    CHECK(zone_create(&z, ZONE_POSIX, MIB, 0, longname) == -1
          && strstr(diag_last(), "too long"), "long name: %s", diag_last());
    CHECK(zone_create(&z, ZONE_ANON, SIZE_MAX - 4096, 0, NULL) == -1
          && strstr(diag_last(), "anon"), "huge size: %s", diag_last());
    CHECK(zone_create(&z, (enum zone_method) 42, MIB, 0, NULL) == -1,
          "method 42");
    CHECK(zone_method_parse("bogus", &m) == -1, "bogus parsed");
    CHECK(zone_method_parse("", &m) == -1, "empty parsed");
    CHECK(strcmp(zone_method_name(ZONE_HUGETLB), "hugetlb") == 0, "name");
    CHECK(zone_os_page() == (size_t) sysconf(_SC_PAGESIZE), "os page");

    /* unlink of a nameless zone */
    if (zone_create(&z, ZONE_ANON, 4096, 0, NULL) == 0) {
        CHECK(zone_unlink(&z) == -1, "unlink of an anon zone");
        CHECK(zone_resident(&z) == 0, "resident of a fresh page");
        z.base[0] = 1;
        CHECK(zone_resident(&z) == 4096, "resident of a touched page");
        zone_destroy(&z);
    }
    /* a size that is not a page multiple: resident clipped to size */
    if (zone_create(&z, ZONE_DEVZERO, 5000, 0, NULL) == 0) {
        memset(z.base, 1, 5000);
        CHECK(zone_resident(&z) == 5000, "resident %lld of 5000",
              zone_resident(&z));
        zone_destroy(&z);
    }
    CHECK(zone_resident(&z) == -1, "resident of a destroyed zone");
}

/*
 * Refusals, message for message.  Every refusal below must give -1, record
 * exactly one message, the one built here as the code builds it (strerror
 * of the errno the kernel gives for that case), leave the handle cleared and
 * leave nothing behind: no posix name (test_leftovers at the end looks), no
 * descriptor, no mapping (main counts both around everything).
 */

/* Nothing mapped, owned or to be removed by zone_destroy. */
static int
handle_cleared(const struct zone *z)
{
    return z->map == NULL && z->base == NULL && z->ctl == NULL && z->size == 0
           && z->map_size == 0 && z->shmid == -1 && z->owner == 0 && z->ops == NULL;
}

static int
name_exists(const char *name)
{
    int fd = shm_open(name, O_RDONLY, 0);

    if (fd == -1) {
        return 0;
    }
    close(fd);
    return 1;
}

/* The control block rounded up to the OS page, as zone_create lays it out. */
static size_t
head_bytes(void)
{
    size_t page = zone_os_page();

    return (ZONE_CTL_SIZE + page - 1) & ~(page - 1);
}

/* Huge page size and counts from /proc/meminfo (2 MiB, -1 if unknown). */
static size_t
huge_pages(long *total, long *nfree)
{
    FILE         *f = fopen("/proc/meminfo", "r");
    char          line[128];
    unsigned long v;
    size_t        size = 2 * MIB;

    *total = *nfree = -1;
    while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
        if (sscanf(line, "Hugepagesize: %lu kB", &v) == 1) {
            size = (size_t) v * 1024;
        } else if (sscanf(line, "HugePages_Total: %lu", &v) == 1) {
            *total = (long) v;
        } else if (sscanf(line, "HugePages_Free: %lu", &v) == 1) {
            *nfree = (long) v;
        }
    }
    if (f != NULL) {
        fclose(f);
    }
    return size;
}

/* zone_create must refuse with exactly the message `want`. */
static void
refused(const char *what, enum zone_method method, size_t size, size_t align,
    const char *name, const char *want)
{
    struct zone   z;
    unsigned long before = diag_count();
    int           rc;

    memset(&z, 0x5a, sizeof(z));
    rc = zone_create(&z, method, size, align, name);
    CHECK(rc == -1, "%s: zone_create accepted", what);
    if (rc == 0) {
        zone_destroy(&z);
        return;
    }
    CHECK(diag_count() == before + 1, "%s: %lu messages", what, diag_count() - before);
    CHECK(strcmp(diag_last(), want) == 0, "%s: \"%s\", expected \"%s\"", what, diag_last(),
          want);
    CHECK(handle_cleared(&z), "%s: handle not cleared", what);
    if (name != NULL && name[0] == '/' && strlen(name) < ZONE_NAME_MAX) {
        CHECK(!name_exists(name), "%s: \"%s\" left in /dev/shm", what, name);
    }
}

static void
test_create_refusals(void)
{
    const size_t page = zone_os_page(), head = head_bytes();
    const size_t far = (size_t) 1 << 63;            /* an alignment no mapping gets */
    struct zone  z, y;
    char         want[512], name63[ZONE_NAME_MAX + 8], what[64];
    const char  *name;
    size_t       huge, map;
    long         total, nfree;
    int          i;

    for (i = 0; i < ZONE_METHOD_COUNT; i++) {
        const char *m = zone_method_name((enum zone_method) i);

        snprintf(what, sizeof(what), "%s, 0 bytes", m);
        snprintf(want, sizeof(want), "zone_create(%s): a zone of 0 bytes was asked for", m);
        refused(what, (enum zone_method) i, 0, 0, test_name("r"), want);
        snprintf(what, sizeof(what), "%s, align 12288", m);
        snprintf(want, sizeof(want), "zone_create(%s): alignment 12288 is not a power of two",
                 m);
        refused(what, (enum zone_method) i, MIB, 12288, test_name("r"), want);
    }
    refused("method 42", (enum zone_method) 42, MIB, 0, NULL, "zone_create: unknown method 42");
    refused("method -1", (enum zone_method) -1, MIB, 0, NULL, "zone_create: unknown method -1");
    refused("posix, no name", ZONE_POSIX, MIB, 0, NULL,
            "zone_create(posix): a posix zone needs a name");
    refused("posix, empty name", ZONE_POSIX, MIB, 0, "",
            "zone_create(posix): a posix zone needs a name");

    /* names: 63 bytes with the '/' fit, 64 do not (the '/' added counts) */
    memset(name63, 'n', sizeof(name63));
    name63[0] = '/';
    name63[ZONE_NAME_MAX - 1] = '\0';
    if (zone_create(&z, ZONE_POSIX, MIB, 0, name63) == 0) {
        CHECK(strcmp(z.name, name63) == 0 && strcmp(z.ctl->name, name63) == 0,
              "63-byte name stored as \"%s\"", z.name);
        CHECK(zone_attach(&y, name63 + 1, 1) == 0, "attach by the 62 bytes without '/': %s",
              diag_last());
        zone_destroy(&y);
        zone_destroy(&z);
        CHECK(!name_exists(name63), "63-byte name left after destroy");
    } else {
        CHECK(0, "a 63-byte name refused: %s", diag_last());
    }
    name63[ZONE_NAME_MAX - 1] = 'n';
    name63[ZONE_NAME_MAX] = '\0';
    snprintf(want, sizeof(want), "zone_create(posix): name \"%s\" is too long (at most %d "
             "bytes)", name63, ZONE_NAME_MAX - 1);
    refused("posix, 64-byte name", ZONE_POSIX, MIB, 0, name63, want);
    snprintf(want, sizeof(want), "zone_create(posix): name \"%s\" is too long (at most %d "
             "bytes)", name63 + 1, ZONE_NAME_MAX - 1);
    refused("posix, 63 bytes without '/'", ZONE_POSIX, MIB, 0, name63 + 1, want);

    /* sizes whose arithmetic overflows */
    snprintf(want, sizeof(want), "zone_create(anon): a zone of %zu bytes aligned to %zu is "
             "too large", SIZE_MAX, page);
    refused("SIZE_MAX bytes", ZONE_ANON, SIZE_MAX, 0, NULL, want);
    snprintf(want, sizeof(want), "zone_create(sysv): a zone of %zu bytes aligned to %zu is "
             "too large", SIZE_MAX - 4096, page);
    refused("SIZE_MAX - 4096 bytes", ZONE_SYSV, SIZE_MAX - 4096, 0, NULL, want);
    snprintf(want, sizeof(want), "zone_create(posix): a zone of %zu bytes aligned to %zu is "
             "too large", MIB + far, far);
    refused("1 MiB aligned to 2^63, plus 2^63", ZONE_POSIX, MIB + far, far, test_name("r"),
            want);
    huge = huge_pages(&total, &nfree);
    map = (SIZE_MAX & ~(page - 1)) - head - page;   /* fits, but not in huge pages */
    snprintf(want, sizeof(want), "zone_create(hugetlb): a zone of %zu bytes is too large", map);
    refused("hugetlb, 2^64 - 3 pages", ZONE_HUGETLB, map, 0, NULL, want);

    /* mappings the kernel refuses: 2^63 bytes of alignment reserve */
    map = head + (far - page) + MIB;
    snprintf(want, sizeof(want), "zone_create(anon): mmap of %zu bytes failed: %s", map,
             strerror(ENOMEM));
    refused("anon, 2^63 mapped", ZONE_ANON, MIB, far, NULL, want);
    snprintf(want, sizeof(want), "zone_create(devzero): mmap of %zu bytes of /dev/zero "
             "failed: %s", map, strerror(ENOMEM));
    refused("devzero, 2^63 mapped", ZONE_DEVZERO, MIB, far, NULL, want);
    snprintf(want, sizeof(want), "zone_create(sysv): shmget of %zu bytes failed: %s", map,
             strerror(EINVAL));                     /* more than a file may hold */
    refused("sysv, 2^63 mapped", ZONE_SYSV, MIB, far, NULL, want);
    name = test_name("r");
    snprintf(want, sizeof(want), "zone_create(posix): ftruncate of \"%s\" to %zu bytes "
             "failed: %s", name, map, strerror(EINVAL));    /* a negative off_t */
    refused("posix, 2^63 mapped", ZONE_POSIX, MIB, far, name, want);
    map = head + ((far >> 1) - page) + MIB;
    name = test_name("r");
    snprintf(want, sizeof(want), "zone_create(posix): mmap of %zu bytes of \"%s\" failed: %s",
             map, name, strerror(ENOMEM));          /* the file can, the address space not */
    refused("posix, 2^62 mapped", ZONE_POSIX, MIB, far >> 1, name, want);

    /* hugetlb without the huge pages it needs names nr_hugepages */
    if (total <= 0) {
        map = (head + MIB + huge - 1) & ~(huge - 1);
        snprintf(want, sizeof(want), "zone_create(hugetlb): mmap of %zu bytes with MAP_HUGETLB "
                 "failed: %s; no huge pages are reserved (echo %ld > /proc/sys/vm/nr_hugepages)",
                 map, strerror(ENOMEM), (long) (map / huge));
        refused("hugetlb, none reserved", ZONE_HUGETLB, MIB, 0, NULL, want);
    } else {
        map = (head + (size_t) (nfree + 1) * huge + huge - 1) & ~(huge - 1);
        snprintf(want, sizeof(want), "zone_create(hugetlb): mmap of %zu bytes with MAP_HUGETLB "
                 "failed: %s; %ld huge pages of %zu kB are reserved, %ld free, %ld needed "
                 "(see /proc/sys/vm/nr_hugepages)", map, strerror(ENOMEM), total,
                 huge / 1024, nfree, (long) (map / huge));
        refused("hugetlb, more than are free", ZONE_HUGETLB, (size_t) (nfree + 1) * huge, 0,
                NULL, want);
    }

    /* an alignment below the OS page is the OS page */
    if (zone_create(&z, ZONE_ANON, MIB, 8, NULL) == 0) {
        CHECK(z.ctl->align == page && ((uintptr_t) z.base & (page - 1)) == 0,
              "align 8: ctl->align %llu", (unsigned long long) z.ctl->align);
        zone_destroy(&z);
    } else {
        CHECK(0, "align 8 refused: %s", diag_last());
    }

    /* a name in use: refused, and the zone that has it keeps it */
    name = test_name("taken");
    if (zone_create(&z, ZONE_POSIX, MIB, 0, name) == 0) {
        memcpy(z.base, "first", 6);
        snprintf(want, sizeof(want), "zone_create(posix): shm_open(\"%s\") failed: %s", name,
                 strerror(EEXIST));
        memset(&y, 0, sizeof(y));
        CHECK(zone_create(&y, ZONE_POSIX, MIB, 0, name) == -1 && strcmp(diag_last(), want) == 0
              && handle_cleared(&y), "a name in use: %s", diag_last());
        CHECK(zone_attach(&y, name, 1) == 0 && strcmp((char *) y.base, "first") == 0,
              "the first zone lost its name: %s", diag_last());
        zone_destroy(&y);
        zone_destroy(&z);
    } else {
        CHECK(0, "zone_create(posix): %s", diag_last());
    }
}

/* zone_attach must refuse `name` with exactly the message `want`. */
static void
attach_refused(const char *what, const char *name, const char *want)
{
    struct zone   a;
    unsigned long before = diag_count();

    memset(&a, 0x5a, sizeof(a));
    CHECK(zone_attach(&a, name, 0) == -1, "%s: attached", what);
    CHECK(diag_count() == before + 1 && strcmp(diag_last(), want) == 0,
          "%s: \"%s\", expected \"%s\"", what, diag_last(), want);
    CHECK(handle_cleared(&a), "%s: handle not cleared", what);
}

/* An object of `bytes` zero bytes, not a zone. */
static int
bare_object(const char *name, off_t bytes)
{
    int fd = shm_open(name, O_CREAT | O_EXCL | O_RDWR, 0600);

    if (fd == -1 || ftruncate(fd, bytes) == -1) {
        CHECK(0, "bare object %s: %s", name, strerror(errno));
        if (fd != -1) {
            close(fd);
        }
        return -1;
    }
    close(fd);
    return 0;
}

static void
test_attach_refusals(void)
{
    struct zone     z, a;
    struct zone_ctl saved;
    char            want[512], longname[100];
    const char     *name;
    size_t          real;

    attach_refused("NULL name", NULL, "zone_attach(posix): a posix zone needs a name");
    attach_refused("empty name", "", "zone_attach(posix): a posix zone needs a name");
    memset(longname, 'l', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    snprintf(want, sizeof(want), "zone_attach(posix): name \"%s\" is too long (at most %d "
             "bytes)", longname, ZONE_NAME_MAX - 1);
    attach_refused("long name", longname, want);
    name = test_name("missing");
    snprintf(want, sizeof(want), "zone_attach(posix): shm_open(\"%s\") failed: %s", name,
             strerror(ENOENT));
    attach_refused("missing name, without '/'", name + 1, want);

    /* objects smaller than a control block */
    name = test_name("small");
    if (bare_object(name, 100) == 0) {
        snprintf(want, sizeof(want), "zone_attach(posix): \"%s\" has 100 bytes, smaller than "
                 "the control block (%zu bytes)", name, (size_t) ZONE_CTL_SIZE);
        attach_refused("100 bytes", name, want);
        shm_unlink(name);
    }
    name = test_name("empty");
    if (bare_object(name, 0) == 0) {
        snprintf(want, sizeof(want), "zone_attach(posix): \"%s\" has 0 bytes, smaller than "
                 "the control block (%zu bytes)", name, (size_t) ZONE_CTL_SIZE);
        attach_refused("0 bytes", name, want);
        shm_unlink(name);
    }
    name = test_name("zeros");
    if (bare_object(name, 4 * MIB) == 0) {
        snprintf(want, sizeof(want), "zone_attach(posix): \"%s\" is not a zone: bad magic",
                 name);
        attach_refused("4 MiB of zeros", name, want);
        shm_unlink(name);
    }

    /* one field of a real zone's control block wrong at a time */
    name = test_name("fields");
    if (zone_create(&z, ZONE_POSIX, MIB, 0, name) != 0) {
        CHECK(0, "zone_create(posix): %s", diag_last());
        return;
    }
    real = z.map_size;
    memcpy(&saved, z.ctl, ZONE_HEAD_SIZE);
#define FIELD_REFUSED(what, change, ...)                                      \
    do {                                                                      \
        change;                                                               \
        snprintf(want, sizeof(want), __VA_ARGS__);                            \
        attach_refused(what, name, want);                                     \
        memcpy(z.ctl, &saved, ZONE_HEAD_SIZE);                                \
    } while (0)
    FIELD_REFUSED("magic", z.ctl->magic[7] = '2',
                  "zone_attach(posix): \"%s\" is not a zone: bad magic", name);
    FIELD_REFUSED("version", z.ctl->version = 99,
                  "zone_attach(posix): \"%s\": version is 99, expected %u", name, ZONE_VERSION);
    FIELD_REFUSED("method", z.ctl->method = ZONE_SYSV,
                  "zone_attach(posix): \"%s\": method is %u, expected %u (posix)", name,
                  (unsigned) ZONE_SYSV, (unsigned) ZONE_POSIX);
    FIELD_REFUSED("map_size", z.ctl->map_size = real - 4096,
                  "zone_attach(posix): \"%s\": map_size is %zu but the object has %zu bytes",
                  name, real - 4096, real);
    FIELD_REFUSED("base_off", z.ctl->base_off = ZONE_CTL_SIZE - 1,
                  "zone_attach(posix): \"%s\": base_off %zu is outside [%zu, %zu]", name,
                  (size_t) ZONE_CTL_SIZE - 1, (size_t) ZONE_CTL_SIZE, real);
    FIELD_REFUSED("base_off past the end", z.ctl->base_off = real + 1,
                  "zone_attach(posix): \"%s\": base_off %zu is outside [%zu, %zu]", name,
                  real + 1, (size_t) ZONE_CTL_SIZE, real);
    FIELD_REFUSED("size 0", z.ctl->size = 0,
                  "zone_attach(posix): \"%s\": size 0 does not fit after base_off %llu in %zu "
                  "bytes", name, (unsigned long long) saved.base_off, real);
    FIELD_REFUSED("size", z.ctl->size = real - saved.base_off + 1,
                  "zone_attach(posix): \"%s\": size %zu does not fit after base_off %llu in "
                  "%zu bytes", name, real - (size_t) saved.base_off + 1,
                  (unsigned long long) saved.base_off, real);
    FIELD_REFUSED("name", memset(z.ctl->name, 'x', ZONE_NAME_MAX),
                  "zone_attach(posix): \"%s\": name is not NUL-terminated", name);
    FIELD_REFUSED("allocator", memset(z.ctl->allocator, 'x', ZONE_ALLOC_NAME_MAX),
                  "zone_attach(posix): \"%s\": allocator is not NUL-terminated", name);
#undef FIELD_REFUSED
    /* the largest region that fits is accepted, and everything restored */
    z.ctl->size = real - z.ctl->base_off;
    CHECK(zone_attach(&a, name, 1) == 0 && a.size == real - z.ctl->base_off,
          "a region up to the end of the object: %s", diag_last());
    zone_destroy(&a);
    z.ctl->size = saved.size;
    CHECK(zone_attach(&a, name, 0) == 0 && a.size == MIB, "after the refusals: %s",
          diag_last());
    zone_destroy(&a);
    zone_destroy(&z);
}

/* zone_unlink and zone_destroy, each called once too often. */
static void
test_twice(void)
{
    struct zone z, copy, other;
    const char *name = test_name("twice");
    char        want[256];

    if (zone_create(&z, ZONE_POSIX, MIB, 0, name) != 0) {
        CHECK(0, "zone_create(posix): %s", diag_last());
        return;
    }
    CHECK(zone_unlink(&z) == 0 && !name_exists(name) && z.owner == 0, "unlink: %s",
          diag_last());
    snprintf(want, sizeof(want), "zone_unlink(posix): shm_unlink(\"%s\") failed: %s", name,
             strerror(ENOENT));
    CHECK(zone_unlink(&z) == -1 && strcmp(diag_last(), want) == 0, "unlink twice: %s",
          diag_last());
    zone_destroy(&z);

    /* destroy twice: the second does nothing, not even to a new zone of the
     * same name */
    if (zone_create(&z, ZONE_POSIX, MIB, 0, name) != 0) {
        CHECK(0, "zone_create(posix): %s", diag_last());
        return;
    }
    copy = z;
    zone_destroy(&z);
    CHECK(handle_cleared(&z) && !name_exists(name), "destroy: handle or name left");
    /* a stale copy of the handle: its mapping is gone */
    CHECK(zone_resident(&copy) == -1
          && diag_is("zone_resident(posix): mincore failed: %s", strerror(ENOMEM)),
          "resident of an unmapped zone");
    if (zone_create(&other, ZONE_POSIX, MIB, 0, name) != 0) {
        CHECK(0, "zone_create(posix) again: %s", diag_last());
        return;
    }
    zone_destroy(&z);
    CHECK(handle_cleared(&z) && name_exists(name), "a second destroy removed another "
          "zone's name");
    CHECK(zone_unlink(&z) == -1 && diag_is("zone_unlink(anon): only a posix zone has a name"),
          "unlink of a destroyed handle");
    CHECK(zone_resident(&z) == -1 && diag_is("zone_resident: the zone is not mapped"),
          "resident of a destroyed handle");
    zone_destroy(&other);
    CHECK(!name_exists(name), "name left");

    CHECK(strcmp(zone_method_name((enum zone_method) -1), "unknown") == 0
          && strcmp(zone_method_name(ZONE_METHOD_COUNT), "unknown") == 0,
          "names of methods out of range");
    {
        enum zone_method m = ZONE_SYSV;
        CHECK(zone_method_parse(NULL, &m) == -1 && m == ZONE_SYSV, "parse of NULL");
        CHECK(zone_method_parse("ANON", &m) == -1 && zone_method_parse("anon ", &m) == -1,
              "parse is exact");
    }
}

/* This process's address space in bytes, -1 if unknown. */
static long
vm_bytes(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char  line[128];
    long  kb = -1;

    while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
        if (sscanf(line, "VmSize: %ld kB", &kb) == 1) {
            break;
        }
    }
    if (f != NULL) {
        fclose(f);
    }
    return kb < 0 ? -1 : kb * 1024;
}

/* Resource limits the kernel enforces, in children (the limits stay there):
 * no descriptor left, no address space left. */
static void
test_limits(void)
{
    struct zone z, a;
    const char *name = test_name("limits"), *fresh = test_name("nofd");
    pid_t       pid;
    int         st;

    if (zone_create(&z, ZONE_POSIX, 64 * MIB, 0, name) != 0) {
        CHECK(0, "zone_create(posix): %s", diag_last());
        return;
    }
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        struct rlimit rl, old;
        int           fd = open("/dev/null", O_RDONLY), bad = 0;

        /* the lowest free descriptor is the limit: every open fails */
        close(fd);
        getrlimit(RLIMIT_NOFILE, &old);
        rl = old;
        rl.rlim_cur = (rlim_t) fd;
        if (fd < 0 || setrlimit(RLIMIT_NOFILE, &rl) != 0) {
            _exit(100);
        }
        bad |= (zone_create(&a, ZONE_DEVZERO, MIB, 0, NULL) != -1
                || !diag_is("zone_create(devzero): open(\"/dev/zero\") failed: %s",
                            strerror(EMFILE)) || !handle_cleared(&a)) << 0;
        bad |= (zone_create(&a, ZONE_POSIX, MIB, 0, fresh) != -1
                || !diag_is("zone_create(posix): shm_open(\"%s\") failed: %s", fresh,
                            strerror(EMFILE)) || !handle_cleared(&a)) << 1;
        bad |= (zone_attach(&a, name, 1) != -1
                || !diag_is("zone_attach(posix): shm_open(\"%s\") failed: %s", name,
                            strerror(EMFILE)) || !handle_cleared(&a)) << 2;
        /* the methods that need no descriptor still work */
        bad |= (zone_create(&a, ZONE_ANON, MIB, 0, NULL) != 0) << 3;
        zone_destroy(&a);
        setrlimit(RLIMIT_NOFILE, &old);     /* the coverage build writes files at exit */
        _exit(bad);
    }
    st = wait_child(pid);
    CHECK(st == 0, "no descriptors: child status %d (bits: 1 devzero, 2 posix create, "
          "4 attach, 8 anon; 100 setrlimit)", st);
    CHECK(!name_exists(fresh), "no descriptors: \"%s\" created", fresh);

    pid = fork();
    if (pid == 0) {
        struct rlimit rl, old;
        long          vm = vm_bytes();
        int           bad = 0, id = -1;
        char          prefix[64];
        const char   *msg;

        /* 16 MiB more than mapped now: a 64 MiB mapping cannot fit */
        getrlimit(RLIMIT_AS, &old);
        rl = old;
        rl.rlim_cur = (rlim_t) vm + 16 * MIB;
        if (vm < 0 || setrlimit(RLIMIT_AS, &rl) != 0) {
            _exit(100);
        }
        bad |= (zone_attach(&a, name, 1) != -1
                || !diag_is("zone_attach(posix): mmap of %lld bytes of \"%s\" failed: %s",
                            (long long) z.map_size, name, strerror(ENOMEM))
                || !handle_cleared(&a)) << 0;
        /* sysv: the segment is made, then cannot be attached; it is removed */
        bad |= (zone_create(&a, ZONE_SYSV, 64 * MIB, 0, NULL) != -1 || !handle_cleared(&a)) << 1;
        msg = diag_last();
        snprintf(prefix, sizeof(prefix), "zone_create(sysv): shmat of segment ");
        if (strncmp(msg, prefix, strlen(prefix)) == 0) {
            char tail[128];
            id = atoi(msg + strlen(prefix));
            snprintf(tail, sizeof(tail), "%s%d failed: %s", prefix, id, strerror(ENOMEM));
            bad |= (strcmp(msg, tail) != 0) << 2;
        } else {
            bad |= 1 << 2;
        }
        if (bad & 6) {
            fprintf(stderr, "sysv under RLIMIT_AS: %s\n", msg);
        }
        bad |= (id >= 0 && shmctl(id, IPC_STAT, &(struct shmid_ds) { 0 }) != -1) << 3;
        setrlimit(RLIMIT_AS, &old);
        _exit(bad);
    }
    st = wait_child(pid);
    CHECK(st == 0, "no address space: child status %d (bits: 1 attach, 2 sysv accepted, "
          "4 sysv message, 8 segment left; 100 setrlimit)", st);
    zone_destroy(&z);
}

/* Mappings of shared memory objects (posix, sysv, /dev/zero and anon,
 * which the kernel shows as /dev/zero too) in this process. */
static int
count_shared_maps(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    char  line[512];
    int   n = 0;

    if (f == NULL) {
        return -1;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        n += strstr(line, "/dev/shm/") != NULL || strstr(line, "SYSV") != NULL
             || strstr(line, "/dev/zero") != NULL;
    }
    fclose(f);
    return n;
}

/*
 * Failures no resource limit provokes, injected: test_zone is linked with
 * `ld --wrap=fstat,shmctl,fopen` (tests/lock.cmake).  The wrappers pass every
 * call through unless a test has armed them: fstat fails once; shmctl's
 * IPC_RMID is made (nothing may leak) but reported failed once; fopen of
 * /proc/meminfo reads a text given here, or fails.
 */
int   __real_fstat(int fd, struct stat *st);
int   __real_shmctl(int id, int cmd, struct shmid_ds *buf);
FILE *__real_fopen(const char *path, const char *mode);
int   __wrap_fstat(int fd, struct stat *st);
int   __wrap_shmctl(int id, int cmd, struct shmid_ds *buf);
FILE *__wrap_fopen(const char *path, const char *mode);

static int         fail_fstat;      /* errno for the next fstat, 0 = none */
static int         fail_rmid;       /* errno to report for the next IPC_RMID */
static int         last_rmid;       /* the segment it was for */
static const char *fake_meminfo;    /* /proc/meminfo's text; "" = unreadable */
static unsigned    wrapped_calls;

int
__wrap_fstat(int fd, struct stat *st)
{
    wrapped_calls++;
    if (fail_fstat != 0) {
        errno = fail_fstat;
        fail_fstat = 0;
        return -1;
    }
    return __real_fstat(fd, st);
}

int
__wrap_shmctl(int id, int cmd, struct shmid_ds *buf)
{
    int rc;

    wrapped_calls++;
    rc = __real_shmctl(id, cmd, buf);
    if (cmd == IPC_RMID && fail_rmid != 0) {
        last_rmid = id;
        errno = fail_rmid;
        fail_rmid = 0;
        return -1;
    }
    return rc;
}

FILE *
__wrap_fopen(const char *path, const char *mode)
{
    wrapped_calls++;
    if (fake_meminfo != NULL && strcmp(path, "/proc/meminfo") == 0) {
        if (fake_meminfo[0] == '\0') {
            errno = EACCES;
            return NULL;
        }
        return fmemopen((void *) fake_meminfo, strlen(fake_meminfo), mode);
    }
    return __real_fopen(path, mode);
}

static void
test_injected(void)
{
    const size_t page = zone_os_page(), head = head_bytes();
    struct zone  z;
    const char  *name = test_name("inject");
    char         want[512];
    long         total, nfree;
    int          fds, maps;

    CHECK(wrapped_calls > 0, "test_zone is not linked with --wrap=fstat,shmctl,fopen "
          "(tests/lock.cmake)");

    /* attach: fstat fails; the descriptor is closed all the same */
    if (zone_create(&z, ZONE_POSIX, MIB, 0, name) == 0) {
        fds = count_fds();
        fail_fstat = EIO;
        snprintf(want, sizeof(want), "zone_attach(posix): fstat of \"%s\" failed: %s", name,
                 strerror(EIO));
        attach_refused("fstat failing", name, want);
        CHECK(count_fds() == fds, "fstat failing: descriptors %d -> %d", fds, count_fds());
        zone_destroy(&z);
    } else {
        CHECK(0, "zone_create(posix): %s", diag_last());
    }

    /* sysv: IPC_RMID fails; the segment is detached again */
    maps = count_shared_maps();
    fail_rmid = EPERM;
    last_rmid = -1;
    memset(&z, 0x5a, sizeof(z));
    CHECK(zone_create(&z, ZONE_SYSV, MIB, 0, NULL) == -1 && last_rmid >= 0
          && diag_is("zone_create(sysv): shmctl(IPC_RMID) of segment %d failed: %s",
                     last_rmid, strerror(EPERM))
          && handle_cleared(&z), "IPC_RMID failing");
    CHECK(count_shared_maps() == maps, "IPC_RMID failing: shared mappings %d -> %d", maps,
          count_shared_maps());

    /* what hugetlb's refusal reads in /proc/meminfo; only where huge pages
     * really are missing, so that the mapping fails whatever the text says */
    huge_pages(&total, &nfree);
    if (total > 0) {
        printf("skip hugetlb with a made-up /proc/meminfo: %ld huge pages are reserved "
               "here\n", total);
        return;
    }
    fake_meminfo = "";
    snprintf(want, sizeof(want), "zone_create(hugetlb): mmap of %zu bytes with MAP_HUGETLB "
             "failed: %s; no huge pages are reserved (echo 1 > /proc/sys/vm/nr_hugepages)",
             (size_t) 2 * MIB, strerror(ENOMEM));
    refused("hugetlb, /proc/meminfo unreadable (2 MiB pages assumed)", ZONE_HUGETLB, MIB, 0,
            NULL, want);
    fake_meminfo = "MemTotal:       16384000 kB\n"
                   "HugePages_Total:       4\n"
                   "HugePages_Free:        1\n"
                   "HugePages_Rsvd:        0\n"
                   "Hugepagesize:    1048576 kB\n";
    snprintf(want, sizeof(want), "zone_create(hugetlb): mmap of %zu bytes with MAP_HUGETLB "
             "failed: %s; 4 huge pages of 1048576 kB are reserved, 1 free, 2 needed (see "
             "/proc/sys/vm/nr_hugepages)", (size_t) 2048 * MIB, strerror(ENOMEM));
    refused("hugetlb, 1 GiB pages, 1 free of 4", ZONE_HUGETLB, 1024 * MIB - head + page, 0,
            NULL, want);
    fake_meminfo = NULL;
}

static void
test_leftovers(void)
{
    DIR           *d = opendir("/dev/shm");
    struct dirent *e;
    char           prefix[64];
    int            n = 0;

    if (d == NULL) {
        return;
    }
    snprintf(prefix, sizeof(prefix), "shmbench-test-zone-%d-", (int) getpid());
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, prefix, strlen(prefix)) == 0) {
            fprintf(stderr, "left over: /dev/shm/%s\n", e->d_name);
            n++;
        }
    }
    closedir(d);
    CHECK(n == 0, "%d posix objects left over", n);
}

int
main(int argc, char **argv)
{
    static const size_t aligns[] = { 4096, 16384, 65536 };
    int fds, maps;
    int i;
    size_t a;

    alarm(60);
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc > 1 && strcmp(argv[1], "hugetlb") == 0) {
        for (a = 0; a < sizeof(aligns) / sizeof(aligns[0]); a++) {
            if (test_method(ZONE_HUGETLB, aligns[a]) != 0) {
                return test_failed ? test_summary("test_zone hugetlb") : TEST_SKIPPED;
            }
        }
        return test_summary("test_zone hugetlb");
    }
    fds = count_fds();
    maps = count_shared_maps();
    for (i = 0; i < ZONE_METHOD_COUNT; i++) {
        for (a = 0; i != ZONE_HUGETLB && a < sizeof(aligns) / sizeof(aligns[0]); a++) {
            test_method((enum zone_method) i, aligns[a]);
        }
    }
    test_attach();
    test_corrupt("magic", c_magic, "magic");
    test_corrupt("version", c_version, "version");
    test_corrupt("method", c_method, "method");
    test_corrupt("map_size", c_map_size, "map_size");
    test_corrupt("base_off huge", c_base_off_huge, "base_off");
    test_corrupt("base_off wrap", c_base_off_wrap, "base_off");
    test_corrupt("base_off small", c_base_off_small, "base_off");
    test_corrupt("size", c_size, ": size");
    test_corrupt("size tail", c_size_tail, ": size");
    test_corrupt("name", c_name, "name is not");
    test_corrupt("allocator", c_allocator, "allocator");
    test_corrupt("truncated", c_truncate, "map_size");
    test_corrupt("truncated tiny", c_truncate_tiny, "control block");
    test_foreign();
    test_refusals();
    test_create_refusals();
    test_attach_refusals();
    test_twice();
    test_limits();
    test_injected();
    test_leftovers();
    CHECK(count_fds() == fds, "descriptors leaked: %d -> %d", fds,
          count_fds());
    CHECK(count_shared_maps() == maps, "shared mappings leaked: %d -> %d", maps,
          count_shared_maps());

    return test_summary("test_zone");
}
