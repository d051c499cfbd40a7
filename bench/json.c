/*
 * json: a recursive-descent reader into a tree (bench/json.h).  Depth is
 * bounded so that a hostile file cannot exhaust the stack.
 */
#include "json.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "substrate/diag.h"

#define JSON_MAX_DEPTH 64

struct json_in {
    const char *s, *p;
    int         err;
};

static int json_value(struct json_in *in, struct json *out, int depth);

static int
json_fail(struct json_in *in, const char *what)
{
    if (!in->err) {
        diag_set("json: %s at byte %zu", what, (size_t) (in->p - in->s));
        in->err = 1;
    }
    return -1;
}

static void
json_ws(struct json_in *in)
{
    while (*in->p == ' ' || *in->p == '\t' || *in->p == '\n' || *in->p == '\r') {
        in->p++;
    }
}

/* Append the UTF-8 of code point c to buf at *n. */
static void
json_utf8(char *buf, size_t *n, unsigned c)
{
    if (c < 0x80) {
        buf[(*n)++] = (char) c;
    } else if (c < 0x800) {
        buf[(*n)++] = (char) (0xc0 | (c >> 6));
        buf[(*n)++] = (char) (0x80 | (c & 0x3f));
    } else {
        buf[(*n)++] = (char) (0xe0 | (c >> 12));
        buf[(*n)++] = (char) (0x80 | ((c >> 6) & 0x3f));
        buf[(*n)++] = (char) (0x80 | (c & 0x3f));
    }
}

/* A string at in->p (the opening quote) into a new buffer. */
static char *
json_string(struct json_in *in)
{
    const char *p = in->p + 1;
    char       *buf = malloc(strlen(p) + 1), esc[5];
    size_t      n = 0;
    unsigned    c;

    if (buf == NULL) {
        json_fail(in, "out of memory");
        return NULL;
    }
    for (; *p != '"'; p++) {
        if (*p == '\0' || (unsigned char) *p < 0x20) {
            in->p = p;
            free(buf);
            json_fail(in, "unterminated string");
            return NULL;
        }
        if (*p != '\\') {
            buf[n++] = *p;
            continue;
        }
        switch (*++p) {
        case '"': case '\\': case '/': buf[n++] = *p; break;
        case 'b': buf[n++] = '\b'; break;
        case 'f': buf[n++] = '\f'; break;
        case 'n': buf[n++] = '\n'; break;
        case 'r': buf[n++] = '\r'; break;
        case 't': buf[n++] = '\t'; break;
        case 'u':
            memcpy(esc, p + 1, 4);
            esc[4] = '\0';
            if (strspn(esc, "0123456789abcdefABCDEF") != 4) {
                in->p = p;
                free(buf);
                json_fail(in, "bad \\u escape");
                return NULL;
            }
            c = (unsigned) strtoul(esc, NULL, 16);
            json_utf8(buf, &n, c);
            p += 4;
            break;
        default:
            in->p = p;
            free(buf);
            json_fail(in, "bad escape");
            return NULL;
        }
    }
    buf[n] = '\0';
    in->p = p + 1;
    return buf;
}

static int
json_number(struct json_in *in, struct json *out)
{
    const char *start = in->p;
    char       *end;
    size_t      n;

    errno = 0;
    out->num = strtod(start, &end);
    if (end == start || errno == ERANGE || strchr("-0123456789", *start) == NULL) {
        return json_fail(in, "bad number");
    }
    n = (size_t) (end - start);
    out->str = malloc(n + 1);
    if (out->str == NULL) {
        return json_fail(in, "out of memory");
    }
    memcpy(out->str, start, n);
    out->str[n] = '\0';
    out->type = JSON_NUMBER;
    in->p = end;
    return 0;
}

/* Grow an array or object by one member; its new slot, or NULL. */
static struct json *
json_push(struct json_in *in, struct json *j, size_t *cap)
{
    struct json *k;
    char       **keys;

    if (j->n == *cap) {
        *cap = *cap ? *cap * 2 : 8;
        k = realloc(j->kids, *cap * sizeof(*k));
        if (k == NULL) {
            json_fail(in, "out of memory");
            return NULL;
        }
        j->kids = k;
        if (j->type == JSON_OBJECT) {
            keys = realloc(j->keys, *cap * sizeof(*keys));
            if (keys == NULL) {
                json_fail(in, "out of memory");
                return NULL;
            }
            j->keys = keys;
        }
    }
    memset(&j->kids[j->n], 0, sizeof(j->kids[0]));
    return &j->kids[j->n];
}

