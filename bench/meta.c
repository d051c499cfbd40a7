/*
 * meta: the machine, build and git fields of a result directory's
 * meta.json, and mkdir -p for the directory (bench/meta.h).
 *
 * The fields are read when the results are written, not at build time,
 * where they can change: the revision and the dirty flag from git in the
 * source directory (the one configured, SHMBENCH_SOURCE_DIR), the kernel
 * from uname, the CPU from /proc/cpuinfo, the governor from sysfs.  What
 * only the build knows (compiler, flags, the configure-time revision) comes
 * in as compile definitions from bench/CMakeLists.txt.  A field that cannot
 * be read is written empty (or "unknown"), never guessed.
 */
#include "meta.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "cli.h"

#ifndef SHMBENCH_SOURCE_DIR
#define SHMBENCH_SOURCE_DIR ""
#endif
#ifndef SHMBENCH_GIT_REVISION
#define SHMBENCH_GIT_REVISION "unknown"
#endif
#ifndef SHMBENCH_COMPILER
#define SHMBENCH_COMPILER "unknown"
#endif
#ifndef SHMBENCH_C_FLAGS
#define SHMBENCH_C_FLAGS ""
#endif

/* The first line of a command's output, or "" (trailing newline cut). */
static void
meta_popen_line(const char *cmd, char *buf, size_t len)
{
    FILE  *p = popen(cmd, "r");
    size_t n;

    buf[0] = '\0';
    if (p == NULL) {
        return;
    }
    if (fgets(buf, (int) len, p) == NULL) {
        buf[0] = '\0';
    }
    pclose(p);
    n = strlen(buf);
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r')) {
        buf[--n] = '\0';
    }
}

/* s into buf of len bytes, cut if need be. */
static void
meta_copy(char *buf, size_t len, const char *s)
{
    size_t n = strlen(s);

    if (n >= len) {
        n = len - 1;
    }
    memcpy(buf, s, n);
    buf[n] = '\0';
}

/* The value of the first line starting with key in file, after ':' (key
 * NULL: the first line). */
static void
meta_file_field(const char *path, const char *key, char *buf, size_t len)
{
    FILE  *f = fopen(path, "r");
    char   line[512], *v;
    size_t n;

    buf[0] = '\0';
    while (f && fgets(line, sizeof(line), f) != NULL) {
        if (key == NULL) {
            meta_copy(buf, len, line);
            break;
        }
        if (strncmp(line, key, strlen(key)) == 0 && (v = strchr(line, ':')) != NULL) {
            for (v++; *v == ' ' || *v == '\t'; v++) {
            }
            meta_copy(buf, len, v);
            break;
        }
    }
    if (f) {
        fclose(f);
    }
    n = strlen(buf);
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' ')) {
        buf[--n] = '\0';
    }
}

/* "git": the revision now, from the source directory, else the one built. */
void
meta_json_git(FILE *f)
{
    char cmd[4400], rev[128], dirty[256];
    int  live;

    snprintf(cmd, sizeof(cmd), "git -C '%s' rev-parse HEAD 2>/dev/null", SHMBENCH_SOURCE_DIR);
    meta_popen_line(SHMBENCH_SOURCE_DIR[0] && !strchr(SHMBENCH_SOURCE_DIR, '\'') ? cmd
                   : "true", rev, sizeof(rev));
    live = strlen(rev) == 40;
    if (live) {
        snprintf(cmd, sizeof(cmd), "git -C '%s' status --porcelain --untracked-files=no "
                 "2>/dev/null | head -1", SHMBENCH_SOURCE_DIR);
        meta_popen_line(cmd, dirty, sizeof(dirty));
    }
    fputs("  \"git\": {\"revision\": ", f);
    cli_json_string(f, live ? rev : SHMBENCH_GIT_REVISION);
    fprintf(f, ", \"dirty\": %s, \"from\": \"%s\"},\n",
            live ? (dirty[0] ? "true" : "false") : "null", live ? "source" : "build");
}

