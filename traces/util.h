/* spotlab: small helpers shared by every part (they live in the lowest part, traces/).
 *
 * File replacement is atomic: a reader sees the old content or the new, never a mix, and a
 * crash leaves either file intact. The data is written to a temporary file in the same
 * folder, flushed with fsync, renamed over the target, and the folder is fsynced so the rename
 * itself survives a power loss.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define SPOTLAB_US_PER_S G_GINT64_CONSTANT(1000000)

/**
 * spotlab_file_replace:
 * Atomically replaces (or creates) @path with @len bytes of @data. On failure the target is
 * untouched and no temporary file is left behind.
 * Returns: FALSE with @error (G_FILE_ERROR, message naming @path) on failure.
 */
gboolean spotlab_file_replace(const char *path, const char *data, gsize len, GError **error);

/* Deletes @path and everything under it, without following symbolic links (a link is removed,
 * not what it points to). Best effort: what cannot be removed stays. */
void spotlab_remove_tree(const char *path);

/**
 * spotlab_read_file:
 * Reads all of @path into a NUL-terminated buffer (free with g_free).
 * Returns: FALSE with @error in @domain/@code, "PATH: cannot read: REASON", on failure.
 */
gboolean spotlab_read_file(const char *path, char **contents, gsize *length, GQuark domain,
                           int code, GError **error);

/* Whether @text holds nothing but white space. */
gboolean spotlab_is_blank(const char *text, gsize length);

/* Formats @value with the fewest significant digits (up to 17) that read back exactly, in the
 * C locale: 0.1 -> "0.1", 82.52543396 -> "82.52543396". Writes into @buf (at least 32 bytes). */
const char *spotlab_format_double(char *buf, gsize size, double value);

/* Appends @text (UTF-8; NULL reads as "") escaped for XML text and attribute values. Control
 * characters other than tab and line breaks cannot appear in XML 1.0 at all, not even as
 * references: they become U+FFFD. */
void spotlab_xml_append(GString *out, const char *text);

/* Resolves @path against the folder of @relative_to (a file) unless @path is absolute. */
char *spotlab_resolve_path(const char *relative_to, const char *path);

/* Microseconds since the Unix epoch of @dt, and back (UTC). GLib gained these in 2.80; Debian 12
 * ships 2.74. */
gint64 spotlab_datetime_to_unix_us(GDateTime *dt);
GDateTime *spotlab_datetime_from_unix_us(gint64 us);

G_END_DECLS
