/* spotlab: small helpers shared by every part (see util.h). */
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static gboolean
__set_errno_error(GError **error, int err, const char *what, const char *path)
{
    g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(err), "%s: cannot %s: %s", path, what,
                g_strerror(err));
    return FALSE;
}

gboolean
spotlab_file_replace(const char *path, const char *data, gsize len, GError **error)
{
    g_return_val_if_fail(path != NULL && (data != NULL || len == 0), FALSE);
    g_autofree char *dir = g_path_get_dirname(path);
    g_autofree char *base = g_path_get_basename(path);
    g_autofree char *tmp = g_strdup_printf("%s/.%s.tmp-XXXXXX", dir, base);
    int fd = g_mkstemp_full(tmp, O_WRONLY | O_CLOEXEC, 0644);
    if (fd < 0)
        return __set_errno_error(error, errno, "create a temporary file beside", path);

    gsize done = 0;
    while (done < len) {
        ssize_t n = write(fd, data + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int err = errno;
            close(fd);
            g_unlink(tmp);
            return __set_errno_error(error, err, "write", path);
        }
        done += (gsize)n;
    }
    if (fsync(fd) != 0) {
        int err = errno;
        close(fd);
        g_unlink(tmp);
        return __set_errno_error(error, err, "flush (fsync)", path);
    }
    if (close(fd) != 0) {
        int err = errno;
        g_unlink(tmp);
        return __set_errno_error(error, err, "close", path);
    }
    if (g_rename(tmp, path) != 0) {
        int err = errno;
        g_unlink(tmp);
        return __set_errno_error(error, err, "replace", path);
    }
    /* Make the rename durable. A folder that cannot be opened for reading only costs
     * durability of the name, never the content, so it is not an error. */
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        if (fsync(dfd) != 0 && errno != EINVAL) {
            int err = errno;
            close(dfd);
            return __set_errno_error(error, err, "flush the folder of", path);
        }
        close(dfd);
    }
    return TRUE;
}

gboolean
spotlab_read_file(const char *path, char **contents, gsize *length, GQuark domain, int code,
                  GError **error)
{
    /* GLib's own message names the file a second time; users need it once, with the reason. */
    int fd = g_open(path, O_RDONLY | O_CLOEXEC, 0);
    if (fd < 0) {
        int err = errno;
        g_set_error(error, domain, code, "%s: cannot read: %s", path, g_strerror(err));
        return FALSE;
    }
    GString *buf = g_string_new(NULL);
    char chunk[65536];
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int err = errno;
            close(fd);
            g_string_free(buf, TRUE);
            g_set_error(error, domain, code, "%s: cannot read: %s", path, g_strerror(err));
            return FALSE;
        }
        if (n == 0)
            break;
        g_string_append_len(buf, chunk, n);
    }
    close(fd);
    *length = buf->len;
    *contents = g_string_free(buf, FALSE);
    return TRUE;
}

gboolean
spotlab_is_blank(const char *text, gsize length)
{
    for (gsize i = 0; i < length; i++)
        if (!g_ascii_isspace(text[i]))
            return FALSE;
    return TRUE;
}

const char *
spotlab_format_double(char *buf, gsize size, double value)
{
    g_return_val_if_fail(buf != NULL && size >= 32, NULL);
    if (!isfinite(value)) {
        g_strlcpy(buf, isnan(value) ? "nan" : (value > 0 ? "inf" : "-inf"), size);
        return buf;
    }
    for (int digits = 15; digits <= 17; digits++) {
        g_ascii_formatd(buf, size,
                        digits == 15   ? "%.15g"
                        : digits == 16 ? "%.16g"
                                       : "%.17g",
                        value);
        if (g_ascii_strtod(buf, NULL) == value)
            break;
    }
    return buf;
}

char *
spotlab_resolve_path(const char *relative_to, const char *path)
{
    if (g_path_is_absolute(path) || relative_to == NULL)
        return g_strdup(path);
    g_autofree char *dir = g_path_get_dirname(relative_to);
    if (strcmp(dir, ".") == 0)
        return g_strdup(path);
    return g_build_filename(dir, path, NULL);
}

gint64
spotlab_datetime_to_unix_us(GDateTime *dt)
{
    return g_date_time_to_unix(dt) * SPOTLAB_US_PER_S + g_date_time_get_microsecond(dt);
}

GDateTime *
spotlab_datetime_from_unix_us(gint64 us)
{
    gint64 s = us / SPOTLAB_US_PER_S, rem = us % SPOTLAB_US_PER_S;
    if (rem < 0) {
        s--;
        rem += SPOTLAB_US_PER_S;
    }
    g_autoptr(GDateTime) whole = g_date_time_new_from_unix_utc(s);
    return whole ? g_date_time_add(whole, rem) : NULL;
}

void
spotlab_xml_append(GString *out, const char *text)
{
    g_autoptr(GString) clean = g_string_new(NULL);
    for (const char *p = text ? text : ""; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
            g_string_append(clean, "\xef\xbf\xbd");
        else
            g_string_append_c(clean, *p);
    }
    g_autofree char *escaped = g_markup_escape_text(clean->str, (gssize)clean->len);
    g_string_append(out, escaped);
}

void
spotlab_remove_tree(const char *path)
{
    GStatBuf st;
    if (g_lstat(path, &st) != 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        g_autoptr(GDir) dir = g_dir_open(path, 0, NULL);
        const char *name;
        while (dir != NULL && (name = g_dir_read_name(dir)) != NULL) {
            g_autofree char *child = g_build_filename(path, name, NULL);
            spotlab_remove_tree(child);
        }
        (void)g_rmdir(path);
    } else {
        (void)g_unlink(path);
    }
}