void
meta_json_machine(FILE *f)
{
    struct utsname u;
    char           kernel[600], cpu[256], gov[64], mhz[64];
    double         load[3] = { 0, 0, 0 };
    int            nload = getloadavg(load, 3);

    if (uname(&u) == 0) {
        snprintf(kernel, sizeof(kernel), "%s %s %s %s", u.sysname, u.release, u.version,
                 u.machine);
    } else {
        kernel[0] = '\0';
    }
    meta_file_field("/proc/cpuinfo", "model name", cpu, sizeof(cpu));
    meta_file_field("/proc/cpuinfo", "cpu MHz", mhz, sizeof(mhz));
    meta_file_field("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor", NULL, gov,
                   sizeof(gov));
    fputs("  \"compiler\": ", f);
    cli_json_string(f, SHMBENCH_COMPILER);
    fputs(",\n  \"c_flags\": ", f);
    cli_json_string(f, SHMBENCH_C_FLAGS);
    fputs(",\n  \"kernel\": ", f);
    cli_json_string(f, kernel);
    fputs(",\n  \"hostname\": ", f);
    cli_json_string(f, kernel[0] ? u.nodename : "");
    fputs(",\n  \"cpu_model\": ", f);
    cli_json_string(f, cpu);
    fputs(",\n  \"cpu_mhz\": ", f);
    cli_json_string(f, mhz);
    fprintf(f, ",\n  \"cores\": %ld,\n  \"governor\": ", sysconf(_SC_NPROCESSORS_ONLN));
    cli_json_string(f, gov[0] ? gov : "unknown");
    if (nload == 3) {
        fprintf(f, ",\n  \"loadavg\": [%.2f, %.2f, %.2f],\n", load[0], load[1], load[2]);
    } else {
        fputs(",\n  \"loadavg\": null,\n", f);
    }
}

int
meta_mkdirs(const char *who, const char *path)
{
    char   buf[4096];
    size_t i, n = strlen(path);

    if (n >= sizeof(buf)) {
        return cli_error("%s: --out path is too long", who);
    }
    memcpy(buf, path, n + 1);
    for (i = 1; i <= n; i++) {
        if (buf[i] == '/' || buf[i] == '\0') {
            buf[i] = '\0';
            if (mkdir(buf, 0777) != 0 && errno != EEXIST) {
                return cli_error("%s: mkdir %s: %s", who, buf, strerror(errno));
            }
            buf[i] = path[i];
        }
    }
    return 0;
}

int
meta_make_out(const char *who, const char *given, const char *base, const char *stem,
    char *out, size_t len, int *made)
{
    struct stat st;
    unsigned    n;
    int         dummy;

    if (made == NULL) {
        made = &dummy;
    }
    *made = 0;
    if (given != NULL) {
        if (snprintf(out, len, "%s", given) >= (int) len) {
            return cli_error("%s: --out path is too long", who);
        }
        *made = stat(out, &st) != 0;
        if (meta_mkdirs(who, out) != 0) {
            return CLI_EXIT_FAIL;
        }
        if (stat(out, &st) != 0 || !S_ISDIR(st.st_mode)) {
            return cli_error("%s: %s is not a directory", who, out);
        }
        return 0;
    }
    if (meta_mkdirs(who, base) != 0) {
        return CLI_EXIT_FAIL;
    }
    for (n = 1; n < 100000; n++) {
        if (snprintf(out, len, "%s/%s-%u", base, stem, n) >= (int) len) {
            return cli_error("%s: the result path %s/%s-N is too long", who, base, stem);
        }
        if (mkdir(out, 0777) == 0) {
            *made = 1;
            return 0;
        }
        if (errno != EEXIST) {
            return cli_error("%s: mkdir %s: %s", who, out, strerror(errno));
        }
    }
    return cli_error("%s: no free name for %s/%s-N", who, base, stem);
}
