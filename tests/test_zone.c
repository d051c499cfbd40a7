/*
 * test_zone: every zone method gives zeroed, aligned memory shared across
 * fork at the same address; posix zones attach by name elsewhere and refuse
 * corrupt control blocks; refusals say why and leak nothing.
 *
 * `test_zone hugetlb` runs the common checks over a hugetlb zone, which the
 * default run leaves out; without huge pages it exits with TEST_SKIPPED.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
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
    int fds;
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
    test_leftovers();
    CHECK(count_fds() == fds, "descriptors leaked: %d -> %d", fds,
          count_fds());

    return test_summary("test_zone");
}