/* An array or an object: in->p at its opening bracket. */
static int
json_container(struct json_in *in, struct json *out, int depth)
{
    char         close = *in->p == '[' ? ']' : '}';
    size_t       cap = 0;
    struct json *slot;
    char        *key = NULL;

    out->type = close == ']' ? JSON_ARRAY : JSON_OBJECT;
    in->p++;
    json_ws(in);
    if (*in->p == close) {
        in->p++;
        return 0;
    }
    for (;;) {
        json_ws(in);
        if (out->type == JSON_OBJECT) {
            if (*in->p != '"') {
                return json_fail(in, "expected a member name");
            }
            if ((key = json_string(in)) == NULL) {
                return -1;
            }
            json_ws(in);
            if (*in->p++ != ':') {
                free(key);
                in->p--;
                return json_fail(in, "expected ':'");
            }
        }
        if ((slot = json_push(in, out, &cap)) == NULL) {
            free(key);
            return -1;
        }
        if (out->type == JSON_OBJECT) {
            out->keys[out->n] = key;
        }
        out->n++;
        if (json_value(in, slot, depth + 1) != 0) {
            return -1;
        }
        json_ws(in);
        if (*in->p == ',') {
            in->p++;
            continue;
        }
        if (*in->p == close) {
            in->p++;
            return 0;
        }
        return json_fail(in, "expected ',' or a closing bracket");
    }
}

static int
json_word(struct json_in *in, const char *word, enum json_type t, struct json *out)
{
    size_t n = strlen(word);

    if (strncmp(in->p, word, n) != 0) {
        return json_fail(in, "unexpected character");
    }
    in->p += n;
    out->type = t;
    out->num = t == JSON_TRUE;
    return 0;
}

static int
json_value(struct json_in *in, struct json *out, int depth)
{
    if (depth > JSON_MAX_DEPTH) {
        return json_fail(in, "nested too deep");
    }
    json_ws(in);
    switch (*in->p) {
    case '{': case '[':
        return json_container(in, out, depth);
    case '"':
        out->type = JSON_STRING;
        out->str = json_string(in);
        return out->str ? 0 : -1;
    case 'n':
        return json_word(in, "null", JSON_NULL, out);
    case 't':
        return json_word(in, "true", JSON_TRUE, out);
    case 'f':
        return json_word(in, "false", JSON_FALSE, out);
    default:
        return json_number(in, out);
    }
}

static void
json_free_kids(struct json *j)
{
    size_t i;

    for (i = 0; i < j->n; i++) {
        json_free_kids(&j->kids[i]);
        if (j->type == JSON_OBJECT) {
            free(j->keys[i]);
        }
    }
    free(j->kids);
    free(j->keys);
    free(j->str);
}

void
json_free(struct json *j)
{
    if (j) {
        json_free_kids(j);
        free(j);
    }
}

struct json *
json_parse(const char *text)
{
    struct json_in in = { text, text, 0 };
    struct json   *j = calloc(1, sizeof(*j));

    if (j == NULL) {
        diag_set("json: out of memory");
        return NULL;
    }
    if (json_value(&in, j, 0) == 0) {
        json_ws(&in);
        if (*in.p == '\0') {
            return j;
        }
        json_fail(&in, "text after the value");
    }
    json_free(j);
    return NULL;
}

struct json *
json_load(const char *path)
{
    FILE        *f = fopen(path, "r");
    char        *text = NULL;
    size_t       n = 0, cap = 0, got;
    struct json *j;

    if (f == NULL) {
        diag_set("%s: %s", path, strerror(errno));
        return NULL;
    }
    do {
        if (cap - n < 4096) {
            cap = cap ? cap * 2 : 65536;
            char *t = realloc(text, cap + 1);
            if (t == NULL) {
                free(text);
                fclose(f);
                diag_set("%s: out of memory", path);
                return NULL;
            }
            text = t;
        }
        got = fread(text + n, 1, cap - n, f);
        n += got;
    } while (got > 0);
    fclose(f);
    text[n] = '\0';
    j = json_parse(text);
    free(text);
    if (j == NULL) {
        char why[256];

        snprintf(why, sizeof(why), "%s", diag_last());
        diag_set("%s: %s", path, why);
    }
    return j;
}

const struct json *
json_get(const struct json *j, const char *key)
{
    size_t i;

    for (i = 0; j && j->type == JSON_OBJECT && i < j->n; i++) {
        if (strcmp(j->keys[i], key) == 0) {
            return &j->kids[i];
        }
    }
    return NULL;
}

const char *
json_str(const struct json *j, const char *key)
{
    const struct json *v = json_get(j, key);

    return v && v->type == JSON_STRING ? v->str : NULL;
}

double
json_num(const struct json *j, const char *key, double dflt)
{
    const struct json *v = json_get(j, key);

    if (v == NULL || v->type == JSON_NULL || v->type == JSON_STRING || v->type >= JSON_ARRAY) {
        return dflt;
    }
    return v->num;
}
