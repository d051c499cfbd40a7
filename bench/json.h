/*
 * json: a small reader of the JSON that shmbench itself writes (a run's
 * meta.json, a suite's suite.json), for `suite --resume`, `merge` and
 * `compare`.
 *
 * The whole text is parsed into a tree of nodes at once; objects keep
 * their members in the order of the text (a workload's parameters are
 * listed in their table's order, and the canonical workload spec follows
 * it).  A number keeps its text beside its value, so that what is copied
 * on (a parameter's value) reads exactly as it was written.  Strings are
 * unescaped (\uXXXX as UTF-8; shmbench writes only ASCII controls so).
 * Anything malformed is refused with the byte offset, not guessed.
 */
#ifndef SHMBENCH_JSON_H
#define SHMBENCH_JSON_H

#include <stddef.h>

enum json_type { JSON_NULL, JSON_FALSE, JSON_TRUE, JSON_NUMBER, JSON_STRING, JSON_ARRAY,
                 JSON_OBJECT };

struct json {
    enum json_type type;
    double         num;       /* JSON_NUMBER */
    char          *str;       /* JSON_STRING: the value; JSON_NUMBER: its text */
    size_t         n;         /* members of an array or object */
    struct json   *kids;      /* n values */
    char         **keys;      /* n keys of an object */
};

/* Parse text; the tree, or NULL with a diag message ("json: ... at byte N"). */
struct json *json_parse(const char *text);

/* json_parse of a whole file; NULL (diag names the file) if it cannot be
 * read or parsed. */
struct json *json_load(const char *path);

/* Free a tree of json_parse or json_load (NULL is fine). */
void json_free(struct json *j);

/* The member KEY of object j, or NULL (j NULL or not an object, no KEY). */
const struct json *json_get(const struct json *j, const char *key);

/* The string of member KEY, or NULL if it is not a string. */
const char *json_str(const struct json *j, const char *key);

/* The number of member KEY (a bool: 0 or 1), or dflt if it is neither. */
double json_num(const struct json *j, const char *key, double dflt);

#endif
