/*
 * zone: getting shared memory the five ways zone.h lists, and attaching a
 * named one from another process.
 *
 * Every method ends in the same picture: one mapping whose first
 * ZONE_CTL_SIZE bytes are the control block, then padding up to the first
 * `align` boundary, then the allocator's `size` bytes.  The padding is
 * reserved (align - OS page bytes at most) and never touched, so the
 * allocator's region is aligned whatever address the kernel picked.
 * Attaching trusts nothing it reads: every field of the control block is
 * checked against the object's real size before a pointer is formed.
 */
#define _GNU_SOURCE
#include "substrate/zone.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <unistd.h>

#include "substrate/diag.h"

/* zone_set_flags(): applies to every zone_create of this process. */
static unsigned zone_flags;

unsigned
zone_set_flags(unsigned flags)
{
    unsigned old = zone_flags;

    zone_flags = flags;
    return old;
}

/* The mmap flag for ZONE_NORESERVE. */
static int
zone_noreserve(void)
{
    return (zone_flags & ZONE_NORESERVE) ? MAP_NORESERVE : 0;
}

static const char *zone_method_names[ZONE_METHOD_COUNT] = {
    "anon", "devzero", "sysv", "posix", "hugetlb"
};

size_t
zone_os_page(void)
{
    static size_t page;
    long          n;

    if (page == 0) {
        n = sysconf(_SC_PAGESIZE);
        page = n > 0 ? (size_t) n : 4096;
    }
    return page;
}

const char *
zone_method_name(enum zone_method m)
{
    if ((unsigned) m >= ZONE_METHOD_COUNT) {
        return "unknown";
    }
    return zone_method_names[m];
}

int
zone_method_parse(const char *s, enum zone_method *out)
{
    int i;

    for (i = 0; s != NULL && i < ZONE_METHOD_COUNT; i++) {
        if (strcmp(s, zone_method_names[i]) == 0) {
            *out = (enum zone_method) i;
            return 0;
        }
    }
    return -1;
}

/* Hugepagesize from /proc/meminfo in bytes (2 MiB if unreadable), and the
 * total and free huge page counts (-1 if unknown). */
static size_t
zone_huge_page(long *total, long *nfree)
{
    FILE         *f;
    char          line[128];
    unsigned long v;
    size_t        size = 2 * 1024 * 1024;

    *total = -1;
    *nfree = -1;
    f = fopen("/proc/meminfo", "r");
    if (f == NULL) {
        return size;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        if (sscanf(line, "Hugepagesize: %lu kB", &v) == 1 && v > 0) {
            size = (size_t) v * 1024;
        } else if (sscanf(line, "HugePages_Total: %lu", &v) == 1) {
            *total = (long) v;
        } else if (sscanf(line, "HugePages_Free: %lu", &v) == 1) {
            *nfree = (long) v;
        }
    }
    fclose(f);
    return size;
}

/* Round v up to a multiple of the power of two a; 0 on overflow. */
static size_t
zone_round(size_t v, size_t a)
{
    if (v > SIZE_MAX - (a - 1)) {
        return 0;
    }
    return (v + a - 1) & ~(a - 1);
}

/* "/name" into out (ZONE_NAME_MAX bytes); -1 if missing or too long. */
static int
zone_name(const char *fn, const char *name, char *out)
{
    size_t len;
    int    slash;

    if (name == NULL || name[0] == '\0') {
        diag_set("%s(posix): a posix zone needs a name", fn);
        return -1;
    }
    slash = name[0] != '/';
    len = strlen(name) + (size_t) slash;
    if (len >= ZONE_NAME_MAX) {
        diag_set("%s(posix): name \"%s\" is too long (at most %d bytes)",
                 fn, name, ZONE_NAME_MAX - 1);
        return -1;
    }
    out[0] = '/';
    memcpy(out + slash, name, len - (size_t) slash + 1);
    return 0;
}

static void
zone_hugetlb_diag(size_t map_size, size_t huge, int err)
{
    long total, nfree, need;

    zone_huge_page(&total, &nfree);
    need = (long) (map_size / huge);
    if (total <= 0) {
        diag_set("zone_create(hugetlb): mmap of %zu bytes with MAP_HUGETLB "
                 "failed: %s; no huge pages are reserved "
                 "(echo %ld > /proc/sys/vm/nr_hugepages)",
                 map_size, strerror(err), need);
    } else {
        diag_set("zone_create(hugetlb): mmap of %zu bytes with MAP_HUGETLB "
                 "failed: %s; %ld huge pages of %zu kB are reserved, %ld free, "
                 "%ld needed (see /proc/sys/vm/nr_hugepages)",
                 map_size, strerror(err), total, huge / 1024, nfree, need);
    }
}

/* Map `map_size` bytes by `method` into z->map (and z->shmid). */
static int
zone_map(struct zone *z, enum zone_method method, size_t map_size, size_t huge)
{
    const char *mname = zone_method_name(method);
    void       *p;
    int         fd, err;

    switch (method) {
    case ZONE_ANON:
    case ZONE_HUGETLB:
        p = mmap(NULL, map_size, PROT_READ | PROT_WRITE,
                 MAP_ANONYMOUS | MAP_SHARED | zone_noreserve()
                 | (method == ZONE_HUGETLB ? MAP_HUGETLB : 0), -1, 0);
        if (p == MAP_FAILED) {
            err = errno;
            if (method == ZONE_HUGETLB) {
                zone_hugetlb_diag(map_size, huge, err);
            } else {
                diag_set("zone_create(anon): mmap of %zu bytes failed: %s",
                         map_size, strerror(err));
            }
            errno = err;
            return -1;
        }
        break;

    case ZONE_DEVZERO:
        fd = open("/dev/zero", O_RDWR | O_CLOEXEC);
        if (fd == -1) {
            diag_set("zone_create(devzero): open(\"/dev/zero\") failed: %s",
                     strerror(errno));
            return -1;
        }
        p = mmap(NULL, map_size, PROT_READ | PROT_WRITE,
                 MAP_SHARED | zone_noreserve(), fd, 0);
        err = errno;
        close(fd);
        if (p == MAP_FAILED) {
            diag_set("zone_create(devzero): mmap of %zu bytes of /dev/zero "
                     "failed: %s", map_size, strerror(err));
            errno = err;
            return -1;
        }
        break;

    case ZONE_SYSV:
        z->shmid = shmget(IPC_PRIVATE, map_size, 0600 | IPC_CREAT
                          | ((zone_flags & ZONE_NORESERVE) ? SHM_NORESERVE : 0));
        if (z->shmid == -1) {
            err = errno;
            diag_set("zone_create(sysv): shmget of %zu bytes failed: %s",
                     map_size, strerror(err));
            errno = err;
            return -1;
        }
        p = shmat(z->shmid, NULL, 0);
        err = errno;
        if (shmctl(z->shmid, IPC_RMID, NULL) == -1) {
            diag_set("zone_create(sysv): shmctl(IPC_RMID) of segment %d "
                     "failed: %s", z->shmid, strerror(errno));
            if (p != (void *) -1) {
                shmdt(p);
            }
            return -1;
        }
        if (p == (void *) -1) {
            diag_set("zone_create(sysv): shmat of segment %d failed: %s",
                     z->shmid, strerror(err));
            return -1;
        }
        break;

    case ZONE_POSIX:
        fd = shm_open(z->name, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
        if (fd == -1) {
            diag_set("zone_create(posix): shm_open(\"%s\") failed: %s",
                     z->name, strerror(errno));
            return -1;
        }
        if (ftruncate(fd, (off_t) map_size) == -1) {
            err = errno;
            close(fd);
            shm_unlink(z->name);
            diag_set("zone_create(posix): ftruncate of \"%s\" to %zu bytes "
                     "failed: %s", z->name, map_size, strerror(err));
            return -1;
        }
        p = mmap(NULL, map_size, PROT_READ | PROT_WRITE,
                 MAP_SHARED | zone_noreserve(), fd, 0);
        err = errno;
        close(fd);
        if (p == MAP_FAILED) {
            shm_unlink(z->name);
            diag_set("zone_create(posix): mmap of %zu bytes of \"%s\" "
                     "failed: %s", map_size, z->name, strerror(err));
            errno = err;
            return -1;
        }
        break;

    default:
        diag_set("zone_create(%s): unknown method %d", mname, (int) method);
        return -1;
    }

    z->map = p;
    return 0;
}

int
zone_create(struct zone *z, enum zone_method method, size_t size,
    size_t align, const char *name)
{
    const char *mname = zone_method_name(method);
    size_t      page = zone_os_page(), huge = 0, head, data, map_size;
    uintptr_t   base;
    long        total, nfree;
    int         err;

    memset(z, 0, sizeof(*z));
    z->shmid = -1;

    if ((unsigned) method >= ZONE_METHOD_COUNT) {
        diag_set("zone_create: unknown method %d", (int) method);
        return -1;
    }
    if (size == 0) {
        diag_set("zone_create(%s): a zone of 0 bytes was asked for", mname);
        return -1;
    }
    if (align == 0) {
        align = page;
    }
    if ((align & (align - 1)) != 0) {
        diag_set("zone_create(%s): alignment %zu is not a power of two",
                 mname, align);
        return -1;
    }
    if (align < page) {
        align = page;
    }
    if (method == ZONE_POSIX && zone_name("zone_create", name, z->name) != 0) {
        return -1;
    }

    /* control block, reserve for aligning base, the region */
    head = zone_round(ZONE_CTL_SIZE, page);
    data = zone_round(size, page);
    if (data == 0 || align - page > SIZE_MAX - head
        || data > SIZE_MAX - head - (align - page))
    {
        diag_set("zone_create(%s): a zone of %zu bytes aligned to %zu is too "
                 "large", mname, size, align);
        return -1;
    }
    map_size = head + (align - page) + data;
    if (method == ZONE_HUGETLB) {
        huge = zone_huge_page(&total, &nfree);
        map_size = zone_round(map_size, huge);
        if (map_size == 0) {
            diag_set("zone_create(hugetlb): a zone of %zu bytes is too large",
                     size);
            return -1;
        }
    }

    if (zone_map(z, method, map_size, huge) != 0) {
        err = errno;
        memset(z, 0, sizeof(*z));
        z->shmid = -1;
        errno = err;
        return -1;
    }

    base = ((uintptr_t) z->map + ZONE_CTL_SIZE + align - 1)
           & ~((uintptr_t) align - 1);
    z->base = (unsigned char *) base;
    z->size = size;
    z->ctl = (struct zone_ctl *) z->map;
    z->map_size = map_size;
    z->method = method;
    z->owner = 1;

    memcpy(z->ctl->magic, ZONE_MAGIC, sizeof(z->ctl->magic));
    z->ctl->version = ZONE_VERSION;
    z->ctl->method = (uint32_t) method;
    z->ctl->map_size = map_size;
    z->ctl->base_off = (uint64_t) (base - (uintptr_t) z->map);
    z->ctl->size = size;
    z->ctl->align = align;
    memcpy(z->ctl->name, z->name, sizeof(z->ctl->name));
    return 0;
}

/* Validate a control block read from an object of `real` bytes; 0 or -1
 * with a diag message naming the field. */
static int
zone_ctl_check(const struct zone_ctl *ctl, size_t real, const char *name)
{
    uint64_t base_off = ctl->base_off, size = ctl->size;

    if (memcmp(ctl->magic, ZONE_MAGIC, sizeof(ctl->magic)) != 0) {
        diag_set("zone_attach(posix): \"%s\" is not a zone: bad magic", name);
        return -1;
    }
    if (ctl->version != ZONE_VERSION) {
        diag_set("zone_attach(posix): \"%s\": version is %u, expected %u",
                 name, ctl->version, ZONE_VERSION);
        return -1;
    }
    if (ctl->method != ZONE_POSIX) {
        diag_set("zone_attach(posix): \"%s\": method is %u, expected %u "
                 "(posix)", name, ctl->method, (unsigned) ZONE_POSIX);
        return -1;
    }
    if (ctl->map_size != real) {
        diag_set("zone_attach(posix): \"%s\": map_size is %llu but the "
                 "object has %zu bytes", name,
                 (unsigned long long) ctl->map_size, real);
        return -1;
    }
    if (base_off < ZONE_CTL_SIZE || base_off > real) {
        diag_set("zone_attach(posix): \"%s\": base_off %llu is outside "
                 "[%zu, %zu]", name, (unsigned long long) base_off,
                 (size_t) ZONE_CTL_SIZE, real);
        return -1;
    }
    if (size == 0 || size > real - base_off) {
        diag_set("zone_attach(posix): \"%s\": size %llu does not fit after "
                 "base_off %llu in %zu bytes", name, (unsigned long long) size,
                 (unsigned long long) base_off, real);
        return -1;
    }
    if (memchr(ctl->name, '\0', sizeof(ctl->name)) == NULL) {
        diag_set("zone_attach(posix): \"%s\": name is not NUL-terminated",
                 name);
        return -1;
    }
    if (memchr(ctl->allocator, '\0', sizeof(ctl->allocator)) == NULL) {
        diag_set("zone_attach(posix): \"%s\": allocator is not "
                 "NUL-terminated", name);
        return -1;
    }
    return 0;
}

int
zone_attach(struct zone *z, const char *name, int readonly)
{
    struct stat st;
    void       *p;
    int         fd, err;
    char        full[ZONE_NAME_MAX];

    memset(z, 0, sizeof(*z));
    z->shmid = -1;
    if (zone_name("zone_attach", name, full) != 0) {
        return -1;
    }
    /* O_NONBLOCK: anything can sit in /dev/shm, and the open of a FIFO
     * would wait for a writer.  Only a regular file can be a zone. */
    fd = shm_open(full, (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NONBLOCK, 0);
    if (fd == -1) {
        diag_set("zone_attach(posix): shm_open(\"%s\") failed: %s",
                 full, strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) == -1) {
        err = errno;
        close(fd);
        diag_set("zone_attach(posix): fstat of \"%s\" failed: %s",
                 full, strerror(err));
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        diag_set("zone_attach(posix): \"%s\" is %s, not a shared-memory zone", full,
                 S_ISFIFO(st.st_mode) ? "a FIFO"
                 : S_ISDIR(st.st_mode) ? "a directory"
                 : S_ISCHR(st.st_mode) ? "a character device"
                 : S_ISBLK(st.st_mode) ? "a block device"
                 : S_ISSOCK(st.st_mode) ? "a socket" : "a special file");
        return -1;
    }
    if (st.st_size < (off_t) ZONE_CTL_SIZE
        || (unsigned long long) st.st_size > SIZE_MAX)
    {
        close(fd);
        diag_set("zone_attach(posix): \"%s\" has %lld bytes, smaller than "
                 "the control block (%zu bytes)", full,
                 (long long) st.st_size, (size_t) ZONE_CTL_SIZE);
        return -1;
    }
    p = mmap(NULL, (size_t) st.st_size,
             readonly ? PROT_READ : PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    err = errno;
    close(fd);
    if (p == MAP_FAILED) {
        diag_set("zone_attach(posix): mmap of %lld bytes of \"%s\" failed: %s",
                 (long long) st.st_size, full, strerror(err));
        return -1;
    }
    if (zone_ctl_check(p, (size_t) st.st_size, full) != 0) {
        munmap(p, (size_t) st.st_size);
        return -1;
    }

    z->map = p;
    z->map_size = (size_t) st.st_size;
    z->ctl = p;
    z->base = z->map + z->ctl->base_off;
    z->size = (size_t) z->ctl->size;
    z->method = ZONE_POSIX;
    z->owner = 0;
    z->readonly = readonly != 0;
    memcpy(z->name, full, sizeof(z->name));
    return 0;
}

int
zone_unlink(struct zone *z)
{
    if (z->method != ZONE_POSIX || z->name[0] == '\0') {
        diag_set("zone_unlink(%s): only a posix zone has a name",
                 zone_method_name(z->method));
        return -1;
    }
    if (shm_unlink(z->name) == -1) {
        diag_set("zone_unlink(posix): shm_unlink(\"%s\") failed: %s",
                 z->name, strerror(errno));
        return -1;
    }
    z->owner = 0;               /* nothing left for destroy to remove */
    return 0;
}

void
zone_destroy(struct zone *z)
{
    if (z->map != NULL) {
        if (z->method == ZONE_SYSV) {
            shmdt(z->map);
        } else {
            munmap(z->map, z->map_size);
        }
    }
    if (z->method == ZONE_POSIX && z->owner && z->name[0] != '\0') {
        shm_unlink(z->name);
    }
    memset(z, 0, sizeof(*z));
    z->shmid = -1;
}

long long
zone_resident(const struct zone *z)
{
    unsigned char  vec[4096];
    size_t         page = zone_os_page(), npages, i, n, done;
    uintptr_t      start, end, lo, hi, pg;
    long long      bytes = 0;

    if (z->base == NULL || z->size == 0) {
        diag_set("zone_resident: the zone is not mapped");
        return -1;
    }
    start = (uintptr_t) z->base;
    end = start + z->size;
    lo = start & ~((uintptr_t) page - 1);
    hi = (end + page - 1) & ~((uintptr_t) page - 1);
    npages = (hi - lo) / page;

    for (done = 0; done < npages; done += n) {
        n = npages - done < sizeof(vec) ? npages - done : sizeof(vec);
        if (mincore((void *) (lo + done * page), n * page, vec) == -1) {
            diag_set("zone_resident(%s): mincore failed: %s",
                     zone_method_name(z->method), strerror(errno));
            return -1;
        }
        for (i = 0; i < n; i++) {
            if (vec[i] & 1) {
                pg = lo + (done + i) * page;
                bytes += (long long) ((pg + page < end ? pg + page : end)
                                      - (pg > start ? pg : start));
            }
        }
    }
    return bytes;
}
